"""``slo-service dashboards``: the Grafana dashboards as JSON files, to import or provision.

The dashboards are generic over their template variables (data source, model, version), so
exporting them needs neither the database nor Prometheus.
"""

from pathlib import Path
from typing import Annotated

import typer

from slo_service.cli.common import fail
from slo_service.integrations import grafana

dashboards_app = typer.Typer(
    help="Grafana dashboards of the SLOs and the ML metrics.",
    no_args_is_help=True,
    add_completion=False,
)


@dashboards_app.callback()
def dashboards() -> None:
    """Grafana dashboards of the SLOs and the ML metrics (executive, ML team, on-call)."""


@dashboards_app.command()
def export(
    out: Annotated[
        Path,
        typer.Option("--out", file_okay=False, help="Directory to write the JSON files to."),
    ] = Path("dashboards"),
) -> None:
    """Write one dashboard JSON file per audience (executive, ML team, on-call) into OUT."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, board in grafana.dashboards().items():
            path = out / f"{name}.json"
            path.write_text(grafana.render(board), encoding="utf-8")
            typer.echo(f"wrote {path} ({board['title']}, {len(board['panels'])} panels)")
    except OSError as exc:
        raise fail(f"--out {out}: cannot write: {exc.strerror}") from None
