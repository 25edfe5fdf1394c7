"""The allocated risk map as a project's input and as a VT0007 run's output (reddplus.baseline.allocated)."""

from __future__ import annotations

import json
import warnings

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import box

from reddplus.baseline.allocated import (UNITS, AllocatedDisagreementWarning, allocated_baseline,
                                         allocated_density, check_allocated_values, compare_activity_data,
                                         read_allocated_activity_data, write_allocated_activity_data,
                                         write_allocated_map, write_allocated_outputs)
from reddplus.baseline.allocation import allocate, allocate_array
from reddplus.errors import CRSError, GridMismatchError, InputDataError, OutputExistsError, ZoneError
from reddplus.raster import read_grid

CRS = "EPSG:6933"   # Lambert cylindrical equal area, metres
X0, Y0, RES = 1e6, 2e6, 30.0
SHAPE = (200, 300)


def _raster(path, data, *, crs=CRS, transform=None, nodata=None, units=None, tags=None, band_tags=None):
    data = np.asarray(data)
    if data.ndim == 2:
        data = data[None]
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[2], height=data.shape[1], count=data.shape[0],
                       dtype=data.dtype, crs=crs, transform=transform or from_origin(X0, Y0, RES, RES),
                       nodata=nodata) as ds:
        ds.write(data)
        for b in range(1, data.shape[0] + 1):
            if units:
                ds.set_band_unit(b, units)
            if band_tags:
                ds.update_tags(b, **band_tags[b - 1])
        if tags:
            ds.update_tags(**tags)
    return path


@pytest.fixture
def land(tmp_path):
    """A density raster [ha/px/yr], a project box, a belt around it and a jurisdiction box (all in EPSG:6933)."""
    rng = np.random.default_rng(3)
    dens = (rng.integers(0, 30, SHAPE) * 1e-3).astype(np.float32)
    dens[rng.random(SHAPE) < 0.3] = 0.0
    _raster(tmp_path / "density.tif", dens)
    proj = box(X0 + 2400, Y0 - 4200, X0 + 6000, Y0 - 1800)
    belt = proj.buffer(1500).difference(proj)
    gpd.GeoDataFrame(geometry=[proj], crs=CRS).to_file(tmp_path / "project.gpkg")
    gpd.GeoDataFrame(geometry=[belt], crs=CRS).to_file(tmp_path / "belt.gpkg")
    gpd.GeoDataFrame(geometry=[box(X0, Y0 - 6000, X0 + 9000, Y0)], crs=CRS).to_file(tmp_path / "jur.gpkg")
    return {"dir": tmp_path, "density": dens, "project": tmp_path / "project.gpkg", "belt": tmp_path / "belt.gpkg",
            "jur": tmp_path / "jur.gpkg", "grid": read_grid(tmp_path / "density.tif")}


def _masks(land):
    """Pixel-centre masks of the project and belt, computed with shapely (independent of rasterio)."""
    from shapely import contains_xy

    rows, cols = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    x, y = X0 + (cols + 0.5) * RES, Y0 - (rows + 0.5) * RES
    proj = gpd.read_file(land["project"]).geometry.union_all()
    belt = gpd.read_file(land["belt"]).geometry.union_all()
    return contains_xy(proj, x, y), contains_xy(belt, x, y)


def _tagged_map(land, values, name="alloc.tif", **kw):
    kw.setdefault("units", UNITS)
    kw.setdefault("tags", {"YEARS": "2021-2023"})
    return _raster(land["dir"] / name, values, **kw)


