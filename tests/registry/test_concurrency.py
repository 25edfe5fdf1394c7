"""Concurrency: the double-spend test (100 rounds x 50 concurrent retirements of one block, on
PostgreSQL and on SQLite), the same over HTTP through uvicorn, and the bank invariant under load."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from reddplus.registry.errors import LedgerError
from reddplus.registry.models import Block
from reddplus.registry.service import OPERATOR, Principal

from .conftest import ServerThread, build_world, make_app, make_service

ROUNDS, RACERS, Q = 100, 50, 10


def _double_spend(url: str, rounds: int = ROUNDS, racers: int = RACERS, batch: bool = False) -> None:
    svc = make_service(url, batch)
    try:
        w = build_world(svc, quantity=Q, buffer_percent=0)
        alice = Principal("holder", w.alice)
        pool = ThreadPoolExecutor(racers)
        for rnd in range(rounds):
            block = svc.issue(OPERATOR, w.project_id, dt.date(2021, 1, 1), dt.date(2021, 12, 31), Q, 0,
                              w.alice)["blocks"][0]["id"]
            barrier = threading.Barrier(racers)

            def attempt(i, block=block, barrier=barrier):
                barrier.wait(10)
                try:
                    return svc.retire(alice, block, Q, f"buyer {i}", "double spend")
                except LedgerError as err:
                    return err

            results = list(pool.map(attempt, range(racers)))
            wins = [r for r in results if isinstance(r, dict)]
            losses = [r for r in results if not isinstance(r, dict)]
            assert len(wins) == 1, f"round {rnd}: {len(wins)} retirements succeeded"
            assert all(e.code == "already_retired" for e in losses), {e.code for e in losses}
            t = svc.project_totals(w.project_id)
            assert t["retired"] == Q * (rnd + 1) and t["issued"] == Q * (rnd + 2)
            assert t["issued"] == t["retired"] + t["cancelled"] + t["buffer"] + t["available"]
        pool.shutdown()
        v = svc.verify_journal()
        assert v["ok"], v
        assert v["length"] == 4 + 2 * rounds   # project, 2 accounts, first issue + (issue, retire) per round
    finally:
        svc.close()


@pytest.mark.postgres
@pytest.mark.slow
def test_double_spend_postgres(pg_url):
    _double_spend(pg_url)


@pytest.mark.slow
def test_double_spend_sqlite(sqlite_url):
    _double_spend(sqlite_url)


@pytest.mark.postgres
@pytest.mark.slow
def test_double_spend_postgres_group_commit(pg_url):
    """The same race through the spend batcher (group commit): still exactly one winner per round."""
    _double_spend(pg_url, rounds=40, batch=True)


@pytest.mark.slow
def test_double_spend_sqlite_group_commit(sqlite_url):
    _double_spend(sqlite_url, rounds=40, batch=True)


@pytest.mark.postgres
def test_double_spend_over_http_postgres(pg_url):
    """The same race through the whole stack: uvicorn on loopback, 50 concurrent HTTP clients, 10 rounds."""
    import httpx

    app = make_app(pg_url)
    svc = app.state.service
    admin = {"Authorization": f"Bearer {svc.create_token('admin')}"}
    alice = {"Authorization": f"Bearer {svc.create_token('holder', 'alice')}"}
    w = svc.create_project(OPERATOR, "http race", "BR")
    alice_id = svc.authenticate(alice["Authorization"].split()[1]).account_id
    with ServerThread(app) as server, ThreadPoolExecutor(RACERS) as pool, \
            httpx.Client(base_url=server.url, timeout=30, limits=httpx.Limits(max_connections=RACERS)) as client:
        for rnd in range(10):
            iss = client.post(f"/api/v1/projects/{w['id']}/issuances", headers=admin, json={
                "vintage_start": "2021-01-01", "vintage_end": "2021-12-31", "quantity": Q, "buffer_percent": 0,
                "account_id": alice_id}).json()
            body = {"block_id": iss["blocks"][0]["id"], "quantity": Q, "beneficiary": "b", "reason": "r"}
            codes = list(pool.map(lambda i: client.post("/api/v1/retirements", headers=alice, json=body),
                                  range(RACERS)))
            statuses = sorted(r.status_code for r in codes)
            assert statuses == [201] + [409] * (RACERS - 1), statuses
            assert {r.json()["error"]["code"] for r in codes if r.status_code == 409} == {"already_retired"}
        pub = client.get(f"/api/v1/public/projects/{w['id']}").json()
        assert pub["retired"] == 10 * Q == pub["issued"]
        assert client.get("/api/v1/journal/verify").json()["ok"]
    svc.close()


def _bank_under_load(url: str, workers: int = 8, ops: int = 120, batch: bool = False) -> int:
    svc = make_service(url, batch)
    try:
        w = build_world(svc, quantity=5000, buffer_percent=10)
        accounts = [w.alice, w.bob] + [svc.create_account(OPERATOR, f"acct-{i}")["id"] for i in range(3)]
        stop = threading.Event()
        reads, bad = [0], []

        def reader():
            while not stop.is_set():
                for t in (svc.project_totals(w.project_id), svc.overall_totals()):
                    if t["issued"] != t["retired"] + t["cancelled"] + t["buffer"] + t["available"] or \
                            t["issued"] != 5000 or min(t.values()) < 0:
                        bad.append(t)
                reads[0] += 1
                time.sleep(0.002)

        def worker(seed):
            rng = random.Random(seed)
            done = 0
            for _ in range(ops):
                with svc.db.read_sessions() as s:
                    blocks = s.execute(select(Block.id, Block.account_id, Block.serial_start, Block.serial_end)
                                       .where(Block.status == "active", Block.account_id != 2)).all()
                if not blocks:
                    break
                row = rng.choice(blocks)
                b = {"id": row.id, "account_id": row.account_id, "quantity": row.serial_end - row.serial_start + 1}
                q = rng.randint(1, max(1, b["quantity"] // 3))
                who = Principal("holder", b["account_id"])
                try:
                    op = rng.random()
                    if op < 0.5:
                        to = rng.choice([a for a in accounts if a != b["account_id"]])
                        svc.transfer(who, b["id"], q, to)
                    elif op < 0.8:
                        svc.retire(who, b["id"], q, "load", "test")
                    elif op < 0.9:
                        svc.cancel(who, b["id"], q, "load")
                    else:
                        svc.reversal(OPERATOR, w.project_id, 1, "loss")
                    done += 1
                except LedgerError as err:   # raced with another worker: refused, never half-done
                    assert err.code in ("block_superseded", "already_retired", "already_cancelled",
                                        "insufficient_quantity", "invalid_input", "forbidden"), err
            return done

        rt = threading.Thread(target=reader)
        rt.start()
        with ThreadPoolExecutor(workers) as pool:
            done = sum(pool.map(worker, range(workers)))
        stop.set()
        rt.join(30)
        assert bad == [], bad[:3]
        assert reads[0] > 0 and done > workers * ops // 4
        assert svc.invariants() == {"ok": True, "violations": []}
        assert svc.verify_journal()["ok"]
        return done
    finally:
        svc.close()


@pytest.mark.postgres
def test_bank_invariant_under_load_postgres(pg_url):
    _bank_under_load(pg_url)


def test_bank_invariant_under_load_sqlite(sqlite_url):
    _bank_under_load(sqlite_url, workers=6, ops=60)


@pytest.mark.postgres
def test_bank_invariant_under_load_postgres_group_commit(pg_url):
    _bank_under_load(pg_url, batch=True)
