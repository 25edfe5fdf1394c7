"""``reddplus accuracy`` command-line contract (click CliRunner against reddplus.cli.main:cli)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import rasterio
from click.testing import CliRunner
from affine import Affine

from reddplus.cli.main import cli

from tests.accuracy.test_stehman import MAP, REF, SIZES, STRATUM

CONTRACT_COUNTS = {"class", "area", "area_se", "area_ci_halfwidth", "user_accuracy", "user_accuracy_ci_halfwidth",
                   "producer_accuracy", "producer_accuracy_ci_halfwidth"}
CONTRACT_SAMPLES = {"area_proportion", "area_proportion_se", "user_accuracy", "user_accuracy_se",
                    "producer_accuracy", "producer_accuracy_se"}


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_estimate_counts_contract_example1(shared):
    """Olofsson et al. 2013 example 1 with 30 m pixels (0.09 ha): class-1 area 45,112.4 px = 4,060.1 ha,
    SE 10,751.4 px; UA 0.97; OA 0.9444168 (../shared/data/accuracy_area_estimation/PROVENANCE.md)."""
    path = shared("accuracy_area_estimation", "olofsson2013_example1_sample_counts.csv")
    res = run("accuracy", "estimate", path, "--pixel-area-ha", 0.09, "--confidence", 0.95, "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert {"classes", "overall_accuracy", "overall_accuracy_ci_halfwidth"} <= set(doc)
    assert [c["class"] for c in doc["classes"]] == ["1", "2", "3"]
    for c in doc["classes"]:
        assert CONTRACT_COUNTS <= set(c)
    c1 = doc["classes"][0]
    assert c1["area"] == pytest.approx(45_112.4 * 0.09, rel=1e-6)
    assert c1["area_se"] == pytest.approx(10_751.4 * 0.09, rel=1e-5)
    assert c1["area_ci_halfwidth"] == pytest.approx(1.959964 * 10_751.4 * 0.09, rel=1e-5)
    assert c1["user_accuracy"] == pytest.approx(0.97)
    assert c1["producer_accuracy"] == pytest.approx(0.4806308, rel=1e-6)
    assert doc["overall_accuracy"] == pytest.approx(0.9444168, rel=1e-6)
    assert doc["overall_accuracy_ci_halfwidth"] == pytest.approx(0.02188182, rel=5e-5)
    assert doc["area_unit"] == "ha" and doc["confidence"] == 0.95


def test_estimate_counts_default_90_percent_input_units(shared):
    """Without --pixel-area-ha the areas are in the input's unit (ex. 2: proportions); 90 % by default."""
    path = shared("accuracy_area_estimation", "olofsson2013_example2_sample_counts.csv")
    expected = pd.read_csv(shared("accuracy_area_estimation", "olofsson2013_example2_expected.csv"))
    doc = json.loads(run("accuracy", "estimate", path, "--json").output)
    assert doc["confidence"] == 0.90
    np.testing.assert_allclose([c["area"] for c in doc["classes"]], expected["area"], rtol=1e-6)
    np.testing.assert_allclose([c["area_ci_halfwidth"] for c in doc["classes"]],
                               1.644854 * expected["area_se"], rtol=1e-5)


