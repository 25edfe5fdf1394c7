"""Registry benchmark: durable retirements per second on PostgreSQL over loopback, with p50/p99
latency, zero invariant violations and the whole journal verified afterwards.

Starts a throwaway PostgreSQL 15 cluster (durable: fsync and synchronous_commit on, unless
--no-fsync), issues one block per worker thread, and has every worker retire 1 credit at a time
from its block (each retirement is a partial retirement: row lock, split, certificate, journal
line). Measured through the service layer (worker processes x threads, like uvicorn workers) and,
with --http, through uvicorn + HTTP on loopback. ``--batch`` turns on group commit
(:mod:`reddplus.registry.batching`): spends from all threads of a process share transactions.

    .venv/bin/python benchmarks/bench_registry.py [--retirements 6000] [--threads 8] [--processes 2]
                                                   [--batch] [--no-fsync] [--http]

Target (issue 17): >= 1,000 durable retirements/s on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from reddplus.registry.db import connect, migrate
from reddplus.registry.pgcluster import TempPostgres
from reddplus.registry.service import OPERATOR, Principal, RegistryService

SECRET = "bench-5d1f0c9a7e3b2846f1a0c7d9e2b4a6f8031c5e7d9b2a4f6e"


def _pct(lat: list[float], q: float) -> float:
    if not lat:
        return float("nan")
    s = sorted(lat)
    return s[min(len(s) - 1, int(q * len(s)))] * 1000


def server_cpu_seconds(pg: TempPostgres) -> float:
    """CPU time [s] used so far by the cluster's postmaster and its children (from /proc; Linux only)."""
    try:
        master = int((pg.base / "data" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError, TypeError):
        return float("nan")
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            f = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(d.name) == master or int(f[1]) == master:
            total += (int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])) / tick
    return total


def _process(url: str, starts: list, per: int, start_at: float, batch: bool) -> tuple[list[float], float]:
    """One worker process (like one uvicorn worker): its own engine, ``len(starts)`` threads."""
    db = connect(url, pool_size=len(starts) + 2)
    svc = RegistryService(db, secret_key=SECRET, batch_spends=batch)

    def worker(arg):
        who, block = arg
        lat = []
        for _ in range(per):
            t0 = time.perf_counter()
            out = svc.retire(who, block, 1, "benchmark buyer", "benchmark")
            lat.append(time.perf_counter() - t0)
            block = [b for b in out["blocks"] if b["status"] == "active"][0]["id"]
        return lat

    time.sleep(max(0.0, start_at - time.time()))
    cpu0 = time.process_time()
    with ThreadPoolExecutor(len(starts)) as pool:
        lats = [x for lat in pool.map(worker, starts) for x in lat]
    cpu = time.process_time() - cpu0
    svc.close()
    return lats, cpu


def _setup(svc: RegistryService, n: int, per: int, name: str) -> tuple[int, list]:
    prj = svc.create_project(OPERATOR, name, "BR")["id"]
    starts = []
    for i in range(n):
        acc = svc.create_account(OPERATOR, f"{name}-holder-{i}")["id"]
        iss = svc.issue(OPERATOR, prj, dt.date(2021, 1, 1), dt.date(2021, 12, 31), per + 1, 0, acc)
        starts.append((acc, iss["blocks"][0]["id"]))
    return prj, starts


def _check(svc: RegistryService, prj: int) -> dict:
    t1 = time.perf_counter()
    inv = svc.invariants()
    ver = svc.verify_journal()
    return {"violations": len(inv["violations"]) + (0 if ver["ok"] else 1), "journal_length": ver["length"],
            "verify_seconds": time.perf_counter() - t1, "retired": svc.project_totals(prj)["retired"]}


def run(url: str, retirements: int, threads: int, processes: int = 1, batch: bool = False,
        pg: TempPostgres | None = None) -> dict:
    import multiprocessing as mp

    db = connect(url, pool_size=threads + 2)
    migrate(db)
    svc = RegistryService(db, secret_key=SECRET)
    n = threads * processes
    per = retirements // n
    prj, starts = _setup(svc, n, per, "bench")
    starts = [(Principal("holder", acc), block) for acc, block in starts]
    start_at = time.time() + 3.0   # every process starts its threads at this instant (after spawning)
    srv0 = server_cpu_seconds(pg) if pg else float("nan")
    with mp.get_context("spawn").Pool(processes) as pool:
        parts = pool.starmap(_process, [(url, starts[k::processes], per, start_at, batch) for k in range(processes)])
    elapsed = time.time() - start_at
    srv = (server_cpu_seconds(pg) - srv0) if pg else float("nan")
    lats = [x for part, _ in parts for x in part]
    client_cpu = sum(c for _, c in parts)
    out = {"retirements": len(lats), "seconds": elapsed, "per_second": len(lats) / elapsed,
           "p50_ms": _pct(lats, 0.5), "p99_ms": _pct(lats, 0.99),
           "client_cpu_ms": 1000 * client_cpu / len(lats), "server_cpu_ms": 1000 * srv / len(lats)} | _check(svc, prj)
    svc.close()
    return out


