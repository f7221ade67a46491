"""The monthly SLA report: per service and SLO, the calendar month's attainment against the
objective, met or missed, the budget spent, and how many alerts started (months in UTC)."""

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from slo_service.domain import budget as math
from slo_service.domain.blocks import Layout, epoch
from slo_service.domain.kinds import Budgeting
from slo_service.errors import InvalidInput
from slo_service.models import SLO
from slo_service.repositories import alerts as alert_repo
from slo_service.repositories import slos as slo_repo
from slo_service.services import buckets
from slo_service.services.overview import month_start

MONTH_PATTERN = r"^[0-9]{4}-(?:0[1-9]|1[0-2])$"
# The first month with an epoch second, and the last whose end Python's datetime can hold.
FIRST_MONTH, LAST_MONTH = "1970-01", "9999-11"
CSV_COLUMNS = ("month", "service", "slo", "kind", "objective", "attainment", "met",
               "budget_consumed", "good", "total", "alerts")  # fmt: skip


@dataclass(frozen=True)
class ReportRow:
    slo: SLO
    attainment: float | None
    consumed: float | None
    good: float
    total: float
    alerts: int

    @property
    def met(self) -> bool | None:
        return None if self.attainment is None else self.attainment >= self.slo.objective


@dataclass(frozen=True)
class Report:
    month: str
    start: datetime
    end: datetime
    rows: list[ReportRow]  # by service, then SLO name

    @property
    def services(self) -> list[str]:
        return sorted({row.slo.service for row in self.rows})


def parse_month(text: str | None, *, now: datetime) -> tuple[str, datetime, datetime]:
    """``YYYY-MM`` (last month by default) → (the text, its first instant, the next month's)."""
    if text is None:
        start = month_start(now, 1)
    else:
        # fullmatch: "$" alone lets "2026-01\n" through; comparing as text orders YYYY-MM.
        if re.fullmatch(MONTH_PATTERN, text) is None:
            raise InvalidInput.at(("query", "month"), f"{text!r} is not a month: use YYYY-MM")
        if not FIRST_MONTH <= text <= LAST_MONTH:
            raise InvalidInput.at(
                ("query", "month"), f"{text} is out of range: {FIRST_MONTH} to {LAST_MONTH}"
            )
        start = datetime(int(text[:4]), int(text[5:]), 1, tzinfo=now.tzinfo)
    end = datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=start.tzinfo)
    return f"{start.year:04d}-{start.month:02d}", start, end


def report(session: Session, *, month: str | None, now: datetime, layout: Layout) -> Report:
    text, start, end = parse_month(month, now=now)
    slos = sorted(slo_repo.live(session), key=lambda s: (s.service, s.name))
    ids = [s.id for s in slos if s.id is not None]
    stamps = {slo_id: [epoch(start), epoch(min(end, now))] for slo_id in ids}
    totals = buckets.totals_at_many(session, stamps, layout=layout)
    alerts = alert_repo.started_between(session, ids, start, end)
    rows = []
    for slo in slos:
        assert slo.id is not None
        before, after = totals[slo.id]
        counts = after - before
        spent = math.budget(counts, slo.objective, length=end - start,
                            timeslices=slo.budgeting == Budgeting.TIMESLICES).consumed  # fmt: skip
        rows.append(ReportRow(slo, math.sli(counts), spent, counts.good, counts.total,
                              alerts.get(slo.id, 0)))  # fmt: skip
    return Report(text, start, end, rows)


def as_csv(result: Report, rows: Sequence[ReportRow] | None = None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows if rows is not None else result.rows:
        writer.writerow([
            result.month, row.slo.service, row.slo.name, row.slo.kind, row.slo.objective,
            "" if row.attainment is None else repr(row.attainment),
            "" if row.met is None else ("met" if row.met else "missed"),
            "" if row.consumed is None else repr(row.consumed),
            repr(row.good), repr(row.total), row.alerts,
        ])  # fmt: skip
    return out.getvalue()
