"""A short-lived copy, per process, of what the gate reads: tokens' credentials and services'
gate state.

Gate requests are answered from it without touching the database. A copy is used for
``ttl`` seconds at most (``SLO_GATE_CACHE_SECONDS``); while requests keep coming, the copies
in use are read again in one batch once they are half that old, so a busy gate costs the
database one query a half-TTL whatever the request rate, and a service asked often never
waits for a read. A change made through another replica (or a token revoked from the command
line) reaches this one's gate within ``ttl``; a change committed through this process (an
override, a freeze, a policy, an SLO, an evaluation) drops the copies of its services at
once. Expiries and staleness are checked against the clock of each request, copy or not.
"""

import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Engine, event
from sqlmodel import Session

from slo_service.domain.gate import ServiceState
from slo_service.repositories.tokens import Credentials

log = logging.getLogger(__name__)
T = TypeVar("T")
_CHANGED = "gate_changed"  # key in ``Session.info``: services whose gate state was rewritten
# A copy nobody asked for in this many TTLs is dropped (and no longer read again).
_UNUSED_TTLS = 30


@dataclass
class _Copy(Generic[T]):
    value: T
    read_at: float
    used_at: float
    version: int = 0


Versioned = tuple[int, ServiceState]


class GateCache:
    def __init__(
        self, engine: Engine, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.engine, self.ttl, self.clock = engine, ttl, clock
        self._states: dict[str, _Copy[ServiceState]] = {}
        self._tokens: dict[str, _Copy[Credentials]] = {}
        self._forgotten: dict[str, float] = {}
        self._lock = threading.Lock()
        self._renewing = False
        self._oldest = float("inf")  # when the oldest copy was read
        _CACHES.add(self)

    def state(self, service: str) -> ServiceState | None:
        return self._fresh(self._states, service)

    def credentials(self, token_hash: str) -> Credentials | None:
        return self._fresh(self._tokens, token_hash)

    def keep(
        self,
        states: Mapping[str, Versioned | None],
        tokens: Mapping[str, Credentials],
        *,
        read_at: float,
        unchanged: Iterable[str] = (),
    ) -> None:
        """Keep what was read from the database at ``read_at`` (``clock()`` before the read
        began): new states (None: the service is gone), tokens' credentials, and
        services whose stored state is still the copy's. No pass over every copy: a request
        that missed one keeps what it read in constant time (the oldest read is then a bound
        that may be older than the truth, which ``renewed`` makes exact again)."""
        if self.ttl <= 0:
            return
        with self._lock:
            kept = [s for s in [*states, *unchanged] if self._forgotten.get(s, -1.0) < read_at]
            for service in kept:
                if service in states:
                    self._put_state(service, states[service], read_at)
                elif service in self._states:
                    self._states[service].read_at = read_at
            for token_hash, found in tokens.items():
                used = self._tokens[token_hash].used_at if token_hash in self._tokens else read_at
                self._tokens[token_hash] = _Copy(found, read_at, used)
            if kept or tokens:
                self._oldest = min(self._oldest, read_at)

    def _put_state(self, service: str, versioned: Versioned | None, read_at: float) -> None:
        if versioned is None:
            self._states.pop(service, None)
            return
        old = self._states.get(service)
        version, state = versioned
        self._states[service] = _Copy(state, read_at, old.used_at if old else read_at, version)

    def forget(self, services: Iterable[str]) -> None:
        now = self.clock()
        with self._lock:
            for service in services:
                self._states.pop(service, None)
                self._forgotten[service] = now

    def renewal_due(self) -> bool:
        """Whether the oldest copy is half a TTL old and no renewal runs (no lock: a hint)."""
        return not self._renewing and self.clock() - self._oldest >= self.ttl / 2

    def renewal(self) -> tuple[dict[str, int], list[str]] | None:
        """The versions of the states to check and the token hashes to read again, when the
        oldest copy in use is half a TTL old and no renewal runs; the caller reads them,
        ``keep``s what it read and calls ``renewed``. Copies unused for long are dropped."""
        now = self.clock()
        with self._lock:
            if self._renewing or self.ttl <= 0 or now - self._oldest < self.ttl / 2:
                return None
            unused = now - _UNUSED_TTLS * self.ttl
            self._states = {k: c for k, c in self._states.items() if c.used_at > unused}
            self._tokens = {k: c for k, c in self._tokens.items() if c.used_at > unused}
            self._forgotten = {k: t for k, t in self._forgotten.items() if now - t < self.ttl}
            if not self._states and not self._tokens:
                self._oldest = float("inf")
                return None
            self._renewing = True
            return {k: c.version for k, c in self._states.items()}, list(self._tokens)

    def renewed(self) -> None:
        """A renewal ended (read or failed): when the oldest copy now was read, exactly."""
        with self._lock:
            times = [c.read_at for c in self._states.values()]
            times += [c.read_at for c in self._tokens.values()]
            self._oldest = min(times, default=float("inf"))
            self._renewing = False

    def _fresh(self, table: dict[str, _Copy[T]], key: str) -> T | None:
        found = table.get(key)
        now = self.clock()
        if found is None or now - found.read_at >= self.ttl:
            return None
        found.used_at = now
        return found.value


Reader = Callable[
    [dict[str, int], list[str]], tuple[dict[str, Versioned | None], dict[str, Credentials]]
]


def renew(cache: GateCache, read: Reader) -> None:
    """Check the copies in use against the database, if they are due, with ``read(versions,
    token_hashes)`` (in a worker thread): only states whose version moved are read again."""
    due = cache.renewal()
    if due is None:
        return
    try:
        started = cache.clock()
        changed, tokens = read(*due)
        cache.keep(changed, tokens, read_at=started, unchanged=due[0])
    except Exception:  # the copies expire, and requests read (and fail) for themselves
        log.warning("renewing the gate's copies failed", exc_info=True)
    finally:
        cache.renewed()


_CACHES: "weakref.WeakSet[GateCache]" = weakref.WeakSet()


def changed(session: Session, services: Iterable[str]) -> None:
    """Note that ``services``' gate state is rewritten in ``session``'s transaction: their
    copies are dropped when it commits."""
    session.info.setdefault(_CHANGED, set()).update(services)


@event.listens_for(Session, "after_commit")
def _drop_committed(session: Session) -> None:
    services = session.info.pop(_CHANGED, None)
    if services:
        for cache in list(_CACHES):
            if cache.engine is session.bind:
                cache.forget(services)


@event.listens_for(Session, "after_rollback")
def _discard(session: Session) -> None:
    session.info.pop(_CHANGED, None)
