"""Real servers in front of Prometheus for the datasource tests: a CA with server and client
certificates (openssl, as Debian ships it), and nginx as a multi-tenant gateway requiring a
bearer token and an ``X-Scope-OrgID`` header, as Mimir's and Cortex's do."""

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.servers import free_port


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


def make_pki(folder: Path, server_name: str) -> Path:
    """In ``folder``: ``ca.pem``/``.key``; ``server.pem``/``.key`` for ``server_name`` and
    ``client.pem``/``.key``, both signed by that CA; ``other-ca.pem``, a CA that signed
    nothing."""
    for ca in ("ca", "other-ca"):
        _openssl(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "1", "-subj", f"/CN=slo-service {ca}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout", folder / f"{ca}.key", "-out", folder / f"{ca}.pem",
        )  # fmt: skip
    for name, extension in (
        ("server", f"subjectAltName=DNS:{server_name}\nextendedKeyUsage=serverAuth\n"),
        ("client", "extendedKeyUsage=clientAuth\n"),
    ):
        (folder / f"{name}.ext").write_text(extension)
        _openssl(
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-subj", f"/CN={server_name if name == 'server' else 'slo-service'}",
            "-keyout", folder / f"{name}.key", "-out", folder / f"{name}.csr",
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", folder / f"{name}.csr", "-CA", folder / "ca.pem",
            "-CAkey", folder / "ca.key", "-CAcreateserial", "-days", "1",
            "-extfile", folder / f"{name}.ext", "-out", folder / f"{name}.pem",
        )  # fmt: skip
    return folder


@contextmanager
def tenant_gateway(
    folder: Path, backend: str, *, token: str, org: str, upstream: str
) -> Iterator[str]:
    """nginx (Debian's, in the foreground, its config and files in ``folder``) on a free
    loopback port, proxying to ``backend`` with ``Authorization: <upstream>``: 401 without
    ``Bearer <token>`` or without an X-Scope-OrgID, 403 for a tenant other than ``org``."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise RuntimeError("nginx not found: apt-get install nginx")
    folder.chmod(0o755)  # its workers run as nobody when the tests run as root
    port = free_port()
    (folder / "nginx.conf").write_text(
        f"""
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    map $http_authorization $token_ok {{ "Bearer {token}" 1; default 0; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            if ($token_ok = 0) {{ return 401 "bad or missing bearer token\\n"; }}
            if ($http_x_scope_orgid = "") {{ return 401 "no org id\\n"; }}
            if ($http_x_scope_orgid != "{org}") {{ return 403 "unknown tenant\\n"; }}
            proxy_set_header Authorization "{upstream}";
            proxy_buffering off;
            proxy_pass {backend};
        }}
    }}
}}
"""
    )
    log = (folder / "stderr.log").open("w")
    process = subprocess.Popen(
        [binary, "-c", str(folder / "nginx.conf"), "-p", str(folder), "-g", "daemon off;"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_listening(url, process, folder)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _wait_listening(url: str, process: subprocess.Popen[bytes], folder: Path) -> None:
    for _ in range(100):
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited: {(folder / 'stderr.log').read_text()}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"nginx at {url} not listening")
