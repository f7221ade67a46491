"""The gate's copies with many services: a request that missed its copy keeps what it read
without a pass over every other copy; the renewal after it makes the oldest read exact again,
so renewals still come once a half-TTL (no renewal on every request)."""

from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import create_engine

from slo_service.domain.gate import ServiceState
from slo_service.repositories.tokens import Credentials
from slo_service.services.gate.cache import GateCache, Versioned, renew

TTL = 10.0
TOKEN = Credentials("ci", ["gate"], None, datetime(2030, 1, 1, tzinfo=UTC))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def unchanged(
    versions: Mapping[str, int], token_hashes: list[str]
) -> tuple[dict[str, Versioned | None], dict[str, Credentials]]:
    return {}, dict.fromkeys(token_hashes, TOKEN)


def test_after_a_miss_renewals_still_come_once_a_half_ttl() -> None:
    clock = Clock()
    cache = GateCache(create_engine("sqlite://"), ttl=TTL, clock=clock)
    services = [f"model-{n}" for n in range(1000)]
    for n, service in enumerate(services):
        cache.keep({service: (1, ServiceState(service))}, {}, read_at=clock.now + n / 1000)
    clock.now += TTL / 2 - 1
    # The oldest copy is read again by a request that missed it: kept in constant time (the
    # oldest read may stay the bound it was: the renewal may come early, not late).
    cache.keep({services[0]: (2, ServiceState(services[0]))}, {}, read_at=clock.now)
    assert cache.state(services[0]) is not None
    clock.now += 1.01  # the next oldest copy is half a TTL old
    assert cache.renewal_due()
    renew(cache, unchanged)
    assert not cache.renewal_due()  # exact again: the next one is a half-TTL away
    clock.now += TTL / 2 - 0.01
    assert not cache.renewal_due()
    clock.now += 0.01
    assert cache.renewal_due()
    assert all(cache.state(service) is not None for service in services)


def test_renewing_tokens_alone_ends_too() -> None:
    clock = Clock()
    cache = GateCache(create_engine("sqlite://"), ttl=TTL, clock=clock)
    cache.keep({"churn": (1, ServiceState("churn"))}, {"h": TOKEN}, read_at=clock.now)
    cache.forget(["churn"])  # a change committed here: the state goes, the token stays
    clock.now += TTL / 2
    assert cache.renewal_due()
    renew(cache, unchanged)
    assert not cache.renewal_due()
    assert cache.credentials("h") == TOKEN


def test_nothing_kept_moves_nothing() -> None:
    clock = Clock()
    cache = GateCache(create_engine("sqlite://"), ttl=TTL, clock=clock)
    cache.keep({}, {}, read_at=clock.now)
    clock.now += TTL
    assert not cache.renewal_due()
