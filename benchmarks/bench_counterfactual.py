"""Benchmark: counterfactual of a 150,000 ha project in a 1e8-pixel jurisdiction, 100 repeats.

Target (issue 7): <= 5 minutes on 2 cores, memory bounded by the raster engine.
Generates a synthetic fcc123 raster (30 m pixels, tiled GeoTIFF) once in a work directory, then
times sampling (streamed blocks), matching (project + leakage belt, 100 repeats each) and reports
the peak resident memory. Prints figures and the ratio to the target.

    python benchmarks/bench_counterfactual.py [--side 10000] [--repeats 100] [--workdir /tmp/bench_cf]
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import Window
from scipy import ndimage
from shapely.geometry import box

CRS = "EPSG:6933"  # cylindrical equal area, metres
RES = 30.0


def generate(path: Path, side: int, seed: int = 0) -> None:
    """fcc123 with deforestation probability rising near 'roads' (every 1,500 px) and with a smooth noise field."""
    rng = np.random.default_rng(seed)
    coarse = ndimage.gaussian_filter(rng.normal(size=(side // 100 + 2, side // 100 + 2)), 1.5) * 3
    T = Affine(RES, 0, 0.0, 0, -RES, side * RES)
    prof = dict(driver="GTiff", height=side, width=side, count=1, dtype="uint8", crs=CRS, transform=T, nodata=0,
                tiled=True, blockxsize=512, blockysize=512, compress="deflate")
    with rasterio.open(path, "w", **prof) as ds:
        step = 2048
        for r in range(0, side, step):
            for c in range(0, side, step):
                h, w = min(step, side - r), min(step, side - c)
                rr, cc = np.mgrid[r:r + h, c:c + w]
                noise = ndimage.map_coordinates(coarse, [rr / 100.0, cc / 100.0], order=1)
                dist_road = np.abs(((rr + 750) % 1500) - 750) * RES  # [m]
                p = 1 / (1 + np.exp(-(-1.0 - dist_road / 4000.0 + noise)))
                u = rng.random((h, w))
                forest00 = rng.random((h, w)) < 0.9
                a = np.zeros((h, w), np.uint8)
                a[forest00 & (u < p)] = 1
                a[forest00 & (u >= p) & (u < p * 1.8)] = 2
                a[forest00 & (u >= p * 1.8)] = 3
                ds.write(a, 1, window=Window(c, r, w, h))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--side", type=int, default=10_000, help="raster side [px] (10,000 -> 1e8 px)")
    ap.add_argument("--project-ha", type=float, default=150_000.0)
    ap.add_argument("--repeats", type=int, default=100)
    ap.add_argument("--workdir", default="/tmp/bench_counterfactual")
    ap.add_argument("--dask-scheduler", default=None)
    ap.add_argument("--memory-limit-mb", type=int, default=64, help="raster engine memory limit per block")
    args = ap.parse_args()

    from reddplus.counterfactual import estimate_counterfactual, sample_pixels
    from reddplus.landcover import open_forest_change

    wd = Path(args.workdir)
    wd.mkdir(parents=True, exist_ok=True)
    fcc = wd / f"fcc123_{args.side}.tif"
    if not fcc.exists():
        t = time.perf_counter()
        generate(fcc, args.side)
        print(f"generated {fcc} ({args.side}x{args.side} px) in {time.perf_counter() - t:.1f} s")
    half = np.sqrt(args.project_ha * 1e4) / 2
    cx = cy = args.side * RES / 2
    proj = wd / "project.gpkg"
    gpd.GeoDataFrame(geometry=[box(cx - half, cy - half, cx + half, cy + half)], crs=CRS).to_file(proj)

    fc = open_forest_change(str(fcc), "fcc123")
    t0 = time.perf_counter()
    sample = sample_pixels(fc, proj, start_year=2010, seed=1, scheduler=args.dask_scheduler,
                           memory_limit_bytes=args.memory_limit_mb * 2**20)
    t1 = time.perf_counter()
    rss_sampling_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    res = estimate_counterfactual(sample, dates=fc.dates, start_year=2010, repeats=args.repeats, seed=2)
    t2 = time.perf_counter()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    px = args.side ** 2
    print(f"pixels: {px:.3g}; project forest at start {res.project_forest_start_ha:,.0f} ha; "
          f"samples: project {res.n_project_sample:,}, belt {res.n_belt_sample:,}, candidates {res.n_candidates:,}")
    print(f"sampling (streamed blocks): {t1 - t0:.1f} s ({px / (t1 - t0) / 1e6:.1f} Mpx/s)")
    print(f"matching + outcomes ({args.repeats} repeats, project and belt): {t2 - t1:.1f} s")
    print(f"total: {t2 - t0:.1f} s = {(t2 - t0) / 300:.2f} x the 5-minute target; peak RSS {rss_mb:,.0f} MB "
          f"(after sampling: {rss_sampling_mb:,.0f} MB)")
    print(f"avoided deforestation {res.avoided_deforestation_ha}; matched fraction {res.matched_fraction.estimate:.3f}")


if __name__ == "__main__":
    main()