def test_estimate_samples_contract_stehman(tmp_path):
    """Stehman 2014 numerical example through the CLI: OA 0.63, UA_B 0.574, PA_B 0.794, p_A 0.35."""
    samples = tmp_path / "samples.csv"
    pd.DataFrame({"stratum": STRATUM, "map": MAP, "reference": REF}).to_csv(samples, index=False)
    strata = tmp_path / "strata.csv"
    pd.DataFrame({"stratum": list(SIZES), "size": list(SIZES.values())}).to_csv(strata, index=False)
    res = run("accuracy", "estimate", "--samples", samples, "--strata", strata, "--confidence", 0.95, "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert {"overall_accuracy", "overall_accuracy_se"} <= set(doc)
    by = {c["class"]: c for c in doc["classes"]}
    assert all(CONTRACT_SAMPLES <= set(c) for c in doc["classes"])
    assert doc["overall_accuracy"] == pytest.approx(0.63)
    assert doc["overall_accuracy_se"] == pytest.approx(0.085, abs=5e-4)
    assert by["A"]["area_proportion"] == pytest.approx(0.35)
    assert by["B"]["user_accuracy"] == pytest.approx(0.574, abs=5e-4)
    assert by["B"]["producer_accuracy"] == pytest.approx(0.794, abs=5e-4)
    assert by["B"]["producer_accuracy_se"] == pytest.approx(0.117, abs=5e-4)
    assert doc["method"] == "stehman2014" and doc["area_unit"] == "pixels"
    assert by["A"]["area"] == pytest.approx(0.35 * 100_000)
    ha = json.loads(run("accuracy", "estimate", "--samples", samples, "--strata", strata, "--pixel-area-ha", 0.09,
                        "--json").output)
    assert ha["area_unit"] == "ha" and ha["classes"][0]["area"] == pytest.approx(0.35 * 100_000 * 0.09)
    assert ha["classes"][0]["area_proportion"] == pytest.approx(0.35)
    # human-readable output too
    text = run("accuracy", "estimate", "--samples", samples, "--strata", strata)
    assert text.exit_code == 0 and "overall accuracy 0.630" in text.output


def test_estimate_one_period_of_a_two_period_design(tmp_path):
    """A design for two periods writes one points table and one strata table with a period column: each
    period is estimated alone (Stehman's example in 2010-2020, a copy with its labels flipped in 2000-2010);
    without --period the two are refused, never pooled."""
    flipped = ["A" if r == "B" else "B" if r == "A" else r for r in REF]
    pts = pd.concat([pd.DataFrame({"period": "2010-2020", "stratum": STRATUM, "map": MAP, "reference": REF}),
                     pd.DataFrame({"period": "2000-2010", "stratum": STRATUM, "map": MAP, "reference": flipped})])
    samples, strata = tmp_path / "samples.csv", tmp_path / "strata.csv"
    pts.to_csv(samples, index=False)
    sizes = pd.DataFrame({"stratum": list(SIZES), "size": list(SIZES.values())})
    pd.concat([sizes.assign(period=p) for p in ("2000-2010", "2010-2020")]).to_csv(strata, index=False)
    base = ("accuracy", "estimate", "--samples", samples, "--strata", strata, "--confidence", 0.95)
    pooled = run(*base, "--json")
    assert pooled.exit_code == 2 and "2 periods (2000-2010, 2010-2020)" in pooled.output and "--period" in pooled.output
    doc = json.loads(run(*base, "--period", "2010-2020", "--json").stdout)
    assert doc["overall_accuracy"] == pytest.approx(0.63)          # Stehman 2014, as the one-period table
    other = json.loads(run(*base, "--period", "2000-2010", "--json").stdout)
    assert other["overall_accuracy"] != pytest.approx(0.63)
    missing = run(*base, "--period", "1990-2000")
    assert missing.exit_code == 2 and "no row of period '1990-2000'" in missing.output


def _csv(tmp_path, text, name="counts.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("text, message", [
    ("map,1,2,mapped_area\n1,10,2,100\n2,0,0,300\n", "zero row total"),
    ("map,1,2,mapped_area\n1,10,2,100\n3,1,20,300\n", "differ between rows"),
    ("map,1,2,area\n1,10,2,100\n2,1,20,300\n", "mapped_area"),
    ("map,1,2,mapped_area\n1,10,x,100\n2,1,20,300\n", "expected a number"),
    ("map,1,2,mapped_area\n1,10,-2,100\n2,1,20,300\n", "non-negative integers"),
    ("map,1,2,mapped_area\n1,10,2,100\n1,1,20,300\n", "duplicate"),
    ("map,1,2,mapped_area\n1,10,2,100\n2,1,20,\n", "expected a number"),
])
def test_estimate_bad_counts_one_clear_error(tmp_path, text, message):
    res = run("accuracy", "estimate", _csv(tmp_path, text), "--json")
    assert res.exit_code == 2
    assert message in res.output
    assert "Traceback" not in res.output


def test_zero_row_total_names_row_and_file(tmp_path):
    p = _csv(tmp_path, "map\\reference,loss,forest,mapped_area\nloss,10,2,100\nforest,0,0,300\n")
    res = run("accuracy", "estimate", p)
    assert res.exit_code == 2
    assert "'forest'" in res.output and "row 2" in res.output and str(p) in res.output


def test_reference_columns_in_another_order_are_matched_by_label(tmp_path):
    a = run("accuracy", "estimate", _csv(tmp_path, "m,1,2,mapped_area\n1,10,2,100\n2,3,20,300\n", "a.csv"), "--json")
    b = run("accuracy", "estimate", _csv(tmp_path, "m,2,1,mapped_area\n1,2,10,100\n2,20,3,300\n", "b.csv"), "--json")
    assert json.loads(a.output)["classes"] == json.loads(b.output)["classes"]


@pytest.mark.parametrize("args, message", [
    ([], "give COUNTS.csv"),
    (["--samples", "s.csv"], "give COUNTS.csv"),
    (["c.csv", "--samples", "s.csv", "--strata", "t.csv"], "not both"),
    (["c.csv", "--confidence", "1.5"], "(0, 1)"),
    (["c.csv", "--pixel-area-ha", "-1"], "pixel area must be positive"),
])
def test_estimate_usage_errors(args, message):
    res = run("accuracy", "estimate", *args)
    assert res.exit_code == 2 and message in res.output


def test_missing_file(tmp_path):
    res = run("accuracy", "estimate", tmp_path / "nope.csv")
    assert res.exit_code == 2 and "not found" in res.output


