"""Streamed tools: bounded-halo exactness, block independence, bad inputs."""


import numpy as np
import pytest
import rasterio
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from reddplus.errors import CRSError, ConfigError, ModelError, SearchDistanceError, ZoneError
from reddplus.raster import iter_blocks
from reddplus.risk import vt0007 as v
from reddplus.risk.localrate import local_deforestation_rate
from reddplus.landcover import open_forest_change
from reddplus.risk.tools import local_rate_raster, parse_periods, vt0007_benchmark

from .synth import CRS, make_fcc, write_fcc


@settings(max_examples=80, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(5, 60), st.integers(5, 60)), elements=st.booleans()),
       st.integers(1, 12), st.integers(3, 25), st.floats(0.5, 0.98))
def test_bounded_halo_edt_is_exact(noise, halo, side, p_forest):
    """With a halo of H pixels the windowed EDT equals the whole-array EDT wherever the true distance is
    <= H pixels, and exceeds H pixels wherever the true distance does (including at block edges)."""
    rng = np.random.default_rng(int(noise.sum()) + halo)
    forest = rng.random(noise.shape) < p_forest
    whole = v.distance_to_edge(forest, 1.0)
    for b in iter_blocks(forest.shape, halo=halo, block_size=side):
        rw = b.read_window
        win = forest[int(rw.row_off):int(rw.row_off + rw.height), int(rw.col_off):int(rw.col_off + rw.width)]
        d = v.distance_to_edge(win, 1.0)[b.core_slices]
        t = whole[b.row_off:b.row_off + b.height, b.col_off:b.col_off + b.width]
        near = t <= halo
        np.testing.assert_allclose(d[near], t[near], rtol=1e-6)
        assert (d[~near] > halo).all()


@pytest.fixture
def fcc_path(tmp_path):
    fcc = make_fcc((300, 400), seed=3)
    return write_fcc(tmp_path / "fcc.tif", fcc), fcc


def test_blocks_do_not_change_results(fcc_path, tmp_path):
    path, fcc = fcc_path
    fc = open_forest_change(path, "fcc123")
    a = vt0007_benchmark(fc, out_dir=tmp_path / "a", block_size=64, max_distance_m=1500, cell_area_ha=100)
    b = vt0007_benchmark(fc, out_dir=tmp_path / "b", max_distance_m=1500, cell_area_ha=100)
    # whole-array reference for the HRP NRT and classes at the VP start (2020)
    d0 = v.distance_to_edge(fcc > 0, 30.0)
    counts = v.distance_histogram(d0[(fcc == 1) | (fcc == 2)], 30.0, 1500)
    np.testing.assert_array_equal(a.nrt.counts, counts)
    assert a.nrt_m == v.negligible_risk_threshold(counts, 30.0).nrt_m
    cls = v.vulnerability_classes(v.distance_to_edge(fcc == 3, 30.0), fcc == 3, a.nrt_m, 30.0)
    for r in (a, b):
        with rasterio.open(r.class_path) as ds:
            np.testing.assert_array_equal(ds.read(1), cls)
    with rasterio.open(a.density_path) as da, rasterio.open(b.density_path) as db:
        np.testing.assert_array_equal(da.read(1), db.read(1))
    assert a.assessment[0].n_cells > 50
    assert [x.medae_ha for x in a.assessment] == pytest.approx([x.medae_ha for x in b.assessment], rel=1e-9)
    # densities: class 30 (nearest the edge) is the riskiest, class 1 the least
    ct = a.density_hrp.class_table()
    assert ct[-1]["density_ha_per_pixel"] > ct[0]["density_ha_per_pixel"]


def test_local_rate_raster_equals_whole_array(fcc_path, tmp_path):
    path, fcc = fcc_path
    fc = open_forest_change(path, "fcc123")
    p = local_rate_raster(fc, tmp_path / "lr.tif", win_size=21, block_size=64)
    with rasterio.open(p) as ds:
        np.testing.assert_array_equal(ds.read(1), local_deforestation_rate(fcc > 0, fcc == 1, 21, 10))


def test_periods():
    p = parse_periods(None, (2000, 2010, 2020))
    assert (p.cal, p.cnf, p.hrp, p.vp_start) == ((0, 1), (1, 2), (0, 2), 2)
    p = parse_periods("CAL=2000-2005,CNF=2005-2010", (2000, 2005, 2010, 2015))
    assert (p.cal, p.cnf, p.hrp, p.vp_start) == ((0, 1), (1, 2), (0, 2), 2)
    with pytest.raises(ConfigError, match="not one of the dates"):
        parse_periods("CAL=2001-2010", (2000, 2010, 2020))
    with pytest.raises(ConfigError):
        parse_periods("CAL=2010-2000", (2000, 2010, 2020))


