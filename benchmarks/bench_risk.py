"""VT0007 risk-map benchmark: reddplus vs riskmapjnr 1.3.2 on a generated fcc123 raster.

Usage::

    .venv/bin/python benchmarks/bench_risk.py [--side 10000] [--seed 42] [--workdir /tmp/bench_risk]
                                              [--peers /tmp/peers]

* generates a realistic fcc123 GeoTIFF (side x side pixels of 30 m; 10,000 = 1e8 px = 90,000 km2,
  about Madre de Dios) with a seed, block by block (smooth forest/non-forest fronts, road
  corridors, loss concentrated near the edges in 2000-2010 and 2010-2020);
* runs, each in its own process under ``/usr/bin/time -v`` (wall time, peak RSS):
  - reddplus: the whole VT0007 benchmark (NRT, classes, densities, assessment) + allocation;
  - reddplus "shared steps": the distance-to-edge histogram pass and the 21-px local rate;
  - riskmapjnr 1.3.2: ``dist_values`` (GDAL proximity) + the same histogram computed from its
    distance raster, and ``local_defor_rate`` (21 px), in its own virtual environment;
* prints wall time, peak RSS and the ratios side by side.

The peer columns are skipped when the peer venv is absent. To create it (outside the repo)::

    apt-get install -y libgdal-dev gdal-bin
    python3 -m venv /tmp/peers && /tmp/peers/bin/pip install numpy setuptools wheel
    /tmp/peers/bin/pip install --no-build-isolation gdal==3.6.2 && /tmp/peers/bin/pip install riskmapjnr
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
CRS = "EPSG:6933"  # equal-area, metres


def generate_fcc(path: Path, side: int, seed: int) -> None:
    """Write a side x side fcc123 raster (30 m) block by block with bounded memory."""
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    rng = np.random.default_rng(seed)
    n_waves = 24
    kx = rng.uniform(-1, 1, n_waves) * 2 * np.pi / rng.uniform(150, 3000, n_waves)
    ky = rng.uniform(-1, 1, n_waves) * 2 * np.pi / rng.uniform(150, 3000, n_waves)
    ph = rng.uniform(0, 2 * np.pi, n_waves)
    amp = rng.uniform(0.5, 1.5, n_waves)
    roads_r = rng.integers(0, side, 6)
    roads_c = rng.integers(0, side, 6)
    profile = dict(driver="GTiff", width=side, height=side, count=1, dtype="uint8", crs=CRS, nodata=0,
                   transform=from_origin(0, 3_000_000, 30, 30), tiled=True, blockxsize=512, blockysize=512,
                   compress="deflate", bigtiff="if_safer")
    bs = 1024
    with rasterio.open(path, "w", **profile) as ds:
        for r0 in range(0, side, bs):
            for c0 in range(0, side, bs):
                h, w = min(bs, side - r0), min(bs, side - c0)
                rr = np.arange(r0, r0 + h, dtype=np.float32)[:, None]
                cc = np.arange(c0, c0 + w, dtype=np.float32)[None, :]
                f = np.zeros((h, w), np.float32)
                for i in range(n_waves):
                    f += amp[i] * np.cos(kx[i] * cc + ky[i] * rr + ph[i])
                f /= np.sqrt(n_waves / 2)
                brng = np.random.default_rng([seed, r0, c0])
                f += brng.normal(0, 0.05, (h, w)).astype(np.float32)
                forest = f > -0.3
                for rr0, cc0 in zip(roads_r, roads_c):
                    forest &= np.abs(rr - rr0) > 1
                    forest &= np.abs(cc - cc0) > 1
                u = brng.random((h, w), dtype=np.float32)
                near = np.exp(-(f + 0.3) / 0.04)     # loss decays away from the forest edge
                fcc = np.where(forest, 3, 0).astype(np.uint8)
                fcc[forest & (u < 0.30 * near)] = 1
                fcc[forest & (u >= 0.30 * near) & (u < 0.55 * near)] = 2
                ds.write(fcc, 1, window=Window(c0, r0, w, h))


REDDPLUS_FULL = """
import warnings; warnings.simplefilter("ignore")
from reddplus.landcover import open_forest_change
from reddplus.risk.tools import vt0007_benchmark
from reddplus.baseline.allocation import allocate
fc = open_forest_change({fcc!r}, "fcc123")
r = vt0007_benchmark(fc, out_dir={out!r}, overwrite=True, max_distance_m={maxd})
a = allocate(r.density_path, 0.5 * r.density_hrp.ndefor.sum() * r.pixel_area_ha / r.density_hrp.years)
print("NRT", r.nrt_m, r.nrt.cumulative_share, "MedAE", [x.medae_ha for x in r.assessment], "AR", a.adjustments[0].ratio)
"""

REDDPLUS_SHARED = """
import warnings; warnings.simplefilter("ignore")
from reddplus.landcover import open_forest_change
from reddplus.risk.tools import local_rate_raster, nrt_histograms
import time
fc = open_forest_change({fcc!r}, "fcc123")
t0 = time.perf_counter()
h = nrt_histograms(fc, {{"cal": (0, 1)}}, max_distance_m={maxd})["cal"]
t1 = time.perf_counter()
local_rate_raster(fc, {out!r} + "/ldefrate.tif", win_size=21, overwrite=True)
t2 = time.perf_counter()
print("hist", h[:6].tolist(), f"| steps: distance+hist {{t1 - t0:.2f}} s, local rate {{t2 - t1:.2f}} s")
"""

# fixed costs and floors of the reddplus process: interpreter + imports + compiled-kernel cache, and a
# plain block read of the input (the I/O floor of any pass over it)
REDDPLUS_FLOOR = """
import time
t0 = time.perf_counter()
import numpy as np, rasterio
from reddplus.landcover import open_forest_change
from reddplus.risk.tools import local_rate_raster, nrt_histograms
from reddplus.risk.localrate import local_rate_codes
t1 = time.perf_counter()
local_rate_codes(np.zeros((3, 3), np.uint8), 0, 1, 3, 10.0, (0, 3, 0, 3))
t2 = time.perf_counter()
with rasterio.open({fcc!r}) as ds:
    for _, w in ds.block_windows(1):
        ds.read(1, window=w)
