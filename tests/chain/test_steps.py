"""Each step of the crediting chain alone, on a small GENERATED sample or on hand-built inputs, and the
chain's three entry points (project TOML, a stock table, given activity data)."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import replace

import numpy as np
import pytest

from reddplus.baseline.allocation import AllocationResult
from reddplus.chain import steps
from reddplus.chain.results import ActivityStepResult, AssessmentResult, BaselineResult, EmissionFactorsResult, \
    RateStepResult, ScenarioStepResult
from reddplus.errors import ConfigError, InputDataError

SCALE = 0.15  # 667 m pixels: a few seconds per run


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    from reddplus.sample import generate_sample_landscape

    return generate_sample_landscape(tmp_path_factory.mktemp("steps") / "s", scale=SCALE)


@pytest.fixture(scope="module")
def cfg(sample):
    from reddplus.project import load_project

    return load_project(sample.project_toml)


@pytest.fixture(scope="module")
def inputs(cfg):
    from reddplus.chain import prepare_inputs

    return prepare_inputs(cfg)


def _alloc(project, belt=None, years=(2021, 2022)):
    zones = {"project": tuple(project)} | ({"leakage_belt": tuple(belt)} if belt is not None else {})
    return AllocationResult(tuple(years), (100.0,) * len(years), zones, (), 0.0, 0.0)


# --------------------------------------------------------------------------------------------- inputs
def test_inputs_window_masks_and_periods(inputs, cfg):
    """The window holds the whole project; masks and codes share its shape; arrays are read-only;
    map dates and crediting years are indexed as the config says."""
    w = inputs.window
    assert inputs.codes.shape == inputs.project.shape == inputs.leakage_belt.shape == (w.height, w.width)
    assert inputs.project.any() and not (inputs.project & inputs.leakage_belt).any()
    with pytest.raises(ValueError):
        inputs.codes[0, 0] = 0
    p = inputs.periods
    assert (p.dates[p.risk.hrp[0]], p.dates[p.risk.hrp[1]]) == tuple(cfg.periods.historical_reference)
    assert p.hrp_years == tuple(range(2011, 2021))
    assert p.crediting_years == tuple(range(2021, 2031))
    assert abs(inputs.project_area_ha - 145_945) < 0.01 * 145_945


def test_periods_outside_the_data_name_the_key(cfg):
    from reddplus.chain.inputs import run_periods

    bad = cfg.model_copy(update={"periods": cfg.periods.model_copy(update={"calibration": (2009, 2015)})})
    with pytest.raises(ConfigError, match="periods.calibration"):
        run_periods(bad, tuple(range(2010, 2025)))


# --------------------------------------------------------------------------------------------- stocks
def test_stocks_from_a_table_by_hand(cfg, inputs):
    """One stratum of 400 t CO2e/ha AGB with SE 20, R = 0.25: total = A x 500, SE = A x 25, 90 % CI = 1.645 SE."""
    from reddplus.landcover import forest_at
    from reddplus.project import StratumStock

    st = cfg.stocks.model_copy(update={"source": "strata", "inventory": None, "root_shoot_ratio": 0.25,
                                       "strata": [StratumStock(code=1, name="all", agb_tco2e_per_ha=400.0,
                                                               agb_tco2e_per_ha_sd=20.0)]})
    one = cfg.model_copy(update={"stocks": st, "areas": cfg.areas.model_copy(update={"strata": None})})
    no_strata = replace(inputs, strata=None)
    res = steps.carbon_stocks(one, no_strata)
    area = np.count_nonzero(forest_at(inputs.codes, inputs.periods.hrp_index[1]) & inputs.project) \
        * inputs.pixel_area_ha
    assert res.source == "strata"
    assert res.project_stock.total_tco2e == pytest.approx(area * 500.0)
    assert res.project_stock.se_tco2e == pytest.approx(area * 25.0)
    assert res.project_stock.ci90_half_width_tco2e == pytest.approx(1.6448536 * area * 25.0)
    assert res.agb_stock_tco2 == pytest.approx(area * 400.0)


def test_stocks_from_the_inventory(cfg, inputs):
    res = steps.carbon_stocks(cfg, inputs)
    assert res.source == "inventory" and res.plots is not None
    assert res.codes == (1, 2, 3)
    assert sum(s.forest_area_ha for s in res.strata) == pytest.approx(res.project_stock.area_ha)
    lo, hi = res.agb_stock_tco2_ci90
    assert lo < res.agb_stock_tco2 < hi


# --------------------------------------------------------------------------------------------- activity
def test_activity_counts_the_window(cfg, inputs):
    """Project loss per year equals the pixel count of each year's code in the project mask; the strata
    sum to it; the jurisdiction is the sum of its admin units."""
    act = steps.activity(cfg, inputs, (1, 2, 3))
    k = inputs.dates.index(2015)
    by_hand = np.count_nonzero((inputs.codes == k) & inputs.project) * inputs.pixel_area_ha
    assert act.project_ha_per_year[2015] == pytest.approx(by_hand)
    assert sum(act.project_by_stratum_ha_per_year[2015].values()) == pytest.approx(by_hand)
    units = act.by_admin
    assert act.jurisdiction_ha_per_year[2015] == pytest.approx(sum(units.annual_loss_ha(z)[2015] for z in units.zones))
    assert set(act.leakage_belt_ha_per_year) == set(act.project_ha_per_year)


def test_rate_is_the_hrp_mean_with_its_standard_error(cfg, inputs):
    years = inputs.periods.hrp_years
    jur = {y: 100.0 + 10 * i for i, y in enumerate(years)}
    act = ActivityStepResult(jur, dict.fromkeys(jur, 1.0), None, {}, None)
    r = steps.jurisdictional_rate(cfg, inputs.periods, act)
    v = np.array(list(jur.values()))
    assert r.rate.per_year[2025] == pytest.approx(v.mean())
    assert r.relative_standard_error == pytest.approx(v.std(ddof=1) / np.sqrt(len(v)) / v.mean())


# --------------------------------------------------------------------------------------------- baseline
def test_risk_map_and_allocation(cfg, inputs, tmp_path):
    """The benchmark's rasters are written under the run folder and named relative to it; the allocation
    gives the project and belt no more than the jurisdiction's expected deforestation."""
    (tmp_path / "rasters").mkdir()
    risk = steps.risk_map(cfg, inputs, tmp_path)
    assert not risk.density_path.is_absolute() and (tmp_path / risk.density_path).is_file()
    rate = RateStepResult(steps.jurisdictional_rate(cfg, inputs.periods, steps.activity(cfg, inputs, (1, 2, 3))).rate,
                          0.0)
    alloc = steps.allocation(cfg, inputs.periods, tmp_path / risk.density_path, rate)
    for i, y in enumerate(alloc.years):
        inside = alloc.zone_ha_per_year["project"][i] + alloc.zone_ha_per_year["leakage_belt"][i]
        assert 0 < inside < rate.rate.per_year[y]


