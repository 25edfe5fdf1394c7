"""Load test of the registry's HTTP service: many clients on loopback with a mix of reads and writes.

Each client loops (bounded by --seconds and --requests) over: public totals and project totals
(checked: issued = retired + cancelled + buffer + available, never negative), a page of public
blocks, a serial lookup, the public journal verification, and writes (retire 1 credit, transfer a
few credits to another holder, split). Prints p50/p99 latency per kind of request, the error
count by status, the conservation violations seen by readers (must be 0), and afterwards the full
journal verification and invariants.

    .venv/bin/python benchmarks/bench_registry_load.py [--clients 16] [--seconds 20] [--database sqlite|postgres]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

SECRET = "load-7c2e9a4f1b8d3065e2a9c4f7b1d8e3a6c0f5b2d9e4a7c1f8"


def main() -> None:
    import httpx
    import uvicorn

    from reddplus.registry.api.app import create_app
    from reddplus.registry.core.config import RegistrySettings
    from reddplus.registry.db import connect, migrate
    from reddplus.registry.pgcluster import TempPostgres, free_port
    from reddplus.registry.service import OPERATOR

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--requests", type=int, default=20000, help="upper bound on requests per run")
    ap.add_argument("--database", choices=["sqlite", "postgres"], default="postgres")
    a = ap.parse_args()
    pg = None
    if a.database == "postgres":
        pg = TempPostgres(fsync=True).start()
        url = pg.create_database()
    else:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='reddplus-load-')}/r.sqlite"
    try:
        db = connect(url)
        migrate(db)
        db.dispose()
        app = create_app(RegistrySettings(database_url=url, secret_key=SECRET, pool_size=a.clients + 4),
                         run_migrations=False)
        svc = app.state.service
        prj = svc.create_project(OPERATOR, "load", "PE")["id"]
        holders = []
        for i in range(a.clients):
            token = svc.create_token("holder", f"load-{i}")
            acc = svc.authenticate(token).account_id
            iss = svc.issue(OPERATOR, prj, dt.date(2021, 1, 1), dt.date(2021, 12, 31), 100000, 10, acc)
            holders.append((token, acc, iss["blocks"][0]["id"], iss["blocks"][0]["serial"]))
        accounts = [h[1] for h in holders]
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        th = threading.Thread(target=server.run, daemon=True)
        th.start()
        while not server.started:
            time.sleep(0.05)
        lat: dict[str, list[float]] = defaultdict(list)
        statuses: Counter = Counter()
        bad_totals: list[dict] = []
        budget = [a.requests]
        lock = threading.Lock()
        end = time.time() + a.seconds

        def client(i: int) -> None:
            token, acc, block, serial = holders[i]
            rng = random.Random(i)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                              headers={"Authorization": f"Bearer {token}"}) as c:
                while time.time() < end:
                    with lock:
                        if budget[0] <= 0:
                            return
                        budget[0] -= 1
                    op = rng.choices(["totals", "project", "blocks", "serial", "verify", "retire", "transfer",
                                      "split"], [3, 3, 2, 1, 1, 4, 2, 1])[0]
                    t0 = time.perf_counter()
                    if op == "totals":
                        r = c.get("/api/v1/public/totals")
                    elif op == "project":
                        r = c.get(f"/api/v1/public/projects/{prj}")
                    elif op == "blocks":
                        r = c.get("/api/v1/public/blocks", params={"project_id": prj, "limit": 100})
                    elif op == "serial":
                        r = c.get(f"/api/v1/public/serials/{serial}")
                    elif op == "verify":
                        r = c.get("/api/v1/journal/verify")
                    elif op == "retire":
                        r = c.post("/api/v1/retirements", json={"block_id": block, "quantity": 1, "beneficiary": "load",
                                                                "reason": "load test"})
                    elif op == "transfer":
                        to = rng.choice([x for x in accounts if x != acc])
                        r = c.post("/api/v1/transfers", json={"block_id": block, "quantity": 3, "to_account_id": to})
                    else:
                        r = c.post("/api/v1/splits", json={"block_id": block, "quantity": 2})
                    dt_ = time.perf_counter() - t0
                    with lock:
                        lat[op].append(dt_)
                        statuses[r.status_code] += 1
                    if r.status_code == 201:
                        live = [b for b in r.json()["blocks"] if b["status"] == "active" and b["account_id"] == acc]
                        if live:
                            block = max(live, key=lambda b: b["quantity"])["id"]
                    elif op in ("totals", "project") and r.status_code == 200:
                        t = r.json()
                        if t["issued"] != t["retired"] + t["cancelled"] + t["buffer"] + t["available"] or \
                                min(t[k] for k in ("issued", "retired", "cancelled", "buffer", "available")) < 0:
                            with lock:
                                bad_totals.append(t)

        t0 = time.perf_counter()
        with ThreadPoolExecutor(a.clients) as pool:
            list(pool.map(client, range(a.clients)))
        elapsed = time.perf_counter() - t0
        server.should_exit = True
        th.join(10)
        n = sum(len(v) for v in lat.values())
        print(f"{a.clients} clients, {a.database}, {elapsed:.1f} s, {n} requests = {n / elapsed:.0f}/s "
              f"(load average at end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
        for op, v in sorted(lat.items()):
            s = sorted(v)
            print(f"  {op:<9} n={len(s):>6}  p50 {1000 * s[len(s) // 2]:7.1f} ms  p99 "
                  f"{1000 * s[min(len(s) - 1, int(0.99 * len(s)))]:7.1f} ms")
        errors = {k: v for k, v in statuses.items() if k >= 400}
        print(f"  statuses: {dict(sorted(statuses.items()))}; errors: {sum(errors.values())} {errors}")
        print(f"  totals seen not conserved: {len(bad_totals)}")
        v = svc.verify_journal()
        inv = svc.invariants()
        print(f"  journal verified: {v['ok']} ({v['length']} lines); invariant violations: {len(inv['violations'])}")
        svc.close()
    finally:
        if pg is not None:
            pg.stop()


if __name__ == "__main__":
    main()
