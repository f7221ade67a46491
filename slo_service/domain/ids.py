"""Row ids and offsets as the database holds them.

Ids are INTEGER columns, 32-bit on Postgres: a larger number in a query makes Postgres fail
the statement (SQLite fails past 64 bits). So a number out of range is answered without asking
the database: no row has that id, and an offset past it would start past every row.
"""

MAX_ID = 2**31 - 1
_MAX_DIGITS = len(str(MAX_ID))


def parse_id(ref: str) -> int | None:
    """The number a reference spells in ASCII digits, or None when it is not a number.

    ``str.isdigit`` alone is true for '²' and '٣', which ``int`` then refuses or reads as
    another number: only ASCII digits name an id. A number longer than any id is returned as
    ``MAX_ID + 1`` (``int`` refuses more than 4,300 digits, and no row has either).
    """
    if not (ref.isascii() and ref.isdigit()):
        return None
    digits = ref.lstrip("0") or "0"
    return int(digits) if len(digits) <= _MAX_DIGITS else MAX_ID + 1


def storable(value: int) -> bool:
    """Whether ``value`` can be a row id (ids start at 1)."""
    return 0 < value <= MAX_ID
