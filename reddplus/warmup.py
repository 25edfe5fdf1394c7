"""Compile reddplus's numba kernels into numba's on-disk cache, once, after installation.

``python -m reddplus.warmup`` (the Makefile's install step runs it). Every kernel is declared with
``cache=True``, so the machine code compiled here is loaded by later processes instead of being
compiled again on the first run (about 15 s on 2 cores). The kernels are compiled by running the
real tools on a tiny generated raster in a temporary folder, so the compiled signatures are the
ones the tools use (array types and layouts), with and without admin divisions, in both VT0007
profiles. Nothing is written outside the temporary folder and numba's cache.
"""

from __future__ import annotations

import logging
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def _tiny_fcc(path: Path) -> None:
    """A 96 x 128 fcc123 raster (30 m, equal-area CRS) with loss near the edges in both periods."""
    import rasterio
    from rasterio.transform import from_origin

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:96, 0:128]
    forest = np.hypot(yy - 48, xx - 64) < 40
    edge = np.hypot(yy - 48, xx - 64) > 34
    fcc = np.where(forest, 3, 0).astype(np.uint8)
    fcc[forest & edge & (rng.random(fcc.shape) < 0.3)] = 1
    fcc[forest & edge & (fcc == 3) & (rng.random(fcc.shape) < 0.3)] = 2
    with rasterio.open(path, "w", driver="GTiff", width=128, height=96, count=1, dtype="uint8", crs="EPSG:6933",
                       transform=from_origin(1_000_000.0, 2_000_000.0, 30.0, 30.0), nodata=0) as ds:
        ds.write(fcc, 1)


def warm_kernels() -> dict[str, float]:
    """Run every compiled kernel once on tiny inputs; return the seconds each group took."""
    import geopandas as gpd
    from shapely.geometry import box

    from reddplus.counterfactual.matching import greedy_match
    from reddplus.landcover import open_forest_change
    from reddplus.risk import vt0007 as v
    from reddplus.risk.localrate import local_deforestation_rate
    from reddplus.risk.tools import local_rate_raster, vt0007_benchmark

    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="reddplus-warmup-") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = Path(tmp)
        _tiny_fcc(d / "fcc.tif")
        w, s = 1_000_000.0, 2_000_000.0 - 96 * 30.0
        gpd.GeoDataFrame({"id": [1, 2]}, geometry=[box(w, s, w + 1920, s + 2880), box(w + 1920, s, w + 3840, s + 2880)],
                         crs="EPSG:6933").to_file(d / "admin.gpkg")
        fc = open_forest_change(d / "fcc.tif", "fcc123")
        t0 = time.perf_counter()
        for i, (profile, admin) in enumerate((("reddplus", None), ("reddplus", d / "admin.gpkg"),
                                              ("udef-arp", None), ("udef-arp", d / "admin.gpkg"))):
            vt0007_benchmark(fc, out_dir=d / f"risk{i}", profile=profile, admin=admin,
                             admin_field="id" if admin else None, max_distance_m=3000, cell_area_ha=100,
                             expected_ha_per_year=10.0, block_size=64)
        forest = np.ones((5, 5), bool)
        forest[2, 2] = False
        for arr in (v.distance_to_edge_fast(forest, 30.0), v.distance_to_edge_fast(forest, 30.0).astype(np.float64)):
            v.vulnerability_classes(arr, forest, 90.0, 30.0)
            v.vulnerability_classes(arr, forest, 90.0, 30.0, profile="udef-arp")
        times["vt0007"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        local_rate_raster(fc, d / "lr.tif", win_size=5, block_size=64)
        local_deforestation_rate(forest, ~forest, 3, 10.0)
        times["local_rate"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        rng = np.random.default_rng(0)
        greedy_match(rng.normal(size=(20, 2)), rng.normal(size=(60, 2)))
        times["matching"] = time.perf_counter() - t0
    return times


def main() -> None:
    t0 = time.perf_counter()
    times = warm_kernels()
    print("reddplus: numba kernels compiled and cached in %.1f s (%s)"
          % (time.perf_counter() - t0, ", ".join(f"{k} {x:.1f} s" for k, x in times.items())))


if __name__ == "__main__":
    main()
