"""``reddplus risk benchmark`` command-line contract (JSON keys) and bad inputs, via CliRunner."""

import json

import geopandas as gpd
import pytest
from click.testing import CliRunner
from shapely.geometry import box

from reddplus.cli.main import cli

from .synth import CRS, bounds, make_fcc, write_fcc


@pytest.fixture
def inputs(tmp_path):
    fcc = make_fcc((300, 400), seed=5)
    fp = write_fcc(tmp_path / "fcc.tif", fcc)
    w, s, e, n = bounds(fcc)
    gpd.GeoDataFrame({"name": ["west", "east"]}, geometry=[box(w, s, (w + e) / 2, n), box((w + e) / 2, s, e, n)],
                     crs=CRS).to_file(tmp_path / "admin.gpkg")
    gpd.GeoDataFrame(geometry=[box(w + 3000, s + 3000, w + 6000, s + 6000)], crs=CRS).to_file(tmp_path / "proj.gpkg")
    gpd.GeoDataFrame(geometry=[box(w + 2000, s + 2000, w + 7000, s + 7000).difference(
        box(w + 3000, s + 3000, w + 6000, s + 6000))], crs=CRS).to_file(tmp_path / "belt.gpkg")
    gpd.GeoDataFrame(geometry=[box(e + 1e5, n + 1e5, e + 2e5, n + 2e5)], crs=CRS).to_file(tmp_path / "far.gpkg")
    return tmp_path, fp


