"""Status reads and storage: N SLOs with 30 days of one-minute buckets, then the status of
random SLOs read in-process for 30-day and 1-day windows (p50, p99), and the bytes stored per
SLO per 30 days."""

import argparse
import contextlib
import json
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text
from sqlmodel import Session

from slo_service import migrate
from slo_service.db import make_engine, session_scope
from slo_service.domain.blocks import Layout
from slo_service.domain.budget import Counts
from slo_service.domain.series import Buckets
from slo_service.models import SLO
from slo_service.schemas.slo import SLOCreate
from slo_service.services import buckets, slos, status
from slo_service.sources.base import NoQueryChecker
from tests.support.servers import postgres_cluster

LAYOUT = Layout(60)
MINUTES = 30 * 24 * 60


def seed(engine: Engine, count: int, now: datetime) -> list[int]:
    rng = random.Random(7)
    start = int(now.timestamp()) - MINUTES * 60
    ids = []
    for index in range(count):
        with session_scope(engine) as session:
            window = "30d" if index % 2 == 0 else "1d"
            data = SLOCreate.model_validate(
                {
                    "service": f"m{index}",
                    "name": "availability",
                    "kind": "availability",
                    "objective": 0.999,
                    "window": window,
                    "params": {},
                }
            )
            slo = slos.create(session, slos.prepare(data, NoQueryChecker()), actor="bench")
            assert slo.id is not None
            values = [
                (start + 60 * minute, Counts(1000.0 - rng.random(), 1000.0))
                for minute in range(MINUTES)
            ]
            buckets.write(session, slo.id, Buckets.summed(values, 60), layout=LAYOUT, add=False)
            slo.evaluated_until = now
            ids.append(slo.id)
    return ids


def read_times(engine: Engine, ids: list[int], now: datetime, reads: int) -> list[float]:
    rng = random.Random(1)
    times = []
    with Session(engine) as session:
        for _ in range(reads):
            slo = session.get(SLO, rng.choice(ids))
            assert slo is not None
            started = time.perf_counter()
            status.status(session, slo, now=now, layout=LAYOUT)
            times.append(time.perf_counter() - started)
            session.expunge_all()
    return times


def stored_bytes(engine: Engine, path: Path | None) -> int:
    if path is not None:
        return path.stat().st_size
    with engine.connect() as connection:
        size = connection.execute(text("SELECT pg_total_relation_size('sli_block')")).scalar()
        return int(size or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slos", type=int, default=100)
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="slo-bench-"))
    workdir.chmod(0o755)
    with contextlib.ExitStack() as stack:
        sqlite_path = None if args.postgres else workdir / "status.db"
        url = (
            stack.enter_context(postgres_cluster(workdir / "pg"))
            if args.postgres
            else f"sqlite:///{sqlite_path}"
        )
        engine = make_engine(url)
        migrate.upgrade(engine)
        now = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
        started = time.perf_counter()
        ids = seed(engine, args.slos, now)
        seeded = time.perf_counter() - started
        if args.postgres:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("VACUUM ANALYZE"))
        result: dict[str, object] = {
            "backend": url.split(":", 1)[0],
            "slos": len(ids),
            "seed_seconds_per_slo": round(seeded / len(ids), 3),
        }
        for window in ("30d", "1d"):
            chosen = ids[0::2] if window == "30d" else ids[1::2]
            quantiles = statistics.quantiles(read_times(engine, chosen, now, args.reads), n=100)
            result[f"status_{window}_p50_ms"] = round(quantiles[49] * 1000, 2)
            result[f"status_{window}_p99_ms"] = round(quantiles[98] * 1000, 2)
        total = stored_bytes(engine, sqlite_path)
        result["bytes_per_slo_per_30d"] = round(total / len(ids))
        engine.dispose()
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