def test_geographic_crs_is_refused(tmp_path):
    fcc = make_fcc((50, 50))
    p = write_fcc(tmp_path / "geo.tif", fcc, pixel=0.00025, crs="EPSG:4326")
    with pytest.raises(CRSError, match="geographic"):
        open_forest_change(p, "fcc123")


def test_no_deforestation_in_fit_period(tmp_path):
    fcc = make_fcc((80, 80))
    fcc[fcc == 1] = 3
    fc = open_forest_change(write_fcc(tmp_path / "f.tif", fcc), "fcc123")
    with pytest.raises(ModelError, match="no deforestation in the fit period"):
        vt0007_benchmark(fc, out_dir=tmp_path / "o", max_distance_m=600)


def test_nrt_not_reached(tmp_path):
    fcc = np.full((100, 100), 3, np.uint8)
    fcc[:, :2] = 0
    fcc[:, 60:62] = 1   # loss 58-59 pixels from the edge (> 600 m)
    fcc[:, 30] = 2
    fc = open_forest_change(write_fcc(tmp_path / "f.tif", fcc), "fcc123")
    with pytest.raises(SearchDistanceError, match="not reached within the search distance 600 m") as err:
        vt0007_benchmark(fc, out_dir=tmp_path / "o", max_distance_m=600)
    assert isinstance(err.value, ModelError) and err.value.search_distance_m == 600.0


def test_admin_outside_raster(fcc_path, tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    path, _ = fcc_path
    gpd.GeoDataFrame({"name": ["far"]}, geometry=[box(0, 0, 1000, 1000)], crs=CRS).to_file(tmp_path / "adm.gpkg")
    fc = open_forest_change(path, "fcc123")
    with pytest.raises(ZoneError, match="does not overlap the raster"):
        vt0007_benchmark(fc, out_dir=tmp_path / "o", admin=tmp_path / "adm.gpkg")


def test_feet_crs_is_refused(tmp_path):
    p = write_fcc(tmp_path / "ft.tif", make_fcc((50, 50)), pixel=100.0, crs="EPSG:2263")  # NY State Plane, US ft
    with pytest.raises(CRSError, match="metres"):
        open_forest_change(p, "fcc123")


@pytest.mark.slow
def test_dask_scheduler_gives_same_result(fcc_path, tmp_path):
    """The same block functions run on a Dask cluster (separate worker process: tasks are pickled)."""
    from distributed import LocalCluster

    path, _ = fcc_path
    fc = open_forest_change(path, "fcc123")
    local = vt0007_benchmark(fc, out_dir=tmp_path / "l", block_size=128, max_distance_m=1500, cell_area_ha=100)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None) as cluster:
        dist = vt0007_benchmark(fc, out_dir=tmp_path / "d", block_size=128, max_distance_m=1500, cell_area_ha=100,
                                scheduler=cluster.scheduler_address)
    np.testing.assert_array_equal(local.nrt.counts, dist.nrt.counts)
    with rasterio.open(local.density_path) as a, rasterio.open(dist.density_path) as b:
        np.testing.assert_array_equal(a.read(1), b.read(1))


def test_admin_divisions_define_the_jurisdiction(fcc_path, tmp_path):
    """With admin polygons covering the west half only, nothing east of it is fitted, classed or assessed;
    the NRT histogram counts only western deforestation, with distances that still see the eastern forest."""
    import geopandas as gpd
    from shapely.geometry import box

    from .synth import bounds

    path, fcc = fcc_path
    w, s, e, n = bounds(fcc)
    gpd.GeoDataFrame({"id": [70_000]}, geometry=[box(w, s, w + 200 * 30, n)], crs=CRS).to_file(tmp_path / "a.gpkg")
    fc = open_forest_change(path, "fcc123")
    r = vt0007_benchmark(fc, out_dir=tmp_path / "o", admin=tmp_path / "a.gpkg", admin_field="id", block_size=128,
                         max_distance_m=1500, cell_area_ha=100)
    d0 = v.distance_to_edge(fcc > 0, 30.0)
    west = np.zeros(fcc.shape, bool)
    west[:, :200] = True
    sel = ((fcc == 1) | (fcc == 2)) & west
    np.testing.assert_array_equal(r.nrt.counts, v.distance_histogram(d0[sel], 30.0, 1500))
    with rasterio.open(r.class_path) as ds:
        cls = ds.read(1)
    assert not cls[:, 200:].any() and (cls[:, :200] > 0).sum() == ((fcc == 3) & west).sum()
    assert r.density_hrp.ndefor[1:].sum() == sel.sum()
    assert r.zone_labels == {1: "70000"}