t3 = time.perf_counter()
print(f"| imports {{t1 - t0:.2f}} s, kernel cache {{t2 - t1:.2f}} s, plain read {{t3 - t2:.2f}} s")
"""

PEER_SHARED = """
import numpy as np
from osgeo import gdal
import riskmapjnr as rmj
from riskmapjnr.dist_edge_threshold import dist_values
import time
t0 = time.perf_counter()
dist_values({fcc!r}, {out!r} + "/dist_edge.tif", values=[0], verbose=False)
t1 = time.perf_counter()
rmj.local_defor_rate({fcc!r}, defor_values=1, ldefrate_file={out!r} + "/ldefrate_rmj.tif", win_size=21,
                     time_interval=10, verbose=False)
t2 = time.perf_counter()
# same histogram as reddplus (distance at 2000 of pixels deforested 2000-2010), read by blocks
d_ds, f_ds = gdal.Open({out!r} + "/dist_edge.tif"), gdal.Open({fcc!r})
nx, ny = f_ds.RasterXSize, f_ds.RasterYSize
counts = np.zeros(int(np.ceil({maxd} / 30)) + 1, np.int64)
for y in range(0, ny, 1024):
    h = min(1024, ny - y)
    d = d_ds.GetRasterBand(1).ReadAsArray(0, y, nx, h)
    f = f_ds.GetRasterBand(1).ReadAsArray(0, y, nx, h)
    idx = np.clip(np.ceil(d[f == 1] / 30.0 - 1e-6).astype(np.int64) - 1, 0, counts.size - 1)
    counts += np.bincount(idx, minlength=counts.size)
