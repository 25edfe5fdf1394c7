"""`reddplus check`: the sample's problems (a bad key, a wrong CRS label, a period outside the data, a bad
NPRT answer) found in one call, in seconds; `reddplus run` refuses the same project before computing."""

from __future__ import annotations

import json
import shutil
import time
import tomllib

import geopandas as gpd
import pytest
import tomli_w
from click.testing import CliRunner

from reddplus.check import check_project
from reddplus.cli.main import cli


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    from reddplus.sample import generate_sample_landscape

    return generate_sample_landscape(tmp_path_factory.mktemp("check") / "s", scale=0.1)


def _copy(sample, tmp_path):
    folder = tmp_path / "s"
    shutil.copytree(sample.out_dir, folder)
    return folder / "project.toml"


def test_the_sample_has_no_problem(sample):
    r = check_project(sample.project_toml)
    assert r.ok, r.problems
    assert r.config is not None and any("forest change" in n for n in r.notes)


def test_four_problems_in_one_call(sample, tmp_path):
    toml = _copy(sample, tmp_path)
    cfg = tomllib.loads(toml.read_text())
    cfg["project"]["crediting_strat"] = cfg["project"].pop("crediting_start")            # a typo'd key
    cfg["periods"]["monitoring"] = [[2021, 2024], [2025, 2027]]                          # beyond the data
    cfg["deductions"]["nprt"]["financial_viability"]["breakeven"] = "breakeven_someday"  # not an answer
    toml.write_text(tomli_w.dumps(cfg))
    g = gpd.read_file(toml.parent / "leakage_belt.gpkg")                 # UTM metres labelled as degrees
    g.set_crs("EPSG:4326", allow_override=True).to_file(toml.parent / "leakage_belt.gpkg")

    t0 = time.perf_counter()
    r = CliRunner().invoke(cli, ["check", str(toml), "--json"])
    seconds = time.perf_counter() - t0
    assert r.exit_code == 2, r.output
    out = json.loads(r.output)
    keys = [p["key"] for p in out["problems"]]
    assert keys[0] == "project.crediting_strat"           # the unknown key comes first, not the missing one
    assert "project.crediting_start" in keys
    assert "deductions.nprt.financial_viability.breakeven" in keys     # checked on the raw TOML meanwhile
    # the schema fails, so the data are not read: fix the key and the others show together
    cfg["project"]["crediting_start"] = cfg["project"].pop("crediting_strat")
    toml.write_text(tomli_w.dumps(cfg))
    t0 = time.perf_counter()
    r = CliRunner().invoke(cli, ["check", str(toml)])
    seconds = max(seconds, time.perf_counter() - t0)
    assert r.exit_code == 2
    text = r.output
    assert "3 problems" in text, text
    assert "periods.monitoring.1" in text and "2027" in text
    assert "deductions.nprt.financial_viability.breakeven" in text and "breakeven_4_or_less" in text
    assert "areas.leakage_belt" in text and "CRS label is wrong" in text
    assert seconds < 3, f"reddplus check took {seconds:.1f} s"


def test_inventory_and_ccb_problems_are_listed_too(sample, tmp_path):
    """What the stocks step and the CCB step would stop on: plots without a stratum, an indicator without a
    unit (and pydantic's "Value error, " prefix never shows)."""
    import pandas as pd

    toml = _copy(sample, tmp_path)
    plots = pd.read_csv(toml.parent / "plot_areas.csv")
    plots.loc[0, "stratum"] = None
    plots.to_csv(toml.parent / "plot_areas.csv", index=False)
    ind = pd.read_csv(toml.parent / "ccb" / "indicators.csv", comment="#")
    ind.loc[1, "unit"] = None
    ind.loc[2, "criterion"] = "B99"
    ind.to_csv(toml.parent / "ccb" / "indicators.csv", index=False)
    r = check_project(toml)
    by_key = {}
    for p in r.problems:
        by_key.setdefault(p.key, []).append(p.message)
    assert "plot 'TE01' has no stratum" in " ".join(by_key.get("stocks.plot_areas", [])), r.problems
    ccb = " ".join(by_key["ccb"])
    assert "indicators.csv, row 2, column 'unit'" in ccb and "'B99'" in ccb
    assert "Value error" not in ccb


def test_run_refuses_before_computing(sample, tmp_path):
    toml = _copy(sample, tmp_path)
    cfg = tomllib.loads(toml.read_text())
    cfg["periods"]["historical_reference"] = [1995, 2020]
    cfg["deductions"]["nprt"]["financial_viability"]["breakeven"] = "breakeven_someday"
    toml.write_text(tomli_w.dumps(cfg))
    r = CliRunner().invoke(cli, ["run", str(toml), "--out", str(tmp_path / "out"), "--no-pdf"])
    assert r.exit_code == 2
    assert "2 problems" in r.output and "periods.historical_reference" in r.output and "breakeven" in r.output
    assert not (tmp_path / "out").exists()