@pytest.mark.parametrize("ran, selected, uses_scenario", [(True, "benchmark", False), (True, "logistic", True),
                                                          (False, None, True)])
def test_choose_baseline(ran, selected, uses_scenario):
    """The planned-road scenario replaces the benchmark when the assessment accepts it (or none ran);
    the result says which and why."""
    bench, alt = _alloc([1.0, 2.0], [3.0, 4.0]), _alloc([5.0, 6.0], [7.0, 8.0])
    sc = ScenarioStepResult((2021, 2022), (2022,), alt, {"model": "logistic"}, "a.tif", "b.tif")
    b = steps.choose_baseline(bench, sc, AssessmentResult(ran, "why", (), selected))
    assert b.project_ha_per_year == ({2021: 5.0, 2022: 6.0} if uses_scenario else {2021: 1.0, 2022: 2.0})
    assert b.leakage_belt_ha_per_year[2022] == (8.0 if uses_scenario else 4.0)
    assert ("planned roads" in b.source) == uses_scenario and b.reason
    only = steps.choose_baseline(bench, None, AssessmentResult(False, "none"))
    assert only.source == "VT0007 benchmark risk map" and only.allocation is bench


# --------------------------------------------------------------------------------------------- credits
def _efs(mean=500.0, sd=0.0):
    from reddplus.accounting import EmissionFactor

    ef = EmissionFactor(mean, sd, mean, 0.0, {})
    return EmissionFactorsResult({1: ef}, ef, {1: 1.0})


