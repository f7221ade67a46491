"""The demo's simulation: the ml_* serving metrics of two models, with incidents.

Two models serve two versions each, with traffic that follows a daily cycle. Every
``every`` seconds (10 minutes by default) an incident of ``duration`` seconds (half of that)
hits one model: a failing deploy (errors), a slow dependency (latency), a drifted input
(accuracy under the SLO's floor, and PSI up), a stalled feature pipeline (no feature updates)
or a rollback (the latest version stops serving). Which model and which kind is decided by a
seeded RNG: each run of ten incidents is a shuffle of the ten (model, kind) pairs. The first
incident starts ``lead`` seconds (2 minutes by default) after the exporter starts.

:class:`Simulator` is pure: it advances to the time it is given, so tests drive it with fake
time. ``demo.exporter`` serves its state.
"""

import bisect
import logging
import math
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

log = logging.getLogger(__name__)

#: Upper bounds of the latency histogram's buckets, in seconds (``+Inf`` is added).
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
#: Relative accuracy drop the demo's accuracy SLOs allow (their ``tolerance``).
ACCURACY_TOLERANCE = 0.05
#: Features are updated this often (seconds) while the pipeline runs.
FEATURE_UPDATE_SECONDS = 30.0
#: Drift (PSI) of each feature is measured on a batch this often (seconds).
PSI_BATCH_SECONDS = 60.0
#: A tick simulates at most this much time, e.g. after the process was suspended.
MAX_STEP_SECONDS = 60.0

DAY = 86_400.0
_ACCURACY_TIME_CONSTANT = 30.0  # seconds for accuracy to move 63% of the way to its target
_INCIDENT_ERROR_RATE = 0.3  # of the latest version's predictions during an errors incident
_INCIDENT_SLOWDOWN = 10.0  # latency multiplier during a latency incident
_INCIDENT_PSI = 0.3  # added to the drifted features' PSI during an accuracy incident
_LATENCY_SIGMA = 0.5  # of the log-normal latency
_COLD_SHARE = 0.005  # predictions that take the slow path (cache miss)
_COLD_MEDIAN = 0.2


class IncidentKind(StrEnum):
    ERRORS = "errors"
    LATENCY = "latency"
    ACCURACY = "accuracy"
    STALE_FEATURES = "stale_features"
    ROLLBACK = "rollback"


@dataclass(frozen=True)
class ModelSpec:
    """A demo model: its versions (previous, latest) and how it behaves when healthy."""

    name: str
    versions: tuple[str, str]
    latest_share: float  # of the traffic, served by the latest version
    requests_per_second: float  # daily mean
    latency_median_seconds: float
    error_rate: float
    accuracy_baseline: float  # the accuracy SLO's baseline in deploy/slos.yaml
    features: tuple[str, ...]
    deployed_days_ago: tuple[float, float]  # of (previous, latest)

    @property
    def previous(self) -> str:
        return self.versions[0]

    @property
    def latest(self) -> str:
        return self.versions[1]

    @property
    def accuracy_floor(self) -> float:
        """The accuracy SLO's threshold: baseline x (1 - tolerance)."""
        return self.accuracy_baseline * (1 - ACCURACY_TOLERANCE)


MODELS = (
    ModelSpec(
        name="churn-model",
        versions=("1.4.0", "1.5.0"),
        latest_share=0.9,
        requests_per_second=12.0,
        latency_median_seconds=0.06,
        error_rate=0.0003,
        accuracy_baseline=0.91,
        features=("tenure_months", "monthly_charges", "contract_type", "support_calls"),
        deployed_days_ago=(16.0, 3.0),
    ),
    ModelSpec(
        name="fraud-model",
        versions=("2.0.1", "2.1.0"),
        latest_share=0.8,
        requests_per_second=30.0,
        latency_median_seconds=0.04,
        error_rate=0.0002,
        accuracy_baseline=0.95,
        features=("amount", "merchant_category", "hour_of_day", "distance_from_home"),
        deployed_days_ago=(30.0, 6.0),
    ),
)


@dataclass(frozen=True)
class Incident:
    """Incident number ``index`` (from 0): ``kind`` hits ``model`` in [start, end)."""

    index: int
    kind: IncidentKind
    model: str
    start: float
    end: float

    def active(self, now: float) -> bool:
        return self.start <= now < self.end

    def describe(self) -> str:
        return f"incident {self.index + 1}: {self.kind} on {self.model}"


