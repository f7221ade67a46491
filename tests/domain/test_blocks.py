from array import array

import numpy as np
import pytest

from slo_service.domain.blocks import (
    Block,
    Grid,
    Layout,
    Row,
    cum_at,
    cums_inside,
    merge,
    merged,
    merged_hours,
    pack,
    unpack,
)
from slo_service.domain.budget import Counts
from slo_service.domain.series import Buckets

H = 1_790_002_800  # an hour boundary
MINUTE = Layout(60)
NAN = float("nan")


@pytest.mark.parametrize(
    ("stamp", "block", "slot", "before"),
    [
        (H, H, 0, 0),
        (H + 59, H, 0, 1),
        (H + 60, H, 1, 1),
        (H + 3599, H, 59, 60),
        (H + 3600, H + 3600, 0, 0),
    ],
    ids=["edge", "inside-first", "second", "last", "next-hour"],
)
def test_layout(stamp: int, block: int, slot: int, before: int) -> None:
    assert MINUTE.block_of(stamp) == block
    assert MINUTE.slot_of(stamp) == slot
    assert MINUTE.slots_before(stamp) == before


def test_bucket_must_divide_an_hour() -> None:
    assert Layout(300).slots == 12
    with pytest.raises(ValueError, match="must divide an hour"):
        Layout(7 * 60)


def block() -> Block:
    good = array("d", [float(i) for i in range(60)])
    total = array("d", [100.0] * 60)
    return Block(H, good, total, Counts(1000, 5000))


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        (H, Counts(1000, 5000)),
        (H + 120, Counts(1001, 5200)),
        (H + 121, Counts(1003, 5300)),
        (H + 3600, Counts(1000 + 1770, 11000)),
        (H + 7200, Counts(1000 + 1770, 11000)),
    ],
    ids=["block-start", "two-buckets", "inside-third", "block-end", "hours-later"],
)
def test_cum_at(stamp: int, expected: Counts) -> None:
    assert cum_at(block(), stamp, MINUTE) == expected


def test_cum_before_anything_is_zero() -> None:
    assert cum_at(None, H, MINUTE) == Counts()


def test_pack_round_trip() -> None:
    values = array("d", [0.5, 1e12, -0.0, 3.25])
    assert unpack(pack(values)) == values


def measured(start: int, good: list[float], total: list[float]) -> Buckets:
    return Buckets(start, 60, np.array(good), np.array(total))


def test_grid_spans_the_hours_with_data_only() -> None:
    # NaN totals at both ends: the grid starts at the hour of the first bucket with data.
    buckets = measured(H - 120, [0, 0, 5, 7], [NAN, NAN, 10, 10])
    grid = Grid.of(buckets, MINUTE)
    assert grid is not None
    assert (grid.first, grid.last) == (H, H)
    assert grid.good.shape == (1, 60)
    assert list(grid.good[0, :3]) == [5, 7, 0]
    assert list(grid.measured[0, :3]) == [True, True, False]
    assert Grid.of(measured(H, [1], [NAN]), MINUTE) is None


def test_grid_refuses_another_bucket_size_or_an_unaligned_start() -> None:
    with pytest.raises(ValueError, match="60 s buckets in a 300 s layout"):
        Grid.of(measured(H, [1], [1]), Layout(300))
    with pytest.raises(ValueError, match="bucket boundary"):
        Grid.of(measured(H + 1, [1], [1]), MINUTE)


def stored(start: int, good: float, total: float, before: Counts) -> Block:
    return Block(start, array("d", [good] * 60), array("d", [total] * 60), before)


def test_merge_new_hours_with_a_gap() -> None:
    # Two buckets three hours apart: two blocks, none for the empty hours between.
    buckets = Buckets.summed([(H + 60, Counts(1, 2)), (H + 3 * 3600, Counts(3, 4))], 60)
    grid = Grid.of(buckets, MINUTE)
    assert grid is not None
    rows, delta = merge(grid, {}, Counts(10, 20), add=False)
    assert [(row.start, row.before) for row in rows] == [
        (H, Counts(10, 20)),
        (H + 3 * 3600, Counts(11, 22)),
    ]
    assert unpack(rows[0].good)[:2] == array("d", [0, 1])
    assert delta == Counts(4, 6)


@pytest.mark.parametrize(
    ("add", "first_hour", "delta"),
    [(False, (3 * 59 + 9, 4 * 59 + 10), Counts(9 - 3, 10 - 4)),
     (True, (3 * 60 + 9, 4 * 60 + 10), Counts(9, 10))],
    ids=["replace", "add"],
)  # fmt: skip
def test_merge_over_stored_blocks(
    add: bool, first_hour: tuple[float, float], delta: Counts
) -> None:
    grid = Grid.of(measured(H + 120, [9], [10]), MINUTE)
    assert grid is not None
    rows, moved = merge(grid, {H: stored(H, 3, 4, Counts(100, 200))}, Counts(100, 200), add=add)
    assert [(row.start, row.before) for row in rows] == [(H, Counts(100, 200))]
    good, total = unpack(rows[0].good), unpack(rows[0].total)
    assert (sum(good), sum(total)) == first_hour
    assert (good[1], good[2], good[3]) == (3, 9 + 3 * add, 3)
    assert moved == delta


