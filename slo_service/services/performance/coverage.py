"""Whether labels are arriving: for a performance SLO with ``min_coverage``, the share of the
predictions of the last period it judged (the SLI's period, an hour when it judges by count)
that were labeled. Under ``min_coverage`` the labels are missing: the SLO's status says so,
and a ``labels_missing`` ticket fires (``services.alerting.follow``)."""

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlmodel import Session

from slo_service.domain.sli import PredictionLogSli, stored_sli
from slo_service.domain.windows import parse_duration
from slo_service.models import SLO
from slo_service.repositories import predictions as prediction_repo
from slo_service.schemas.status import LabelCoveragePublic

HOUR = 3600


def of_slos(session: Session, slos: Sequence[SLO]) -> dict[int, LabelCoveragePublic]:
    """The label coverage of the SLOs that expect one and have judged a period."""
    found: dict[int, LabelCoveragePublic] = {}
    for slo in slos:
        if (
            slo.id is None
            or slo.evaluated_until is None
            or slo.sli.get("source") != ("prediction_log")
        ):
            continue
        sli = stored_sli(slo.sli)
        if not isinstance(sli, PredictionLogSli) or sli.min_coverage is None:
            continue
        end = int(slo.evaluated_until.timestamp())
        length = HOUR if sli.window_size else int(parse_duration(sli.bucket).total_seconds())
        start = end - length
        predicted, labeled = prediction_repo.counts_between(
            session, sli.service or slo.service, start, end, model_version=sli.model_version
        )
        coverage = labeled / predicted if predicted else None
        found[slo.id] = LabelCoveragePublic(
            start=datetime.fromtimestamp(start, UTC),
            end=datetime.fromtimestamp(end, UTC),
            predicted=predicted,
            labeled=labeled,
            coverage=coverage,
            expected=sli.min_coverage,
            missing=coverage is not None and coverage < sli.min_coverage,
        )
    return found
