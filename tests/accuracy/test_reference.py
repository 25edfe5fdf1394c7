"""Activity data from a reference sample (reddplus.accuracy.reference) and its design (``accuracy design``)."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.transform import from_origin
from shapely.geometry import box

from reddplus.accuracy.olofsson import estimate_from_error_matrix
from reddplus.accuracy.reference import (CLASSES, StrataCounts, count_reference_strata, estimate_period_activity,
                                         period_classes, period_stratum_classes, read_reference_sample,
                                         reference_sample_activity)
from reddplus.accuracy.tools import design_reference_files
from reddplus.cli.main import cli
from reddplus.errors import InputDataError, OutputExistsError, ZoneError
from reddplus.landcover import open_forest_change

from tests.accuracy.test_stehman import REF, SIZES, STRATUM

CRS = "EPSG:6933"
X0, Y0, RES = 1e6, 2e6, 30.0
SHAPE = (120, 150)
PX_HA = 0.09


@pytest.fixture
def land(tmp_path):
    """An fcc123 map (0 non-forest, 1 lost 2000-2010, 2 lost 2010-2020, 3 forest), a jurisdiction, project, belt."""
    rng = np.random.default_rng(11)
    u = rng.random(SHAPE)
    fcc = np.select([u < 0.15, u < 0.25, u < 0.33], [0, 1, 2], 3).astype(np.uint8)
    with rasterio.open(tmp_path / "fcc.tif", "w", driver="GTiff", width=SHAPE[1], height=SHAPE[0], count=1,
                       dtype="uint8", crs=CRS, transform=from_origin(X0, Y0, RES, RES), nodata=255) as ds:
        ds.write(fcc, 1)
    jur = box(X0, Y0 - 3300, X0 + 4500, Y0)                       # rows 0-109, all columns
    proj = box(X0 + 1500, Y0 - 2100, X0 + 3000, Y0 - 900)        # rows 30-69, cols 50-99
    belt = proj.buffer(600, join_style=2).difference(proj)
    for name, g in (("jur", jur), ("project", proj), ("belt", belt)):
        gpd.GeoDataFrame(geometry=[g], crs=CRS).to_file(tmp_path / f"{name}.gpkg")
    fc = open_forest_change(str(tmp_path / "fcc.tif"), "fcc123")
    return {"dir": tmp_path, "fcc": fcc, "fc": fc, "jur": tmp_path / "jur.gpkg", "project": tmp_path / "project.gpkg",
            "belt": tmp_path / "belt.gpkg"}


def _zone_masks(land):
    from shapely import contains_xy

    rows, cols = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    x, y = X0 + (cols + 0.5) * RES, Y0 - (rows + 0.5) * RES
    g = {k: gpd.read_file(land[k]).geometry.union_all() for k in ("jur", "project", "belt")}
    jur = contains_xy(g["jur"], x, y)
    proj = contains_xy(g["project"], x, y) & jur
    belt = contains_xy(g["belt"], x, y) & jur & ~proj
    return jur, proj, belt


# ------------------------------------------------------------------------------------------ pure pieces
def test_period_classes_from_canonical_codes():
    codes = np.array([0, 1, 2, 3, 4, 255], np.uint8)    # 5 dates: code 5 would be forest at every date
    np.testing.assert_array_equal(period_classes(codes, 1, 3), [3, 3, 1, 1, 2, 0])
    np.testing.assert_array_equal(period_stratum_classes(codes, 1, 3, 5, True), [3, 5, 6, 6, 4, 0])
    np.testing.assert_array_equal(period_stratum_classes(codes, 0, 2, 3, True), [3, 6, 6, 2, 2, 0])


def test_jurisdiction_estimate_is_stehman2014_published_area():
    """Stehman 2014, section 3 example: p_A = 0.35 (SE 0.082), here reference class A read as deforestation,
    strata A-D as zone x class strata of 40,000 / 30,000 / 20,000 / 10,000 pixels. The project domain (strata A
    and B) by hand: (40,000 x 6/10 + 30,000 x 3/10) pixels = 33,000 px."""
    names = {"A": "project/deforestation", "B": "project/forest", "C": "other/deforestation", "D": "other/forest"}
    stratum = [names[s] for s in STRATUM]
    maps = [n.split("/")[1] for n in stratum]
    ref = ["deforestation" if r == "A" else "forest" for r in REF]
    sizes = {names[k]: v for k, v in SIZES.items()} | {"leakage_belt/forest": 0}
    est = estimate_period_activity(stratum, maps, ref, sizes, np.zeros((3, 3)), start=2010, end=2020,
                                   pixel_area_ha=1.0, finite_population_correction=True)
    assert est.method == "stehman2014" and est.zone_source == "strata"
    j = est.domains["jurisdiction"]
    assert j.estimate_ha == pytest.approx(0.35 * 100_000, abs=1e-6)
    assert j.se_ha == pytest.approx(0.082 * 100_000, abs=0.0005 * 100_000)
    p = est.domains["project"]
    assert p.estimate_ha == pytest.approx(33_000, abs=1e-6)
    var = sum(N ** 2 * (1 - 10 / N) * (q * (1 - q) * 10 / 9) / 10 for N, q in ((40_000, 0.6), (30_000, 0.3)))
    assert p.se_ha == pytest.approx(np.sqrt(var), rel=1e-12)
    assert est.domains["leakage_belt"].estimate_ha == 0.0 and est.domains["leakage_belt"].n_samples == 0
    assert j.estimate_ha_per_year == pytest.approx(3_500) and j.se_ha_per_year == pytest.approx(j.se_ha / 10)


def test_map_class_strata_reduce_to_olofsson2014():
    """Strata = map classes: the jurisdiction's deforestation is Olofsson et al. 2014 eq. 11 with its SE (eq. 12)."""
    counts = np.array([[40, 8, 2], [5, 90, 5], [1, 3, 46]])
    pixels = {"deforestation": 20_000, "forest": 300_000, "non_forest": 80_000}
    stratum, maps, ref = [], [], []
    for i, c in enumerate(CLASSES):
        for j, r in enumerate(CLASSES):
            stratum += [c] * counts[i, j]
            maps += [c] * counts[i, j]
            ref += [r] * counts[i, j]
    est = estimate_period_activity(stratum, maps, ref, pixels, np.array([[0, 0, 0], [0, 0, 0], [20_000, 0, 0]]),
                                   start=2010, end=2020, pixel_area_ha=PX_HA)
    ol = estimate_from_error_matrix(counts, np.array(list(pixels.values())) * PX_HA, CLASSES, area_unit="ha")
    assert est.method == "olofsson2014" and est.stratification == "map_classes"
    assert est.domains["jurisdiction"].estimate_ha == pytest.approx(ol.area[0], rel=1e-12)
    assert est.domains["jurisdiction"].se_ha == pytest.approx(ol.area_se[0], rel=1e-12)
    assert est.domains["jurisdiction"].map_ha == pytest.approx(20_000 * PX_HA)
    assert est.accuracy.area[0] == pytest.approx(ol.area[0])
    assert set(est.unavailable) == {"project", "leakage_belt"}     # no zones, no coordinates


