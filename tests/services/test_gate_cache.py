"""The gate's per-process copies: how long they are used, what drops them, how they renew."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, create_engine

from slo_service.domain.gate import ServiceState
from slo_service.repositories.tokens import Credentials
from slo_service.services.gate.cache import GateCache, Versioned, renew

TTL = 10.0
STATE = ServiceState("churn")
NEWER = ServiceState("churn", exempt=frozenset())
TOKEN = Credentials("ci", ["gate"], None, datetime(2030, 1, 1, tzinfo=UTC))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def memory() -> Engine:
    return create_engine("sqlite://")


@pytest.fixture
def cache(memory: Engine, clock: Clock) -> GateCache:
    cache = GateCache(memory, ttl=TTL, clock=clock)
    cache.keep({"churn": (3, STATE)}, {"h": TOKEN}, read_at=clock.now)
    return cache


def test_a_copy_is_used_for_the_ttl_then_read_again(cache: GateCache, clock: Clock) -> None:
    clock.now += TTL - 0.01
    assert cache.state("churn") is STATE
    assert cache.credentials("h") is TOKEN
    clock.now += 0.01
    assert cache.state("churn") is None
    assert cache.credentials("h") is None
    assert cache.state("fraud") is None


def test_a_committed_change_drops_the_copy_and_an_older_read_does_not_bring_it_back(
    cache: GateCache, clock: Clock
) -> None:
    read_before = clock.now
    clock.now += 1
    cache.forget(["churn"])
    assert cache.state("churn") is None
    cache.keep({"churn": (3, STATE)}, {}, read_at=read_before)  # a read that began earlier
    assert cache.state("churn") is None
    clock.now += 0.001
    cache.keep({"churn": (4, NEWER)}, {}, read_at=clock.now)  # a read begun after it
    assert cache.state("churn") is NEWER


def test_renewal_reads_only_states_whose_version_moved(cache: GateCache, clock: Clock) -> None:
    asked: list[dict[str, int]] = []

    def read(
        versions: dict[str, int], token_hashes: list[str]
    ) -> tuple[dict[str, Versioned | None], dict[str, Credentials]]:
        asked.append(dict(versions))
        assert token_hashes == ["h"]
        return {}, {"h": TOKEN}

    clock.now += TTL / 2 - 0.01
    assert not cache.renewal_due()
    renew(cache, read)
    assert asked == []
    clock.now += 0.01
    assert cache.renewal_due()
    renew(cache, read)
    assert asked == [{"churn": 3}]
    # Unchanged, so the copy counts from the renewal: still used after the first TTL.
    clock.now += TTL / 2 + 1
    assert cache.state("churn") is STATE

    def moved(
        versions: dict[str, int], token_hashes: list[str]
    ) -> tuple[dict[str, Versioned | None], dict[str, Credentials]]:
        return {"churn": (5, NEWER)}, {}

    clock.now += TTL / 2
    renew(cache, moved)
    assert cache.state("churn") is NEWER

    def gone(
        versions: dict[str, int], token_hashes: list[str]
    ) -> tuple[dict[str, Versioned | None], dict[str, Credentials]]:
        return {"churn": None}, {}

    clock.now += TTL / 2
    renew(cache, gone)
    assert cache.state("churn") is None


def test_one_renewal_at_a_time_and_a_failed_one_leaves_the_copies_to_expire(
    cache: GateCache, clock: Clock
) -> None:
    clock.now += TTL / 2
    assert cache.renewal() is not None
    assert cache.renewal() is None  # the first one still runs
    assert not cache.renewal_due()
    cache.renewed()

    def broken(
        versions: dict[str, int], token_hashes: list[str]
    ) -> tuple[dict[str, Versioned | None], dict[str, Credentials]]:
        raise OSError("database unreachable")

    renew(cache, broken)
    assert cache.state("churn") is STATE  # still within its TTL
    clock.now += TTL / 2
    assert cache.state("churn") is None
    assert cache.renewal_due()  # and the next renewal may try again


def test_copies_nobody_asks_for_are_dropped(cache: GateCache, clock: Clock) -> None:
    clock.now += 31 * TTL
    assert cache.renewal() is None  # nothing in use is left to renew
    cache.keep({}, {}, read_at=clock.now - TTL)  # no copy comes back from the past
    assert cache.state("churn") is None


def test_a_ttl_of_zero_keeps_nothing(memory: Engine, clock: Clock) -> None:
    cache = GateCache(memory, ttl=0, clock=clock)
    cache.keep({"churn": (1, STATE)}, {"h": TOKEN}, read_at=clock.now)
    assert cache.state("churn") is None
    assert cache.credentials("h") is None
    assert cache.renewal() is None
