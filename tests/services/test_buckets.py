"""Running totals over stored blocks equal brute-force sums, whatever the order of writes."""

import random

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from slo_service.db import session_scope
from slo_service.domain.blocks import BLOCK_SECONDS, Grid, Layout, merged
from slo_service.domain.budget import Counts
from slo_service.domain.series import Buckets
from slo_service.models import SLO, SliBlock
from slo_service.repositories import blocks as block_repo
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


def _blocks(db: Engine, slo_id: int) -> list[tuple[int, bytes, bytes, float, float]]:
    with Session(db) as session:
        rows = session.exec(
            select(SliBlock).where(SliBlock.slo_id == slo_id).order_by(col(SliBlock.start))
        ).all()
        return [(r.start, r.good, r.total, r.good_before, r.total_before) for r in rows]


@pytest.mark.parametrize("seed", [7, 8])
def test_one_write_for_many_slos_stores_what_one_write_each_stores(db: Engine, seed: int) -> None:
    """Many SLOs in one ``write_many`` (appends, rewrites of stored hours, later blocks
    shifted, SLOs over other hours in the same call) store the very blocks that writing each
    SLO on its own stores, and their running totals equal brute-force sums."""
    rng = random.Random(seed)
    together = [new_slo(db, f"together-{n}") for n in range(5)]
    alone = [new_slo(db, f"alone-{n}") for n in range(5)]
    truths: list[dict[int, Counts]] = [{} for _ in together]
    for _ in range(25):
        add = rng.random() < 0.5
        batches: list[dict[int, Counts]] = []
        for truth in truths:
            batch: dict[int, Counts] = {}
            low = rng.randint(0, 60 * 7)
            for _ in range(rng.randint(0, 20)):
                bucket = T0 + 60 * rng.randint(low, low + rng.choice([5, 60, 200]))
                counts = Counts(float(rng.randint(0, 50)), float(rng.randint(50, 100)))
                batch[bucket] = batch.get(bucket, Counts()) + counts
            batches.append(batch)
            for bucket, counts in batch.items():
                truth[bucket] = (truth.get(bucket, Counts()) + counts) if add else counts
        written = [Buckets.summed(batch.items(), 60) for batch in batches]
        with session_scope(db) as session:
            buckets.write_many(
                session, dict(zip(together, written, strict=True)), layout=LAYOUT, add=add
            )
        for slo_id, one in zip(alone, written, strict=True):
            with session_scope(db) as session:
                buckets.write(session, slo_id, one, layout=LAYOUT, add=add)
    stamps = [T0 + 60 * rng.randint(-5, 60 * 9) for _ in range(40)]
    for mine, theirs, truth in zip(together, alone, truths, strict=True):
        assert _blocks(db, mine) == _blocks(db, theirs)
        with Session(db) as session:
            got = buckets.totals_at(session, mine, stamps, layout=LAYOUT)
        for stamp, counts in zip(stamps, got, strict=True):
            expected = brute(truth, stamp)
            assert counts.good == pytest.approx(expected.good, rel=1e-12, abs=1e-9), stamp
            assert counts.total == pytest.approx(expected.total, rel=1e-12, abs=1e-9), stamp


def test_bulk_appended_blocks_are_the_rows_inserted_one_by_one(db: Engine) -> None:
    """The binary COPY of many SLOs' new blocks (Postgres) stores the very bytes and running
    totals that inserting their rows one by one stores: buckets with and without data, a gap
    of an hour, awkward floats."""
    rng = random.Random(11)
    values = [(T0 + 60 * rng.randint(0, 60 * 5), Counts(rng.random() / 3, 1 + rng.random() * 1e9))
              for _ in range(200)]  # fmt: skip
    values = [(stamp, counts) for stamp, counts in values if not 3 * 3600 <= stamp - T0 < 4 * 3600]
    grid = Grid.of(Buckets.summed(values, 60), LAYOUT)
    assert grid is not None
    found = merged(grid, {}, Counts(0.1, 1e300), add=False)
    bulk, single = [new_slo(db, "bulk"), new_slo(db, "bulk-2")], new_slo(db, "single")
    with session_scope(db) as session:
        block_repo.append(session, [(slo_id, found) for slo_id in bulk])
        block_repo.save(session, [(single, row) for row in found.rows()], stored=set())
    assert _blocks(db, bulk[0]) == _blocks(db, single) == _blocks(db, bulk[1])
    assert len(_blocks(db, single)) == len({(stamp - T0) // 3600 for stamp, _ in values})
