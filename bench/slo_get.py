"""GET /api/v1/slos/{id} on one server process, N concurrent clients: p50, p99, requests/s."""

import argparse
import os
import time

from bench import load
from slo_service import migrate
from slo_service.db import make_engine, session_scope
from slo_service.domain.scopes import Scope
from slo_service.schemas.slo import SLOCreate
from slo_service.services import slos, tokens
from slo_service.sources.base import NoQueryChecker


def seed(url: str, count: int) -> tuple[str, list[int]]:
    engine = make_engine(url)
    migrate.upgrade(engine)
    with session_scope(engine) as session:
        _, token = tokens.create(
            session, name=f"bench-{time.time_ns()}", scopes=[Scope.READ], actor="bench"
        )
        ids = []
        for index in range(count):
            data = SLOCreate.model_validate(
                {
                    "service": f"model-{index // 5}",
                    "name": f"bench-{time.time_ns()}-{index}",
                    "kind": "latency",
                    "objective": 0.95,
                    "params": {"threshold_ms": 500},
                    "labels": {"team": "bench"},
                }
            )
            ids.append(slos.create(session, slos.prepare(data, NoQueryChecker()), actor="bench").id)
    engine.dispose()
    return token, [i for i in ids if i is not None]


def main() -> None:
    load.main(__doc__, run, "--slos", 1000)


def run(url: str, args: argparse.Namespace) -> dict[str, object]:
    token, ids = seed(url, args.slos)
    paths = [f"/api/v1/slos/{i}" for i in ids]
    with load.server(url, args.port) as base:
        load.wrk(base, paths, args.clients, args.warmup, token=token)
        measured = load.wrk(base, paths, args.clients, args.seconds, token=token)
    return {
        "endpoint": "GET /api/v1/slos/{id}",
        "backend": load.backend(url),
        "slos": len(ids),
        "clients": args.clients,
        "seconds": args.seconds,
        **measured,
        "cpus": os.cpu_count(),
    }


if __name__ == "__main__":
    main()
