"""The monthly SLA report: per service and SLO, the calendar month's attainment against the
objective, met or missed, the budget spent, and how many alerts started (months in UTC).

Like the overview, the page lists the services that missed an objective, a page at a time,
and counts the others per team; the CSV has every SLO. A month's totals are the running
totals at its two ends: a past month's ends are on the hour, so no bucket is read."""

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
from slo_service.repositories import alerts as alert_repo
from slo_service.repositories import slos as slo_repo
from slo_service.repositories.slos import Listed
from slo_service.services import buckets, listing
from slo_service.services.listing import Filter, Group, Page
from slo_service.services.overview import month_start

MONTH_PATTERN = r"^[0-9]{4}-(?:0[1-9]|1[0-2])$"
# The first month with an epoch second, and the last whose end Python's datetime can hold.
FIRST_MONTH, LAST_MONTH = "1970-01", "9999-11"
CSV_COLUMNS = ("month", "service", "slo", "kind", "objective", "attainment", "met",
               "budget_consumed", "good", "total", "alerts")  # fmt: skip


# What the report's state filter offers (``listing.in_state`` over each service's flags).
STATES: dict[str, str] = {
    "attention": "missed an objective",
    "healthy": "met every objective",
    "no-data": "no data",
    "all": "all",
}


@dataclass(frozen=True)
class ReportRow:
    slo: Listed
    attainment: float | None
    consumed: float | None
    good: float
    total: float
    alerts: int

    @property
    def met(self) -> bool | None:
        return None if self.attainment is None else self.attainment >= self.slo.objective

    @property
    def state(self) -> str:
        """As the pages' states: met is ok, missed is exhausted."""
        return "no_data" if self.met is None else ("ok" if self.met else "exhausted")


@dataclass(frozen=True)
class ServiceReport:
    service: str
    rows: list[ReportRow]


@dataclass(frozen=True)
class Report:
    month: str
    start: datetime
    end: datetime
    rows: list[ReportRow]  # every SLO within the search and the team, by service and name
    filter: Filter
    services: list[ServiceReport]  # this page's
    page: Page
    others: list[Group]  # left out by the state filter, per team
    teams: list[str]

    def href(self, **changes: str | int | None) -> str:
        """This report's address with some filter fields changed (a new filter: page 1)."""
        if "page" not in changes:
            changes["page"] = 1
        query = self.filter.query(**changes)
        return f"/reports/monthly?month={self.month}" + (f"&{query}" if query else "")


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


def report(
    session: Session,
    *,
    month: str | None,
    now: datetime,
    layout: Layout,
    wanted: Filter = Filter(),
    team_label: str = "team",
) -> Report:
    text, start, end = parse_month(month, now=now)
    slos = sorted(slo_repo.listing(session, team_label=team_label),
                  key=lambda s: (s.service, s.name))  # fmt: skip
    teams = sorted({s.team for s in slos if s.team})
    slos = [s for s in slos if listing.searched(s.service, [s.team or listing.NO_TEAM], wanted)]
    ids = [s.id for s in slos]
    stamps = {slo_id: [epoch(start), epoch(min(end, now))] for slo_id in ids}
    totals = buckets.totals_at_many(session, stamps, layout=layout)
    alerts = alert_repo.started_between(session, ids, start, end)
    rows = []
    for slo in slos:
        before, after = totals[slo.id]
        counts = after - before
        spent = math.budget(counts, slo.objective, length=end - start,
                            timeslices=slo.budgeting == Budgeting.TIMESLICES).consumed  # fmt: skip
        rows.append(ReportRow(slo, math.sli(counts), spent, counts.good, counts.total,
                              alerts.get(slo.id, 0)))  # fmt: skip
    by_service: dict[str, list[ReportRow]] = {}
    for row in rows:
        by_service.setdefault(row.slo.service, []).append(row)
    services = [ServiceReport(service, these) for service, these in by_service.items()]

    def flags(service: ServiceReport) -> frozenset[str]:
        return listing.flags((row.state for row in service.rows), frozen=False, alerts=0)

    chosen = [s for s in services if listing.in_state(flags(s), wanted.state)]
    shown, page = listing.page_of(chosen, wanted.page)
    others = listing.groups(
        (s.rows[0].slo.team or listing.NO_TEAM, [row.state for row in s.rows])
        for s in services
        if not listing.in_state(flags(s), wanted.state)
    )
    return Report(text, start, end, rows, wanted, shown, page, others, teams)


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
