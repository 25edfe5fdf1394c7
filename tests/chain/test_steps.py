"""Each step of the crediting chain alone, on a small GENERATED sample or on hand-built inputs, and the
chain's three entry points (project TOML, a stock table, given activity data)."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from reddplus.baseline.allocation import AllocationResult
from reddplus.chain import steps
from reddplus.chain.results import ActivityStepResult, BaselineFit, BaselineResult, EmissionFactorsResult, \
    RateStepResult
from reddplus.errors import ConfigError, InputDataError
from reddplus.project import ExAnte

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


def test_period_problems_are_listed_together(cfg):
    from reddplus.chain.inputs import period_problems

    per = cfg.periods.model_copy(update={"calibration": (2009, 2015), "monitoring": [(2021, 2030)],
                                         "historical_reference": (2010, 2024)})
    keys = [e.key for e in period_problems(cfg.model_copy(update={"periods": per}), tuple(range(2010, 2025)))]
    assert keys == ["periods.calibration", "periods.monitoring.0", "periods.historical_reference"]
    assert period_problems(cfg, tuple(range(2000, 2025))) == []


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


def test_rate_from_the_map_and_from_the_sample(cfg, inputs):
    """From map counts the rate is the HRP mean and carries no sampling error; from the reference sample it is
    the sample's estimate of the HRP with its relative standard error."""
    years = inputs.periods.hrp_years
    jur = {y: 100.0 + 10 * i for i, y in enumerate(years)}
    act = ActivityStepResult(jur, dict.fromkeys(jur, 1.0), None, {}, None)
    r = steps.jurisdictional_rate(cfg, years, (2025,), act)
    assert r.rate.per_year[2025] == pytest.approx(np.mean(list(jur.values())))
    assert r.relative_standard_error is None and r.source == "map_counts"
    ref = steps.reference_activity(cfg, inputs)
    h = inputs.periods.historical_reference
    d = ref.sample.period(*h).domains["jurisdiction"]
    s = steps.jurisdictional_rate(cfg, years, (2025,), act, ref, h)
    assert s.rate.per_year[2025] == pytest.approx(d.estimate_ha_per_year)
    assert s.relative_standard_error == pytest.approx(d.se_ha_per_year / d.estimate_ha_per_year)
    trend = cfg.model_copy(update={"baseline": cfg.baseline.model_copy(update={"rate_method": "linear_trend"})})
    with pytest.raises(ConfigError, match="baseline.rate_method"):
        steps.jurisdictional_rate(trend, years, (2025,), act, ref, h)


def test_validity_periods_of_the_sample(cfg, inputs):
    """Crediting 2021-2030 with data to 2024: 2021-2026 is fitted on 2011-2020, 2027-2030 is provisional."""
    vps = steps.validity(cfg, inputs.periods)
    assert [(p.start, p.end, p.hrp, p.provisional) for p in vps.periods] == [
        (2021, 2026, (2011, 2020), False), (2027, 2030, (2017, 2026), True)]


def test_a_period_the_maps_do_not_bound_is_provisional(cfg):
    """Maps of 2000, 2010 and 2020, crediting 2011-2020: the second period's HRP 2007-2016 lies within the
    data span but no map bounds it, so it is provisional (the first fit carried forward), not 'fitted'."""
    from reddplus.chain.inputs import run_periods

    c = cfg.model_copy(update={
        "project": cfg.project.model_copy(update={"crediting_start": 2011, "crediting_years": 10}),
        "periods": cfg.periods.model_copy(update={"historical_reference": (2000, 2010), "calibration": None,
                                                  "confirmation": None, "monitoring": [(2011, 2020)]})})
    vps = steps.validity(c, run_periods(c, (2000, 2010, 2020)))
    assert [(p.start, p.end, p.hrp, p.provisional) for p in vps.periods] == [
        (2011, 2016, (2001, 2010), False), (2017, 2020, (2007, 2016), True)]
    assert "do not bound" in vps.periods[1].reason