@dataclass(frozen=True)
class Snapshot:
    """A copy of the simulated state at ``now``; histogram counts are per bucket (the last
    one is ``+Inf``), not cumulative."""

    now: float
    predictions: dict[tuple[str, str, str], int]  # (model, version, status) -> count
    latency_buckets: dict[tuple[str, str], tuple[int, ...]]  # (model, version) -> counts
    latency_sum: dict[tuple[str, str], float]
    serving: dict[str, tuple[str, ...]]  # model -> versions that serve now
    accuracy: dict[str, float]
    feature_updated_at: dict[str, float]
    psi: dict[tuple[str, str], float]  # (model, feature) -> PSI of the latest batch
    incident: Incident | None


@dataclass
class _ModelState:
    spec: ModelSpec
    accuracy: float
    feature_updated_at: float
    psi_base: dict[str, float]
    psi: dict[str, float]
    predictions: dict[tuple[str, str], int] = field(default_factory=dict)
    buckets: dict[str, list[int]] = field(default_factory=dict)
    latency_sum: dict[str, float] = field(default_factory=dict)
    serving: tuple[str, ...] = ()


def daily_factor(now: float) -> float:
    """Traffic relative to the daily mean: lowest at 03:00 UTC (0.4), highest at 15:00 (1.6)."""
    return 1 + 0.6 * math.sin(2 * math.pi * ((now % DAY) / DAY - 9 / 24))


