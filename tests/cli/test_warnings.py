"""Warnings raised while block threads run reach the command's JSON every time.

``warnings.catch_warnings`` swaps process-wide state (filters, ``showwarning``); libraries that
block threads call (rasterio's in-memory datasets behind ``rasterize``, numba's compiler) enter
and leave it too, and two threads that leave it in the wrong order leave the process with the
other thread's state: the command's recorder is gone and later warnings are lost. The test makes
that interleaving happen in the block threads of ``risk benchmark`` (two threads, each repetition)
and requires the tolerance and not-equal-area warnings in the JSON all 20 times.
"""

from __future__ import annotations

import json
import threading
import warnings

import geopandas as gpd
import pytest
from click.testing import CliRunner
from shapely.geometry import box

from reddplus.cli.main import cli
from tests.risk.synth import bounds, make_fcc, write_fcc

UTM = "EPSG:32718"   # projected in metres, not equal-area: the grid check warns


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("warn")
    fcc = make_fcc((400, 400), seed=5)
    write_fcc(d / "fcc.tif", fcc, crs=UTM)
    w, s, e, n = bounds(fcc)
    gpd.GeoDataFrame({"name": ["west", "east"]}, geometry=[box(w, s, (w + e) / 2, n), box((w + e) / 2, s, e, n)],
                     crs=UTM).to_file(d / "admin.gpkg")
    gpd.GeoDataFrame(geometry=[box(w + 3000, s + 3000, w + 6000, s + 6000)], crs=UTM).to_file(d / "proj.gpkg")
    return d


class CrossedCatchWarnings:
    """Wraps a block function: the first two concurrent calls enter ``catch_warnings`` A then B and
    leave it A then B (as two threads inside a library can), which leaves B's saved state (A's
    "ignore") installed process-wide."""

    def __init__(self, fn):
        self.fn = fn
        self.lock = threading.Lock()
        self.calls = 0
        self.a_entered = threading.Event()
        self.b_entered = threading.Event()
        self.a_left = threading.Event()
        self.crossed = False

    def __call__(self, *args, **kwargs):
        with self.lock:
            self.calls += 1
            role = {1: "A", 2: "B"}.get(self.calls)
        if role == "A":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.a_entered.set()
                self.b_entered.wait(10)
            self.a_left.set()
        elif role == "B":
            self.a_entered.wait(10)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.b_entered.set()
                self.crossed = self.a_left.wait(10)
        return self.fn(*args, **kwargs)


# not displayed (they are expected, 40 of them): collection does not depend on the filters
@pytest.mark.filterwarnings("ignore::reddplus.errors.ReddplusWarning")
def test_block_thread_warnings_reach_the_json_every_time(inputs, monkeypatch):
    import reddplus.raster.executor as executor
    import reddplus.risk.tools as tools

    monkeypatch.setattr(executor, "default_workers", lambda: 2)
    blocks = tools.iter_blocks   # 16 blocks of 128 px: the two threads run blocks at the same time
    monkeypatch.setattr(tools, "iter_blocks", lambda *a, **k: blocks(*a, **{**k, "block_size": 128}))
    real = tools.burn_zones
    args = ["risk", "benchmark", str(inputs / "fcc.tif"), "--format", "fcc123", "--admin", str(inputs / "admin.gpkg"),
            "--admin-field", "name", "--project", str(inputs / "proj.gpkg"),
            "--expected-deforestation-ha-per-year", "5000", "--max-distance", "1500", "--cell-area-ha", "200",
            "--json"]
    kept = []
    for rep in range(20):
        crossed = CrossedCatchWarnings(real)
        monkeypatch.setattr(tools, "burn_zones", crossed)
        saved = warnings.filters[:], warnings.showwarning
        try:
            r = CliRunner().invoke(cli, args + ["--out", str(inputs / f"out{rep}")])
        finally:
            warnings.filters[:], warnings.showwarning = saved[0], saved[1]
            warnings._filters_mutated()
        assert r.exit_code == 0, r.output
        assert crossed.crossed, "the block threads did not run concurrently"
        got = json.loads(r.stdout)["warnings"]
        cap = [m for m in got if "of the forest pixels are at the pixel-area cap" in m]
        area = [m for m in got if "is not equal-area" in m]
        kept.append(bool(cap) and bool(area))
        assert cap and float(cap[0].split("%")[0]) == pytest.approx(
            100 * json.loads(r.stdout)["allocation"]["capped_share"], abs=0.01)
        # the input's grid is checked (and warned about) as well as the density raster written
        assert any("fcc.tif" in m for m in area)
        assert not any(".partial" in m for m in got), "messages name the published folder"
    assert all(kept), f"warnings lost in {kept.count(False)} of {len(kept)} runs"
