"""The registry under faults (issue 15): the server killed (SIGKILL) during concurrent retirements
and restarted; PostgreSQL restarted during the load. Afterwards every invariant holds, the journal
verifies, every acknowledged retirement is there, and retried requests (same Idempotency-Key) never
count twice: the totals are never wrong."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest

from reddplus.registry.db import connect, migrate
from reddplus.registry.pgcluster import TempPostgres, free_port, postgres_available
from reddplus.registry.service import OPERATOR

from .conftest import SECRET, ServerThread, make_service

pytestmark = [pytest.mark.slow, pytest.mark.postgres,
              pytest.mark.skipif(not postgres_available(), reason="PostgreSQL 15 binaries not found")]
THREADS = 6


def _setup(url: str):
    svc = make_service(url)
    prj = svc.create_project(OPERATOR, "faults", "BR")["id"]
    holders = []
    for i in range(THREADS):
        token = svc.create_token("holder", f"holder-{i}")
        acc = svc.authenticate(token).account_id
        block = svc.issue(OPERATOR, prj, dt.date(2021, 1, 1), dt.date(2021, 12, 31), 100000, 0, acc)["blocks"][0]["id"]
        holders.append((token, block))
    return svc, prj, holders


class Client(threading.Thread):
    """Retires 1 credit at a time with a fresh Idempotency-Key; on an error whose outcome is unknown it
    retries the same request (same key, same body) until it gets an answer, within ``deadline``."""

    def __init__(self, base: str, token: str, block: int, stop: threading.Event, deadline: float):
        super().__init__(daemon=True)
        self.base, self.token, self.block, self.stop, self.deadline = base, token, block, stop, deadline
        self.acked: set[str] = set()
        self.statuses: list[int] = []
        self.unanswered: list[tuple[str, dict]] = []
        self.transport_errors = 0

    def _post(self, c, key, body):
        import httpx
        while time.time() < self.deadline:
            try:
                r = c.post("/api/v1/retirements", json=body, headers={"Idempotency-Key": key})
            except httpx.HTTPError:
                self.transport_errors += 1
                time.sleep(0.2)
                continue
            self.statuses.append(r.status_code)
            if r.status_code in (503, 409) and r.json()["error"]["code"] in ("database_unavailable",
                                                                            "idempotency_in_progress"):
                time.sleep(0.2)
                continue
            return r
        return None

    def run(self):
        import httpx
        with httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {self.token}"}, timeout=10) as c:
            while not self.stop.is_set():
                key = uuid.uuid4().hex
                body = {"block_id": self.block, "quantity": 1, "beneficiary": "fault test", "reason": "r"}
                r = self._post(c, key, body)
                if r is None:
                    self.unanswered.append((key, body))
                    return
                assert r.status_code == 201, r.text
                self.acked.add(key)
                self.block = [b for b in r.json()["blocks"] if b["status"] == "active"][0]["id"]


def _check(svc, prj, clients):
    v = svc.verify_journal()
    assert v["ok"], v
    assert svc.invariants() == {"ok": True, "violations": []}
    t = svc.project_totals(prj)
    acked = sum(len(c.acked) for c in clients)
    assert t["retired"] == acked and acked > 0, (t, acked)
    assert t["issued"] == t["retired"] + t["cancelled"] + t["buffer"] + t["available"]
    assert all(not c.unanswered for c in clients)
    assert 500 not in {s for c in clients for s in c.statuses}


def _serve(url: str, port: int) -> subprocess.Popen:
    env = dict(os.environ, REDDPLUS_REGISTRY_SECRET_KEY=SECRET, REDDPLUS_REGISTRY_DATABASE_URL=url)
    exe = os.path.join(os.path.dirname(sys.executable), "reddplus")
    proc = subprocess.Popen([exe, "registry", "serve", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import httpx
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/journal/head", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the registry server did not start in 20 s")


def test_server_killed_during_retirements(pg_url):
    svc, prj, holders = _setup(pg_url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = _serve(pg_url, port)
    stop = threading.Event()
    clients = [Client(base, t, b, stop, deadline=time.time() + 60) for t, b in holders]
    try:
        for c in clients:
            c.start()
        time.sleep(2.0)
        server.send_signal(signal.SIGKILL)         # mid-load: requests in flight lose their answer
        server.wait(10)
        before = sum(len(c.acked) for c in clients)
        time.sleep(1.0)
        server = _serve(pg_url, port)               # restart on the same database
        time.sleep(1.5)
        stop.set()
        for c in clients:
            c.join(60)
    finally:
        server.kill()
        server.wait(10)
    assert before > 0 and sum(c.transport_errors for c in clients) > 0     # the kill did cut requests
    _check(svc, prj, clients)
    svc.db.dispose()


def test_postgres_restarted_during_load(tmp_path):
    from reddplus.registry.api.app import create_app
    from reddplus.registry.core.config import RegistrySettings

    with TempPostgres(fsync=True) as pg:
        url = pg.create_database()
        db = connect(url)
        migrate(db)
        db.dispose()
        svc, prj, holders = _setup(url)
        app = create_app(RegistrySettings(database_url=url, secret_key=SECRET), run_migrations=False)
        app.state.service.idempotency.pending_timeout_s = 2.0
        stop = threading.Event()
        with ServerThread(app) as server:
            clients = [Client(server.url, t, b, stop, deadline=time.time() + 90) for t, b in holders]
            for c in clients:
                c.start()
            time.sleep(1.5)
            pg.restart()                              # cuts every connection; committed data stays
            time.sleep(4.0)                           # the load goes on after the restart
            stop.set()
            for c in clients:
                c.join(90)
        statuses = {s for c in clients for s in c.statuses}
        assert 201 in statuses and statuses <= {201, 503, 409}, statuses
        assert 503 in statuses or sum(c.transport_errors for c in clients) > 0   # the restart was felt
        app.state.service.close()
        svc.db.dispose()                              # its pooled connections died with the restart
        fresh = make_service(url)
        _check(fresh, prj, clients)
        fresh.db.dispose()
