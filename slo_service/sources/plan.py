"""Turning SLIs into Prometheus range queries, and sharing queries between models.

Template SLIs of many models differ only in their ``model_name="X"`` matcher. Such series are
asked for together, one query for all of them (``sum by (model_name) (...{model_name=~"a|b"})``),
so the queries of a cycle grow with the number of distinct metrics, not of SLOs. A series
without that matcher, or an expression of another shape, gets a query of its own. Pure: the
answers (values at the marks that close each bucket) are turned into counts here too.
"""

import functools
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from slo_service.domain.promql import Selector, parse_selector
from slo_service.domain.series import Bools, Buckets, Floats
from slo_service.sources.base import NoData

MODEL_LABEL = "model_name"
_MODELS = "\x00models\x00"  # where the model alternation goes in a group's query
_RE2_META = set("\\.+*?()|[]{}^$")
_INSTANT = re.compile(r"^(?P<prefix>time\(\)\s*-\s*)?(?P<agg>min|max|sum|avg)\((?P<sel>[^()]*)\)$")
_OPS: dict[str, Callable[[Floats, float], Bools]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt,
    ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
}  # fmt: skip


@dataclass(frozen=True)
class Need:
    """One series an SLI needs: its query alone and, if it can share one, its group and model."""

    alone: str
    group: str | None = None
    model: str | None = None


def split_model(selector: Selector) -> tuple[str | None, Selector]:
    """The model_name equality value, and the selector without that matcher."""
    models = [m for m in selector.matchers if m.label == MODEL_LABEL and m.op == "="]
    if len(models) != 1:
        return None, selector
    rest = tuple(m for m in selector.matchers if m is not models[0])
    return models[0].value, Selector(selector.name, rest)


# Plans are asked for every SLO at every evaluation, and depend on nothing but their text.
_CACHED = 65_536


@functools.lru_cache(maxsize=_CACHED)
def increase(selector_text: str, bucket: int, *extra: str) -> Need:
    """Per-bucket increase of a counter selector (plus ``extra`` matchers, e.g. an ``le``)."""
    selector = parse_selector(selector_text)
    alone = f"sum(increase({selector.render(*extra)}[{bucket}s]))"
    model, rest = split_model(selector)
    if model is None:
        return Need(alone)
    shared = rest.render(f'{MODEL_LABEL}=~"{_MODELS}"', *extra)
    return Need(alone, f"sum by ({MODEL_LABEL}) (increase({shared}[{bucket}s]))", model)


@functools.lru_cache(maxsize=_CACHED)
def samples(selector_text: str, span: int) -> Need:
    """How many samples a selector has over the last ``span`` seconds (one value, at the end)."""
    selector = parse_selector(selector_text)
    alone = f"sum(count_over_time({selector.render()}[{span}s]))"
    model, rest = split_model(selector)
    if model is None:
        return Need(alone)
    shared = rest.render(f'{MODEL_LABEL}=~"{_MODELS}"')
    return Need(alone, f"sum by ({MODEL_LABEL}) (count_over_time({shared}[{span}s]))", model)


@functools.lru_cache(maxsize=_CACHED)
def instant(query: str) -> Need:
    """A gauge expression; shared when it is ``[time() - ]agg(selector with model_name)``."""
    shape = _INSTANT.match(query.strip())
    if shape is None:
        return Need(query)
    try:
        model, rest = split_model(parse_selector(shape["sel"]))
    except ValueError:
        return Need(query)
    if model is None:
        return Need(query)
    shared = rest.render(f'{MODEL_LABEL}=~"{_MODELS}"')
    return Need(
        query, f"{shape['prefix'] or ''}{shape['agg']} by ({MODEL_LABEL}) ({shared})", model
    )


def shared_selector(rest: str) -> str:
    """A selector (without its model matcher) as a group over models: ``rest`` must end in
    ``}`` or be a bare name."""
    selector = parse_selector(rest)
    return selector.render(f'{MODEL_LABEL}=~"{_MODELS}"')


def is_group(text: str) -> bool:
    return _MODELS in text


def render_group(group: str, models: set[str]) -> str:
    """The group's query for ``models``: an anchored RE2 alternation inside a PromQL string."""
    alternatives = "|".join(
        "".join("\\" + c if c in _RE2_META else c for c in model) for model in sorted(models)
    )
    literal = alternatives.replace("\\", "\\\\").replace('"', '\\"')
    return group.replace(_MODELS, literal)


def ratio(
    total: Floats, counted: Floats, *, counted_is_good: bool, start: int, bucket: int
) -> Buckets:
    """Per-bucket increases of the total and the counted (good or bad) series → counts. No
    counted value is none counted; no total is no data; good is kept within [0, total], since
    ``increase()`` extrapolates."""
    counted = np.where(np.isnan(counted), 0.0, counted)
    good = counted if counted_is_good else total - counted
    return Buckets(start, bucket, np.minimum(np.maximum(good, 0.0), total), total)


def slices(
    values: Floats, *, op: str, threshold: float, no_data: NoData, start: int, bucket: int
) -> Buckets:
    """One slice per bucket, judged by the value at the bucket's end; a bucket without a
    value follows ``no_data``."""
    present = ~np.isnan(values)
    with np.errstate(invalid="ignore"):
        meets = _OPS[op](values, threshold)
    good = np.where(present, meets, no_data == "good").astype(np.float64)
    total = np.where(present, 1.0, np.nan if no_data == "ignore" else 1.0)
    return Buckets(start, bucket, good, total)