# ----------------------------------------------------------------------------------- known answers
def test_udefarp_allocated_map_of_the_sample_known_answer(shared):
    """UDef-ARP's allocated map of the GENERATED sample (apd_VP.tif, exact-distance run, commit 14acdaf) summed
    over the project: 586.4641403016212 ha/yr and 11,003.099926173314 ha/yr over the whole map
    (../shared/data/vt0007_udefarp_reference/sample/expected.json, runs.exact.vp). Its band carries no unit type,
    so the units are declared, and its nodata (-1) pixels count as 0."""
    base = shared("vt0007_udefarp_reference", "sample")
    expected = json.loads((base / "expected.json").read_text())["runs"]["exact"]["vp"]
    grid = read_grid(base / "inputs" / "lossyear.tif")
    with pytest.raises(InputDataError, match="no unit type"):
        allocated_baseline(base / "exact" / "apd_VP.tif", project=base / "inputs" / "project.gpkg", years=[2021])
    res = allocated_baseline(base / "exact" / "apd_VP.tif", project=base / "inputs" / "project.gpkg", grid=grid,
                             years=[2021, 2022], units="ha px-1 yr-1")
    assert res.units == UNITS and res.units_source == "config"
    assert res.zone_pixels["project"] == expected["project_px"] == 145_889
    assert res.ha_per_year("project") == {2021: pytest.approx(expected["project_ha_per_year"], rel=1e-12),
                                          2022: pytest.approx(expected["project_ha_per_year"], rel=1e-12)}
    assert res.map_total_ha_per_year[0] == pytest.approx(expected["density_sum_ha_per_year"], rel=1e-12)
    assert res.max_pixel_ha_per_year <= res.pixel_area_ha == 1.0


def test_allocated_density_hand():
    """VT0007 step 6: min(AR x density, pixel area); NaN and negative densities give 0."""
    d = np.array([0.01, 0.03, 0.2, np.nan, -1.0])
    np.testing.assert_allclose(allocated_density(d, 0.5, 0.09), [0.005, 0.015, 0.09, 0.0, 0.0])
    with pytest.raises(InputDataError, match="adjustment ratio"):
        allocated_density(d, float("nan"), 0.09)


def test_check_values_finds_the_first_pixel_of_each_fault():
    v = np.array([[0.0, -1.0, 0.5], [np.nan, 2.0, -3.0]])
    valid = np.ones(v.shape, bool)
    got = check_allocated_values(v, valid, 1.0)
    assert got["negative"] == (0, 1, -1.0, 2)
    assert got["nan"][:2] == (1, 0) and got["nan"][3] == 1
    assert got["above_pixel_area"] == (1, 1, 2.0, 1) and got["infinite"] is None
    valid[:, 1] = False   # masked pixels are not checked
    got = check_allocated_values(v, valid, 1.0)
    assert got["negative"] == (1, 2, -3.0, 1) and got["above_pixel_area"] is None


# ----------------------------------------------------------------------------------- reading
def test_sums_equal_pixel_centre_masks_and_blocks_do_not_matter(land):
    values = np.stack([land["density"], 2 * land["density"]]).astype(np.float32)
    path = _tagged_map(land, values, tags={}, band_tags=[{"YEAR": "2021"}, {"YEAR": "2022"}])
    proj, belt = _masks(land)
    kw = dict(project=land["project"], leakage_belt=land["belt"], grid=land["grid"])
    res = allocated_baseline(path, block_size=64, **kw)
    assert res.years == (2021, 2022) and res.bands == ("1", "2")
    v = values.astype(np.float64)
    assert res.zone_ha_per_year["project"] == pytest.approx((v[0][proj].sum(), v[1][proj].sum()), rel=1e-12)
    assert res.zone_ha_per_year["leakage_belt"] == pytest.approx((v[0][belt].sum(), v[1][belt].sum()), rel=1e-12)
    assert res.zone_pixels == {"project": int(proj.sum()), "leakage_belt": int(belt.sum())}
    assert res.map_total_ha_per_year == pytest.approx((v[0].sum(), v[1].sum()), rel=1e-12)
    whole = allocated_baseline(path, **kw)
    assert whole.zone_ha_per_year["project"] == pytest.approx(res.zone_ha_per_year["project"], rel=1e-12)
    only = allocated_baseline(path, years=[2022], **kw)
    assert only.years == (2022,) and only.zone_ha_per_year["project"][0] == res.zone_ha_per_year["project"][1]