# ------------------------------------------------------------------------------------------ design -> estimate
def test_design_then_perfect_labels_give_the_map_counts(land, tmp_path):
    designs, written = design_reference_files(
        land["fc"], tmp_path / "pts.gpkg", periods=[(2000, 2010), (2010, 2020)], jurisdiction=land["jur"],
        project=land["project"], leakage_belt=land["belt"], expected_ua={"deforestation": 0.8, "forest": 0.9},
        default_ua=0.9, min_per_stratum=20, seed=5, out_csv=tmp_path / "pts.csv", out_strata=tmp_path / "strata.csv",
        date_buffers=True, block_size=64)
    pts = pd.read_csv(written["csv"], keep_default_na=False)
    assert list(pts.columns) == ["point_id", "period", "x", "y", "lon", "lat", "stratum", "map", "reference"]
    assert (pts["reference"] == "").all() and set(pts["period"]) == {"2000-2010", "2010-2020"}
    assert gpd.read_file(written["gpkg"]).shape[0] == len(pts)
    strata = pd.read_csv(written["strata"])
    assert set(strata.columns) == {"period", "stratum", "size"}
    # the first period starts at the first date: no non_forest_recent stratum; the second ends at the last
    assert not strata["stratum"].str.endswith("non_forest_recent")[strata["period"] == "2000-2010"].any()
    assert not strata["stratum"].str.endswith("forest_next")[strata["period"] == "2010-2020"].any()
    jur, proj, belt = _zone_masks(land)
    n_proj = int(((land["fcc"] == 1) & proj).sum())
    row = strata[(strata["period"] == "2000-2010") & (strata["stratum"] == "project/deforestation_edge")]
    assert int(row["size"].iloc[0]) == n_proj        # one interval: all its loss is at the edge
    pts["reference"] = pts["map"]
    pts.to_csv(tmp_path / "labelled.csv", index=False)
    res = reference_sample_activity(tmp_path / "labelled.csv", land["fc"], jurisdiction=land["jur"],
                                    project=land["project"], leakage_belt=land["belt"], block_size=64)
    first = res.period(2000, 2010)
    assert first.stratification == "zones_by_map_class_with_date_buffers" and first.zone_source == "coordinates"
    for dom, mask in (("jurisdiction", jur), ("project", proj), ("leakage_belt", belt)):
        d = first.domains[dom]
        assert d.map_ha == pytest.approx(((land["fcc"] == 1) & mask).sum() * PX_HA)
        assert d.estimate_ha == pytest.approx(d.map_ha) and d.se_ha == 0.0
        assert res.period(2010, 2020).domains[dom].map_ha == pytest.approx(((land["fcc"] == 2) & mask).sum() * PX_HA)
    doc = json.loads(json.dumps(res.to_dict(), default=lambda o: o.tolist()))
    assert doc["periods"][0]["domains"]["project"]["se_ha_per_year"] == 0.0
    with pytest.raises(KeyError, match="no period 2000-2020"):
        res.period(2000, 2020)


