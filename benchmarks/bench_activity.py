"""Activity-data benchmark: streaming throughput and flat peak memory as the raster grows 4x.

Usage::

    .venv/bin/python benchmarks/bench_activity.py [--sides 5000,10000] [--seed 42] [--workdir /tmp/bench_activity]

For each side (5,000 = 2.5e7 px; 10,000 = 1e8 px), generates the seeded fcc123 raster of
``bench_risk.py`` (30 m, tiled, deflate), then in a fresh process each:

* a plain block-by-block read of the file (the I/O floor);
* ``reddplus.landcover.activity_data`` on it (decode + per-zone counts, local threads);

and prints wall time, throughput [px/s], peak RSS and the ratio to the plain read. Target: peak
RSS <= 1 GB at 1e8 px and flat (within 25 %) when the raster grows 4x.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = r"""
import json, resource, sys, time
import numpy as np
path, mode = sys.argv[1], sys.argv[2]
from reddplus.raster import iter_blocks, open_raster, read_grid, map_blocks
from reddplus.landcover import activity_data, open_forest_change
t0 = time.perf_counter()
if mode == "read":
    g = read_grid(path)
    def task(b):
        with open_raster(path) as ds:
            return int(ds.read(1, window=b.window).sum(dtype=np.int64))
    total = sum(v for _, v in map_blocks(task, iter_blocks(g.shape, memory_limit_bytes=64 * 2**20, bytes_per_pixel=24)))
else:
    r = activity_data(open_forest_change(path, "fcc123"))
    total = int(r.counts.sum())
wall = time.perf_counter() - t0
print(json.dumps({"mode": mode, "wall_s": wall, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "check": total}))
"""


def _generator():
    spec = importlib.util.spec_from_file_location("bench_risk", HERE / "bench_risk.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.generate_fcc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sides", default="5000,10000")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--workdir", default="/tmp/bench_activity")
    a = ap.parse_args()
    work = Path(a.workdir)
    work.mkdir(parents=True, exist_ok=True)
    gen = _generator()
    rows = []
    for side in (int(s) for s in a.sides.split(",")):
        path = work / f"fcc_{side}.tif"
        if not path.exists():
            gen(path, side, a.seed)
        res = {}
        for mode in ("read", "activity"):
            out = subprocess.run([sys.executable, "-c", CHILD, str(path), mode], check=True, capture_output=True,
                                 text=True).stdout
            res[mode] = json.loads(out.strip().splitlines()[-1])
        px = side * side
        row = {"pixels": px, "read_s": round(res["read"]["wall_s"], 2), "activity_s": round(res["activity"]["wall_s"], 2),
               "activity_px_per_s": round(px / res["activity"]["wall_s"]),
               "ratio_to_plain_read": round(res["activity"]["wall_s"] / res["read"]["wall_s"], 2),
               "peak_rss_mb": round(res["activity"]["peak_rss_mb"])}
        rows.append(row)
        print(json.dumps(row), flush=True)
    if len(rows) > 1:
        growth = rows[-1]["peak_rss_mb"] / rows[0]["peak_rss_mb"]
        print(f"peak RSS x{growth:.2f} when the raster grows x{rows[-1]['pixels'] / rows[0]['pixels']:.0f}; "
              f"largest {rows[-1]['peak_rss_mb']} MB (target <= 1024 MB, flat within 25 %): "
              f"{'met' if rows[-1]['peak_rss_mb'] <= 1024 and growth <= 1.25 else 'NOT met'}")


if __name__ == "__main__":
    main()