def test_single_band_years_from_the_file_or_the_caller(land):
    path = _tagged_map(land, land["density"])
    res = allocated_baseline(path, project=land["project"])
    assert res.years == (2021, 2022, 2023) and len(set(res.zone_ha_per_year["project"])) == 1
    assert allocated_baseline(path, project=land["project"], years=[2022]).years == (2022,)
    with pytest.raises(InputDataError, match="not for year"):
        allocated_baseline(path, project=land["project"], years=[2024])
    untagged = _tagged_map(land, land["density"], name="untagged.tif", tags={})
    with pytest.raises(InputDataError, match="no YEARS tag"):
        allocated_baseline(untagged, project=land["project"])


def test_nodata_pixels_count_as_zero_and_nan_nodata_is_accepted(land):
    proj, _ = _masks(land)
    values = land["density"].copy()
    values[proj] = np.where(np.arange(proj.sum()) % 2 == 0, -1.0, values[proj])
    path = _tagged_map(land, values, nodata=-1.0)
    expect = values[proj & (values >= 0)].astype(np.float64).sum()
    assert allocated_baseline(path, project=land["project"]).zone_ha_per_year["project"][0] == \
        pytest.approx(expect, rel=1e-12)
    values = land["density"].copy()
    values[0:5, :] = np.nan
    path = _tagged_map(land, values, name="nan_nodata.tif", nodata=float("nan"))
    assert np.isfinite(allocated_baseline(path, project=land["project"]).map_total_ha_per_year[0])


def test_packed_integer_map_with_scale_and_offset(land):
    """A uint16 map with a GDAL scale of 1e-5 ha per count reads as the float map it packs."""
    packed = np.round(land["density"] / 1e-5).astype(np.uint16)
    path = _tagged_map(land, packed, name="packed.tif")
    with rasterio.open(path, "r+") as ds:
        ds.scales, ds.offsets = (1e-5,), (0.0,)
    proj, _ = _masks(land)
    res = allocated_baseline(path, project=land["project"])
    assert res.zone_ha_per_year["project"][0] == pytest.approx(packed[proj].astype(np.float64).sum() * 1e-5, rel=1e-12)


def test_dask_scheduler_gives_the_same_sums(land):
    distributed = pytest.importorskip("distributed")
    path = _tagged_map(land, land["density"])
    local = allocated_baseline(path, project=land["project"], leakage_belt=land["belt"], block_size=64)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as lc:
        remote = allocated_baseline(path, project=land["project"], leakage_belt=land["belt"], block_size=64,
                                    scheduler=lc.scheduler_address)
    assert remote.to_dict() == local.to_dict()


# ----------------------------------------------------------------------------------- bad maps
def _nothing_written(directory, before):
    assert sorted(p.name for p in directory.iterdir()) == before


@pytest.mark.parametrize("fault, match", [
    ("negative", r"negative: first at band 1, row 17, col 5 .* = -0\.5"),
    ("nan", r"NaN .* first at band 1, row 17, col 5"),
    ("inf", r"infinite: first at band 1, row 17, col 5"),
    ("above", r"exceed the pixel area: 0\.5 ha/yr at band 1, row 17, col 5 .* 0\.09 ha"),
])
def test_bad_values_are_refused_naming_the_file_and_first_pixel(land, fault, match):
    values = land["density"].copy()
    value = {"negative": -0.5, "nan": np.nan, "inf": np.inf, "above": 0.5}[fault]
    values[17, 5] = value
    values[150, 250] = value      # a later pixel with the same fault
    path = _tagged_map(land, values, name=f"bad_{fault}.tif")
    before = sorted(p.name for p in land["dir"].iterdir())
    with pytest.raises(InputDataError, match=match) as err:
        allocated_baseline(path, project=land["project"], block_size=64)
    assert str(path) in str(err.value) and "2 pixel(s)" in str(err.value)
    _nothing_written(land["dir"], before)


def test_another_grid_or_crs_is_refused(land):
    shifted = _tagged_map(land, land["density"], name="shifted.tif", transform=from_origin(X0 + 15, Y0, RES, RES))
    with pytest.raises(GridMismatchError, match="forest-change grid") as err:
        allocated_baseline(shifted, project=land["project"], grid=land["grid"])
    assert str(shifted) in str(err.value)
    coarse = _tagged_map(land, land["density"][::2, ::2], name="coarse.tif",
                         transform=from_origin(X0, Y0, 2 * RES, 2 * RES))
    with pytest.raises(GridMismatchError):
        allocated_baseline(coarse, project=land["project"], grid=land["grid"])
    geo = _tagged_map(land, land["density"], name="geo.tif", crs="EPSG:4326",
                      transform=from_origin(-60, -10, 0.0003, 0.0003))
    with pytest.raises(CRSError, match="geographic"):
        allocated_baseline(geo, project=land["project"])
    feet = _tagged_map(land, land["density"], name="feet.tif", crs="EPSG:2229")
    with pytest.raises(CRSError, match="metres"):
        allocated_baseline(feet, project=land["project"])