# --------------------------------------------------------------------------------------------- baseline
def test_risk_map_and_allocation(cfg, inputs, tmp_path):
    """The benchmark's rasters are written where asked; the allocation gives the project and belt no more than
    the jurisdiction's expected deforestation, and splits the project's by stratum."""
    risk = steps.risk_map(cfg, inputs, inputs.periods.risk, tmp_path / "rasters")
    assert risk.density_path.is_file() and risk.profile == "reddplus"
    act = steps.activity(cfg, inputs, (1, 2, 3))
    rate = steps.jurisdictional_rate(cfg, inputs.periods.hrp_years, (2021, 2022), act)
    alloc = steps.allocate_years(cfg, risk.density_path, rate, (2021, 2022))
    for i, y in enumerate(alloc.years):
        inside = alloc.zone_ha_per_year["project"][i] + alloc.zone_ha_per_year["leakage_belt"][i]
        assert 0 < inside < rate.rate.per_year[y]
        assert sum(v[i] for v in alloc.zone_stratum_ha_per_year["project"].values()) == \
            pytest.approx(alloc.zone_ha_per_year["project"][i])


def test_the_tested_alternative_is_the_one_used(cfg, inputs, tmp_path):
    """The named alternative is assessed against the benchmark on the same cells, and, when it passes, the
    same model (same drivers, same form) refitted on the HRP gives the allocated map; the reason says why."""
    act = steps.activity(cfg, inputs, (1, 2, 3))
    b = steps.baseline(cfg, inputs, act, None, tmp_path)
    fit = b.fits[0]
    alt = fit.alternative
    assert alt is not None and alt.assessment.name == "roads"
    assert b.model == alt.assessment.selected and "MedAE" in b.reason
    rows = alt.assessment.table()
    assert [r["model"] for r in rows] == ["benchmark", "benchmark", "alternative:roads", "alternative:roads"]
    assert {r["n_cells"] for r in rows} == {rows[0]["n_cells"]}
    if alt.assessment.accepted:
        assert alt.baseline.fit.model.features == alt.assessment.fit.model.features
        assert alt.baseline.fit.model.name == alt.assessment.fit.model.name == "logistic"
        assert fit.allocation is fit.scenario.allocation and fit.benchmark_allocation is not fit.allocation
    assert [f.periods[0].start for f in b.fits] == [2021]           # 2027-2030 reuses the first fit
    assert set(b.project_ha_per_year) == set(range(2021, 2031))
    assert (tmp_path / b.allocated_outputs["map"]).is_file() and (tmp_path / b.allocated_outputs["csv"]).is_file()


# --------------------------------------------------------------------------------------------- credits
def _baseline(cfg, inputs, project, belt):
    """A benchmark baseline of the given project and belt deforestation per crediting year [ha/yr]."""
    years = inputs.periods.crediting_years
    vps = steps.validity(cfg, inputs.periods)
    alloc = _alloc(project, belt, years)
    rate = RateStepResult(None, None, "map_counts")
    fit = BaselineFit(vps.periods, years, rate, None, None, None, alloc, alloc, None, "benchmark", "test")
    return BaselineResult.from_fits("vt0007", vps, (fit,), {}, years=years, root=Path("."))


def _efs(mean=500.0, sd=0.0):
    from reddplus.accounting import EmissionFactor

    ef = EmissionFactor(mean, sd, mean, 0.0, {})
    return EmissionFactorsResult({1: ef}, ef, {1: 1.0})


def _by_hand(cfg, inputs):
    """Activity (project 2 ha/yr in the HRP, 3 ha/yr after), a 10 ha/yr baseline and the NPRT result."""
    years = inputs.periods.crediting_years
    act = ActivityStepResult({y: 100.0 for y in range(2011, 2025)}, {y: (2.0 if y <= 2020 else 3.0)
                                                                      for y in range(2011, 2025)}, None,
                             {y: 0.0 for y in range(2011, 2025)}, None)
    base = _baseline(cfg, inputs, [10.0] * len(years), [0.0] * len(years))
    return act, base, steps.non_permanence(cfg, inputs.periods)


