"""Text a client sends that no store can keep: the NUL character.

Postgres refuses U+0000 in text and in JSONB (the statement fails), while SQLite keeps it; so
it is refused on input, on both backends alike, with the path of the value that holds it.
"""

from collections.abc import Mapping
from typing import Any

import orjson

NUL = "\x00"
NUL_HELP = "must not contain the NUL character (\\u0000)"
_ESCAPED_NUL = b"\\u0000"

Path = tuple[str | int, ...]


def find_nul(value: Any) -> Path | None:
    """The path of a string in ``value`` that holds a NUL (of its mapping, for a key), or None
    when none does. Walks with a stack of its own, so any nesting JSON allows is fine; JSON
    values without one are passed in one scan of their encoding (a batch of 10,000 items is
    checked item by item)."""
    try:
        if _ESCAPED_NUL not in orjson.dumps(value):
            return None  # JSON text shows a NUL as \u0000 (which a text "\\u0000" also holds)
    except TypeError:
        pass  # not plain JSON values: walked below
    pending: list[tuple[Path, Any]] = [((), value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, str):
            if NUL in item:
                return path
        elif isinstance(item, Mapping):
            for key, child in item.items():
                if isinstance(key, str) and NUL in key:
                    return path
                pending.append(((*path, key), child))
        elif isinstance(item, list | tuple):
            pending.extend(((*path, index), child) for index, child in enumerate(item))
    return None