def test_credits_by_hand(cfg, inputs):
    """Baseline 10 ha/yr, project 2 ha/yr in the HRP and 3 ha/yr monitored, EF 500, no uncertainty:
    ex-ante ER = (10 - 2) x 500 = 4,000 t/yr; ex-post ER = (10 - 3) x 500 = 3,500 t/yr; buffer rounded up."""
    years = inputs.periods.crediting_years
    act = ActivityStepResult({y: 100.0 for y in range(2011, 2025)}, {y: (2.0 if y <= 2020 else 3.0)
                                                                      for y in range(2011, 2025)}, None,
                             {y: 0.0 for y in range(2011, 2025)}, None)
    alloc = _alloc([10.0] * len(years), [0.0] * len(years), years)
    base = BaselineResult("test", "test", alloc, alloc, dict.fromkeys(years, 10.0), dict.fromkeys(years, 0.0))
    nprt = steps.non_permanence(cfg, inputs.periods)
    c = steps.credits(cfg, inputs.periods, act, RateStepResult(None, 0.0), base, _efs(), nprt)
    assert c.uncertainty_deduction_percent == 0
    assert c.ex_ante_avoided_tco2e_per_year[2025] == pytest.approx(4000.0)
    r = {row.year: row for row in c.ex_post.rows}[2022]
    assert r.net_tco2e == pytest.approx(3500.0)
    assert r.buffer == int(np.ceil(nprt.buffer_percent / 100 * 3500 - 1e-9)) and r.vcus == 3500 - r.buffer


def test_missing_nprt_answers_name_the_key(cfg, inputs):
    bad = cfg.model_copy(update={"deductions": cfg.deductions.model_copy(update={"nprt": {}})})
    with pytest.raises(ConfigError, match="deductions.nprt"):
        steps.non_permanence(bad, inputs.periods)


def test_emission_factor_of_one_stratum(cfg, inputs, tmp_path):
    """A single stratum takes the whole weight: EF = AGB + BGB - post."""
    from reddplus.project import StratumStock
    from reddplus.raster import write_cog

    st = cfg.stocks.model_copy(update={"source": "strata", "inventory": None, "post_deforestation_tco2e_per_ha": 50.0,
                                       "strata": [StratumStock(code=1, name="all", agb_tco2e_per_ha=400.0,
                                                               bgb_tco2e_per_ha=100.0)]})
    one = cfg.model_copy(update={"stocks": st})
    flat = replace(inputs, strata=None)
    g = inputs.grid
    write_cog(tmp_path / "d.tif", np.ones(g.shape, np.float32), crs=g.crs, transform=g.transform)
    efs = steps.emission_factors(one, flat, steps.carbon_stocks(one, flat), tmp_path / "d.tif")
    assert efs.baseline.mean == pytest.approx(450.0) and efs.weights == {1: 1.0}


def test_counterfactual_is_skipped_ex_ante(cfg, inputs):
    ex_ante = cfg.model_copy(update={"periods": cfg.periods.model_copy(update={"monitoring": []})})
    no_monitoring = replace(inputs, periods=replace(inputs.periods, monitoring=()))
    assert steps.counterfactual(ex_ante, no_monitoring, None, _efs()) is None


def test_issuance_equals_the_credits(cfg, tmp_path):
    """Each vintage is issued as holder + buffer blocks equal to the credits table."""
    from reddplus import accounting as acc
    from reddplus.chain.results import CreditsResult

    rows = acc.net_credits([acc.VintageInput(2021, 5000.0, 1000.0), acc.VintageInput(2022, 3000.0, 500.0)],
                           uncertainty_deduction_percent=0, buffer_percent=20, market_leakage_percent=0,
                           crediting_start=dt.date(2021, 1, 1), crediting_end=dt.date(2022, 12, 31))
    one = cfg.model_copy(update={"periods": cfg.periods.model_copy(update={"monitoring": [(2021, 2022)]})})
    c = CreditsResult(None, None, rows, rows, {}, {}, {})
    res = steps.issuance(one, c, "0" * 64, tmp_path)
    assert [(i.vintage, i.holder_vcus, i.buffer_credits) for i in res.issuances] == [(2021, 3200, 800),
                                                                                     (2022, 2000, 500)]
    assert str(res.database) == "registry.sqlite" and (tmp_path / "registry.sqlite").is_file()


