"""Driver rasters by blocks: exact against the whole-array computation; opening years; bad input."""

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasterio.windows import Window
from scipy import ndimage
from shapely.geometry import LineString, Point

from reddplus.errors import ConfigError, InputDataError
from reddplus.landcover import open_forest_change
from reddplus.raster import read_grid
from reddplus.risk.drivers import (DistanceDriver, ForestEdgeDriver, PlannedRoad, RasterDriver, SlopeDriver,
                                   distance_to_features, driver_stacks, read_feature_layer, roads_open_in,
                                   slope_degrees)

from .synth import CRS, bounds, make_fcc, write_fcc

PIXEL = 30.0


def test_distance_to_features_known_values_and_cap():
    """3-4-5 triangle: a pixel 3 rows and 4 columns from the only feature is 5 px away."""
    f = np.zeros((6, 7), bool)
    f[0, 0] = True
    d = distance_to_features(f, 30.0)
    assert d[0, 0] == 0 and d[3, 4] == pytest.approx(150.0) and d[0, 6] == pytest.approx(180.0)
    assert distance_to_features(f, 30.0, 100.0).max() == pytest.approx(100.0)
    assert (distance_to_features(np.zeros((3, 3), bool), 30.0, 70.0) == 70.0).all()
    assert np.isinf(distance_to_features(np.zeros((3, 3), bool), 30.0)).all()


@settings(max_examples=60, deadline=None)
@given(st.integers(3, 40), st.integers(3, 40), st.floats(0.0, 0.3), st.integers(0, 10_000))
def test_distance_to_features_equals_scipy(h, w, share, seed):
    """The compiled kernel equals SciPy's exact EDT (integer pixel size: bit for bit), and
    anisotropic pixels go through SciPy's sampled EDT."""
    rng = np.random.default_rng(seed)
    f = rng.random((h, w)) < share
    if not f.any():
        f[rng.integers(h), rng.integers(w)] = True
    ref = ndimage.distance_transform_edt(~f, sampling=30.0).astype(np.float32)
    np.testing.assert_array_equal(distance_to_features(f, 30.0), ref)
    ref2 = ndimage.distance_transform_edt(~f, sampling=(20.0, 30.0)).astype(np.float32)
    np.testing.assert_array_equal(distance_to_features(f, (30.0, 20.0)), ref2)


def test_slope_known_plane():
    """A plane rising 1 m per 1 m in x has a 45 degree slope everywhere (edges one-sided)."""
    x = np.arange(6, dtype=float) * 30.0
    z = np.tile(x, (5, 1))
    np.testing.assert_allclose(slope_degrees(z, 30.0), 45.0, rtol=1e-6)
    assert (slope_degrees(np.ones((4, 4)), 30.0) == 0).all()


def test_roads_open_in():
    e = np.array([1, 0, 0], bool)
    p = [(np.array([0, 1, 0], bool), 2025), (np.array([0, 0, 1], bool), 2030)]
    assert roads_open_in(e, p, 2024).tolist() == [True, False, False]
    assert roads_open_in(e, p, 2025).tolist() == [True, True, False]
    assert roads_open_in(e, p, 2030).tolist() == [True, True, True]


def _landscape(tmp_path, shape=(120, 150), seed=0):
    fcc = make_fcc(shape, seed=seed)
    fp = write_fcc(tmp_path / "fcc.tif", fcc)
    w, s, e, n = bounds(fcc)
    roads = gpd.GeoDataFrame({"opening_year": [1990, 2012, 2025]},
                             geometry=[LineString([(w + 10.3 * PIXEL, s), (w + 60.7 * PIXEL, n)]),
                                       LineString([(w, s + 40.2 * PIXEL), (e, s + 90.9 * PIXEL)]),
                                       LineString([(w + 120.5 * PIXEL, s), (w + 140.1 * PIXEL, n)])], crs=CRS)
    roads.to_file(tmp_path / "roads.gpkg")
    gpd.GeoDataFrame(geometry=[Point(w + 77.7 * PIXEL, s + 33.3 * PIXEL), Point(w + 5.5 * PIXEL, n - 5.5 * PIXEL)],
                     crs=CRS).to_file(tmp_path / "towns.gpkg")
    rng = np.random.default_rng(seed)
    elev = ndimage.gaussian_filter(rng.normal(size=shape), 5).astype(np.float32) * 500 + 200
    with rasterio.open(tmp_path / "fcc.tif") as ds:
        profile = ds.profile | {"dtype": "float32", "nodata": None}
    with rasterio.open(tmp_path / "elev.tif", "w", **profile) as ds:
        ds.write(elev, 1)
    return fp, fcc, elev


