"""Planned-road scenario: the baseline allocated to a project changes from the road's opening year on,
only when the planned roads are used, and the allocation is the streamed one of the density rasters."""

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from shapely.geometry import LineString, box

from reddplus.baseline.allocation import allocate
from reddplus.baseline.scenario import planned_road_scenario, planned_road_scenario_from_paths
from reddplus.landcover import open_forest_change
from reddplus.risk.compare import predict_validity_period
from reddplus.risk.drivers import distance_to_features
from reddplus.risk.models import AlternativeModel
from reddplus.risk.tools import default_periods
from tests.risk.synth import CRS, bounds, write_fcc

PIXEL = 30.0


@pytest.fixture(scope="module")
def highway(tmp_path_factory):
    """Loss driven by an existing road (column 20); a highway planned through the project (column 160)."""
    tmp = tmp_path_factory.mktemp("hw")
    rng = np.random.default_rng(0)
    shape = (200, 200)
    existing = np.zeros(shape, bool)
    existing[:, 20] = True
    p = 0.3 * np.exp(-distance_to_features(existing, PIXEL) / 200.0)
    codes = np.full(shape, 3, np.uint8)
    codes[rng.random(shape) < p] = 1
    codes[existing] = 0                # the existing road is cleared
    for r, c in rng.integers(5, 195, (30, 2)):
        codes[r - 2:r + 3, c - 2:c + 3] = 0   # clearings: forest edges without road
    codes[(codes == 3) & (rng.random(shape) < p)] = 2
    fp = write_fcc(tmp / "fcc.tif", codes)
    w, s, e, n = bounds(codes)
    x_old, x_new = w + 20.5 * PIXEL, w + 160.5 * PIXEL
    gpd.GeoDataFrame(geometry=[LineString([(x_old, s), (x_old, n)])], crs=CRS).to_file(tmp / "roads.gpkg")
    gpd.GeoDataFrame({"opening_year": [2025]}, geometry=[LineString([(x_new, s), (x_new, n)])],
                     crs=CRS).to_file(tmp / "planned.gpkg")
    gpd.GeoDataFrame(geometry=[box(w + 140 * PIXEL, n - 150 * PIXEL, w + 180 * PIXEL, n - 50 * PIXEL)],
                     crs=CRS).to_file(tmp / "project.gpkg")
    return tmp, fp, codes


def _alt(tmp, use):
    return AlternativeModel(name="roads", model="logistic", sample_size=8000, seed=2,
                            drivers={"distance_to_edge": {"kind": "forest_edge"},
                                     "distance_to_road": {"kind": "distance", "path": str(tmp / "roads.gpkg")}},
                            planned_roads=[{"path": str(tmp / "planned.gpkg"), "opening_year": 2025}],
                            use_planned_roads_in_baseline=use, max_distance_m=6000)


def _read(path):
    with rasterio.open(path) as ds:
        return ds.read(1)


def test_highway_changes_project_baseline_from_opening_year(highway, tmp_path):
    tmp, fp, codes = highway
    fc = open_forest_change(fp, "fcc123")
    per = default_periods(fc.dates)
    base = predict_validity_period(fc, _alt(tmp, True), per, out_dir=tmp_path / "with", seed=0)
    expected = {y: 100.0 for y in range(2021, 2031)}
    zones = {"project": tmp / "project.gpkg"}
    res = planned_road_scenario(base, expected, zones=zones)
    ha = dict(zip(res.years, res.with_planned.zone_ha_per_year["project"]))
    assert base.fit.model.summary["coefficients"]["distance_to_road"] < 0
    assert all(ha[y] == ha[2021] for y in range(2021, 2025))
    assert all(ha[y] == ha[2025] for y in range(2025, 2031))
    assert ha[2025] > 3 * ha[2021]                    # the highway pulls the baseline into the project
    assert res.without.zone_ha_per_year["project"] == (ha[2021],) * 10
    assert res.allocation is res.with_planned and res.to_dict()["extrapolation"]
    # the allocation is the streamed allocation of the density raster valid each year
    ref = allocate(base.planned[0].density_path, [100.0], zones=zones, years=[2025])
    assert ha[2025] == ref.zone_ha_per_year["project"][0]
    assert res.with_planned.allocation_error == pytest.approx(0, abs=1e-9)
    # risk maps without / with the highway differ only away from the existing road, near the highway
    changed = _read(base.planned[0].class_path) != _read(base.class_path)
    assert changed[:, 150:170].mean() > 0.5 and not changed[:, :40].any()
    dens = _read(base.density_path)
    assert (dens[codes != 3] == 0).all() and (dens[codes == 3] > 0).all()
    assert base.density_path_for(2024) == base.density_path and base.density_path_for(2026) != base.density_path


def test_planned_road_left_out_unless_asked(highway, tmp_path):
    """use_planned_roads_in_baseline = false: one VP map with the roads open at the VP start, the planned
    road is reported as left out, and the baseline is the same every year."""
    tmp, fp, _ = highway
    fc = open_forest_change(fp, "fcc123")
    base = predict_validity_period(fc, _alt(tmp, False), default_periods(fc.dates), out_dir=tmp_path / "no", seed=0)
    assert base.planned == () and base.excluded_opening_years == (2025,)
    assert base.density_path_for(2030) == base.density_path
    res = planned_road_scenario(base, {y: 100.0 for y in range(2021, 2031)}, zones={"project": tmp / "project.gpkg"})
    assert res.with_planned is None and res.allocation is res.without
    assert len(set(res.without.zone_ha_per_year["project"])) == 1
    assert res.to_dict()["uses_planned_roads"] is False and res.opening_years == (2025,)


def test_scenario_from_paths_writes_both_maps(highway, tmp_path):
    tmp, fp, _ = highway
    fc = open_forest_change(fp, "fcc123")
    res = planned_road_scenario_from_paths(fc, planned_roads=tmp / "planned.gpkg", roads=tmp / "roads.gpkg",
                                           zones={"project": tmp / "project.gpkg"},
                                           expected_ha_per_year={y: 100.0 for y in range(2021, 2031)},
                                           sample_size=8000, seed=2, out_dir=tmp_path / "maps")
    assert (tmp_path / "maps" / "density_vp.tif").exists()
    assert (tmp_path / "maps" / "density_vp_roads_2025.tif").exists()
    ha = res.allocation.zone_ha_per_year["project"]
    assert ha[4] > 3 * ha[0] and res.density_paths[2030].name == "density_vp_roads_2025.tif"
