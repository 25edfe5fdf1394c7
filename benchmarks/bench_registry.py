"""Registry benchmark: retirements per second on PostgreSQL over loopback, zero invariant violations.

Starts a throwaway PostgreSQL 15 cluster (durable settings: fsync and synchronous_commit on, unless
--no-fsync), issues one block per worker thread, and has every worker retire 1 credit at a time from
its block (each retirement is a partial retirement: row lock, split, certificate, journal line, all
in one transaction). Afterwards it checks invariants 1-4 and the whole journal (hash chain + replay).

    .venv/bin/python benchmarks/bench_registry.py [--retirements 6000] [--threads 8] [--no-fsync] [--http]

Target (issue 6): >= 1,000 retirements/s on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from reddplus.registry.db import connect, migrate
from reddplus.registry.pgcluster import TempPostgres
from reddplus.registry.service import OPERATOR, Principal, RegistryService


def _process(url: str, starts: list, per: int, start_at: float) -> int:
    """One worker process (like one uvicorn worker): its own engine, ``len(starts)`` threads."""
    db = connect(url, pool_size=len(starts) + 2)
    svc = RegistryService(db, secret_key="bench-" + "x" * 40)

    def worker(arg):
        who, block = arg
        for _ in range(per):
            out = svc.retire(who, block, 1, "benchmark buyer", "benchmark")
            block = [b for b in out["blocks"] if b["status"] == "active"][0]["id"]
        return per

    time.sleep(max(0.0, start_at - time.time()))
    with ThreadPoolExecutor(len(starts)) as pool:
        done = sum(pool.map(worker, starts))
    db.dispose()
    return done


def run(url: str, retirements: int, threads: int, processes: int = 1) -> dict:
    import multiprocessing as mp

    db = connect(url, pool_size=threads + 2)
    migrate(db)
    svc = RegistryService(db, secret_key="bench-" + "x" * 40)
    prj = svc.create_project(OPERATOR, "bench", "BR")["id"]
    n = threads * processes
    per = retirements // n
    starts = []
    for i in range(n):
        acc = svc.create_account(OPERATOR, f"holder-{i}")["id"]
        iss = svc.issue(OPERATOR, prj, dt.date(2021, 1, 1), dt.date(2021, 12, 31), per + 1, 0, acc)
        starts.append((Principal("holder", acc), iss["blocks"][0]["id"]))
    db.dispose()
    start_at = time.time() + 3.0   # every process starts its threads at this instant (after spawning)
    with mp.get_context("spawn").Pool(processes) as pool:
        done = sum(pool.starmap(_process, [(url, starts[k::processes], per, start_at) for k in range(processes)]))
    elapsed = time.time() - start_at
    t1 = time.perf_counter()
    inv = svc.invariants()
    ver = svc.verify_journal()
    check_s = time.perf_counter() - t1
    totals = svc.project_totals(prj)
    db.dispose()
    return {"retirements": done, "seconds": elapsed, "per_second": done / elapsed,
            "violations": len(inv["violations"]) + (0 if ver["ok"] else 1), "journal_length": ver["length"],
            "retired": totals["retired"], "verify_seconds": check_s}


def run_http(url: str, retirements: int, threads: int) -> dict:
    """The same through uvicorn + HTTP on loopback (httpx clients)."""
    import httpx
    import uvicorn

    from reddplus.registry.api.app import create_app
    from reddplus.registry.core.config import RegistrySettings
    from reddplus.registry.pgcluster import free_port

    app = create_app(RegistrySettings(database_url=url, secret_key="bench-" + "x" * 40, pool_size=threads + 4))
    svc: RegistryService = app.state.service
    prj = svc.create_project(OPERATOR, "bench-http", "BR")["id"]
    per = retirements // threads
    starts = []
    for i in range(threads):
        token = svc.create_token("holder", f"http-holder-{i}")
        acc = svc.authenticate(token).account_id
        iss = svc.issue(OPERATOR, prj, dt.date(2021, 1, 1), dt.date(2021, 12, 31), per + 1, 0, acc)
        starts.append((token, iss["blocks"][0]["id"]))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    while not server.started:
        time.sleep(0.05)

    def worker(arg):
        token, block = arg
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"},
                          timeout=60) as c:
            for _ in range(per):
                r = c.post("/api/v1/retirements", json={"block_id": block, "quantity": 1, "beneficiary": "b",
                                                        "reason": "r"})
                r.raise_for_status()
                block = [b for b in r.json()["blocks"] if b["status"] == "active"][0]["id"]
        return per

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        done = sum(pool.map(worker, starts))
    elapsed = time.perf_counter() - t0
    server.should_exit = True
    th.join(10)
    inv = svc.invariants()
    ok = svc.verify_journal()["ok"]
    svc.db.dispose()
    return {"retirements": done, "seconds": elapsed, "per_second": done / elapsed,
            "violations": len(inv["violations"]) + (0 if ok else 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--retirements", type=int, default=6000)
    ap.add_argument("--threads", type=int, default=4, help="threads per process")
    ap.add_argument("--processes", type=int, default=2, help="worker processes (like uvicorn --workers)")
    ap.add_argument("--no-fsync", action="store_true", help="fsync=off, synchronous_commit=off (not durable)")
    ap.add_argument("--http", action="store_true", help="also measure through uvicorn + HTTP")
    a = ap.parse_args()
    with TempPostgres(fsync=not a.no_fsync) as pg:
        r = run(pg.create_database(), a.retirements, a.threads, a.processes)
        print(f"cores: {os.cpu_count()}  PostgreSQL over loopback  fsync: {not a.no_fsync}  "
              f"processes: {a.processes} x threads: {a.threads}")
        print(f"service layer: {r['retirements']} retirements in {r['seconds']:.2f} s = "
              f"{r['per_second']:.0f} retirements/s  (target >= 1000/s: ratio {r['per_second'] / 1000:.2f})")
        print(f"invariant violations: {r['violations']}  journal lines verified: {r['journal_length']} "
              f"in {r['verify_seconds']:.2f} s  retired total: {r['retired']}")
        if a.http:
            h = run_http(pg.create_database(), a.retirements, a.threads)
            print(f"HTTP (uvicorn, loopback): {h['retirements']} retirements in {h['seconds']:.2f} s = "
                  f"{h['per_second']:.0f} retirements/s; invariant violations: {h['violations']}")


if __name__ == "__main__":
    main()
