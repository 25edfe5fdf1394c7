"""``reddplus counterfactual`` through click's CliRunner."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from reddplus.cli.main import cli


@pytest.fixture(autouse=True)
def _needs_forest_change(open_fc):
    """The command opens FOREST_CHANGE with reddplus.landcover.open_forest_change."""


def _args(land, *extra):
    return ["counterfactual", str(land.fcc), "--format", "fcc123", "--project", str(land.project), "--start-year",
            "2010", "--covariate", f"access={land.access}", "--distance-to", f"roads={land.roads}",
            "--protected-areas", str(land.protected), "--buffer-m", "600", "--density", "2", "--repeats", "10",
            "--seed", "4", *extra]


def test_json_prints_estimates_balance_and_overcrediting(landscape_factory, tmp_path):
    land = landscape_factory(0.5)
    base = tmp_path / "baseline.csv"
    pd.DataFrame({"year": range(2011, 2021), "baseline_deforestation_ha": [30.0] * 10}).to_csv(base, index=False)
    r = CliRunner().invoke(cli, _args(land, "--emission-factor", "400", "--baseline", str(base), "--json"))
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["repeats"] == 10 and out["seed"] == 4
    a = out["avoided_deforestation_ha"]
    assert a["low"] <= a["estimate"] <= a["high"]
    assert out["avoided_emissions_tco2e"]["estimate"] == pytest.approx(400 * a["estimate"])
    covs = {row["covariate"] for row in out["balance"]}
    assert {"access", "dist_roads_m", "dist_forest_edge_m"} <= covs
    assert out["overcrediting_ratio"] == pytest.approx(out["overcrediting"]["overcrediting_ratio"])
    assert out["overcrediting"]["baseline_deforestation_ha"] == pytest.approx(300.0)


def test_text_output(landscape_factory):
    r = CliRunner().invoke(cli, _args(landscape_factory(0.5)))
    assert r.exit_code == 0, r.output
    assert "avoided deforestation" in r.output and "balance" in r.output


def test_bad_start_year_is_a_clear_error(landscape_factory):
    land = landscape_factory(0.5)
    args = _args(land)
    args[args.index("--start-year") + 1] = "2005"
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 2
    assert "start_year" in r.output and "2005" in r.output


def test_bad_covariate_syntax(landscape_factory):
    r = CliRunner().invoke(cli, _args(landscape_factory(0.5), "--covariate", "elevation"))
    assert r.exit_code == 2
    assert "NAME" in r.output or "ROLE=NAME" in r.output


def test_bad_baseline_csv(landscape_factory, tmp_path):
    base = tmp_path / "b.csv"
    base.write_text("year,ha\n2011,3\n")
    r = CliRunner().invoke(cli, _args(landscape_factory(0.5), "--baseline", str(base)))
    assert r.exit_code == 2
    assert "baseline_deforestation_ha" in r.output
