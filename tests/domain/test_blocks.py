from array import array

import pytest

from slo_service.domain.blocks import Block, Layout, by_block, cum_at, pack, unpack
from slo_service.domain.budget import Counts

H = 1_790_002_800  # an hour boundary
MINUTE = Layout(60)


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


def test_pack_round_trip_and_grouping() -> None:
    values = array("d", [0.5, 1e12, -0.0, 3.25])
    assert unpack(pack(values)) == values
    groups = list(by_block([(H + 3600, Counts(1, 1)), (H + 60, Counts(2, 2))], MINUTE))
    assert groups == [(H, [(1, Counts(2, 2))]), (H + 3600, [(0, Counts(1, 1))])]
