"""CSV text as a header and blocks of rows, each block as one sequence of cells per column.

A cell held as a Python string costs about 60 bytes, five times its text in a typical batch
and thirty times a one-digit cell: reading a whole upload into cells at once took ten times
its size in memory, and more. Read in blocks of about ``BLOCK_CHARS`` of text, a parser holds
one block's cells at a time, so what it needs beyond the text is bounded by what it keeps.

CSV without quotes whose every line has the header's cells is split with a few string
operations per block (four times faster than the csv module row by row); any other CSV is read
by the csv module. Whether a text is plain shows only block by block: a block that is not
raises ``NotPlain``, and the reader starts again with ``read(text, quoted=True)``.
"""

import csv
import io
import itertools
import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from slo_service.errors import InvalidInput

BLOCK_CHARS = 1 << 19
BLOCK_CELLS = 1 << 16  # rows of the csv module are read by cells: a row may be long
_COMMAS = operator.methodcaller("count", ",")


@dataclass(frozen=True)
class Block:
    first: int  # the block's first row, counted from 0 after the header
    rows: int
    columns: list[Sequence[str]]  # one per header cell, ``rows`` long


class NotPlain(Exception):
    """A block of a text read as plain CSV holds quotes or a ragged line."""


def read(text: str, *, quoted: bool = False) -> tuple[list[str], Iterator[Block]]:
    """The header (cells stripped) and the blocks of rows after it; an empty CSV is refused,
    and ragged rows are, once every block was read (naming the first and their number)."""
    plain = text.replace("\r\n", "\n").rstrip("\n")
    if quoted or not plain or '"' in plain or "\r" in plain:
        return _quoted(text)
    head, _, rest = plain.partition("\n")
    header = [cell.strip() for cell in head.split(",")]
    return header, _plain_blocks(rest, len(header))


def _plain_blocks(text: str, width: int) -> Iterator[Block]:
    start = first = 0
    while start < len(text):
        end = text.find("\n", start + BLOCK_CHARS)
        end = len(text) if end < 0 else end
        lines = text[start:end].split("\n")
        if set(map(_COMMAS, lines)) != {width - 1}:
            raise NotPlain  # ragged, or blank lines: the csv module says where
        cells = ",".join(lines).split(",")
        yield Block(first, len(lines), [cells[i::width] for i in range(width)])
        first += len(lines)
        start = end + 1


def _quoted(text: str) -> tuple[list[str], Iterator[Block]]:
    reader = csv.reader(io.StringIO(text))
    head = next(reader, None)
    if head is None:
        raise _empty()
    header = [cell.strip() for cell in head]
    return header, _quoted_blocks(reader, header)


def _quoted_blocks(reader: Iterator[list[str]], header: list[str]) -> Iterator[Block]:
    """Blocks of the csv module's rows. Blank rows are held back until a row follows them:
    trailing ones are no rows."""
    width, first, ragged = len(header), 0, _Ragged()
    held: list[list[str]] = []
    while chunk := list(itertools.islice(reader, max(1, BLOCK_CELLS // max(width, 1)))):
        rows = held + chunk
        kept = len(rows)
        while kept and _blank(rows[kept - 1]):
            kept -= 1
        rows, held = rows[:kept], rows[kept:]
        ragged.count(rows, first, width)
        if rows and not ragged:
            yield Block(first, len(rows), [*zip(*rows, strict=True)])
        first += len(rows)
    if first == 0 and _blank(header):
        raise _empty()
    if ragged:
        raise ragged.problem(width)


class _Ragged:
    """Rows whose cells are not the header's: the first (its line and cells) and how many."""

    def __init__(self) -> None:
        self.first: tuple[int, int] | None = None
        self.lines = 0

    def count(self, rows: list[list[str]], first: int, width: int) -> None:
        wrong = [(first + i + 2, len(row)) for i, row in enumerate(rows) if len(row) != width]
        if wrong and self.first is None:
            self.first = wrong[0]
        self.lines += len(wrong)

    def __bool__(self) -> bool:
        return self.lines > 0

    def problem(self, width: int) -> InvalidInput:
        assert self.first is not None
        line, cells = self.first
        return InvalidInput.at(
            ("body",),
            f"CSV line {line} has {cells} cells, the header {width} ({self.lines} such line(s))",
        )


def _blank(row: Sequence[str]) -> bool:
    return not any(cell.strip() for cell in row)


def _empty() -> InvalidInput:
    return InvalidInput.at(("body",), "the CSV is empty: give a header row of feature names")
