"""Known answers from the real Guadeloupe fcc123 raster and riskmapjnr v1.0 reference outputs.

Source: /work/shared/data/fcc_guadeloupe_riskmapjnr/PROVENANCE.md (riskmapjnr repo, FAO report 1
outputs at commit b847e2f, produced from the same fcc123_GLP.tif blob).
"""

import csv
import warnings

import numpy as np
import pytest
import rasterio

from reddplus.risk import vt0007 as v
from reddplus.risk.localrate import local_deforestation_rate
from reddplus.landcover import open_forest_change
from reddplus.risk.tools import vt0007_benchmark

REF = "reference_outputs_riskmapjnr_v1.0"


@pytest.fixture(scope="module")
def fcc():
    from tests.conftest import shared_path

    with rasterio.open(shared_path("fcc_guadeloupe_riskmapjnr", "fcc123_GLP.tif")) as ds:
        return ds.read(1)


def _ref_table(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_local_rate_matches_riskmapjnr_exactly(fcc, shared):
    """ldefrate_steps.tif (window 21 px, 2000-2010, T = 10 yr) is reproduced on 100% of the pixels."""
    with rasterio.open(shared("fcc_guadeloupe_riskmapjnr", REF, "steps_calibration_ws21_ea", "ldefrate_steps.tif")) as ds:
        ref = ds.read(1)
    mine = local_deforestation_rate(fcc > 0, fcc == 1, 21, 10)
    assert mine.dtype == ref.dtype
    np.testing.assert_array_equal(mine, ref)


def test_local_rate_ws5_fullhist_matches(fcc, shared):
    """fullhist/ldefrate_ws5.tif: window 5 px over 2000-2020 (T = 20 yr, deforestation = values 1 and 2)."""
    p = shared("fcc_guadeloupe_riskmapjnr", REF, "fullhist", "ldefrate_ws5.tif")
    with rasterio.open(p) as ds:
        ref = ds.read(1)
    mine = local_deforestation_rate(fcc > 0, (fcc == 1) | (fcc == 2), 5, 20)
    np.testing.assert_array_equal(mine, ref)


def test_distance_table_matches_tab_dist_steps(fcc, shared):
    """tab_dist_steps.csv: histogram of distance to edge (at 2000) of pixels deforested 2000-2010."""
    rows = _ref_table(shared("fcc_guadeloupe_riskmapjnr", REF, "steps_calibration_ws21_ea", "tab_dist_steps.csv"))
    d = v.distance_to_edge(fcc > 0, 30.0)
    counts = v.distance_histogram(d[fcc == 1], 30.0, 30.0 * len(rows))
    ref = np.array([int(r["npix"]) for r in rows])
    np.testing.assert_array_equal(counts[: len(rows)], ref)
    # riskmapjnr's rule (first bin with perc > 99 %) gives 120 m; VT0007's 99.5 % gives 150 m
    assert v.negligible_risk_threshold(counts, 30.0, 0.99).nrt_m == 120.0
    nrt = v.negligible_risk_threshold(counts, 30.0)
    assert nrt.nrt_m == 150.0
    assert nrt.cumulative_share == pytest.approx(float(rows[4]["perc"]) / 100, abs=1e-12)


def test_streamed_benchmark_on_guadeloupe(shared, tmp_path):
    """The block-streamed tool (small blocks, many block edges) gives the whole-raster NRT tables:
    CAL = tab_dist_steps.csv, HRP = fullhist/perc_dist.csv (riskmapjnr threshold 180 m at 99 %)."""
    src = shared("fcc_guadeloupe_riskmapjnr", "fcc123_GLP.tif")
    cal_ref = _ref_table(shared("fcc_guadeloupe_riskmapjnr", REF, "steps_calibration_ws21_ea", "tab_dist_steps.csv"))
    hrp_ref = _ref_table(shared("fcc_guadeloupe_riskmapjnr", REF, "fullhist", "perc_dist.csv"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc = open_forest_change(src, "fcc123")
        r = vt0007_benchmark(fc, out_dir=tmp_path, block_size=768, max_distance_m=3000)
    np.testing.assert_array_equal(r.nrt_cal.counts[: len(cal_ref)], [int(x["npix"]) for x in cal_ref])
    ncol = [k for k in hrp_ref[0] if k.lower().startswith("npix")][0]
    np.testing.assert_array_equal(r.nrt.counts[: len(hrp_ref)], [int(x[ncol]) for x in hrp_ref])
    assert r.nrt_cal.nrt_m == 150.0
    # fit totals: 29,835 px deforested 2000-2010 (2,685.15 ha) and 70,791 px over 2000-2020
    assert r.density_cal.ndefor.sum() == 29_835
    assert r.density_hrp.ndefor.sum() == 29_835 + 40_956
    cal, cnf = r.assessment
    assert cal.observed_ha.sum() == pytest.approx(2685.15)
    assert cal.predicted_ha.sum() == pytest.approx(2685.15, rel=1e-6)
    assert cnf.predicted_ha.sum() == pytest.approx(40_956 * 0.09, rel=1e-6)
    with rasterio.open(r.class_path) as ds:
        classes = ds.read(1)
    assert ((classes > 0) == (np.isin(rasterio.open(src).read(1), [3]))).all()
