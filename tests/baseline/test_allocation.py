"""Allocation of expected deforestation (VT0007 step 6, section 6): arrays and streamed rasters."""


import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import box

from reddplus.baseline.allocation import allocate, allocate_array
from reddplus.errors import ToleranceWarning, ZoneError

CRS = "EPSG:6933"


def test_allocate_array_hand():
    """Two pixels of density 0.01 and 0.03 ha/yr, expected 0.02 ha/yr -> AR 0.5 -> 0.005 and 0.015 ha."""
    dens = np.array([[0.01, 0.03], [0.0, 0.0]])
    z = {"project": np.array([[True, False], [False, False]]), "belt": np.array([[False, True], [True, True]])}
    r = allocate_array(dens, [0.02, 0.04], 0.09, z, years=[2021, 2022])
    assert r.zone_ha_per_year["project"] == pytest.approx((0.005, 0.01))
    assert r.zone_ha_per_year["belt"] == pytest.approx((0.015, 0.03))
    assert r.allocation_error == pytest.approx(0) and r.capped_share == 0


def test_cap_and_tolerance_warning():
    dens = np.array([0.05, 0.01])
    with pytest.warns(ToleranceWarning, match="allocation error"):
        r = allocate_array(dens, [0.5], 0.09, {"all": np.ones(2, bool)})
    assert r.zone_ha_per_year["all"][0] == pytest.approx(0.18)  # both pixels capped at 0.09 ha
    assert r.capped_share == 1.0 and r.allocation_error == pytest.approx(0.18 / 0.5 - 1)
    # feasible but most pixels capped -> capped-share warning, no allocation error
    with pytest.warns(ToleranceWarning, match="at the pixel-area cap"):
        r = allocate_array(np.array([0.05, 0.05, 0.001]), [0.1819], 0.09, {"all": np.ones(3, bool)})
    assert r.allocation_error == pytest.approx(0, abs=1e-9) and r.capped_share == pytest.approx(2 / 3)


def test_streamed_equals_array(tmp_path):
    rng = np.random.default_rng(1)
    dens = (rng.integers(0, 30, (200, 300)) * 1e-3).astype(np.float32)
    t = from_origin(1e6, 2e6, 30, 30)
    with rasterio.open(tmp_path / "d.tif", "w", driver="GTiff", width=300, height=200, count=1, dtype="float32",
                       crs=CRS, transform=t) as ds:
        ds.write(dens, 1)
    proj = box(1e6 + 900, 2e6 - 3000, 1e6 + 4500, 2e6 - 900)
    gpd.GeoDataFrame(geometry=[proj], crs=CRS).to_file(tmp_path / "p.gpkg")
    gpd.GeoDataFrame(geometry=[box(1e6, 2e6 - 6000, 1e6 + 9000, 2e6)], crs=CRS).to_file(tmp_path / "j.gpkg")
    gpd.GeoDataFrame(geometry=[box(2e6, 2e6, 2.1e6, 2.1e6)], crs=CRS).to_file(tmp_path / "far.gpkg")
    r = allocate(tmp_path / "d.tif", [50.0, 80.0], zones={"project": tmp_path / "p.gpkg"},
                 jurisdiction=tmp_path / "j.gpkg", block_size=64)
    mask = np.zeros(dens.shape, bool)
    mask[30:100, 30:150] = True     # pixel centres inside the project box
    ref = allocate_array(dens, [50.0, 80.0], 0.09, {"project": mask})
    assert r.zone_ha_per_year["project"] == pytest.approx(ref.zone_ha_per_year["project"], rel=1e-5)
    assert [a.ratio for a in r.adjustments] == pytest.approx([a.ratio for a in ref.adjustments], rel=1e-6)
    with pytest.raises(ZoneError):
        allocate(tmp_path / "d.tif", 10.0, zones={"project": tmp_path / "far.gpkg"})
