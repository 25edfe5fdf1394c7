"""Benchmark: streamed stratified sample design on a large change map (peak RSS and throughput).

Generates a tiled uint8 change map of N x N pixels (classes 1 = loss ~1 %, 3 = forest, 4 = other,
nodata 0 strips), then, each in a fresh process, measures

* a plain block-by-block read of the file (the I/O floor),
* ``count_strata`` (pass 1) and ``design_sample`` (both passes, eq. 13 + allocation + draw),

and prints wall time, pixels/s, the ratio to the plain read and the peak RSS (GDAL_CACHEMAX
capped at 64 MB unless set). Run:

    .venv/bin/python benchmarks/accuracy_sample_design.py [--side 10000] [--side 20000] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = r"""
import json, resource, sys, time, warnings
import numpy as np, rasterio
from rasterio.windows import Window
path, what = sys.argv[1], sys.argv[2]
warnings.simplefilter("ignore")
from reddplus.raster import iter_blocks
from reddplus.accuracy import count_strata, design_sample
import pandas, pyproj, scipy.stats  # imports are not timed
t = time.perf_counter()
if what == "read":
    with rasterio.open(path) as ds:
        s = 0
        for b in iter_blocks((ds.height, ds.width), memory_limit_bytes=256 * 2**20, bytes_per_pixel=24):
            s += int(ds.read(1, window=b.window).shape[0])
elif what == "count":
    count_strata(path)
else:
    d = design_sample(path, {1: 0.7, 3: 0.9, 4: 0.95}, target_se=0.01, min_per_stratum=100, seed=1)
    assert len(d.points) == d.strata["n"].sum()
dt = time.perf_counter() - t
print(json.dumps({"seconds": dt, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def make_map(path: Path, side: int, seed: int = 0) -> None:
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    rng = np.random.default_rng(seed)
    profile = dict(driver="GTiff", height=side, width=side, count=1, dtype="uint8", crs="EPSG:6933", nodata=0,
                   transform=from_origin(0, 3_000_000, 30, 30), tiled=True, blockxsize=512, blockysize=512,
                   compress="deflate", bigtiff="yes")
    step = 2048
    with rasterio.open(path, "w", **profile) as ds:
        for r in range(0, side, step):
            h = min(step, side - r)
            for c in range(0, side, step):
                w = min(step, side - c)
                # coarse forest/other patches (compressible) with ~1 % loss pixels
                coarse = rng.random((h // 64 + 1, w // 64 + 1)) < 0.45
                block = np.where(np.kron(coarse, np.ones((64, 64), bool))[:h, :w], 3, 4).astype(np.uint8)
                block[rng.random((h, w)) < 0.01] = 1
                if r == 0:
                    block[:16] = 0
                ds.write(block, 1, window=Window(c, r, w, h))


def measure(path: Path, what: str) -> dict:
    # GDAL's block cache (default 5 % of RAM) would otherwise grow with the raster in every
    # process, plain reads included; cap it so that the figures show reddplus' own working set
    env = dict(os.environ, GDAL_CACHEMAX=os.environ.get("GDAL_CACHEMAX", "64"))
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), what], capture_output=True, text=True, check=True,
                         env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--side", type=int, action="append", help="raster side [pixels] (repeatable)")
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    sides = args.side or [10_000, 20_000]
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for side in sides:
            path = Path(tmp) / f"map_{side}.tif"
            t = time.perf_counter()
            make_map(path, side)
            n = side * side
            print(f"\n{side} x {side} = {n:.2e} px (generated in {time.perf_counter() - t:.0f} s, "
                  f"{path.stat().st_size / 2**20:.0f} MiB on disk)")
            base = measure(path, "read")
            print(f"  plain block read : {base['seconds']:7.1f} s  {n / base['seconds']:.3g} px/s  "
                  f"peak RSS {base['peak_rss_mb']:.0f} MB")
            for what in ("count", "design"):
                m = measure(path, what)
                print(f"  {what:<16} : {m['seconds']:7.1f} s  {n / m['seconds']:.3g} px/s  "
                      f"x{m['seconds'] / base['seconds']:.2f} plain read  peak RSS {m['peak_rss_mb']:.0f} MB")
            path.unlink()


if __name__ == "__main__":
    main()