def test_units_must_be_ha_per_pixel_per_year(land):
    wrong = _tagged_map(land, land["density"], name="m2.tif", units="m2/pixel/yr")
    with pytest.raises(InputDataError, match="unit type is 'm2/pixel/yr'"):
        allocated_baseline(wrong, project=land["project"])
    from reddplus.project import Baseline

    with pytest.raises(Exception, match="allocated_units"):
        Baseline(source="allocated", allocated_risk_map="alloc.tif", allocated_units="ha")
    cfg = Baseline(source="allocated", allocated_risk_map="alloc.tif", allocated_units="ha/px/yr")
    assert cfg.allocated_tolerance_percent == 1.0


def test_a_density_before_the_adjustment_is_not_an_allocation(land):
    """A risk benchmark's density_vp.tif (its band says 'before the adjustment') or a raster tagged as another
    product is refused, by the metadata check (reddplus check) and by the run alike."""
    from reddplus.baseline.allocated import check_allocated_map
    from reddplus.raster.io import BAND_METADATA

    dens = _tagged_map(land, land["density"], name="density_vp.tif")
    with rasterio.open(dens, "r+") as ds:
        ds.set_band_description(1, BAND_METADATA["density"][0])
    for call in (lambda p: check_allocated_map(p), lambda p: allocated_baseline(p, project=land["project"])):
        with pytest.raises(InputDataError, match="before the adjustment"):
            call(dens)
    other = _tagged_map(land, land["density"], name="other.tif", tags={"YEARS": "2021", "REDDPLUS_PRODUCT": "x"})
    with pytest.raises(InputDataError, match="is a 'x', not an allocated risk map"):
        check_allocated_map(other)
    no_units = _tagged_map(land, land["density"], name="nounits.tif", units=None)
    with pytest.raises(InputDataError, match="carries no unit type"):
        check_allocated_map(no_units)
    check_allocated_map(no_units, "ha/pixel/yr")
    check_allocated_map(_tagged_map(land, land["density"]))


def test_multiband_needs_a_year_per_band_and_the_project_must_cover_pixels(land, tmp_path):
    two = np.stack([land["density"]] * 2)
    no_year = _tagged_map(land, two, name="two.tif", tags={}, band_tags=[{"YEAR": "2021"}, {}])
    with pytest.raises(InputDataError, match="band 2 .* no YEAR tag"):
        allocated_baseline(no_year, project=land["project"])
    same = _tagged_map(land, two, name="same.tif", tags={}, band_tags=[{"YEAR": "2021"}, {"YEAR": "2021"}])
    with pytest.raises(InputDataError, match="both hold year 2021"):
        allocated_baseline(same, project=land["project"])
    ok = _tagged_map(land, land["density"])
    tiny = box(X0 + 1, Y0 - 2, X0 + 2, Y0 - 1)   # inside the raster, but no pixel centre
    gpd.GeoDataFrame(geometry=[tiny], crs=CRS).to_file(tmp_path / "tiny.gpkg")
    with pytest.raises(ZoneError, match="no pixel centre"):
        allocated_baseline(ok, project=tmp_path / "tiny.gpkg")


