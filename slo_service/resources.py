"""Where the folders the service reads at run time are: ``migrations/`` and ``web/``.

In the repository they sit at the top level, beside the package. A wheel carries them inside
the package (``slo_service/migrations``, ``slo_service/web``: pyproject's ``force-include``),
so that an installed service finds them without the checkout."""

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def shipped(name: str, marker: str) -> Path:
    """The folder ``name``: inside the installed package when it is there (it holds
    ``marker``), else beside the package, as in a checkout or an editable install."""
    for folder in (PACKAGE / name, PACKAGE.parent / name):
        if (folder / marker).exists():
            return folder
    raise RuntimeError(f"slo-service is installed without its {name}/ folder ({marker} is missing)")


def migrations() -> Path:
    return shipped("migrations", "env.py")


def web() -> Path:
    return shipped("web", "templates")
