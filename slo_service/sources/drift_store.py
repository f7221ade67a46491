"""Measuring drift SLIs from the drift store (``DriftStoreSource``).

Timeslices: a bucket holding measurements is one slice, good when every feature measured in it
stays under its threshold (the feature's worst value in the bucket counts); a bucket without
a measurement follows the SLO's no_data policy. The statistic is the SLI's: psi, ks_statistic
or js_distance; categorical features have no KS statistic and are judged by their PSI under
ks_statistic. A measurement without the statistic (an external job's that left it out, or a
batch whose feature was all nulls) is not judged.
"""

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from slo_service.db import session_scope
from slo_service.domain.blocks import epoch, instant
from slo_service.domain.sli import DriftStoreSli
from slo_service.repositories import drift as drift_repo
from slo_service.repositories.drift import Reading
from slo_service.sources import plan
from slo_service.sources.base import Answer, Request, SourceError


class DriftStoreSource:
    """Reads the measurements of each request's service over its range, one query per
    service and range."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def measure(self, requests: Sequence[Request], *, bucket: int) -> dict[int, Answer]:
        groups: dict[tuple[str, str, int, int], list[Request]] = defaultdict(list)
        answers: dict[int, Answer] = {}
        for request in requests:
            sli = request.sli
            if not isinstance(sli, DriftStoreSli) or sli.service is None:
                answers[request.key] = SourceError("not a drift_store SLI with a service")
                continue
            groups[sli.service, sli.subject, request.start, request.end].append(request)
        for (service, subject, start, end), same in groups.items():
            try:
                with session_scope(self.engine) as session:
                    found = drift_repo.readings(
                        session, service, start=instant(start), end=instant(end), subject=subject
                    )
            except SQLAlchemyError as exc:
                error = SourceError(f"the drift store could not be read: {exc.__class__.__name__}")
                answers |= dict.fromkeys((r.key for r in same), error)
                continue
            for request in same:
                assert isinstance(request.sli, DriftStoreSli)
                answers[request.key] = judged(found, request, bucket=bucket)
        return answers


def judged(readings: Sequence[Reading], request: Request, *, bucket: int) -> Answer:
    """One slice per bucket of ``request``'s range: 1 where every judged feature is under
    its threshold, 0 where one is not, no value where nothing was measured."""
    sli = request.sli
    assert isinstance(sli, DriftStoreSli)
    size = (request.end - request.start) // bucket
    values = np.full(size, np.nan)
    for reading in readings:
        value = getattr(reading, sli.statistic)
        if value is None and reading.type == "categorical":
            value = reading.psi  # no KS statistic for categories
        if value is None:
            continue
        slot = (epoch(reading.observed_at) - request.start) // bucket
        if 0 <= slot < size:
            good = 1.0 if value < sli.threshold_of(reading.feature) else 0.0
            values[slot] = good if np.isnan(values[slot]) else min(values[slot], good)
    return plan.slices(
        values, op="==", threshold=1.0, no_data=request.no_data, start=request.start,
        bucket=bucket,
    )  # fmt: skip