# ----------------------------------------------------------------------------------- the CSV
def _csv(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, match", [
    ("year,area,ha\n2021,project,10\n2021,belt,3\n", r"unknown area 'belt'.*row 2, column 'area'"),
    ("year,area,ha\n2021,project,10\n2021,project,11\n", r"duplicate year 2021 .*row 2, column 'year'"),
    ("year,area,ha\n2021,project,-1\n", r"finite number >= 0 .*row 1, column 'ha'"),
    ("year,area,ha\n2021.5,project,1\n", r"integer.*row 1, column 'year'"),
    ("year,area,ha\n2021,project,many\n", r"number.*row 1, column 'ha'"),
    ("year,area,ha\n2021,,1\n", r"empty value .*row 1, column 'area'"),
    ("year,zone,ha\n2021,project,1\n", r"missing column\(s\) \['area'\]"),
])
def test_activity_data_csv_errors_name_row_and_column(tmp_path, text, match):
    path = _csv(tmp_path / "ad.csv", text)
    with pytest.raises(InputDataError, match=match) as err:
        read_allocated_activity_data(path)
    assert str(path) in str(err.value)


def test_activity_data_round_trip_is_exact(tmp_path):
    data = {"project": {2021: 586.4641403016212, 2022: 0.1 + 0.2}, "leakage_belt": {2021: 1210.5, 2022: 0.0}}
    p = write_allocated_activity_data(tmp_path / "ad.csv", data)
    assert read_allocated_activity_data(p).ha_per_year == data
    with pytest.raises(OutputExistsError):
        write_allocated_activity_data(p, data)
    with pytest.raises(InputDataError, match="unknown area"):
        write_allocated_activity_data(tmp_path / "x.csv", {"jurisdiction": {2021: 1.0}})
    assert not (tmp_path / "x.csv").exists()


def test_compare_activity_data_rule():
    rows = compare_activity_data({"project": {2021: 101.0, 2022: 100.0, 2023: 5.0, 2024: 0.0}},
                                 {"project": {2021: 100.0, 2022: 100.5, 2023: 0.0, 2024: 0.0}}, 1.0)
    assert [r.exceeds_tolerance for r in rows] == [False, False, True, False]
    assert rows[0].difference_percent == pytest.approx(1.0) and rows[2].difference_percent == float("inf")
    missing = compare_activity_data({"leakage_belt": {2021: 3.0}}, {"project": {2021: 3.0}}, 1.0)
    assert missing[0].csv_ha is None and missing[0].exceeds_tolerance


def test_map_and_csv_disagreement_is_a_warning_and_a_field(land, tmp_path):
    path = _tagged_map(land, land["density"])
    exact = allocated_baseline(path, project=land["project"], leakage_belt=land["belt"])
    good = {z: dict(zip(exact.years, v)) for z, v in exact.zone_ha_per_year.items()}
    p_good = write_allocated_activity_data(tmp_path / "good.csv", good)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AllocatedDisagreementWarning)
        res = allocated_baseline(path, project=land["project"], leakage_belt=land["belt"], activity_data=p_good)
    assert not res.disagrees and len(res.comparison) == 6
    off = {z: {y: v * 1.05 for y, v in d.items()} for z, d in good.items()}
    p_off = write_allocated_activity_data(tmp_path / "off.csv", off)
    with pytest.warns(AllocatedDisagreementWarning, match="6 of 6 .* beyond 1 %"):
        res = allocated_baseline(path, project=land["project"], leakage_belt=land["belt"], activity_data=p_off)
    assert res.disagrees
    assert res.comparison[0].difference_percent == pytest.approx(100 * (1 / 1.05 - 1), rel=1e-9)
    assert res.to_dict()["disagrees"] is True and res.to_dict()["comparison"][0]["csv_ha"] == off["project"][2021]
    # the map's sums stay the baseline
    assert res.zone_ha_per_year == exact.zone_ha_per_year
    quiet = allocated_baseline(path, project=land["project"], leakage_belt=land["belt"], activity_data=p_off,
                               tolerance_percent=6.0)
    assert not quiet.disagrees