def test_labelling_errors_move_the_estimate_away_from_the_map(land, tmp_path):
    _, written = design_reference_files(land["fc"], tmp_path / "pts.gpkg", periods=[(2010, 2020)],
                                        jurisdiction=land["jur"], expected_ua={}, default_ua=0.9,
                                        min_per_stratum=30, seed=9, out_csv=tmp_path / "pts.csv", block_size=64)
    pts = pd.read_csv(written["csv"], keep_default_na=False)
    pts["reference"] = pts["map"]
    omit = pts.index[pts["map"] == "forest"][:3]      # three mapped-forest points were deforested
    pts.loc[omit, "reference"] = "deforestation"
    pts.drop(columns=["x", "y"]).to_csv(tmp_path / "lab.csv", index=False)
    res = reference_sample_activity(tmp_path / "lab.csv", land["fc"], jurisdiction=land["jur"], block_size=64)
    p = res.period(2010, 2020)
    assert p.method == "olofsson2014" and p.zone_source is None and "project" in p.unavailable
    j = p.domains["jurisdiction"]
    n_forest = int((pts["map"] == "forest").sum())
    n_forest_px = next(s["mapped_pixels"] for s in p.strata if s["stratum"] == "forest")
    assert j.estimate_ha == pytest.approx(j.map_ha + n_forest_px * 3 / n_forest * PX_HA, rel=1e-12)
    assert j.se_ha > 0 and j.ci_ha[0] < j.estimate_ha < j.ci_ha[1]


def test_strata_counts_stream_and_agree_with_masks(land):
    counts = count_reference_strata(land["fc"], jurisdiction=land["jur"], project=land["project"],
                                    leakage_belt=land["belt"], block_size=32)
    assert isinstance(counts, StrataCounts) and counts.zones_given == ("project", "leakage_belt")
    jur, proj, belt = _zone_masks(land)
    px = counts.class_pixels(2010, 2020)
    assert px[0, 0] == ((land["fcc"] == 2) & proj).sum() and px[1, 1] == ((land["fcc"] == 3) & belt).sum()
    assert counts.counts[0].sum() == (~jur).sum()          # outside the jurisdiction: not in the population
    plain = counts.stratum_pixels(2010, 2020, zoned=False)
    assert plain["non_forest"] == (np.isin(land["fcc"], (0, 1)) & jur).sum()


