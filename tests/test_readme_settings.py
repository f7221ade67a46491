"""The README's settings table names every setting the service reads, with its default."""

import re
from pathlib import Path

import pytest

from slo_service.config import Settings

README = (Path(__file__).parents[1] / "README.md").read_text()
ROWS = dict(re.findall(r"^\| `(SLO_[A-Z0-9_]+)` \| ([^|]*) \|", README, re.M))


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_has_a_row(name: str) -> None:
    assert f"SLO_{name.upper()}" in ROWS, f"SLO_{name.upper()} is not in the README's table"


@pytest.mark.parametrize(
    ("name", "shown"), [("team_label", "`team`"), ("pages_cache_seconds", "`10`")]
)
def test_the_table_gives_the_default(name: str, shown: str) -> None:
    assert ROWS[f"SLO_{name.upper()}"].strip() == shown
    assert str(Settings.model_fields[name].default).removesuffix(".0") == shown.strip("`")
