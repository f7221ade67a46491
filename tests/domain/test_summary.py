"""The summary evaluation keeps on an SLO: one shape for its writer and its readers."""

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from slo_service.domain.summary import Summary, SummaryTier

AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
KEPT = Summary(
    evaluated_at=AT,
    evaluated_until=AT,
    sli=0.9991,
    remaining=0.1,
    consumed=0.9,
    burn_rates={"1h": 14.5, "5m": None},
    paging=True,
    tiers=(
        SummaryTier(severity="page", long_window="1h", short_window="5m", factor=14.4, firing=True),
    ),
    state="warning",
    time_to_exhaustion_seconds=3600.0,
)


def test_what_is_stored_reads_back_the_same() -> None:
    stored = KEPT.stored()
    assert stored["evaluated_at"].startswith("2026-12-03T12:00:00")  # JSON: text, not datetime
    assert Summary.of(stored) == KEPT


def test_no_summary_before_the_first_evaluation() -> None:
    assert Summary.of(None) is None


def test_a_summary_kept_before_migration_0007_reads_without_tiers() -> None:
    old = {**KEPT.stored(), "alerts": [{"severity": "page"}]}
    del old["tiers"]
    summary = Summary.of(old)
    assert summary is not None
    assert (summary.tiers, summary.paging, summary.burn_rates["1h"]) == ((), True, 14.5)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"remaning": 0.1}, "remaning"),  # a renamed or misspelt key is not silently None
        ({"evaluated_at": "2026-12-03T12:00:00"}, "evaluated_at"),  # no time zone
        ({"paging": "maybe"}, "paging"),
    ],
)
def test_a_malformed_summary_fails_loudly(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        Summary.of({**KEPT.stored(), **change})


def test_a_missing_field_fails_loudly() -> None:
    stored = KEPT.stored()
    del stored["remaining"]
    with pytest.raises(ValidationError, match="remaining"):
        Summary.of(stored)