# ------------------------------------------------------------------------------------------ bad samples
def _sample(tmp_path, rows, name="s.csv", header="period,stratum,map,reference"):
    p = tmp_path / name
    p.write_text(header + "\n" + "\n".join(rows) + "\n")
    return p


def _plain_rows(defo="deforestation", n=3):
    rows = []
    for c in CLASSES:
        rows += [f"2010-2020,{c},{c},{c if c != 'deforestation' else defo}"] * n
    return rows


@pytest.mark.parametrize("bad, match", [
    ("2010-2020,forest,forest,cloud", r"unknown reference class 'cloud'.*row 10, column 'reference'"),
    ("2010-2020,forest,grassland,forest", r"unknown map class 'grassland'.*row 10, column 'map'"),
    ("2010-2020,park/forest,forest,forest", r"unknown stratum 'park/forest'.*row 10, column 'stratum'"),
    ("2010-2020,forest,deforestation,forest", r"map class 'deforestation' differs.*row 10, column 'map'"),
    ("2010-2020,project/forest,forest,forest", r"mixes strata with a zone.*row 10, column 'stratum'"),
    ("2010-2020,forest,forest,", r"not interpreted.*row 10, column 'reference'"),
    ("2010/2020,forest,forest,forest", r"START-END.*row 10, column 'period'"),
])
def test_bad_rows_name_file_row_and_column(tmp_path, bad, match):
    path = _sample(tmp_path, _plain_rows() + [bad])
    with pytest.raises(InputDataError, match=match) as err:
        read_reference_sample(path)
    assert str(path) in str(err.value)


def test_empty_stratum_missing_stratum_and_lonely_point(land, tmp_path):
    kw = dict(jurisdiction=land["jur"], block_size=64)
    rows = [r for r in _plain_rows() if ",non_forest," not in r]          # non-forest has pixels, no point
    with pytest.raises(InputDataError, match=r"stratum 'non_forest' \(.* pixels in 2010-2020\) has no sample point"
                                             r".*empty stratum") as err:
        reference_sample_activity(_sample(tmp_path, rows), land["fc"], **kw)
    assert "s.csv" in str(err.value) and "column 'stratum'" in str(err.value)
    rows = _plain_rows()[:-2]                                              # one non-forest point left
    with pytest.raises(InputDataError, match=r"single point.*row 7, column 'stratum'"):
        reference_sample_activity(_sample(tmp_path, rows, "one.csv"), land["fc"], **kw)
    # zoned strata need their zone layer; a zone layer that covers no pixel centre is refused when it is read
    rows = [r.replace("2010-2020,", "2010-2020,project/") for r in _plain_rows()]
    with pytest.raises(ZoneError, match="project strata .* no project layer"):
        reference_sample_activity(_sample(tmp_path, rows, "zoned.csv"), land["fc"], **kw)
    far = box(X0 + 4400, Y0 - 3290, X0 + 4410, Y0 - 3280)                 # inside, but covers no pixel centre
    gpd.GeoDataFrame(geometry=[far], crs=CRS).to_file(tmp_path / "tiny.gpkg")
    with pytest.raises(ZoneError, match=r"covers no pixel centre of the raster.*tiny.gpkg"):
        reference_sample_activity(_sample(tmp_path, rows, "zoned.csv"), land["fc"], project=tmp_path / "tiny.gpkg",
                                  **kw)
    rows = [r.replace("2010-2020", "2010-2015") for r in _plain_rows()]
    with pytest.raises(InputDataError, match=r"2015 is not a forest-change date.*row 1, column 'period'"):
        reference_sample_activity(_sample(tmp_path, rows, "period.csv"), land["fc"], **kw)


