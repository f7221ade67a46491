"""``/healthz`` and ``/readyz``."""

from pathlib import Path

from fastapi.testclient import TestClient

from slo_service import migrate
from slo_service.app import create_app
from slo_service.config import Settings
from slo_service.db import make_engine
from tests.support.servers import free_port


def test_ready_when_migrated(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "schema": sorted(migrate.heads())}


def test_not_ready_before_migrations(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    with TestClient(create_app(Settings(database_url=url, scheduler=False))) as client:
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
        assert response.status_code == 503
        assert "slo-service migrate" in response.json()["reason"]


def test_database_down_is_503_not_500() -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"
    settings = Settings(database_url=url, public_read=True, scheduler=False)
    with TestClient(create_app(settings, engine=make_engine(url))) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "database unreachable" in ready.json()["reason"]
        listing = client.get("/api/v1/slos")
        assert listing.status_code == 503
        assert listing.json()["error"] == "Unavailable"