def _read(path):
    with rasterio.open(path) as ds:
        return ds.read(1)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from([1, 7, 32, 70, 256]), st.sampled_from([150.0, 1000.0, 1e7]), st.integers(0, 3))
def test_driver_rasters_by_strips_equal_whole_array(tmp_path_factory, strip_height, cap, seed):
    """Every driver raster, streamed by full-width strips, equals the whole-array computation bit for bit
    (burn the whole raster, one EDT, cap), whatever the strip height and the distance (1e7 m: no cap)."""
    tmp = tmp_path_factory.mktemp("drv")
    fp, fcc, elev = _landscape(tmp, seed=seed)
    fc = open_forest_change(fp, "fcc123")
    grid = read_grid(fp)
    drivers = {"distance_to_edge": ForestEdgeDriver(kind="forest_edge"),
               "distance_to_road": DistanceDriver(kind="distance", path=tmp / "roads.gpkg",
                                                  opening_year_field="opening_year"),
               "distance_to_town": {"kind": "distance", "path": str(tmp / "towns.gpkg")},
               "elevation": RasterDriver(kind="raster", path=tmp / "elev.tif"),
               "slope": SlopeDriver(kind="slope", elevation=tmp / "elev.tif")}
    stacks = driver_stacks(fc, drivers, [(0, 2000), (1, 2010), (1, 2015), (2, 2030)], out_dir=tmp / "out",
                           max_distance_m=cap, block_size=strip_height)
    full = Window(0, 0, grid.width, grid.height)
    roads = read_feature_layer(tmp / "roads.gpkg", grid, opening_year_field="opening_year")
    towns = read_feature_layer(tmp / "towns.gpkg", grid)
    for (k, year), st_ in stacks.items():
        got = {n: _read(p) for n, p in st_.paths.items()}
        forest = fcc > k
        np.testing.assert_array_equal(got["distance_to_edge"], distance_to_features(~forest, PIXEL, cap))
        np.testing.assert_array_equal(got["distance_to_road"],
                                      distance_to_features(roads.burn(grid, full, year), PIXEL, cap))
        np.testing.assert_array_equal(got["distance_to_town"],
                                      distance_to_features(towns.burn(grid, full, None), PIXEL, cap))
        np.testing.assert_array_equal(got["elevation"], elev)
        np.testing.assert_array_equal(got["slope"], slope_degrees(elev, PIXEL))
    # dates that see the same roads share one raster; 2012 and 2025 roads change it
    assert stacks[(1, 2010)].paths["distance_to_road"] == stacks[(0, 2000)].paths["distance_to_road"]
    assert stacks[(1, 2015)].paths["distance_to_road"] != stacks[(1, 2010)].paths["distance_to_road"]
    assert stacks[(1, 2015)].paths["distance_to_edge"] == stacks[(1, 2010)].paths["distance_to_edge"]


def test_planned_road_joins_a_distance_driver_from_its_opening_year(tmp_path):
    fp, fcc, _ = _landscape(tmp_path)
    fc = open_forest_change(fp, "fcc123")
    w, s, e, n = bounds(fcc)
    gpd.GeoDataFrame({"name": ["branch"]}, geometry=[LineString([(w + 100.5 * PIXEL, s), (w + 100.5 * PIXEL, n)])],
                     crs=CRS).to_file(tmp_path / "planned.gpkg")
    drivers = {"distance_to_road": DistanceDriver(kind="distance", path=tmp_path / "roads.gpkg")}
    planned = [PlannedRoad(path=tmp_path / "planned.gpkg", opening_year=2023)]
    st_ = driver_stacks(fc, drivers, [(2, 2020), (2, 2023)], out_dir=tmp_path / "o", max_distance_m=3000,
                        planned_roads=planned)
    before, after = (_read(st_[(2, y)].paths["distance_to_road"]) for y in (2020, 2023))
    assert (after <= before).all() and after[:, 100].max() == 0 and (before[:, 100] > 0).mean() > 0.9