def test_points_must_agree_with_the_map(land, tmp_path):
    _, written = design_reference_files(land["fc"], tmp_path / "pts.gpkg", periods=[(2010, 2020)],
                                        jurisdiction=land["jur"], project=land["project"], expected_ua={},
                                        default_ua=0.9, min_per_stratum=5, seed=1, out_csv=tmp_path / "pts.csv",
                                        block_size=64)
    pts = pd.read_csv(written["csv"], keep_default_na=False)
    pts["reference"] = pts["map"]
    moved = pts.copy()
    i = int(np.flatnonzero(moved["map"] == "forest")[0])
    r = int(np.flatnonzero(land["fcc"][:110].ravel() == 1)[0])     # a pixel lost before 2010: non-forest in 2010
    moved.loc[i, ["x", "y"]] = X0 + (r % SHAPE[1] + 0.5) * RES, Y0 - (r // SHAPE[1] + 0.5) * RES
    moved.to_csv(tmp_path / "moved.csv", index=False)
    with pytest.raises(InputDataError, match=rf"map says 'non_forest'.*row {i + 1}, column 'map'"):
        reference_sample_activity(tmp_path / "moved.csv", land["fc"], jurisdiction=land["jur"],
                                  project=land["project"])
    out = pts.copy()
    out.loc[0, "y"] = Y0 - 3500                                    # outside the jurisdiction (rows >= 110)
    out.to_csv(tmp_path / "out.csv", index=False)
    with pytest.raises(InputDataError, match="outside the jurisdiction.*row 1"):
        reference_sample_activity(tmp_path / "out.csv", land["fc"], jurisdiction=land["jur"],
                                  project=land["project"])


def test_design_bad_input_leaves_no_output(land, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    kw = dict(periods=[(2010, 2020)], jurisdiction=land["jur"], seed=1, out_csv=out / "p.csv", block_size=64)
    with pytest.raises(InputDataError, match="unknown class"):
        design_reference_files(land["fc"], out / "p.gpkg", expected_ua={"cloud": 0.9}, **kw)
    with pytest.raises(InputDataError, match="no expected user's accuracy"):
        design_reference_files(land["fc"], out / "p.gpkg", expected_ua={"forest": 0.9}, **kw)
    with pytest.raises(InputDataError, match="2015 is not a forest-change date"):
        design_reference_files(land["fc"], out / "p.gpkg", expected_ua={}, default_ua=0.9,
                               **(kw | {"periods": [(2010, 2015)]}))
    assert list(out.iterdir()) == []
    design_reference_files(land["fc"], out / "p.gpkg", expected_ua={}, default_ua=0.9, **kw)
    with pytest.raises(OutputExistsError):
        design_reference_files(land["fc"], out / "p.gpkg", expected_ua={}, default_ua=0.9, **kw)


# ------------------------------------------------------------------------------------------ CLI
def test_cli_design_writes_points_to_interpret(land, tmp_path):
    args = ["accuracy", "design", str(land["dir"] / "fcc.tif"), "--format", "fcc123", "--period", "2010-2020",
            "--jurisdiction", str(land["jur"]), "--project", str(land["project"]), "--leakage-belt",
            str(land["belt"]), "--expected-ua", "deforestation=0.8", "--default-ua", "0.9", "--min-per-stratum", "10",
            "--date-buffers", "--seed", "3", "--out", str(tmp_path / "d.gpkg"), "--csv", str(tmp_path / "d.csv"),
            "--json"]
    res = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["periods"][0]["period"] == "2010-2020" and doc["periods"][0]["seed"] > 0
    assert {s["stratum"] for s in doc["periods"][0]["strata"]} >= {"project/deforestation_edge", "other/forest"}
    pts = pd.read_csv(tmp_path / "d.csv", keep_default_na=False)
    assert len(pts) == sum(s["n"] for s in doc["periods"][0]["strata"]) and (pts["reference"] == "").all()
    assert (tmp_path / "d.manifest.json").exists()
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 3 and "exists" in again.output
    bad = CliRunner().invoke(cli, args[:5] + ["--period", "2020-2010"] + args[7:])
    assert bad.exit_code == 2 and "START-END" in bad.output
    bad = CliRunner().invoke(cli, args[:-7] + ["--expected-ua", "cloud=0.9", "--out", str(tmp_path / "x.gpkg")])
    assert bad.exit_code == 2 and "unknown class" in bad.output and not (tmp_path / "x.gpkg").exists()