def test_bad_samples_unknown_stratum(tmp_path):
    s = _csv(tmp_path, "stratum,map,reference\nA,f,f\nA,f,n\nZ,n,n\nZ,n,n\n", "s.csv")
    t = _csv(tmp_path, "stratum,size\nA,100\nB,100\n", "t.csv")
    res = run("accuracy", "estimate", "--samples", s, "--strata", t)
    assert res.exit_code == 2 and "'Z'" in res.output and "row 3" in res.output


@pytest.fixture
def map_tif(tmp_path):
    rng = np.random.default_rng(5)
    data = np.where(rng.random((200, 180)) < 0.5, 3, 4).astype(np.uint8)
    data[rng.random(data.shape) < 0.02] = 1
    path = tmp_path / "map.tif"
    with rasterio.open(path, "w", driver="GTiff", height=200, width=180, count=1, dtype="uint8", crs="EPSG:6933",
                       transform=Affine(30, 0, 0, 0, -30, 3_000_000), nodata=0) as ds:
        ds.write(data, 1)
    return path


def test_sample_command(map_tif, tmp_path):
    out, csv = tmp_path / "pts.gpkg", tmp_path / "pts.csv"
    args = ["accuracy", "sample", map_tif, "--target-se", 0.02, "--expected-ua", "1=0.7", "--expected-ua", "3=0.9",
            "--expected-ua", "4=0.95", "--min-per-stratum", 25, "--seed", 11, "--out", out, "--csv", csv, "--json"]
    res = run(*args)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    manifest = tmp_path / "pts.manifest.json"
    assert doc["seed"] == 11 and doc["outputs"] == {"gpkg": str(out), "csv": str(csv), "manifest": str(manifest)}
    run_record = json.loads(manifest.read_text())
    assert run_record["seed"] == 11 and run_record["inputs"]["map"]["path"] == str(map_tif)
    assert run_record["config"]["min_per_stratum"] == 25 and len(run_record["inputs"]["map"]["sha256"]) == 64
    strata = {s["stratum"]: s for s in doc["strata"]}
    assert strata[1]["n"] >= 25
    assert doc["n_total"] == sum(s["n"] for s in doc["strata"]) == len(pd.read_csv(csv))
    # never overwrite without --overwrite; with it, the same seed gives the same file
    again = run(*args)
    assert again.exit_code == 3 and "exists" in again.output
    before = pd.read_csv(csv)
    assert run(*args, "--overwrite").exit_code == 0
    pd.testing.assert_frame_equal(before, pd.read_csv(csv))


def test_sample_command_errors(map_tif, tmp_path):
    out = tmp_path / "pts.gpkg"
    res = run("accuracy", "sample", map_tif, "--expected-ua", "1=0.7", "--seed", 1, "--out", out)
    assert res.exit_code == 2 and "[3, 4]" in res.output and not out.exists()
    res = run("accuracy", "sample", map_tif, "--expected-ua", "one=0.7", "--out", out)
    assert res.exit_code == 2 and "integer class code" in res.output
    res = run("accuracy", "sample", map_tif, "--out", out)
    assert res.exit_code == 2 and "--expected-ua" in res.output
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"not a tiff at all")
    res = run("accuracy", "sample", bad, "--default-ua", 0.9, "--out", out)
    assert res.exit_code == 2 and "corrupt" in res.output and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tif", "map.tif"]


def test_undefined_accuracies_are_null_in_json(tmp_path):
    """A class never mapped nor observed: zero area, user's/producer's accuracy undefined -> null."""
    p = _csv(tmp_path, "map,a,b,c,mapped_area\na,10,2,0,100\nb,1,20,0,300\nc,0,0,0,0\n")
    doc = json.loads(run("accuracy", "estimate", p, "--json").output)
    c = doc["classes"][2]
    assert c["area"] == 0 and c["user_accuracy"] is None and c["producer_accuracy"] is None
    assert sum(x["area"] for x in doc["classes"]) == pytest.approx(400)


def test_spreadsheet_csv_variants(tmp_path, shared):
    """A byte-order mark and ';' separators (spreadsheet exports) read as the plain CSV."""
    src = shared("accuracy_area_estimation", "olofsson2013_example1_sample_counts.csv").read_text()
    variant = _csv(tmp_path, "\ufeff" + src.replace(",", ";"), "excel.csv")
    a = json.loads(run("accuracy", "estimate", variant, "--json").output)
    b = json.loads(run("accuracy", "estimate", shared("accuracy_area_estimation",
                                                      "olofsson2013_example1_sample_counts.csv"), "--json").output)
    assert a["classes"] == b["classes"]


def test_uninterpreted_points_are_refused(tmp_path):
    s = _csv(tmp_path, "point_id,stratum,map,reference\n1,A,f,f\n2,A,f,\n3,B,n,n\n4,B,n,n\n", "s.csv")
    t = _csv(tmp_path, "stratum,size\nA,100\nB,100\n", "t.csv")
    res = run("accuracy", "estimate", "--samples", s, "--strata", t)
    assert res.exit_code == 2 and "empty value" in res.output and "row 2" in res.output