def test_merge_rewrites_a_stored_block_whose_running_totals_moved() -> None:
    blocks = {H: stored(H, 1, 1, Counts(0, 0)), H + 3600: stored(H + 3600, 1, 1, Counts(0, 0))}
    grid = Grid.of(measured(H, [1], [1]), MINUTE)
    assert grid is not None
    grid = Grid(grid.first, np.vstack([grid.good, np.zeros((1, 60))]),
                np.vstack([grid.total, np.zeros((1, 60))]),
                np.vstack([grid.measured, np.zeros((1, 60), dtype=bool)]))  # fmt: skip
    rows, _ = merge(grid, blocks, Counts(), add=False)
    # The second hour was not measured, but its stored "before" (0) was wrong: 60 came first.
    assert [(row.start, row.before) for row in rows] == [(H, Counts()), (H + 3600, Counts(60, 60))]


def test_summed_adds_events_in_one_bucket() -> None:
    buckets = Buckets.summed(
        [(H + 60, Counts(1, 2)), (H + 60, Counts(3, 4)), (H, Counts(0, 1))], 60
    )
    assert buckets.items() == [(H, Counts(0, 1)), (H + 60, Counts(4, 6))]
    assert buckets.count == 2
    assert Buckets.summed([], 60).count == 0


def _row(good: list[float], total: list[float], before: Counts = Counts()) -> Row:
    return Row(H, pack(np.array(good)), pack(np.array(total)), before)


def _one_at_a_time(row: Row, slot: int) -> Counts:
    return Block(row.start, unpack(row.good), unpack(row.total), row.before).through(slot)


@pytest.mark.parametrize(
    ("rows", "slots"),
    [
        ([], []),
        ([_row([1.0] * 60, [2.0] * 60, Counts(5.0, 10.0))], [0]),  # nothing of the block yet
        ([_row([1.0] * 60, [2.0] * 60, Counts(5.0, 10.0))], [60]),  # the whole block
        ([_row([0.1] * 60, [0.3] * 60)] * 3, [1, 7, 59]),  # sums rounded as ``sum`` rounds them
        ([_row([-0.0] * 60, [-0.0] * 60, Counts(-0.0, -0.0))], [0]),  # a zero's sign
        ([_row([-0.0] * 60, [-0.0] * 60, Counts(-0.0, -0.0))], [3]),
        ([_row([1e16, 1.0, -1e16] + [0.0] * 57, [3.0] * 60)], [3]),  # order matters
        ([_row([1.0] * 60, [1.0] * 60), _row([1.0] * 30, [1.0] * 30)], [10, 20]),  # widths
    ],
    ids=["none", "slot-0", "all", "rounding", "zero-sign", "zero-sign-sum", "order", "widths"],
)
def test_cums_inside_equal_cum_at_one_block_at_a_time(rows: list[Row], slots: list[int]) -> None:
    expected = [_one_at_a_time(row, slot) for row, slot in zip(rows, slots, strict=True)]
    found = cums_inside(rows, slots)
    assert [tuple(map(repr, c)) for c in found] == [tuple(map(repr, c)) for c in expected]


def test_cums_inside_random_blocks_equal_cum_at_bit_for_bit() -> None:
    rng = np.random.default_rng(17)
    rows = [
        _row(list(rng.random(60) * 1e3), list(rng.random(60) * 1e4), Counts(*rng.random(2) * 1e6))
        for _ in range(200)
    ]
    slots = [int(s) for s in rng.integers(0, 61, size=200)]
    expected = [_one_at_a_time(row, slot) for row, slot in zip(rows, slots, strict=True)]
    assert cums_inside(rows, slots) == expected


def _one_hour(rng: np.random.Generator, measured_share: float) -> Grid:
    good, total = rng.random(60) * 1e3, rng.random(60) * 1e4
    present = rng.random(60) < measured_share
    present[rng.integers(60)] = True
    buckets = Buckets(H, 60, good, np.where(present, total, NAN))
    grid = Grid.of(buckets, MINUTE)
    assert grid is not None
    assert len(grid.good) == 1
    return grid


@pytest.mark.parametrize("add", [False, True])
def test_merged_hours_equal_merged_grid_by_grid(add: bool) -> None:
    """Bit for bit: stored blocks or none, a few or all buckets measured, running totals that
    moved or not."""
    rng = np.random.default_rng(3 if add else 4)
    grids = [_one_hour(rng, share) for share in rng.choice([0.02, 0.5, 1.0], size=300)]
    stored: list[Block | None] = [
        None
        if rng.random() < 0.3
        else Block(H, array("d", rng.random(60) * 1e3), array("d", rng.random(60) * 1e4),
                   Counts(*(rng.random(2) * 1e6)))
        for _ in grids
    ]  # fmt: skip
    befores = [
        block.before if block is not None and rng.random() < 0.5 else Counts(*(rng.random(2) * 1e6))
        for block in stored
    ]
    found = merged_hours(grids, stored, befores, add=add)
    for grid, block, before, mine in zip(grids, stored, befores, found, strict=True):
        theirs = merged(grid, {} if block is None else {H: block}, before, add=add)
        assert mine.rows() == theirs.rows()
        assert repr(mine.delta) == repr(theirs.delta)


def test_merged_hours_refuse_grids_of_several_hours() -> None:
    buckets = Buckets(H, 60, np.ones(120), np.ones(120))
    grid = Grid.of(buckets, MINUTE)
    assert grid is not None
    with pytest.raises(ValueError, match="one hour each"):
        merged_hours([grid], [None], [Counts()], add=False)
