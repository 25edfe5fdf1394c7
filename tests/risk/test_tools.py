"""Streamed tools: exact strip distances, block independence, bad inputs."""


import numpy as np
import pytest
import rasterio
from hypothesis import given, settings
from hypothesis import strategies as st

from reddplus.errors import CRSError, ConfigError, ModelError, SearchDistanceError, ZoneError
from reddplus.risk import vt0007 as v
from reddplus.risk.localrate import local_deforestation_rate
from reddplus.landcover import open_forest_change
from reddplus.risk.tools import local_rate_raster, parse_periods, vt0007_benchmark

from .synth import CRS, make_fcc, write_fcc


@settings(max_examples=40, deadline=None)
@given(st.integers(5, 70), st.integers(5, 50), st.floats(0.5, 0.995), st.integers(1, 20), st.integers(0, 2**31))
def test_streamed_strip_edt_equals_whole_array_edt(tmp_path_factory, h, w, p_forest, strip, seed):
    """Passes 0-1's machinery on a raster file: every strip's exact distances (column bounds of the other
    strips + the strip itself) equal SciPy's whole-array EDT bit for bit, for every date."""
    from reddplus.risk.tools import edge_pass, make_setup, parse_periods

    rng = np.random.default_rng(seed)
    fcc = np.where(rng.random((h, w)) < p_forest, 3, 0).astype(np.uint8)
    fcc[(fcc == 3) & (rng.random((h, w)) < 0.1)] = 1
    fcc[(fcc == 3) & (rng.random((h, w)) < 0.1)] = 2
    fc = open_forest_change(write_fcc(tmp_path_factory.mktemp("e") / "f.tif", fcc), "fcc123")
    setup = make_setup(fc, parse_periods(None, fc.dates), block_size=strip)
    edges = edge_pass(setup, (0, 1, 2))
    for k in (0, 1, 2):
        rows = [v.distance_from_squared(v.squared_distance_to_edge(fcc[s.row_off:s.row_off + s.height] > k, *g[k]),
                                        30.0) for s, g in edges.items(setup.strips)]
        np.testing.assert_array_equal(np.vstack(rows), v.distance_to_edge(fcc > k, 30.0))


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
    assert isinstance(err.value, ModelError) and err.value.searched_m == 600.0


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


def test_search_distance_changes_nothing_but_the_check(fcc_path, tmp_path):
    """Exact distances at any length: 1.5 km and 20 km give the same NRT, classes and densities; a search
    distance short of the NRT is a SearchDistanceError carrying the distance needed; below a pixel, an
    error naming the option."""
    path, _ = fcc_path
    fc = open_forest_change(path, "fcc123")
    a = vt0007_benchmark(fc, out_dir=tmp_path / "a", max_distance_m=1500, cell_area_ha=100, block_size=64)
    b = vt0007_benchmark(fc, out_dir=tmp_path / "b", max_distance_m=20_000, cell_area_ha=100, block_size=100)
    assert a.nrt_m == b.nrt_m and a.nrt.cumulative_share == b.nrt.cumulative_share
    n = a.nrt.counts.size - 1
    np.testing.assert_array_equal(a.nrt.counts[:n], b.nrt.counts[:n])
    assert a.nrt.counts[n] == b.nrt.counts[n:].sum()
    for x, y in ((a.class_path, b.class_path), (a.density_path, b.density_path)):
        with rasterio.open(x) as dx, rasterio.open(y) as dy:
            np.testing.assert_array_equal(dx.read(1), dy.read(1))
    with pytest.raises(SearchDistanceError, match="search distance") as err:
        vt0007_benchmark(fc, out_dir=tmp_path / "c", max_distance_m=a.nrt_m - 30, cell_area_ha=100)
    assert err.value.needed_m == a.nrt_m and err.value.searched_m == a.nrt_m - 30
    with pytest.raises(ConfigError, match="--max-distance"):
        vt0007_benchmark(fc, out_dir=tmp_path / "d", max_distance_m=20)


def test_nrt_beyond_the_search_distance_says_how_far(tmp_path):
    fcc = np.full((100, 100), 3, np.uint8)
    fcc[:, :2] = 0
    fcc[:, 60:62] = 1   # loss 58-59 pixels from the edge: the NRT is 60 px = 1800 m
    fcc[:, 30] = 2
    fc = open_forest_change(write_fcc(tmp_path / "f.tif", fcc), "fcc123")
    with pytest.raises(SearchDistanceError) as err:
        vt0007_benchmark(fc, out_dir=tmp_path / "o", max_distance_m=600)
    assert err.value.needed_m == 1800.0 and "1800" in str(err.value)
    r = vt0007_benchmark(fc, out_dir=tmp_path / "o2", max_distance_m=err.value.needed_m)
    assert r.nrt_m == 1800.0


@pytest.mark.parametrize("profile", ["reddplus", "udef-arp"])
def test_class_missing_from_the_fit_is_filled_and_warned(tmp_path, profile):
    """A straight forest edge gives whole-pixel distances only at the HRP start, so the classes between them hold
    no forest in the fit; a gap cut in the HRP puts diagonal distances in the VP map. Those classes get the
    neighbour fill with a MissingClassWarning (UDef-ARP: NaN; reddplus before: a silent 0)."""
    from reddplus.errors import MissingClassWarning

    fcc = np.full((60, 120), 3, np.uint8)
    fcc[:, 0] = 0
    fcc[:, 1:3] = 1                   # lost 2000-2010 at 1-2 px from the edge
    fcc[20:40, 3] = 2                 # and 2010-2020 at 3 px
    fcc[30, 10] = 2                   # a hole: diagonal distances around it at the VP start
    fc = open_forest_change(write_fcc(tmp_path / "f.tif", fcc), "fcc123")
    with pytest.warns(MissingClassWarning, match="no forest in the HRP fit"):
        r = vt0007_benchmark(fc, out_dir=tmp_path / "o", max_distance_m=600, cell_area_ha=9, profile=profile)
    assert r.missing_classes["vp"] and r.to_dict()["missing_classes"]["vp"]
    with rasterio.open(r.density_path) as ds:
        dens = ds.read(1)
    with rasterio.open(r.class_path) as ds:
        cls = ds.read(1)
    t = r.density_hrp
    nf, nd = t.nforest.sum(axis=1), t.ndefor.sum(axis=1)
    fitted = np.nonzero(nf[1:])[0] + 1
    for c, fill in r.missing_classes["vp"].items():
        assert nf[c] == 0 and (cls == c).any()
        near = [x for x in (fitted[fitted < c][-1:], fitted[fitted > c][:1]) if x.size]
        k = np.concatenate(near)
        assert fill == pytest.approx(nd[k].sum() / nf[k].sum() * r.pixel_area_ha)
        assert (dens[cls == c] == np.float32(fill / t.years)).all()