t3 = time.perf_counter()
print("hist", counts[:6].tolist(), f"| steps: distance+hist {{t1 - t0 + t3 - t2:.2f}} s, local rate {{t2 - t1:.2f}} s")
"""


def timed(python: str, code: str, env=None) -> dict:
    """Run ``code`` in a fresh process under /usr/bin/time -v; wall [s] and peak RSS [MB]."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(code)
    p = subprocess.run(["/usr/bin/time", "-v", python, f.name], capture_output=True, text=True, env=env)
    os.unlink(f.name)
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-3000:])
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", p.stderr)
    hh, mm, ss = wall.groups()
    secs = int(hh or 0) * 3600 + int(mm) * 60 + float(ss)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024
    return {"wall_s": secs, "rss_mb": rss, "out": p.stdout.strip()}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--side", type=int, nargs="+", default=[10_000], help="raster side(s) [pixels]")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--workdir", default="/tmp/bench_risk")
    ap.add_argument("--peers", default="/tmp/peers", help="riskmapjnr 1.3.2 virtual environment")
    ap.add_argument("--max-distance", type=float, default=3000.0, help="NRT search distance [m]")
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--skip-full", action="store_true", help="only the shared steps (no full VT0007 run)")
    args = ap.parse_args(argv)
    peer_py = Path(args.peers) / "bin" / "python"
    have_peer = peer_py.exists() and not args.skip_peer
    if not have_peer:
        print(f"riskmapjnr venv not found at {args.peers}: peer columns skipped. Create it with:\n"
              + textwrap.indent(__doc__.split("(outside the repo)::")[1].strip(), "  "))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    rows = []
    for side in args.side:
        wd = Path(args.workdir) / f"s{side}"
        wd.mkdir(parents=True, exist_ok=True)
        fcc = wd / "fcc123.tif"
        if not fcc.exists():
            generate_fcc(fcc, side, args.seed)
        fmt = dict(fcc=str(fcc), out=str(wd), maxd=args.max_distance)
        full = None if args.skip_full else timed(PY, REDDPLUS_FULL.format(**fmt), env)
        shared = timed(PY, REDDPLUS_SHARED.format(**fmt), env)
        floor = timed(PY, REDDPLUS_FLOOR.format(**fmt), env)
        peer = timed(str(peer_py), PEER_SHARED.format(**fmt)) if have_peer else None
        rows.append((side, full, shared, peer))
        print(f"\n{side}x{side} = {side * side:.2e} px")
        if full:
            print(f"  reddplus VT0007 benchmark + allocation:       {full['wall_s']:7.1f} s  {full['rss_mb']:7.0f} MB"
                  f"   {full['out']}")
        print(f"  reddplus shared steps (dist hist + local rate): {shared['wall_s']:7.1f} s  {shared['rss_mb']:7.0f} MB"
              f"   {shared['out']}")
        print(f"  reddplus fixed costs and I/O floor:           {floor['wall_s']:7.1f} s  {floor['rss_mb']:7.0f} MB"
              f"   {floor['out']}")
        if peer:
            print(f"  riskmapjnr 1.3.2 shared steps:                {peer['wall_s']:7.1f} s  {peer['rss_mb']:7.0f} MB"
                  f"   {peer['out']}")
            mine, theirs = _steps(shared["out"]), _steps(peer["out"])
            print("  ratio riskmapjnr / reddplus (wall):  " + ", ".join(
                f"{k} x{theirs[k] / mine[k]:.1f}" for k in mine)
                + f", in-process steps together x{sum(theirs.values()) / sum(mine.values()):.1f}"
                + f", whole processes x{peer['wall_s'] / shared['wall_s']:.1f}"
                + f"; peak RSS x{peer['rss_mb'] / shared['rss_mb']:.1f}")
            print(f"  first histogram bins equal: {peer['out'].split('|')[0] == shared['out'].split('|')[0]} (GDAL "
                  "proximity is approximate at a few pixels; reddplus uses the exact EDT)")
    runs = [(s, f) for s, f, _, _ in rows if f]
    if len(runs) > 1:
        s0, f0 = runs[0]
        for s, f in runs[1:]:
            print(f"growth {s0}->{s} ({(s / s0) ** 2:.0f}x px): wall x{f['wall_s'] / f0['wall_s']:.2f}, "
                  f"peak RSS x{f['rss_mb'] / f0['rss_mb']:.2f}")


def _steps(out: str) -> dict:
    """Per-step in-process times [s] from a run's output line."""
    return {k: float(x) for k, x in re.findall(r"(distance\+hist|local rate) ([\d.]+) s", out)}


if __name__ == "__main__":
    main()
