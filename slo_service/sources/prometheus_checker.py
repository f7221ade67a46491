"""Checking an SLI's queries against the configured Prometheus before the SLO is stored."""

import ast
import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import requests
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
from urllib3.util.retry import Retry

from slo_service.domain.sli import LatencySli, RatioSli, SliSpec, ThresholdSli
from slo_service.sources.base import Problem
from slo_service.sources.prometheus import selector, split_histogram
from slo_service.sources.prometheus_http import wrong_address

log = logging.getLogger(__name__)

# The check wraps selectors the way the engine will, so a selector Prometheus accepts alone
# but not inside increase() is caught too.
_CHECK_RANGE = "5m"


def connect(url: str, *, timeout: float, retries: int = 0) -> PrometheusConnect:
    """A client that fails fast: bounded retries, and a timeout on every request."""
    retry = Retry(total=retries, backoff_factor=0.2, status_forcelist=(502, 503, 504))
    return PrometheusConnect(url=url, disable_ssl=True, retry=retry, timeout=timeout)


def rejection(exc: PrometheusApiClientException) -> tuple[int, str]:
    """Status code and Prometheus's own error text from the client's exception message."""
    message = str(exc)
    status = int(message.split()[3]) if message.startswith("HTTP Status Code ") else 0
    start, end = message.find("(b"), message.rfind(")")
    try:
        body = ast.literal_eval(message[start + 1 : end])
        return status, str(json.loads(body)["error"])
    except (ValueError, SyntaxError, KeyError, TypeError):
        return status, message


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
    """Runs each query of an SLI once against the configured Prometheus."""

    def __init__(self, url: str, *, timeout: float) -> None:
        self._url = url
        self._client = connect(url, timeout=timeout)

    def check(self, sli: SliSpec) -> Sequence[Problem]:
        problems: list[Problem] = []
        at = datetime.now(UTC).replace(second=0, microsecond=0).timestamp()
        for field, query in queries_of(sli):
            try:
                self._client.custom_query(query, params={"time": at})
            except (requests.JSONDecodeError, KeyError, TypeError):
                # custom_query reads response.json()["data"]["result"] from any 200 answer.
                self._not_checked(
                    "answers /api/v1/query with something other than Prometheus's JSON"
                )
                return problems
            except requests.RequestException as exc:
                log.info("Prometheus at %s unreachable, query checked locally: %s", self._url, exc)
                return problems
            except PrometheusApiClientException as exc:
                status, reason = rejection(exc)
                if status == 404 or 200 <= status < 300:
                    self._not_checked(f"answers {status} to /api/v1/query")
                    return problems
                if 400 <= status < 500:
                    problems.append(((field,), f"Prometheus rejects the query: {reason}"))
                else:
                    log.warning(
                        "Prometheus at %s answered %s; query not checked", self._url, status
                    )
        return problems

    def _not_checked(self, answer: str) -> None:
        """What answers at the address is not Prometheus: as when it is unreachable, the local
        checks decide, and the log says to check the address."""
        log.warning("%s; query checked locally", wrong_address(self._url, answer))
