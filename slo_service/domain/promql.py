"""Local, offline checks of PromQL text.

They catch what can be caught without a Prometheus (empty text, unbalanced brackets, unclosed
strings, a selector that is not a selector); the configured Prometheus has the last word when it
is reachable (``sources.prometheus``).
"""

import json
import re
from dataclasses import dataclass

_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_MATCH_OPS = ("=~", "!~", "!=", "=")
_PAIRS = {")": "(", "]": "[", "}": "{"}
_QUOTES = "\"'`"


def string_end(text: str, start: int) -> int:
    """Index just past the string literal opening at ``start``; ValueError if unclosed."""
    quote = text[start]
    i = start + 1
    while i < len(text):
        if text[i] == "\\" and quote != "`":
            i += 2
            continue
        if text[i] == quote:
            return i + 1
        i += 1
    raise ValueError(f"string opened at position {start + 1} is never closed")


def check_expression(text: str) -> None:
    """Raise ValueError unless ``text`` is non-empty with balanced brackets and closed strings."""
    if not text.strip():
        raise ValueError("the expression is empty")
    stack: list[tuple[str, int]] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char in _QUOTES:
            i = string_end(text, i)
            continue
        if char in "([{":
            stack.append((char, i))
        elif char in _PAIRS:
            if not stack or stack[-1][0] != _PAIRS[char]:
                raise ValueError(f"unexpected {char!r} at position {i + 1}")
            stack.pop()
        i += 1
    if stack:
        char, pos = stack[-1]
        raise ValueError(f"{char!r} at position {pos + 1} is never closed")


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str
    literal: str  # the quoted value as written

    def render(self) -> str:
        return f"{self.label}{self.op}{self.literal}"

    @property
    def value(self) -> str:
        """The unquoted value (PromQL strings escape like Go's; JSON covers those in use)."""
        if self.literal[0] == '"':
            return str(json.loads(self.literal))
        inner = self.literal[1:-1]
        return inner if self.literal[0] == "`" else inner.replace("\\'", "'")


@dataclass(frozen=True)
class Selector:
    name: str
    matchers: tuple[Matcher, ...]

    def render(self, *extra: str) -> str:
        inside = ",".join([*(m.render() for m in self.matchers), *extra])
        return f"{self.name}{{{inside}}}" if inside else self.name


def check_selector(text: str) -> None:
    """Raise ValueError unless ``text`` is one series selector: ``name{label="v",...}``."""
    parse_selector(text)


def parse_selector(text: str) -> Selector:
    """Parse one series selector; ValueError says what is wrong and where."""
    check_expression(text)
    source = text.strip()
    name = _METRIC.match(source)
    i = name.end() if name else 0
    if i == len(source):
        return Selector(source, ())
    if source[i] != "{":
        raise ValueError(
            f"not a series selector: expected '{{' or the end after {source[:i]!r}; "
            'write a metric name with optional matchers, e.g. requests_total{code!~"5.."}'
        )
    matchers = _matchers(source, i + 1)
    if not name and not matchers:
        raise ValueError("the selector has neither a metric name nor a label matcher")
    return Selector(name.group() if name else "", tuple(matchers))


def _matchers(source: str, i: int) -> list[Matcher]:
    """Parse ``label op "value", ...}`` from ``i`` to the closing brace."""
    found: list[Matcher] = []
    while True:
        i = _skip_space(source, i)
        if source[i] == "}":
            if i + 1 != len(source):
                raise ValueError(f"unexpected text after the selector: {source[i + 1 :]!r}")
            return found
        label = _LABEL.match(source, i)
        if label is None:
            raise ValueError(f"expected a label name at position {i + 1}")
        i = _skip_space(source, label.end())
        op = next((op for op in _MATCH_OPS if source.startswith(op, i)), None)
        if op is None:
            raise ValueError(
                f"expected =, !=, =~ or !~ after label {label.group()!r} at position {i + 1}"
            )
        i = _skip_space(source, i + len(op))
        if source[i] not in _QUOTES:
            raise ValueError(f"the value of label {label.group()!r} must be a quoted string")
        end = string_end(source, i)
        found.append(Matcher(label.group(), op, source[i:end]))
        i = _skip_space(source, end)
        if source[i] == ",":
            i += 1
        elif source[i] != "}":
            raise ValueError(f"expected ',' or '}}' at position {i + 1}")


def _skip_space(source: str, i: int) -> int:
    while i < len(source) and source[i].isspace():
        i += 1
    return i
