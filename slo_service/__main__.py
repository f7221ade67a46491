"""``python -m slo_service`` runs the CLI."""

from slo_service.cli import app

app()