class Simulator:
    """The demo models' serving metrics, advanced by :meth:`tick` to the time it is given.

    ``start`` anchors the incident schedule: incident ``k`` starts at
    ``start + lead + k * every`` and lasts ``duration`` seconds. Thread-safe.
    """

    def __init__(
        self,
        *,
        start: float,
        every: float = 600.0,
        duration: float | None = None,
        lead: float | None = None,
        seed: int = 1,
        models: tuple[ModelSpec, ...] = MODELS,
    ) -> None:
        if every <= 0:
            raise ValueError("the incident interval must be positive")
        self.start = start
        self.every = every
        self.duration = every / 2 if duration is None else duration
        self.lead = min(120.0, every / 5) if lead is None else lead
        if not 0 < self.duration <= every:
            raise ValueError("an incident lasts more than 0 and at most the interval")
        if self.lead < 0:
            raise ValueError("the lead before the first incident cannot be negative")
        self.seed = seed
        self.models = models
        self._pairs = [(kind, spec.name) for spec in models for kind in IncidentKind]
        self._shuffles: dict[int, list[tuple[IncidentKind, str]]] = {}
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._now = start
        self._last_psi_batch = math.floor(start / PSI_BATCH_SECONDS)
        self._state = {spec.name: self._initial(spec) for spec in models}

    def _initial(self, spec: ModelSpec) -> _ModelState:
        psi_base = {feature: self._rng.uniform(0.01, 0.06) for feature in spec.features}
        state = _ModelState(
            spec=spec,
            accuracy=self._healthy_accuracy(spec),
            feature_updated_at=self.start,
            psi_base=psi_base,
            psi=dict(psi_base),
            serving=spec.versions,
        )
        for version in spec.versions:
            for status in ("ok", "error"):
                state.predictions[version, status] = 0
            state.buckets[version] = [0] * (len(BUCKETS) + 1)
            state.latency_sum[version] = 0.0
        return state

    @staticmethod
    def _healthy_accuracy(spec: ModelSpec) -> float:
        return min(0.999, spec.accuracy_baseline + 0.012)

    # The schedule ------------------------------------------------------------------------

    def incident(self, index: int) -> Incident:
        """Incident number ``index`` (0 is the first)."""
        if index < 0:
            raise ValueError("incidents are numbered from 0")
        run, position = divmod(index, len(self._pairs))
        shuffle = self._shuffles.get(run)
        if shuffle is None:
            shuffle = random.Random(self.seed * 1_000_003 + run).sample(
                self._pairs, len(self._pairs)
            )
            self._shuffles = {run: shuffle}  # only the current run is kept
        kind, model = shuffle[position]
        start = self.start + self.lead + index * self.every
        return Incident(index, kind, model, start, start + self.duration)

    def incident_at(self, now: float) -> Incident | None:
        """The incident active at ``now``, if any."""
        if now < self.start + self.lead:
            return None
        incident = self.incident(int((now - self.start - self.lead) // self.every))
        return incident if incident.active(now) else None

    def incidents(self, until: float) -> Iterator[Incident]:
        """Every incident that starts before ``until``, in order."""
        index = 0
        while (incident := self.incident(index)).start < until:
            yield incident
            index += 1

    # The simulation ----------------------------------------------------------------------

    @property
    def now(self) -> float:
        return self._now

    def tick(self, now: float) -> Incident | None:
        """Simulate from the last tick to ``now`` (at most MAX_STEP_SECONDS of it); returns
        the incident active at ``now``. A ``now`` that is not after the last tick does
        nothing."""
        with self._lock:
            incident = self.incident_at(now)
            step = min(now - self._now, MAX_STEP_SECONDS)
            if step <= 0:
                return incident
            batch = math.floor(now / PSI_BATCH_SECONDS)
            new_batch = batch != self._last_psi_batch
            self._last_psi_batch = batch
            for state in self._state.values():
                hit = incident.kind if incident and incident.model == state.spec.name else None
                self._serve(state, hit, now, step)
                self._measure_accuracy(state, hit, step)
                self._update_features(state, hit, now)
                if new_batch:
                    self._measure_psi(state, hit)
            self._now = now
            return incident

    def _serve(self, state: _ModelState, hit: IncidentKind | None, now: float, step: float) -> None:
        spec = state.spec
        state.serving = (spec.previous,) if hit is IncidentKind.ROLLBACK else spec.versions
        share = 0.0 if hit is IncidentKind.ROLLBACK else spec.latest_share
        mean = spec.requests_per_second * daily_factor(now) * step
        count = max(0, round(self._rng.gauss(mean, math.sqrt(mean))))
        median = spec.latency_median_seconds
        cold = _COLD_MEDIAN
        if hit is IncidentKind.LATENCY:
            median, cold = median * _INCIDENT_SLOWDOWN, cold * _INCIDENT_SLOWDOWN
        for _ in range(count):
            version = spec.latest if self._rng.random() < share else spec.previous
            error_rate = spec.error_rate
            if hit is IncidentKind.ERRORS and version == spec.latest:
                error_rate = _INCIDENT_ERROR_RATE
            status = "error" if self._rng.random() < error_rate else "ok"
            state.predictions[version, status] += 1
            center = cold if self._rng.random() < _COLD_SHARE else median
            seconds = self._rng.lognormvariate(math.log(center), _LATENCY_SIGMA)
            state.buckets[version][bisect.bisect_left(BUCKETS, seconds)] += 1
            state.latency_sum[version] += seconds

    def _measure_accuracy(self, state: _ModelState, hit: IncidentKind | None, step: float) -> None:
        spec = state.spec
        target = self._healthy_accuracy(spec)
        if hit is IncidentKind.ACCURACY:
            target = spec.accuracy_floor - 0.035
        pull = 1 - math.exp(-step / _ACCURACY_TIME_CONSTANT)
        noise = self._rng.gauss(0, 0.0008 * math.sqrt(step))
        value = state.accuracy + (target - state.accuracy) * pull + noise
        state.accuracy = min(1.0, max(0.0, value))

    @staticmethod
    def _update_features(state: _ModelState, hit: IncidentKind | None, now: float) -> None:
        if hit is IncidentKind.STALE_FEATURES:
            return
        if now - state.feature_updated_at >= FEATURE_UPDATE_SECONDS:
            state.feature_updated_at = now

    def _measure_psi(self, state: _ModelState, hit: IncidentKind | None) -> None:
        drifted = state.spec.features[:2] if hit is IncidentKind.ACCURACY else ()
        for feature, base in state.psi_base.items():
            value = base + abs(self._rng.gauss(0, 0.01))
            state.psi[feature] = value + (_INCIDENT_PSI if feature in drifted else 0.0)

    def snapshot(self) -> Snapshot:
        """A consistent copy of the state after the last tick."""
        with self._lock:
            states = self._state.values()
            return Snapshot(
                now=self._now,
                predictions={
                    (s.spec.name, version, status): n
                    for s in states
                    for (version, status), n in s.predictions.items()
                },
                latency_buckets={
                    (s.spec.name, version): tuple(counts)
                    for s in states
                    for version, counts in s.buckets.items()
                },
                latency_sum={
                    (s.spec.name, version): total
                    for s in states
                    for version, total in s.latency_sum.items()
                },
                serving={s.spec.name: s.serving for s in states},
                accuracy={s.spec.name: s.accuracy for s in states},
                feature_updated_at={s.spec.name: s.feature_updated_at for s in states},
                psi={(s.spec.name, f): value for s in states for f, value in s.psi.items()},
                incident=self.incident_at(self._now),
            )