# ----------------------------------------------------------------------------------- writing: one run -> the next
def test_vt0007_run_output_is_the_next_runs_input(land, tmp_path):
    """allocate() on a density raster -> write_allocated_outputs -> allocated_baseline gives back its sums."""
    years = [2021, 2022, 2023]
    alloc = allocate(tmp_path / "density.tif", [50.0, 80.0, 80.0],
                     zones={"project": land["project"], "leakage_belt": land["belt"]}, jurisdiction=land["jur"],
                     years=years, block_size=64)
    out = write_allocated_outputs(alloc, tmp_path / "density.tif", tmp_path / "run1" / "allocated.tif",
                                  tmp_path / "run1" / "allocated.csv", validity_period="2021-2026", block_size=64)
    with rasterio.open(out["map"]) as ds:
        assert ds.count == 3 and ds.units == (UNITS,) * 3 and ds.dtypes == ("float32",) * 3
        assert [ds.tags(b)["YEAR"] for b in (1, 2, 3)] == ["2021", "2022", "2023"]
        assert float(ds.tags(2)["ADJUSTMENT_RATIO"]) == alloc.adjustments[1].ratio
        assert ds.tags()["REDDPLUS_PRODUCT"] == "allocated_risk_map" and ds.tags()["VALIDITY_PERIOD"] == "2021-2026"
        assert ds.profile["tiled"] and ds.profile["compress"] == "deflate"
    with warnings.catch_warnings():
        warnings.simplefilter("error", AllocatedDisagreementWarning)
        back = allocated_baseline(out["map"], project=land["project"], leakage_belt=land["belt"], grid=land["grid"],
                                  years=years, activity_data=out["csv"], tolerance_percent=1e-4)
    for zone in ("project", "leakage_belt"):
        assert back.zone_ha_per_year[zone] == pytest.approx(alloc.zone_ha_per_year[zone], rel=1e-6)
    assert back.map_total_ha_per_year == pytest.approx(alloc.expected_ha_per_year, rel=1e-6)
    # the same ratio every year -> one band with every year
    flat = allocate(tmp_path / "density.tif", [50.0] * 3, zones={"project": land["project"]}, years=years)
    p = write_allocated_map(tmp_path / "flat.tif", tmp_path / "density.tif", [a.ratio for a in flat.adjustments],
                            years)
    with rasterio.open(p) as ds:
        assert ds.count == 1 and ds.tags()["YEARS"] == "2021,2022,2023"
    assert allocated_baseline(p, project=land["project"]).zone_ha_per_year["project"] == \
        pytest.approx(flat.zone_ha_per_year["project"], rel=1e-6)


def test_written_map_matches_allocate_array_and_respects_the_cap(land, tmp_path):
    """A ratio that caps pixels: the map's pixels never exceed the pixel area and sum to allocate_array's."""
    proj, _ = _masks(land)
    ref = allocate_array(land["density"], [2500.0], land["grid"].pixel_area_ha, {"project": proj},
                         capped_tolerance=1.0)
    p = write_allocated_map(tmp_path / "capped.tif", tmp_path / "density.tif", [ref.adjustments[0].ratio], [2021])
    with rasterio.open(p) as ds:
        a = ds.read(1)
    assert a.max() <= np.float32(land["grid"].pixel_area_ha)
    assert ref.capped_share > 0
    res = allocated_baseline(p, project=land["project"])
    assert res.zone_ha_per_year["project"][0] == pytest.approx(ref.zone_ha_per_year["project"][0], rel=1e-6)


def test_writer_refuses_bad_input_and_leaves_nothing(land, tmp_path):
    before = sorted(p.name for p in tmp_path.iterdir())
    for ratios, years, match in (([0.5, 0.6], [2021], "one adjustment ratio per year"),
                                 ([float("nan")], [2021], "finite"), ([0.5, 0.5], [2021, 2021], "repeat")):
        with pytest.raises(InputDataError, match=match):
            write_allocated_map(tmp_path / "out.tif", tmp_path / "density.tif", ratios, years)
    _nothing_written(tmp_path, before)
    p = write_allocated_map(tmp_path / "out.tif", tmp_path / "density.tif", [0.5], [2021])
    with pytest.raises(OutputExistsError):
        write_allocated_map(p, tmp_path / "density.tif", [0.5], [2021])
    geo = _raster(tmp_path / "geo_density.tif", land["density"], crs="EPSG:4326",
                  transform=from_origin(-60, -10, 0.0003, 0.0003))
    with pytest.raises(CRSError):
        write_allocated_map(tmp_path / "geo_out.tif", geo, [0.5], [2021])
    assert not (tmp_path / "geo_out.tif").exists()
