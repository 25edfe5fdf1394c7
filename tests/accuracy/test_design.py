"""Stratified random sample design on change-map rasters (tiny synthetic rasters + Guadeloupe fcc123)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine

from reddplus.accuracy.design import count_strata, design_sample, draw_ranks, pick_ranks_in_block
from reddplus.accuracy.tools import sample_map
from reddplus.errors import CRSError, InputDataError, NotEqualAreaWarning, OutputExistsError

EQUAL_AREA = "EPSG:6933"  # WGS 84 / NSIDC EASE-Grid 2.0 Global (Lambert cylindrical equal area), metres


def _write(path, data, crs=EQUAL_AREA, nodata=255, res=30.0):
    with rasterio.open(path, "w", driver="GTiff", height=data.shape[0], width=data.shape[1], count=1,
                       dtype=data.dtype, crs=crs, transform=Affine(res, 0, -6_000_000, 0, -res, 1_800_000),
                       nodata=nodata) as ds:
        ds.write(data, 1)
    return path


@pytest.fixture
def change_map(tmp_path):
    """300 x 257 px: a rare 'loss' class 1 (~1 %), forest 3 (~40 %), non-forest 4, nodata 255."""
    rng = np.random.default_rng(42)
    data = np.where(rng.random((300, 257)) < 0.4, 3, 4).astype(np.uint8)
    data[rng.random(data.shape) < 0.01] = 1
    data[:7, :] = 255
    return _write(tmp_path / "map.tif", data), data


def test_count_strata_streams_blocks(change_map):
    path, data = change_map
    vals, cnt = np.unique(data[data != 255], return_counts=True)
    expected = dict(zip(vals.tolist(), cnt.tolist()))
    assert count_strata(path, block_size=256) == expected
    assert count_strata(path, block_size=256, exclude=[4]) == {k: v for k, v in expected.items() if k != 4}


def test_design_sample_points_lie_in_their_stratum(change_map):
    path, data = change_map
    d = design_sample(path, {1: 0.7, 3: 0.9, 4: 0.95}, target_se=0.02, min_per_stratum=30, seed=7, block_size=256)
    assert d.strata["n"].sum() == len(d.points)
    assert d.strata.set_index("stratum").loc[1, "n"] >= 30
    # every point's map class is the raster value at its pixel; no duplicate pixel
    assert np.all(data[d.points["row"], d.points["col"]] == d.points["map_class"])
    assert not d.points.duplicated(["row", "col"]).any()
    counts = d.points.groupby("stratum").size()
    assert counts.to_dict() == d.strata.set_index("stratum")["n"].to_dict()
    # coordinates are pixel centres in the raster CRS, lon/lat in degrees
    with rasterio.open(path) as ds:
        rows, cols = rasterio.transform.rowcol(ds.transform, d.points["x"], d.points["y"])
    assert np.array_equal(rows, d.points["row"]) and np.array_equal(cols, d.points["col"])
    assert d.points["lon"].between(-180, 180).all() and d.points["lat"].between(-90, 90).all()


def test_same_seed_same_points_other_seed_other_points(change_map):
    path, _ = change_map
    kw = dict(target_se=0.02, min_per_stratum=20, block_size=256)
    a = design_sample(path, {1: 0.7, 3: 0.9, 4: 0.95}, seed=1, **kw)
    b = design_sample(path, {1: 0.7, 3: 0.9, 4: 0.95}, seed=1, **kw)
    c = design_sample(path, {1: 0.7, 3: 0.9, 4: 0.95}, seed=2, **kw)
    pd.testing.assert_frame_equal(a.points, b.points)
    assert not a.points[["row", "col"]].equals(c.points[["row", "col"]])


def test_missing_seed_is_recorded_and_reproduces(change_map):
    path, _ = change_map
    a = design_sample(path, {1: 0.7}, default_ua=0.9, target_se=0.03, min_per_stratum=5, block_size=256)
    b = design_sample(path, {1: 0.7}, default_ua=0.9, target_se=0.03, min_per_stratum=5, block_size=256, seed=a.seed)
    pd.testing.assert_frame_equal(a.points, b.points)


def test_every_pixel_equally_likely():
    """Stratified random sampling: inclusion probability n_h / N_h for every pixel of a stratum.
    Over 4400 draws of 3 ranks among 11 pixels (blocks of varying content), each pixel is picked
    ~1200 times (binomial SD ~30)."""
    blocks = [np.array([[1, 2, 1], [2, 1, 1]]), np.array([[2, 2], [1, 1]]), np.array([[1, 1, 1, 1, 2, 1]])]
    n_pix = sum(int((b == 1).sum()) for b in blocks)
    assert n_pix == 11
    hits = np.zeros(n_pix)
    rng = np.random.default_rng(0)
    for _ in range(4400):
        ranks = draw_ranks([n_pix], [3], rng)
        offsets = np.zeros(1, np.int64)
        base = 0
        for b in blocks:
            start = offsets[0]
            pos, offsets = pick_ranks_in_block(b, [1], ranks, offsets)
            flat_rank = np.searchsorted(np.flatnonzero(b == 1), pos[0])
            hits[base + flat_rank] += 1
            base += int((b == 1).sum())
            assert offsets[0] - start == int((b == 1).sum())
    assert hits.sum() == 4400 * 3
    assert np.all(np.abs(hits - 1200) < 5 * 30)


def test_write_points_gpkg_and_csv(change_map, tmp_path):
    import geopandas as gpd

    path, _ = change_map
    gpkg, csv = tmp_path / "pts.gpkg", tmp_path / "pts.csv"
    design, written = sample_map(path, gpkg, expected_ua={1: 0.7, 3: 0.9, 4: 0.95}, target_se=0.03,
                                 min_per_stratum=10, seed=3, out_csv=csv, block_size=256)
    assert written == {"gpkg": str(gpkg), "csv": str(csv), "manifest": str(tmp_path / "pts.manifest.json")}
    g = gpd.read_file(gpkg)
    assert len(g) == len(design.points)
    assert g.crs.to_epsg() == 6933
    assert {"stratum", "map", "reference"} <= set(g.columns)
    np.testing.assert_allclose(g.geometry.x, design.points["x"])
    t = pd.read_csv(csv, keep_default_na=False)
    assert list(t.columns) == ["point_id", "x", "y", "lon", "lat", "stratum", "map", "reference"]
    assert (t["reference"] == "").all()
    # no temporary file left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.tif", "pts.csv", "pts.gpkg", "pts.manifest.json"]
    with pytest.raises(OutputExistsError):
        sample_map(path, gpkg, expected_ua={1: 0.7}, default_ua=0.9, seed=3)
    with pytest.raises(OutputExistsError):  # the CSV alone existing blocks the run too
        sample_map(path, tmp_path / "new.gpkg", expected_ua={1: 0.7}, default_ua=0.9, seed=3, out_csv=csv)
    assert not (tmp_path / "new.gpkg").exists()


def test_geographic_crs_refused(tmp_path):
    path = _write(tmp_path / "geo.tif", np.ones((10, 10), np.uint8), crs="EPSG:4326", res=0.001)
    with pytest.raises(CRSError, match="geographic"):
        design_sample(path, {1: 0.9}, seed=1)


def test_float_map_refused(tmp_path):
    path = _write(tmp_path / "f.tif", np.ones((10, 10), np.float32), nodata=None)
    with pytest.raises(InputDataError, match="integer class codes"):
        count_strata(path)


def test_corrupt_geotiff(tmp_path):
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"II*\x00 this is not a tiff")
    with pytest.raises(InputDataError, match="corrupt|cannot read"):
        design_sample(bad, {1: 0.9}, seed=1)
    assert not (tmp_path / "out.gpkg").exists()


def test_missing_expected_ua_is_named(change_map):
    path, _ = change_map
    with pytest.raises(InputDataError, match=r"\[3, 4\]"):
        design_sample(path, {1: 0.7}, seed=1)
    with pytest.raises(InputDataError, match="absent from the map"):
        design_sample(path, {1: 0.7, 3: 0.9, 4: 0.9, 9: 0.9}, seed=1)


@pytest.mark.shared_data
def test_guadeloupe_fcc123_strata_and_sample(shared):
    """fcc123_GLP.tif (riskmapjnr; ../shared/data/fcc_guadeloupe_riskmapjnr/PROVENANCE.md): 30 m pixels,
    nodata 0; 1 -> 29,835 px, 2 -> 40,956 px, 3 -> 815,694 px. The drawn points are in Guadeloupe
    (about 61.0-61.9 W, 15.8-16.6 N)."""
    path = shared("fcc_guadeloupe_riskmapjnr", "fcc123_GLP.tif")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotEqualAreaWarning)  # UTM 20N
        assert count_strata(path, block_size=512) == {1: 29_835, 2: 40_956, 3: 815_694}
        d = design_sample(path, {1: 0.7, 2: 0.6, 3: 0.95}, target_se=0.01, min_per_stratum=75, seed=2014,
                          block_size=512)
    n = d.strata.set_index("stratum")["n"]
    assert n[1] >= 75 and n[2] >= 75 and n.sum() >= d.n_required
    # the minimums move units off the proportional allocation eq. 13 sized: the total grows to meet the target
    assert d.expected_overall_accuracy_se <= 0.01 and n.sum() > d.n_required
    assert d.pixel_area_ha == pytest.approx(0.09)
    assert d.points["lon"].between(-61.9, -61.0).all() and d.points["lat"].between(15.8, 16.6).all()
    with rasterio.open(path) as ds:
        vals = np.array([v[0] for v in ds.sample(zip(d.points["x"], d.points["y"]))])
    assert np.array_equal(vals, d.points["map_class"].to_numpy())