def run_http(url: str, retirements: int, threads: int, batch: bool = False) -> dict:
    """The same through uvicorn + HTTP on loopback (httpx clients, one per thread)."""
    import httpx
    import uvicorn

    from reddplus.registry.api.app import create_app
    from reddplus.registry.core.config import RegistrySettings
    from reddplus.registry.pgcluster import free_port

    app = create_app(RegistrySettings(database_url=url, secret_key=SECRET, pool_size=threads + 4,
                                      batch_spends=batch))
    svc: RegistryService = app.state.service
    per = retirements // threads
    prj, raw = _setup(svc, threads, per, "bench-http")
    starts = [(svc.create_token("holder", account_id=acc), block) for acc, block in raw]
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    while not server.started:
        time.sleep(0.05)

    def worker(arg):
        token, block = arg
        lat = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"},
                          timeout=60) as c:
            for _ in range(per):
                t0 = time.perf_counter()
                r = c.post("/api/v1/retirements", json={"block_id": block, "quantity": 1, "beneficiary": "b",
                                                        "reason": "r"})
                lat.append(time.perf_counter() - t0)
                r.raise_for_status()
                block = [b for b in r.json()["blocks"] if b["status"] == "active"][0]["id"]
        return lat

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        lats = [x for lat in pool.map(worker, starts) for x in lat]
    elapsed = time.perf_counter() - t0
    server.should_exit = True
    th.join(10)
    out = {"retirements": len(lats), "seconds": elapsed, "per_second": len(lats) / elapsed,
           "p50_ms": _pct(lats, 0.5), "p99_ms": _pct(lats, 0.99)} | _check(svc, prj)
    svc.close()
    return out


def _line(name: str, r: dict) -> str:
    return (f"{name}: {r['retirements']} retirements in {r['seconds']:.2f} s = {r['per_second']:.0f}/s "
            f"(target 1000/s: ratio {r['per_second'] / 1000:.2f}); p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms; "
            f"invariant violations {r['violations']}; journal {r['journal_length']} lines verified in "
            f"{r['verify_seconds']:.2f} s; retired total {r['retired']}" +
            (f"\n  CPU per retirement: client {r['client_cpu_ms']:.2f} ms + PostgreSQL {r['server_cpu_ms']:.2f} ms = "
             f"{r['client_cpu_ms'] + r['server_cpu_ms']:.2f} ms -> at most "
             f"{2000 / (r['client_cpu_ms'] + r['server_cpu_ms']):.0f}/s on 2 idle cores"
             if "client_cpu_ms" in r else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--retirements", type=int, default=6000)
    ap.add_argument("--threads", type=int, default=48, help="threads per process")
    ap.add_argument("--processes", type=int, default=1, help="worker processes (like uvicorn --workers)")
    ap.add_argument("--batch", action="store_true", help="group commit of spends (one writer thread per process)")
    ap.add_argument("--no-fsync", action="store_true", help="fsync=off, synchronous_commit=off (not durable)")
    ap.add_argument("--http", action="store_true", help="also measure through uvicorn + HTTP")
    a = ap.parse_args()
    load = os.getloadavg()[0]
    with TempPostgres(fsync=not a.no_fsync) as pg:
        print(f"cores: {os.cpu_count()}  load average at start: {load:.1f}  PostgreSQL over loopback  "
              f"fsync: {not a.no_fsync}  processes: {a.processes} x threads: {a.threads}  batch: {a.batch}")
        print(_line("service layer", run(pg.create_database(), a.retirements, a.threads, a.processes, a.batch,
                                         pg=pg)))
        if a.http:
            print(_line("HTTP (uvicorn, loopback)", run_http(pg.create_database(), a.retirements,
                                                             a.threads * a.processes, a.batch)))


if __name__ == "__main__":
    main()
