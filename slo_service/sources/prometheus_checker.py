"""Checking an SLI's queries against its datasource's Prometheus before the SLO is stored."""

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from slo_service.domain.sli import LatencySli, RatioSli, SliSpec, ThresholdSli
from slo_service.sources.base import Problem, SourceError
from slo_service.sources.datasources import Access
from slo_service.sources.prometheus import selector, split_histogram
from slo_service.sources.prometheus_http import Health, HttpStatus, NotPrometheus, PrometheusApi

log = logging.getLogger(__name__)

# The check wraps selectors the way the engine will, so a selector Prometheus accepts alone
# but not inside increase() is caught too.
_CHECK_RANGE = "5m"
# What Prometheus answers to a query it refuses (bad syntax 400, wrong types 422).
_REJECTED = (400, 422)


def queries_of(sli: SliSpec) -> list[tuple[str, str]]:
    """(field, PromQL) for each query the engine will run for ``sli``."""
    if isinstance(sli, RatioSli):
        fields = [("good", sli.good), ("bad", sli.bad), ("total", sli.total)]
        return [
            (field, f"sum(increase({selector}[{_CHECK_RANGE}]))")
            for field, selector in fields
            if selector is not None
        ]
    if isinstance(sli, LatencySli):
        name, matchers = split_histogram(sli.histogram)
        bucket = selector(f"{name}_bucket", matchers)
        return [("histogram", f"sum by (le) (increase({bucket}[{_CHECK_RANGE}]))")]
    if isinstance(sli, ThresholdSli):
        return [("query", sli.query)]
    return []


class PrometheusChecker:
    """Runs each query of an SLI once against one Prometheus (a datasource's ``access``, or
    ``url`` without credentials), without retrying: a save does not wait long."""

    def __init__(
        self,
        url: str = "",
        *,
        timeout: float = 2.0,
        access: Access | None = None,
        health: Health | None = None,
    ) -> None:
        self._api = PrometheusApi(url, timeout=timeout, retries=0, access=access, health=health)
        self._where = self._api.access.where

    def check(self, sli: SliSpec) -> Sequence[Problem]:
        problems: list[Problem] = []
        at = datetime.now(UTC).replace(second=0, microsecond=0).timestamp()
        self._api.reset()
        for field, query in queries_of(sli):
            try:
                self._api.instant(query, at)
            except NotPrometheus as exc:
                # As when it is unreachable, the local checks decide; the log says to check
                # the address.
                log.warning("%s; query checked locally", exc)
                return problems
            except HttpStatus as exc:
                if exc.status in _REJECTED:
                    problems.append(((field,), f"Prometheus rejects the query: {exc.reason}"))
                elif 400 <= exc.status < 500:
                    log.warning("%s; query not checked", exc)
                    return problems
                else:
                    log.warning("%s answered %s; query not checked", self._where, exc.status)
            except SourceError as exc:
                log.info("%s; query checked locally", exc)
                return problems
        return problems
