"""How drift measurements become timeslices (``sources.drift_store.judged``), by table."""

from datetime import UTC, datetime

import numpy as np
import pytest

from slo_service.domain.sli import DriftStoreSli
from slo_service.repositories.drift import Reading
from slo_service.sources.base import NoData, Request
from slo_service.sources.drift_store import judged

START = 1_700_000_040  # a minute boundary
SLI = DriftStoreSli(service="m", thresholds={"age": 0.1}, default_threshold=0.2)


def at(minute: int, second: int = 0) -> datetime:
    return datetime.fromtimestamp(START + 60 * minute + second, UTC)


def reading(
    feature: str, minute: int, psi: float | None, *, ks: float | None = None, kind: str = "numeric"
) -> Reading:
    return Reading(feature, kind, at(minute, 17), psi, ks, None)


@pytest.mark.parametrize(
    ("readings", "sli", "no_data", "good", "total"),
    [
        ([], SLI, "ignore", [], []),
        ([], SLI, "bad", [0, 0, 0, 0], [1, 1, 1, 1]),
        ([], SLI, "good", [1, 1, 1, 1], [1, 1, 1, 1]),
        (
            [reading("age", 0, 0.05), reading("income", 0, 0.19), reading("age", 2, 0.1)],
            SLI, "ignore", [1, 0], [1, 1],
        ),
        (
            [reading("age", 1, 0.05), reading("age", 1, 0.3)],  # the worst in the bucket
            SLI, "bad", [0, 0, 0, 0], [1, 1, 1, 1],
        ),
        (
            [reading("income", 3, 0.25), reading("age", 3, 0.01)],
            SLI, "good", [1, 1, 1, 0], [1, 1, 1, 1],
        ),
        (
            [reading("age", 0, None), reading("age", 1, None, ks=0.01)],  # no psi: not judged
            SLI, "ignore", [], [],
        ),
        (
            [reading("age", 0, 0.9, ks=0.05), reading("zip", 0, 0.15, kind="categorical"),
             reading("zip", 1, 0.5, kind="categorical")],
            SLI.model_copy(update={"statistic": "ks_statistic"}), "ignore", [1, 0], [1, 1],
        ),
        ([reading("age", -1, 0.9), reading("age", 4, 0.9)], SLI, "ignore", [], []),
    ],
    ids=[
        "nothing-ignored", "nothing-bad", "nothing-good", "per-feature-thresholds",
        "worst-in-bucket", "no-data-good-elsewhere", "statistic-missing",
        "ks-with-categorical-psi", "outside-the-range",
    ],
)  # fmt: skip
def test_slices(
    readings: list[Reading],
    sli: DriftStoreSli,
    no_data: NoData,
    good: list[float],
    total: list[float],
) -> None:
    request = Request(key=1, sli=sli, start=START, end=START + 4 * 60, no_data=no_data)
    answer = judged(readings, request, bucket=60)
    assert not isinstance(answer, Exception)
    present = answer.present
    assert answer.good[present].tolist() == good
    assert answer.total[present].tolist() == total
    assert np.isnan(answer.total[~present]).all()
