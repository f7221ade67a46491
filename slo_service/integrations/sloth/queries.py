"""Sloth's PromQL read as slo-service's series selectors.

Sloth computes an error ratio per window from two queries with a ``{{.window}}`` range (or from
one precomputed ratio); slo-service counts events itself: it sums ``increase(SELECTOR[1m])`` of
a bad (or good) counter and of a total counter per bucket. So a query is read only when it is
the rate of one counter: ``sum(rate(SELECTOR[{{.window}}]))``, ``rate`` or ``increase``, with
or without ``sum`` and outer parentheses. An error query may also be ``TOTAL - GOOD`` of two
such terms whose first is the total query's counter (Sloth's latency examples count the slow
requests so): that is the ratio of GOOD over TOTAL. A trailing ``or vector(0)`` on an error
query, Sloth's way to say "no error series yet is no error", is read away, as slo-service
counts a missing bad series as none. A raw ``errorRatioQuery`` is read when it is ``BAD /
TOTAL`` (BAD a term or such a difference) or ``1 - (GOOD / TOTAL)``. Anything else
raises ``NotCounted`` with the reason.
"""

import re
from dataclasses import dataclass

from slo_service.domain.promql import check_expression, parse_selector, string_end

_SUM = re.compile(r"sum\s*\((?P<inner>.*)\)", re.S)
_GROUPED_SUM = re.compile(r"sum\s*(?:by|without)\b|sum\s*\(.*\)\s*(?:by|without)\b", re.S)
_RATE = re.compile(r"(?P<function>[a-z_]+)\s*\((?P<inner>.*)\)", re.S)
_RANGE = re.compile(r"\[(?P<range>[^\[\]]*)\]\s*$")
_WINDOW = re.compile(r"\{\{\s*\.window\s*\}\}")
_WORD_OPS = re.compile(r"(?:and|or|unless)\b", re.I)
# "No error series yet is no error": slo-service already counts a missing bad series as 0.
_OR_ZERO = re.compile(r"\s+or\s+(?:on\s*\(\s*\)\s*)?vector\s*\(\s*0\s*\)\s*$", re.I)
_OPERATOR_CHARS = "+-*/%^<>=!"
_QUOTES = "\"'`"
_COUNTERS = ("rate", "increase")

COUNTER_FORM = (
    "sum(rate(SELECTOR[{{.window}}])) of one counter (rate or increase, with or without sum)"
)


class NotCounted(ValueError):
    """A query slo-service cannot read as counted events; the message says why."""


@dataclass(frozen=True)
class Ratio:
    """A ratio SLI's selectors: ``bad`` or ``good``, and ``total``."""

    total: str
    bad: str | None = None
    good: str | None = None


def counter(query: str) -> str:
    """The series selector of one counter's rate over ``{{.window}}``."""
    text = _unwrap(query)
    if _GROUPED_SUM.match(text):
        raise NotCounted(
            "sum by/without keeps series apart, and slo-service counts them all together"
        )
    summed = _SUM.fullmatch(text)
    if summed is not None and _balanced(summed["inner"]):
        text = _unwrap(summed["inner"])
    call = _RATE.fullmatch(text)
    if call is None or not _balanced(call["inner"]):
        raise NotCounted(f"{_shown(text)} is not rate(...) or increase(...) of a counter")
    if call["function"] not in _COUNTERS:
        raise NotCounted(f"{call['function']}(...) is not rate(...) or increase(...)")
    inner = call["inner"].strip()
    found = _RANGE.search(inner)
    if found is None:
        raise NotCounted(f"{call['function']}(...) has no [{{{{.window}}}}] range")
    if not _WINDOW.fullmatch(found["range"].strip()):
        raise NotCounted(f"the range is [{found['range']}], not [{{{{.window}}}}]")
    selector = inner[: found.start()].strip()
    try:
        parse_selector(selector)
    except ValueError as exc:
        raise NotCounted(f"{_shown(selector)} is not a series selector: {exc}") from None
    return selector


def error_events(error_query: str, total: str, total_field: str) -> Ratio:
    """The ratio of an events SLI: its error query is a counter, or ``TOTAL - GOOD`` with
    TOTAL the total query's counter (``total``, from the field ``total_field``). A trailing
    ``or vector(0)`` (``or on() vector(0)``) is read away: a missing bad series counts 0."""
    error_query = _OR_ZERO.sub("", _unwrap(error_query))
    parts = _split(error_query, "-")
    if parts is None:
        return Ratio(total=total, bad=counter(error_query))
    minuend, good = counter(parts[0]), counter(parts[1])
    if minuend != total:
        raise NotCounted(
            f"a difference is read as TOTAL - GOOD, and its TOTAL ({minuend}) is not the "
            f"{total_field} counter ({total})"
        )
    return Ratio(total=total, good=good)


def error_ratio(query: str) -> Ratio:
    """The ratio of a raw error ratio: ``BAD / TOTAL`` or ``1 - (GOOD / TOTAL)``."""
    text = _unwrap(query)
    found = _operators(text)
    ops = [op for _, op in found]
    if ops == ["-"] and text[: found[0][0]].strip() == "1":
        quotient = _split(text[found[0][0] + 1 :], "/")
        if quotient is None:
            raise NotCounted("1 - X is read only when X is GOOD / TOTAL")
        return Ratio(total=counter(quotient[1]), good=counter(quotient[0]))
    if ops != ["/"]:
        raise NotCounted("it is not a quotient of counted events (BAD / TOTAL)")
    at = found[0][0]
    return error_events(text[:at], counter(text[at + 1 :]), "divisor's")


def _split(query: str, operator: str) -> tuple[str, str] | None:
    """The two operands when ``query`` (outer parentheses aside) is ``A op B`` with ``op`` its
    only top-level operator; None when it has no top-level operator. Any other top-level
    operator, or ``op`` twice, raises NotCounted."""
    text = _unwrap(query)
    found = _operators(text)
    if not found:
        return None
    if len(found) != 1 or found[0][1] != operator:
        ops = " ".join(op for _, op in found)
        raise NotCounted(
            f"it joins terms with {ops}; only one {operator} between two terms is read"
        )
    at = found[0][0]
    return text[:at], text[at + 1 :]


def _operators(text: str) -> list[tuple[int, str]]:
    """The binary operators outside brackets and strings: (position, operator)."""
    found: list[tuple[int, str]] = []
    depth, i = 0, 0
    while i < len(text):
        char = text[i]
        if char in _QUOTES:
            i = _past_string(text, i)
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and char in _OPERATOR_CHARS:
            found.append((i, char))
        elif depth == 0 and (i == 0 or not text[i - 1].isalnum()):
            word = _WORD_OPS.match(text, i)
            if word is not None:
                found.append((i, word.group()))
                i = word.end()
                continue
        i += 1
    return found


def _past_string(text: str, start: int) -> int:
    """Index just past the string literal opening at ``start`` (the end of an unclosed one)."""
    try:
        return string_end(text, start)
    except ValueError:
        return len(text)


def _unwrap(query: str) -> str:
    """The query without white space and parentheses around all of it."""
    text = query.strip()
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    return text


def _balanced(text: str) -> bool:
    try:
        check_expression(text)
    except ValueError:
        return False
    return True


def _shown(text: str) -> str:
    """A query on one line, for a message."""
    return " ".join(text.split())
