"""Running totals over stored blocks equal brute-force sums, whatever the order of writes."""

import random

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from slo_service.db import session_scope
from slo_service.domain.blocks import BLOCK_SECONDS, Layout
from slo_service.domain.budget import Counts
from slo_service.domain.series import Buckets
from slo_service.models import SLO, SliBlock
from slo_service.services import buckets

LAYOUT = Layout(60)
T0 = 1_790_000_000 - 1_790_000_000 % BLOCK_SECONDS  # an hour boundary


def new_slo(db: Engine, name: str) -> int:
    with session_scope(db) as session:
        slo = SLO(
            service="m", name=name, kind="custom", objective=0.99, window="30d",
            budgeting="occurrences", labels={}, params={}, sli={"source": "push"}, gate={},
        )  # fmt: skip
        session.add(slo)
        session.flush()
        assert slo.id is not None
        return slo.id


@pytest.fixture
def slo_id(db: Engine) -> int:
    return new_slo(db, "s")


def brute(truth: dict[int, Counts], stamp: int) -> Counts:
    total = Counts()
    for bucket, counts in truth.items():
        if bucket < stamp:
            total = total + counts
    return total


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_adds_and_sets_keep_running_totals_exact(db: Engine, slo_id: int, seed: int) -> None:
    rng = random.Random(seed)
    truth: dict[int, Counts] = {}
    for _ in range(40):
        add = rng.random() < 0.5
        batch: dict[int, Counts] = {}
        for _ in range(rng.randint(1, 30)):
            bucket = T0 + 60 * rng.randint(0, 60 * 8)  # eight hours, written out of order
            counts = Counts(float(rng.randint(0, 50)), float(rng.randint(50, 100)))
            batch[bucket] = batch.get(bucket, Counts()) + counts
        with session_scope(db) as session:
            written = Buckets.summed(batch.items(), 60)
            buckets.write(session, slo_id, written, layout=LAYOUT, add=add)
        for bucket, counts in batch.items():
            truth[bucket] = (truth.get(bucket, Counts()) + counts) if add else counts
    stamps = [T0 - 60, T0, T0 + 59, *(T0 + 60 * rng.randint(0, 60 * 9) for _ in range(50))]
    with Session(db) as session:
        got = buckets.totals_at(session, slo_id, stamps, layout=LAYOUT)
    for stamp, counts in zip(stamps, got, strict=True):
        expected = brute(truth, stamp)
        assert counts.good == pytest.approx(expected.good, rel=1e-12, abs=1e-9), stamp
        assert counts.total == pytest.approx(expected.total, rel=1e-12, abs=1e-9), stamp


def test_setting_the_same_values_twice_changes_nothing(db: Engine, slo_id: int) -> None:
    values = [(T0 + 60 * i, Counts(9.5, 10.0)) for i in range(180)]
    for _ in range(2):
        with session_scope(db) as session:
            buckets.write(session, slo_id, Buckets.summed(values, 60), layout=LAYOUT, add=False)
    with Session(db) as session:
        (end,) = buckets.totals_at(session, slo_id, [T0 + 3 * 3600], layout=LAYOUT)
        rows = session.exec(select(func.count()).select_from(SliBlock)).one()
    assert end == Counts(9.5 * 180, 10.0 * 180)
    assert rows == 3  # three hours, one block each


def test_a_late_event_shifts_every_later_block(db: Engine, slo_id: int) -> None:
    with session_scope(db) as session:
        hourly = Buckets.summed([(T0 + 3600 * h, Counts(1, 1)) for h in range(5)], 60)
        buckets.write(session, slo_id, hourly, layout=LAYOUT, add=True)
        late = Buckets.summed([(T0 + 120, Counts(0, 7))], 60)
        buckets.write(session, slo_id, late, layout=LAYOUT, add=True)
    with Session(db) as session:
        totals = buckets.totals_at(
            session, slo_id, [T0 + 3600 * h for h in range(6)], layout=LAYOUT
        )
    assert [c.total for c in totals] == [0, 8, 9, 10, 11, 12]
    assert [c.good for c in totals] == [0, 1, 2, 3, 4, 5]


def test_one_write_for_many_slos_appends_and_overlaps(db: Engine, slo_id: int) -> None:
    other_id = new_slo(db, "t")
    with session_scope(db) as session:
        first = Buckets.summed([(T0 + 60 * i, Counts(1, 2)) for i in range(120)], 60)
        buckets.write_many(session, {slo_id: first, other_id: first}, layout=LAYOUT, add=False)
    # slo_id gets an earlier bucket rewritten (overlap), other gets a new hour (append).
    with session_scope(db) as session:
        buckets.write_many(
            session,
            {
                slo_id: Buckets.summed([(T0 + 60, Counts(0, 5))], 60),
                other_id: Buckets.summed([(T0 + 3 * 3600, Counts(3, 3))], 60),
            },
            layout=LAYOUT,
            add=False,
        )
    end = T0 + 4 * 3600
    with Session(db) as session:
        (mine,) = buckets.totals_at(session, slo_id, [end], layout=LAYOUT)
        (theirs,) = buckets.totals_at(session, other_id, [end], layout=LAYOUT)
    assert mine == Counts(119, 2 * 119 + 5)
    assert theirs == Counts(120 + 3, 240 + 3)


def test_totals_at_many_equal_brute_force_sums_around_gaps(db: Engine) -> None:
    """Many SLOs at once, as the pages ask: instants on the hour (read from the totals kept
    before a block), inside an hour, in hours with no block (a gap in the data, and before
    it began) and after the last block; SLOs asking for the same and for other instants."""
    rng = random.Random(5)
    truths: dict[int, dict[int, Counts]] = {}
    for n in range(6):
        slo_id = new_slo(db, f"s{n}")
        hours = [h for h in range(12) if h not in (3, 4, 8)]  # gaps of two hours and one
        truth = {
            T0 + 3600 * h + 60 * rng.randint(0, 59): Counts(float(rng.randint(0, 9)), 10.0)
            for h in hours
            for _ in range(5)
        }
        with session_scope(db) as session:
            written = Buckets.summed(truth.items(), 60)
            buckets.write(session, slo_id, written, layout=LAYOUT, add=False)
        truths[slo_id] = truth
    shared = [T0 - 3600, T0, T0 + 3600 * 3, T0 + 3600 * 4 + 600, T0 + 3600 * 9, T0 + 3600 * 20]
    stamps = {
        slo_id: shared
        if n % 2
        else [*shared, *(T0 + 60 * rng.randint(0, 60 * 13) for _ in range(9))]
        for n, slo_id in enumerate(truths)
    }
    with Session(db) as session:
        got = buckets.totals_at_many(session, stamps, layout=LAYOUT)
    for slo_id, these in stamps.items():
        for stamp, counts in zip(these, got[slo_id], strict=True):
            expected = brute(truths[slo_id], stamp)
            assert counts.good == pytest.approx(expected.good, abs=1e-9), (slo_id, stamp)
            assert counts.total == pytest.approx(expected.total, abs=1e-9), (slo_id, stamp)
