"""Real servers for the tests: a throwaway Postgres cluster and a Prometheus, on free ports.

Each runs from the machine's own binaries (the test command installs them with apt) in a
temporary directory, and is stopped when the test session ends.
"""

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL binaries not found: apt-get install postgresql")
    return found[-1].parent


def _as_postgres(args: list[str]) -> list[str]:
    """initdb refuses to run as root: run the server as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextmanager
def postgres_cluster(workdir: Path) -> Iterator[str]:
    """Start a cluster in ``workdir``; yields a SQLAlchemy URL to its ``postgres`` database."""
    bin_dir = _postgres_bin()
    data = workdir / "pgdata"
    workdir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres", "postgres")
    port = free_port()
    subprocess.run(
        _as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]),
        check=True,
        capture_output=True,
    )
    options = (
        f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        _as_postgres(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "-l",
                str(workdir / "postgres.log"),
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
        )


@contextmanager
def prometheus_server(
    workdir: Path,
    *,
    tsdb: Path | None = None,
    scrape: Sequence[str] = (),
    web_config: Path | None = None,
    ready: httpx.Client | None = None,
) -> Iterator[str]:
    """Start Prometheus over ``tsdb`` (backfilled blocks, or empty), scraping the
    ``host:port`` targets in ``scrape`` every second (none by default); ``web_config`` (its
    ``--web.config.file``: basic auth, TLS) makes the URL https when it has a
    ``tls_server_config``, and ``ready`` is then the client that can ask it whether it is."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise RuntimeError("prometheus not found: apt-get install prometheus")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    if scrape:
        targets = ", ".join(f'"{target}"' for target in scrape)
        config.write_text(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n"
            f"  - job_name: slo-service\n    static_configs:\n      - targets: [{targets}]\n"
        )
    else:
        config.write_text("global:\n  scrape_interval: 1m\nscrape_configs: []\n")
    port = free_port()
    tls = web_config is not None and "tls_server_config" in web_config.read_text()
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    log = (workdir / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tsdb or workdir / 'data'}",
            "--storage.tsdb.retention.time=3650d",
            f"--web.listen-address=127.0.0.1:{port}",
            *([f"--web.config.file={web_config}"] if web_config else []),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_ready(f"{url}/-/ready", process, client=ready)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _wait_ready(
    url: str,
    process: subprocess.Popen[bytes],
    timeout: float = 60,
    client: httpx.Client | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        try:
            if (client.get(url) if client else httpx.get(url, timeout=1)).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout} s")


@contextmanager
def serve_in_thread(app: object) -> Iterator[str]:
    """Run an ASGI app with uvicorn on a free loopback port; yields its base URL."""
    import threading

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def silent_listener() -> Iterator[int]:
    """A loopback port that accepts connections and never answers nor closes them (a server
    that hangs, or a host that drops packets, instead of refusing); yields the port. The
    connections it holds are closed when the block ends."""
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.1)  # so the accepting thread sees the end of the block
    held: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        while not done.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            held.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        done.set()
        thread.join(timeout=5)
        for connection in held:
            connection.close()
        listener.close()