def test_credits_by_hand(cfg, inputs):
    """Baseline 10 ha/yr, project 2 ha/yr in the HRP and 3 ha/yr monitored, EF 500, no uncertainty:
    ex-ante ER = (10 - 2) x 500 = 4,000 t/yr; ex-post ER = (10 - 3) x 500 = 3,500 t/yr; buffer rounded up."""
    act, base, nprt = _by_hand(cfg, inputs)
    c = steps.credits(cfg, inputs.periods, act, None, base, _efs(), nprt)
    assert c.uncertainty_deduction_percent == 0
    assert c.ex_ante_avoided_tco2e_per_year[2025] == pytest.approx(4000.0)
    r = {row.year: row for row in c.ex_post.rows}[2022]
    assert r.net_tco2e == pytest.approx(3500.0)
    assert r.buffer == int(np.ceil(nprt.buffer_percent / 100 * 3500 - 1e-9)) and r.vcus == 3500 - r.buffer


def test_ex_ante_project_deforestation_from_the_config(cfg, inputs):
    """The proponent's 1 ha/yr replaces the HRP rate of 2 ha/yr: ex-ante ER = (10 - 1) x 500 = 4,500 t/yr;
    15 ha/yr is capped at the 10 ha/yr baseline (ER 0); ex-post credits still use the monitoring."""
    act, base, nprt = _by_hand(cfg, inputs)
    default = steps.credits(cfg, inputs.periods, act, None, base, _efs(), nprt)
    assert default.ex_ante_project_ha_per_year == pytest.approx(2.0)
    for given, avoided in ((1.0, 4500.0), (15.0, 0.0)):
        c2 = cfg.model_copy(update={"ex_ante": ExAnte(project_deforestation_ha_per_year=given)})
        c = steps.credits(c2, inputs.periods, act, None, base, _efs(), nprt)
        assert c.ex_ante_project_ha_per_year == given
        assert c.ex_ante_avoided_tco2e_per_year[2025] == pytest.approx(avoided)
        assert c.ex_post.rows == default.ex_post.rows


def test_missing_nprt_answers_name_the_key(cfg, inputs):
    bad = cfg.model_copy(update={"deductions": cfg.deductions.model_copy(update={"nprt": {}})})
    with pytest.raises(ConfigError, match="deductions.nprt"):
        steps.non_permanence(bad, inputs.periods)


def test_emission_factor_of_one_stratum(cfg, inputs, tmp_path):
    """A single stratum takes the whole weight: EF = AGB + BGB - post."""
    from reddplus.project import StratumStock

    st = cfg.stocks.model_copy(update={"source": "strata", "inventory": None, "post_deforestation": None,
                                       "post_deforestation_tco2e_per_ha": 50.0,
                                       "strata": [StratumStock(code=1, name="all", agb_tco2e_per_ha=400.0,
                                                               bgb_tco2e_per_ha=100.0)]})
    one = cfg.model_copy(update={"stocks": st})
    flat = replace(inputs, strata=None)
    efs = steps.emission_factors(one, steps.carbon_stocks(one, flat), _baseline(cfg, inputs, [1.0] * 10, [0.0] * 10))
    assert efs.baseline.mean == pytest.approx(450.0) and efs.weights == {1: 1.0}
    assert efs.post_deforestation.tco2e_per_ha == 50.0 and efs.pools.included_pools == ("agb", "bgb")


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
    assert [(i.vintage, i.holder_vcus, i.buffer_credits, i.labels) for i in res.issuances] == [
        (2021, 3200, 800, ("CCB",)), (2022, 2000, 500, ("CCB",))]   # the sample's CCB verification covers them
    assert str(res.database) == "registry.sqlite" and (tmp_path / "registry.sqlite").is_file()


