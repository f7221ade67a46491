"""The package's shape holds: no import cycle between its modules, SQL only in
``repositories/``, a pure ``domain/``, and no module far over the size guideline without a
reason written at its top. Imports are read with ``ast`` (nothing is imported), including
those inside functions: an import moved into a function to dodge a cycle is still a cycle."""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "slo_service"
NAME = PACKAGE.name

# Over this many lines a module says at its top why it is not split ("Long because ...").
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(module: str, tree: ast.AST) -> Iterator[str]:
    """The package's modules that ``module`` imports (``from a import b`` names ``a.b`` when
    ``b`` is a module, else ``a``)."""
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names]
            names = [n if n in MODULES else base for n in names]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name.startswith(NAME) and name != module:
                yield name


def graph() -> dict[str, set[str]]:
    return {m: set(imported(m, ast.parse(p.read_text(), str(p)))) for m, p in MODULES.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        component.append(top)
                        if top == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({"a": {"b"}, "b": set()}, []),
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"a"}}, []),
    ],
)
def test_cycles_finds_exactly_the_loops(
    edges: dict[str, set[str]], expected: list[list[str]]
) -> None:
    assert cycles(edges) == expected


def test_the_reader_sees_every_kind_of_import() -> None:
    edges = graph()
    assert "slo_service.cli" in edges["slo_service.__main__"]  # from slo_service.cli import app
    services = [m for m in edges if m.startswith(f"{NAME}.services.")]
    assert any(f"{NAME}.repositories.slos" in edges[m] for m in services)


def test_no_import_cycle_inside_the_package() -> None:
    assert cycles(graph()) == []


# What writes SQL; outside the repositories only the engine and migrations may import them.
QUERY_BUILDERS = {"select", "update", "delete", "insert", "text", "func", "and_", "or_", "col"}
SQL_HOMES = (f"{NAME}.repositories", f"{NAME}.db", f"{NAME}.models", f"{NAME}.migrate")


def sql_builders(tree: ast.AST) -> set[str]:
    return {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in SQL_LIBS
        for alias in node.names
        if alias.name in QUERY_BUILDERS
    }


SQL_LIBS = {"sqlmodel", "sqlalchemy"}


def test_sql_only_in_repositories_and_the_domain_is_pure() -> None:
    edges = graph()
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        if module.startswith(f"{NAME}.domain"):
            outside = {m for m in edges[module] if not m.startswith(f"{NAME}.domain")}
            assert outside <= {f"{NAME}.errors"}, (module, outside)
            libraries = {
                (node.module or "").split(".")[0]
                for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom)
            } | {
                alias.name.split(".")[0]
                for node in ast.walk(tree)
                if isinstance(node, ast.Import)
                for alias in node.names
            }
            assert not libraries & SQL_LIBS, module
        if not module.startswith(SQL_HOMES):
            assert not sql_builders(tree), (module, sql_builders(tree))


def test_long_modules_say_why() -> None:
    for module, path in MODULES.items():
        lines = path.read_text().splitlines()
        if len(lines) > MAX_LINES:
            head = "\n".join(lines[:15])
            assert "Long because" in head, f"{module} has {len(lines)} lines and no reason"
