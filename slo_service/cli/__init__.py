"""The ``slo-service`` command: serve, worker, evaluate, gate, migrate, apply, export, token,
notify, rules, dashboards, demo-exporter, version. One module per command or command group;
this one only puts them together."""

import typer

from slo_service import __version__
from slo_service.cli import apply, gate, run
from slo_service.cli.dashboards import dashboards_app
from slo_service.cli.demo import demo_exporter
from slo_service.cli.export import export
from slo_service.cli.notify import notify_app
from slo_service.cli.rules import rules_app
from slo_service.cli.tokens import token_app

app = typer.Typer(
    help="SLOs and error budgets for ML models in production.\n\n"
    "Exit codes: 0 done; 1 invalid input, or refused; 2 the command line is wrong; 3 the "
    "database (or the server asked) is unreachable; 4 the database lacks the code's schema: "
    "run `slo-service migrate`.",
    no_args_is_help=True,
    add_completion=False,
)
app.command()(run.serve)
app.command()(run.worker)
app.command()(run.evaluate)
app.command()(gate.gate)
app.command()(run.migrate)
app.command()(apply.apply)
app.command()(export)
app.add_typer(token_app, name="token")
app.add_typer(notify_app, name="notify")
app.add_typer(rules_app, name="rules")
app.add_typer(dashboards_app, name="dashboards")
app.command("demo-exporter")(demo_exporter)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)