def test_benchmark_json_contract(inputs):
    d, fp = inputs
    args = ["risk", "benchmark", str(fp), "--format", "fcc123", "--dates", "2000,2010,2020", "--admin",
            str(d / "admin.gpkg"), "--admin-field", "name", "--project", str(d / "proj.gpkg"), "--leakage-belt",
            str(d / "belt.gpkg"), "--expected-deforestation-ha-per-year", "20", "--max-distance", "1500",
            "--cell-area-ha", "200", "--out", str(d / "out"), "--json"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["nrt_m"] > 0 and 0.995 <= out["nrt_cumulative_share"] <= 1
    assert [c["class"] for c in out["class_table"]] == list(range(1, 31))
    ct = out["class_table"]
    assert ct[0]["distance_min_m"] == out["nrt_m"] and ct[0]["distance_max_m"] is None
    assert ct[1]["distance_max_m"] == out["nrt_m"] and ct[-1]["distance_min_m"] == 0.0
    assert all(ct[i]["distance_min_m"] == ct[i + 1]["distance_max_m"] for i in range(1, 29))
    assert {a["model"] for a in out["assessment"]} == {"benchmark CAL fit", "benchmark CNF prediction"}
    assert all(a["medae_ha"] >= 0 for a in out["assessment"])
    alloc = out["allocation"]
    assert 0 < alloc["project_ha_per_year"] < 20 and 0 < alloc["leakage_belt_ha_per_year"] < 20
    assert abs(alloc["allocation_error"]) < 1e-9
    assert (d / "out" / "classes_vp.tif").exists() and (d / "out" / "density_vp.tif").exists()
    man = json.loads((d / "out" / "manifest.json").read_text())
    assert set(man["inputs"]) == {"forest_change.0", "admin", "project", "leakage_belt"}
    assert man["config"]["periods"]["CAL"] == [2000, 2010]
    # never overwrite without --overwrite
    r2 = CliRunner().invoke(cli, args)
    assert r2.exit_code != 0 and "overwrite" in r2.output
    assert CliRunner().invoke(cli, args + ["--overwrite"]).exit_code == 0


def test_project_outside_jurisdiction(inputs):
    d, fp = inputs
    r = CliRunner().invoke(cli, ["risk", "benchmark", str(fp), "--format", "fcc123", "--admin", str(d / "admin.gpkg"),
                                 "--project", str(d / "far.gpkg"), "--expected-deforestation-ha-per-year", "5",
                                 "--max-distance", "1500", "--out", str(d / "o2")])
    assert r.exit_code != 0
    assert "does not overlap" in r.output or "outside the jurisdiction" in r.output


def test_bad_periods_and_dates(inputs):
    d, fp = inputs
    r = CliRunner().invoke(cli, ["risk", "benchmark", str(fp), "--format", "fcc123", "--periods", "CAL=1990-2010",
                                 "--out", str(d / "o3")])
    assert r.exit_code != 0 and "1990" in r.output
    r = CliRunner().invoke(cli, ["risk", "benchmark", str(fp), "--format", "fcc123", "--dates", "2000,x",
                                 "--out", str(d / "o3")])
    assert r.exit_code != 0 and "--dates" in r.output


def test_local_rate_command(inputs):
    d, fp = inputs
    r = CliRunner().invoke(cli, ["risk", "local-rate", str(fp), "--format", "fcc123", "--window", "5",
                                 "--out", str(d / "lr.tif"), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["window"] == 5 and (d / "lr.tif").exists()


def test_compare_command_with_planned_road(tmp_path):
    """Loss driven by a road opened in 2010 (planned-road layer): the alternative models see it from 2010."""
    import numpy as np
    from shapely.geometry import LineString

    from reddplus.risk.drivers import distance_to_features

    rng = np.random.default_rng(4)
    shape = (200, 200)
    codes = np.full(shape, 3, np.uint8)
    for r, c in rng.integers(5, 195, (30, 2)):
        codes[r - 2:r + 3, c - 2:c + 3] = 0
    old = np.zeros(shape, bool)
    old[:, 40] = True
    new = np.zeros(shape, bool)
    new[:, 150] = True
    p1 = 0.3 * np.exp(-distance_to_features(old, 30.0) / 150)
    p2 = 0.3 * np.exp(-distance_to_features(old | new, 30.0) / 150)
    forest = codes == 3
    codes[forest & (rng.random(shape) < p1)] = 1
    codes[(codes == 3) & (rng.random(shape) < p2)] = 2
    fp = write_fcc(tmp_path / "fcc.tif", codes)
    w, s, e, n = bounds(codes)
    x_old, x_new = w + 40.5 * 30, w + 150.5 * 30
    gpd.GeoDataFrame({"opening_year": [1990, 2010]}, geometry=[LineString([(x_old, s), (x_old, n)]),
                     LineString([(x_new, s), (x_new, n)])], crs=CRS).to_file(tmp_path / "roads.gpkg")
    r = CliRunner().invoke(cli, ["risk", "compare", str(fp), "--format", "fcc123", "--planned-roads",
                                 str(tmp_path / "roads.gpkg"), "--cell-area-ha", "80", "--sample-size", "6000",
                                 "--model", "logistic", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    rows = {(a["model"], a["stage"]): a for a in out["assessment"]}
    alt, bench = rows[("alternative:logistic", "CNF prediction")], rows[("benchmark", "CNF prediction")]
    assert alt["medae_ha"] < bench["medae_ha"]
    assert out["models"]["logistic"]["coefficients"]["distance_to_road"] < 0
    assert out["selected_model"] == "alternative:logistic"


def test_scenario_command(tmp_path):
    """A planned highway opening in 2026 raises the project's baseline from 2026 on."""
    import numpy as np
    from shapely.geometry import LineString

    from reddplus.risk.drivers import distance_to_features

    rng = np.random.default_rng(7)
    shape = (200, 200)
    codes = np.full(shape, 3, np.uint8)
    for r, c in rng.integers(5, 195, (30, 2)):
        codes[r - 2:r + 3, c - 2:c + 3] = 0
    old = np.zeros(shape, bool)
    old[:, 30] = True
    codes[old] = 0
    p = 0.3 * np.exp(-distance_to_features(old, 30.0) / 200)
    codes[(codes == 3) & (rng.random(shape) < p)] = 1
    codes[(codes == 3) & (rng.random(shape) < p)] = 2
    fp = write_fcc(tmp_path / "fcc.tif", codes)
    w, s, e, n = bounds(codes)
    xo, xh = w + 30.5 * 30, w + 160.5 * 30
    gpd.GeoDataFrame(geometry=[LineString([(xo, s), (xo, n)])], crs=CRS).to_file(tmp_path / "roads.gpkg")
    gpd.GeoDataFrame({"opening_year": [2026]}, geometry=[LineString([(xh, s), (xh, n)])],
                     crs=CRS).to_file(tmp_path / "planned.gpkg")
    gpd.GeoDataFrame(geometry=[box(xh - 900, s + 1500, xh + 900, n - 1500)], crs=CRS).to_file(tmp_path / "p.gpkg")
    r = CliRunner().invoke(cli, ["risk", "scenario", str(fp), "--format", "fcc123", "--roads", str(tmp_path / "roads.gpkg"),
                                 "--planned-roads", str(tmp_path / "planned.gpkg"), "--project", str(tmp_path / "p.gpkg"),
                                 "--expected-deforestation-ha-per-year", "50", "--years", "2021-2030",
                                 "--out", str(tmp_path / "maps"), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    ha = dict(zip(out["years"], out["with_planned_roads"]["zones"]["project"]))
    assert ha[2025] == ha[2021] and ha[2030] == ha[2026] and ha[2026] > 2 * ha[2025]
    assert (tmp_path / "maps" / "classes_vp_roads_2026.tif").exists()
    text = CliRunner().invoke(cli, ["risk", "scenario", str(fp), "--format", "fcc123", "--roads",
                                    str(tmp_path / "roads.gpkg"), "--planned-roads", str(tmp_path / "planned.gpkg"),
                                    "--project", str(tmp_path / "p.gpkg"), "--expected-deforestation-ha-per-year",
                                    "50", "--years", "2021-2030"])
    assert text.exit_code == 0, text.output
    assert f"2026: project {ha[2026]:.2f} ha (with the planned roads)" in text.output


def test_benchmark_profile_udef_arp(inputs):
    """--profile udef-arp: the profile is named in the JSON and the manifest; the allocation comes from UDef-ARP's
    adjustment loop, which converges here."""
    d, fp = inputs
    base = ["risk", "benchmark", str(fp), "--format", "fcc123", "--admin", str(d / "admin.gpkg"), "--admin-field",
            "name", "--project", str(d / "proj.gpkg"), "--expected-deforestation-ha-per-year", "20",
            "--cell-area-ha", "200", "--json"]
    ud = CliRunner().invoke(cli, base + ["--profile", "udef-arp", "--max-iterations", "7", "--out", str(d / "u")])
    assert ud.exit_code == 0, ud.output
    out = json.loads(ud.stdout)
    assert out["profile"] == "udef-arp" and out["assessment_full_cells_only"] is True
    assert out["cnf_adjustment"]["rule"] == "udef-arp" and out["cnf_adjustment"]["max_iterations"] == 7
    man = json.loads((d / "u" / "manifest.json").read_text())
    assert man["config"]["profile"] == "udef-arp" and man["config"]["max_iterations"] == 7
    rd = json.loads(CliRunner().invoke(cli, base + ["--out", str(d / "r")]).stdout)
    assert rd["profile"] == "reddplus"
    assert out["allocation"]["converged"] is True
    assert out["nrt_m"] != rd["nrt_m"] or out["class_table"] != rd["class_table"]


def test_benchmark_search_distance_below_a_pixel(inputs):
    d, fp = inputs
    r = CliRunner().invoke(cli, ["risk", "benchmark", str(fp), "--format", "fcc123", "--max-distance", "10",
                                 "--out", str(d / "o")])
    assert r.exit_code != 0 and "--max-distance" in r.output and "one pixel" in r.output
    assert not (d / "o" / "classes_vp.tif").exists()
