"""Synthetic ML serving metrics with known truth: OpenMetrics text for promtool to backfill,
and the per-bucket counts that text implies, computed here independently of the service.

Samples are every 30 s on the minute grid, so an ``increase(x[1m])`` at a minute mark covers
three samples from edge to edge and equals the true count, counter resets included; and a
gauge read at a minute mark (PromQL takes the latest sample at or before it) is the sample
at that very mark.
"""

import shutil
import subprocess
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

STEP = 30
DAY = 86400
FEATURES_EVERY = 300  # the feature store's update period
BOUNDS = ("0.1", "0.5", "1", "+Inf")
# Each model serves its index + 1 times the first one's traffic (a '.' tests regex escaping).
MODELS = ("churn", "fraud", "churn.v2")


def series(name: str, model: str, *labels: str) -> str:
    matchers = ",".join((f'model_name="{model}"', *labels))
    return f"{name}{{{matchers}}}"


@dataclass
class Scenario:
    """31 days of traffic ending at ``end`` (epoch seconds, an hour boundary), with an outage,
    a counter reset, a slow hour and an accuracy drop at fixed offsets before ``end``, for
    each of ``MODELS`` (traffic scaled by model; the accuracy gauge the same for all).

    Freshness gauges, the same for all models: an older version serves (``ml_model_is_latest``
    0) during ``stale``; a deploy every day at ``deploy_at`` before ``end`` and 24 h before
    that, except the one at ``missed_deploy`` before ``end`` (the deployed timestamp then stays
    48 h old); features updated every 5 minutes on the grid, none strictly inside ``stall``."""

    end: int
    hours: int = 31 * 24
    outage: tuple[int, int] = (5 * 3600, 4 * 3600)  # seconds before end: from, to
    reset_at: int = 10 * 3600
    slow: tuple[int, int] = (8 * 3600, 7 * 3600)
    drop: tuple[int, int] = (3 * 3600, 2 * 3600 + 1800)
    stale: tuple[int, int] = (6 * 3600, 5 * 3600 + 1800)
    deploy_at: int = 20 * 3600
    missed_deploy: int = 68 * 3600
    stall: tuple[int, int] = (3 * 3600 + 1800, 2 * 3600)
    models: tuple[str, ...] = MODELS
    increments: dict[str, dict[int, float]] = field(default_factory=dict)
    accuracy: dict[int, float] = field(default_factory=dict)
    is_latest: dict[int, float] = field(default_factory=dict)
    deploys: list[int] = field(default_factory=list)  # ascending, the first before ``start``
    feature_updates: list[int] = field(default_factory=list)  # ascending, from ``start``

    @property
    def start(self) -> int:
        return self.end - self.hours * 3600

    def stamps(self) -> range:
        return range(self.start, self.end + 300 + 1, STEP)  # a few minutes past the end

    def during(self, span: tuple[int, int], stamp: int) -> bool:
        return self.end - span[0] <= stamp < self.end - span[1]

    def generate(self) -> str:
        """The OpenMetrics text; fills ``increments``, ``accuracy``, ``is_latest``, ``deploys``
        and ``feature_updates`` with the truth."""
        ok: dict[int, float] = {}
        error: dict[int, float] = {}
        latency: dict[str, dict[int, float]] = {bound: {} for bound in BOUNDS}
        for stamp in self.stamps():
            first = stamp == self.start  # counters start at 0: no events before the first scrape
            outage = self.during(self.outage, stamp)
            ok[stamp], error[stamp] = (2.0, 8.0) if outage else (10.0, 0.0)
            slow = self.during(self.slow, stamp)
            shares = (2, 5, 15, 20) if slow else (10, 16, 19, 20)
            for bound, count in zip(BOUNDS, shares, strict=True):
                latency[bound][stamp] = 0.0 if first else float(count)
            if first:
                ok[stamp] = error[stamp] = 0.0
            self.accuracy[stamp] = 0.7 if self.during(self.drop, stamp) else 0.9
        self.increments = {"ok": ok, "error": error} | {f"le={b}": latency[b] for b in BOUNDS}
        histogram = "ml_prediction_duration_seconds"
        lines = ["# TYPE ml_predictions counter"]
        for factor, model in enumerate(self.models, start=1):
            name = "ml_predictions_total"
            lines += self._counter(series(name, model, 'status="ok"'), ok, factor, reset=True)
            lines += self._counter(series(name, model, 'status="error"'), error, factor)
        lines.append(f"# TYPE {histogram} histogram")
        for factor, model in enumerate(self.models, start=1):
            for bound in BOUNDS:
                name = series(f"{histogram}_bucket", model, f'le="{bound}"')
                lines += self._counter(name, latency[bound], factor)
            lines += self._counter(series(f"{histogram}_count", model), latency["+Inf"], factor)
        lines.append("# TYPE ml_model_accuracy gauge")
        for model in self.models:
            lines += [
                f"{series('ml_model_accuracy', model)} {value} {stamp}"
                for stamp, value in self.accuracy.items()
            ]
        lines += self._freshness()
        lines.append("# EOF")
        return "\n".join(lines) + "\n"

    def _freshness(self) -> list[str]:
        """The three freshness gauges of every model, sampled like the others."""
        stamps = self.stamps()
        self.is_latest = {s: 0.0 if self.during(self.stale, s) else 1.0 for s in stamps}
        missed = self.end - self.missed_deploy
        days = range(self.hours // 24 + 3)
        self.deploys = sorted(
            deploy
            for deploy in (self.end - self.deploy_at - day * DAY for day in days)
            if deploy != missed
        )
        assert self.deploys[0] <= self.start, "a deploy before the first scrape"
        stalled = range(self.end - self.stall[0] + 1, self.end - self.stall[1])
        self.feature_updates = [
            update
            for update in range(self.start, stamps[-1] + 1, FEATURES_EVERY)
            if update not in stalled
        ]
        deployed = sample_latest(self.deploys, stamps)
        updated = sample_latest(self.feature_updates, stamps)
        lines = ["# TYPE ml_model_is_latest gauge"]
        for model in self.models:
            name = series("ml_model_is_latest", model)
            lines += [f"{name} {value:.0f} {stamp}" for stamp, value in self.is_latest.items()]
        lines.append("# TYPE ml_model_deployed_timestamp_seconds gauge")
        for model in self.models:
            name = series("ml_model_deployed_timestamp_seconds", model)
            lines += [
                f"{name} {value} {stamp}" for stamp, value in zip(stamps, deployed, strict=True)
            ]
        lines.append("# TYPE ml_feature_last_updated_timestamp_seconds gauge")
        for model in self.models:
            # A label more than model_name: the template's max() takes it away.
            name = series(
                "ml_feature_last_updated_timestamp_seconds", model, 'feature_group="user"'
            )
            lines += [
                f"{name} {value} {stamp}" for stamp, value in zip(stamps, updated, strict=True)
            ]
        return lines

    def _counter(
        self, name: str, increments: dict[int, float], factor: int, reset: bool = False
    ) -> list[str]:
        value = 0.0
        lines = []
        for stamp, increment in increments.items():
            # A restart at reset_at: the counter starts again from zero.
            restart = reset and stamp == self.end - self.reset_at
            value = factor * increment if restart else value + factor * increment
            lines.append(f"{name} {value} {stamp}")
        return lines

    def count(self, key: str, start: int, end: int, model: str | None = None) -> float:
        """True events of ``key`` in the buckets ``[start, end)`` (1-minute buckets)."""
        factor = self.models.index(model or self.models[0]) + 1
        return factor * sum(v for stamp, v in self.increments[key].items() if start < stamp <= end)

    def slices(self, good: Callable[[float], bool], start: int, end: int) -> tuple[int, int]:
        """(good, total) one-minute slices in ``[start, end)``, judged at each bucket's end."""
        marks = range(start + 60, end + 1, 60)
        return sum(good(self.accuracy[mark]) for mark in marks), len(marks)

    def judged(
        self, value: Callable[[int], float], good: Callable[[float], bool], start: int, end: int
    ) -> tuple[int, int]:
        """(good, total) one-minute slices in ``[start, end)`` of the gauge whose value at the
        mark ``t`` is ``value(t)``, judged at each bucket's end (``start + 60, ..., end``)."""
        marks = range(start + 60, end + 1, 60)
        return sum(good(value(mark)) for mark in marks), len(marks)

    def deploy_age(self, mark: int) -> float:
        """Seconds from the last deploy at or before ``mark`` to it."""
        return float(mark - self.deploys[bisect_right(self.deploys, mark) - 1])

    def feature_age(self, mark: int) -> float:
        """Seconds from the last feature update at or before ``mark`` to it."""
        return float(mark - self.feature_updates[bisect_right(self.feature_updates, mark) - 1])

    def latest_slices(self, start: int, end: int) -> tuple[int, int]:
        """model_freshness without max age: good while the latest version serves."""
        return self.judged(self.is_latest.__getitem__, lambda v: v >= 1, start, end)

    def deploy_age_slices(self, max_age_hours: float, start: int, end: int) -> tuple[int, int]:
        """model_freshness with ``max_age_hours``: good while the deploy is at most that old."""
        limit = max_age_hours * 3600
        return self.judged(self.deploy_age, lambda age: age <= limit, start, end)

    def feature_age_slices(self, max_age_minutes: float, start: int, end: int) -> tuple[int, int]:
        """data_freshness: good while the features are younger than ``max_age_minutes``."""
        limit = max_age_minutes * 60
        return self.judged(self.feature_age, lambda age: age < limit, start, end)


def sample_latest(events: list[int], stamps: range) -> list[int]:
    """At each stamp, the latest of the ascending ``events`` at or before it (the first event
    for stamps before it, which callers avoid)."""
    values, index = [], 0
    for stamp in stamps:
        while index + 1 < len(events) and events[index + 1] <= stamp:
            index += 1
        values.append(events[index])
    return values


def slow_scrapes(end: int) -> str:
    """A counter of the model "slow", scraped once a minute for the six hours before ``end``."""
    lines = ["# TYPE ml_predictions counter"]
    for status in ("ok", "error"):
        name = series("ml_predictions_total", "slow", f'status="{status}"')
        # Off the minute marks, as real scrapes are: each [t-1m, t] holds one sample.
        lines += [f"{name} {10 * i} {end - 6 * 3600 + 60 * i + 17}" for i in range(6 * 60)]
    return "\n".join([*lines, "# EOF"]) + "\n"


def backfill(texts: list[str], workdir: Path) -> Path:
    """Turn each OpenMetrics text into TSDB blocks with promtool, all in one data directory."""
    workdir.mkdir(parents=True, exist_ok=True)
    for index, text in enumerate(texts):
        source = workdir / f"metrics-{index}.om"
        source.write_text(text)
        backfill_file(source, workdir / "data")
    return workdir / "data"


def backfill_file(source: Path, data: Path) -> Path:
    """Turn an OpenMetrics file into TSDB blocks in ``data`` (one block per 31 days at most)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        raise RuntimeError("promtool not found: apt-get install prometheus")
    command = [promtool, "tsdb", "create-blocks-from", "openmetrics"]
    command += ["--max-block-duration=744h", str(source), str(data)]
    subprocess.run(command, check=True, capture_output=True)
    return data
