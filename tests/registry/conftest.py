"""Registry fixtures: a migrated SQLite template copied per test, a throwaway PostgreSQL cluster
(session-scoped, started from the image's binaries as a non-root user), services, apps and tokens."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import time
from dataclasses import dataclass

import pytest

from reddplus.registry.core.config import RegistrySettings
from reddplus.registry.db import connect, migrate
from reddplus.registry.pgcluster import TempPostgres, free_port, postgres_available
from reddplus.registry.service import OPERATOR, RegistryService

SECRET = "test-secret-9f2c7e1b4a6d8053b1e9c4f7a2d60e8b3c5f9a71d24e"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("registry-template") / "template.sqlite"
    db = connect(f"sqlite:///{path}")
    migrate(db)
    db.dispose()
    return path


def _copy_sqlite(template, dest):
    shutil.copy(template, dest)
    return f"sqlite:///{dest}"


@pytest.fixture
def sqlite_url(sqlite_template, tmp_path):
    return _copy_sqlite(sqlite_template, tmp_path / "registry.sqlite")


@pytest.fixture(scope="session")
def pg_cluster():
    if not postgres_available():
        pytest.skip("PostgreSQL 15 binaries not found in /usr/lib/postgresql/15/bin")
    pg = TempPostgres(fsync=False)
    pg.start()
    yield pg
    pg.stop()


@pytest.fixture
def pg_url(pg_cluster):
    url = pg_cluster.create_database()
    db = connect(url)
    migrate(db)
    db.dispose()
    yield url
    pg_cluster.drop_database(url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_url(request):
    """Both back ends: the test runs once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


def assert_error(r, status, code=None):
    """An HTTP response in the registry's error shape: ``status``, ``{"error": {...}}`` with a message (and
    ``code`` when given)."""
    assert r.status_code == status, (r.status_code, r.text[:300])
    body = r.json()
    assert set(body) == {"error"} and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code, body


def make_service(url: str, batch: bool = False) -> RegistryService:
    return RegistryService(connect(url, pool_size=20), secret_key=SECRET, batch_spends=batch)


@pytest.fixture
def svc(sqlite_url):
    s = make_service(sqlite_url)
    yield s
    s.db.dispose()


@dataclass
class World:
    """A project with one issuance of 1000 credits (10 % buffer) held by alice; bob is another holder."""

    svc: RegistryService
    project_id: int
    alice: int
    bob: int
    issuance: dict

    @property
    def holder_block(self) -> int:
        return self.issuance["blocks"][0]["id"]


def build_world(s: RegistryService, quantity: int = 1000, buffer_percent=10) -> World:
    p = s.create_project(OPERATOR, "Test REDD+ project", "BR")
    alice = s.create_account(OPERATOR, "alice")["id"]
    bob = s.create_account(OPERATOR, "bob")["id"]
    iss = s.issue(OPERATOR, p["id"], dt.date(2021, 1, 1), dt.date(2021, 12, 31), quantity, buffer_percent, alice)
    return World(s, p["id"], alice, bob, iss)


@pytest.fixture
def world(svc):
    return build_world(svc)


def make_app(url: str):
    from reddplus.registry.api.app import create_app

    settings = RegistrySettings(database_url=url, secret_key=SECRET, max_body_bytes=16384)
    return create_app(settings, database=connect(url, pool_size=20), run_migrations=False)


@dataclass
class ApiWorld:
    client: object
    svc: RegistryService
    admin: dict
    alice: dict
    bob: dict
    alice_id: int
    bob_id: int
    project_id: int
    issuance: dict


@pytest.fixture
def api(sqlite_url):
    from fastapi.testclient import TestClient

    app = make_app(sqlite_url)
    s: RegistryService = app.state.service
    admin = {"Authorization": f"Bearer {s.create_token('admin')}"}
    alice = {"Authorization": f"Bearer {s.create_token('holder', 'alice')}"}
    bob = {"Authorization": f"Bearer {s.create_token('holder', 'bob')}"}
    with TestClient(app, raise_server_exceptions=False) as client:
        acc = {a["name"]: a["id"] for a in (client.get("/api/v1/accounts/3", headers=admin).json(),
                                            client.get("/api/v1/accounts/4", headers=admin).json())}
        pid = client.post("/api/v1/projects", json={"name": "API project", "country": "PE"}, headers=admin).json()["id"]
        iss = client.post(f"/api/v1/projects/{pid}/issuances", headers=admin, json={
            "vintage_start": "2021-01-01", "vintage_end": "2021-12-31", "quantity": 1000, "buffer_percent": 10,
            "account_id": acc["alice"]}).json()
        yield ApiWorld(client, s, admin, alice, bob, acc["alice"], acc["bob"], pid, iss)
    s.close()


class ServerThread:
    """uvicorn serving an app on 127.0.0.1 and a free port, in a thread (bounded start-up wait)."""

    def __init__(self, app):
        import uvicorn

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                return self
            time.sleep(0.05)
        raise RuntimeError("uvicorn did not start within 10 s")

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)