# --------------------------------------------------------------------------------------------- entry points
@pytest.fixture(scope="module")
def quick(cfg):
    """The sample without the counterfactual (the entry points' tests compare credits, not matching)."""
    return cfg.model_copy(update={"counterfactual": cfg.counterfactual.model_copy(update={"enabled": False})})


@pytest.fixture(scope="module")
def full_run(quick, tmp_path_factory):
    from reddplus.chain import CreditingChain

    return CreditingChain(quick).run(tmp_path_factory.mktemp("full") / "run", report_pdf=False)


def test_run_from_the_project_toml(full_run):
    s = full_run.summary()
    assert s["net_vcus_by_vintage"] and s["baseline_source"]
    assert {c["key"] for c in s["choices"]} >= {"stocks.source", "baseline", "counterfactual.enabled"}
    assert (full_run.out_dir / "report.html").is_file() and not (full_run.out_dir / "report.pdf").exists()


def test_run_from_a_stock_table(quick, full_run, tmp_path):
    """The stock table's stocks replace the plots: the project stock is the forest area x (AGB + BGB)."""
    from reddplus.chain import CreditingChain

    table = tmp_path / "stocks.csv"
    with open(table, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["code", "name", "agb_tco2e_per_ha", "agb_tco2e_per_ha_sd", "bgb_tco2e_per_ha"])
        for code, name in ((1, "terra_firme"), (2, "floodplain"), (3, "bamboo")):
            w.writerow([code, name, 400.0, 10.0, 100.0])
    res = CreditingChain(quick).run_from_stocks(table, tmp_path / "run", report_pdf=False)
    assert res.stocks.source == "strata"
    assert res.stocks.project_stock.total_tco2e == pytest.approx(500.0 * full_run.stocks.project_stock.area_ha)
    assert res.emission_factors.baseline.mean == pytest.approx(500.0)
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,agb_tco2e_per_ha,agb_tco2e_per_ha_sd\n1,a,-4,1\n")
    with pytest.raises(InputDataError, match="row 1.*agb_tco2e_per_ha"):
        CreditingChain(quick).run_from_stocks(bad, tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_run_from_given_activity_data(quick, full_run, tmp_path):
    """Activity data given as the map's own figures reproduce the map run; doubling the jurisdiction's
    loss doubles its rate and so the project's allocated baseline."""
    from reddplus.chain import CreditingChain

    act = full_run.activity

    def write(path, factor):
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["year", "zone", "deforestation_ha"])
            for zone, series in (("jurisdiction", act.jurisdiction_ha_per_year), ("project", act.project_ha_per_year),
                                 ("leakage_belt", act.leakage_belt_ha_per_year)):
                for y, v in series.items():
                    w.writerow([y, zone, repr(v * (factor if zone == "jurisdiction" else 1.0))])
        return path

    same = CreditingChain(quick).run_from_activity(write(tmp_path / "a.csv", 1.0), tmp_path / "same",
                                                   report_pdf=False)
    assert same.rate.rate.per_year == full_run.rate.rate.per_year
    assert same.baseline.project_ha_per_year == pytest.approx(full_run.baseline.project_ha_per_year, rel=1e-9)
    double = CreditingChain(quick).run_from_activity(write(tmp_path / "b.csv", 2.0), tmp_path / "double",
                                                     report_pdf=False)
    y = 2025
    assert double.rate.rate.per_year[y] == pytest.approx(2 * full_run.rate.rate.per_year[y])
    assert double.baseline.benchmark_allocation.zone_ha_per_year["project"][4] > \
        full_run.baseline.benchmark_allocation.zone_ha_per_year["project"][4]
    (tmp_path / "c.csv").write_text("year,zone,deforestation_ha\n2011,mars,1\n")
    with pytest.raises(InputDataError, match="unknown zone 'mars'.*row 1"):
        CreditingChain(quick).run_from_activity(tmp_path / "c.csv", tmp_path / "c")