def test_bad_driver_definitions_name_the_key(tmp_path):
    fp, fcc, _ = _landscape(tmp_path)
    fc = open_forest_change(fp, "fcc123")
    key = "baseline.alternatives.roads.drivers"
    with pytest.raises(ConfigError, match=r"baseline.alternatives.roads.planned_roads\[0\].driver"):
        driver_stacks(fc, {"distance_to_edge": {"kind": "forest_edge"}}, [(0, 2000)], out_dir=tmp_path / "o",
                      max_distance_m=500, key=key, planned_key="baseline.alternatives.roads.planned_roads",
                      planned_roads=[PlannedRoad(path=tmp_path / "roads.gpkg", opening_year=2030)])
    with pytest.raises(ConfigError, match=r"baseline.alternatives.roads.drivers.x"):
        driver_stacks(fc, {"x": {"kind": "elevation"}}, [(0, 2000)], out_dir=tmp_path / "o", max_distance_m=500,
                      key=key)
    with rasterio.open(tmp_path / "elev.tif") as ds:
        profile = ds.profile | {"width": 10}
    with rasterio.open(tmp_path / "small.tif", "w", **profile) as ds:
        ds.write(np.zeros((1, profile["height"], 10), np.float32))
    with pytest.raises(ConfigError, match=r"drivers.elevation.*another grid"):
        driver_stacks(fc, {"elevation": RasterDriver(kind="raster", path=tmp_path / "small.tif")}, [(0, 2000)],
                      out_dir=tmp_path / "o", max_distance_m=500, key=key)
    with pytest.raises(InputDataError, match="opening_yr"):
        driver_stacks(fc, {"r": DistanceDriver(kind="distance", path=tmp_path / "roads.gpkg",
                                               opening_year_field="opening_yr")},
                      [(0, 2000)], out_dir=tmp_path / "o", max_distance_m=500)
    with pytest.raises(ConfigError, match="at least one driver"):
        driver_stacks(fc, {}, [(0, 2000)], out_dir=tmp_path / "o", max_distance_m=500, key=key)
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6), st.integers(7, 50), st.integers(7, 50))
def test_line_burner_is_gdal_all_touched_and_window_independent(seed, n_lines, bh, bw):
    """Random lines (which almost surely miss the pixel corners): every pixel they pass through, as GDAL's
    all_touched burner marks them on the whole raster; and the same pixels whatever the window (GDAL's own
    burner differs at window edges)."""
    from affine import Affine
    from rasterio.features import rasterize

    from reddplus.raster import Grid
    from reddplus.risk.drivers import feature_layer

    rng = np.random.default_rng(seed)
    grid = Grid(None, Affine(PIXEL, 0, 0.0, 0, -PIXEL, 80 * PIXEL), 80, 80)
    geoms = [LineString(rng.uniform(0.3, 79.7, (int(rng.integers(2, 5)), 2)) * PIXEL) for _ in range(n_lines)]
    layer = feature_layer(geoms, [0] * len(geoms), grid)
    whole = layer.burn(grid, Window(0, 0, 80, 80), None)
    ref = rasterize(((g, 1) for g in geoms), out_shape=(80, 80), transform=grid.transform, all_touched=True,
                    dtype="uint8").astype(bool)
    np.testing.assert_array_equal(whole, ref)
    for r in range(0, 80, bh):
        for c in range(0, 80, bw):
            win = Window(c, r, min(bw, 80 - c), min(bh, 80 - r))
            np.testing.assert_array_equal(layer.burn(grid, win, None),
                                          whole[r:r + int(win.height), c:c + int(win.width)])