# --------------------------------------------------------------------------------------------- entry points
@pytest.fixture(scope="module")
def quick(cfg):
    """The sample on the benchmark and map counts, without the counterfactual and the CCB section (the entry
    points' tests compare credits)."""
    return cfg.model_copy(update={"counterfactual": cfg.counterfactual.model_copy(update={"enabled": False}),
                                  "baseline": cfg.baseline.model_copy(update={"risk_model": "benchmark"}),
                                  "activity_data": cfg.activity_data.model_copy(update={"reference_sample": None}),
                                  "ccb": None})


@pytest.fixture(scope="module")
def full_run(quick, tmp_path_factory):
    from reddplus.chain import CreditingChain

    return CreditingChain(quick).run(tmp_path_factory.mktemp("full") / "run", report_pdf=False)


def test_run_from_the_project_toml(full_run):
    s = full_run.summary()
    assert s["net_vcus_by_vintage"] and s["baseline_source"]
    assert {c["key"] for c in s["choices"]} >= {"stocks.source", "baseline.source", "counterfactual.enabled"}
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
    post = res.emission_factors.post_deforestation.tco2e_per_ha      # the sample's pasture / cropland mix
    assert post > 0 and res.emission_factors.baseline.mean == pytest.approx(500.0 - post)
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
    assert double.baseline.project_ha_per_year[y] > full_run.baseline.project_ha_per_year[y]
    (tmp_path / "c.csv").write_text("year,zone,deforestation_ha\n2011,mars,1\n")
    with pytest.raises(InputDataError, match="unknown zone 'mars'.*row 1"):
        CreditingChain(quick).run_from_activity(tmp_path / "c.csv", tmp_path / "c")


def test_one_runs_allocation_is_another_runs_input(quick, full_run, tmp_path):
    """The project proponent's run ([baseline] source = "allocated") on the allocated map and activity-data
    CSV a VT0007 run wrote finds the same baseline for the project and the belt in the first validity period."""
    from reddplus.chain import CreditingChain

    b = quick.baseline.model_copy(update={
        "source": "allocated", "allocated_risk_map": full_run.path(full_run.baseline.allocated_outputs["map"]),
        "allocated_activity_data": full_run.path(full_run.baseline.allocated_outputs["csv"])})
    res = CreditingChain(quick.model_copy(update={"baseline": b})).run(tmp_path / "proponent", report_pdf=False)
    assert res.baseline.source == "allocated" and res.baseline.model == "allocated"
    first = full_run.baseline.validity.periods[0]
    for y in first.years:
        assert res.baseline.project_ha_per_year[y] == pytest.approx(full_run.baseline.project_ha_per_year[y], rel=1e-5)
        assert res.baseline.leakage_belt_ha_per_year[y] == pytest.approx(
            full_run.baseline.leakage_belt_ha_per_year[y], rel=1e-5)
    assert not res.baseline.fits[0].allocated.disagrees
    assert res.summary()["baseline_source"] == "allocated"
    # the years after the map's validity period carry its last year forward, flagged as a projection
    fit = res.baseline.fits[0]
    assert fit.projected_years == tuple(y for y in sorted(res.baseline.project_ha_per_year) if y > first.end)
    last = res.baseline.project_ha_per_year[first.end]
    assert all(res.baseline.project_ha_per_year[y] == last for y in fit.projected_years)
    flagged = {c.key for c in res.choices if c.flag}
    assert "baseline.allocated_risk_map" in flagged
    assert any("ex-ante projection" in w for w in res.summary()["warnings"])


def test_unbalanced_covariates_are_named_with_their_smd():
    """The counterfactual's covariates beyond |SMD| 0.2 after matching, with the SMD before and after (the
    choices flag the over-crediting ratio with them)."""
    from types import SimpleNamespace

    import pandas as pd

    from reddplus.chain.choices import unbalanced_covariates

    bal = pd.DataFrame({"covariate": ["a", "b"], "smd_before": [0.40, 0.50], "smd_after": [0.76, 0.05]})
    cf = SimpleNamespace(result=SimpleNamespace(balance=bal, diagnostics={"unbalanced_covariates": ["a"]}))
    assert unbalanced_covariates(cf) == [("a", 0.40, 0.76)]
    assert unbalanced_covariates(None) == []
