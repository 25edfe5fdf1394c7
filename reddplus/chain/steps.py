"""The steps of a crediting run: one function per step, typed inputs, a frozen typed result.

Each step calls the pure functions and path-level tools of its own package; nothing here does
science of its own. Steps that write rasters take the run directory ``root`` and return paths
relative to it.

=======================  ==================================================================
step                     package (methodology)
=======================  ==================================================================
carbon_stocks            :mod:`reddplus.stocks` (Chave et al. 2014 eq. 4; IPCC 2006 vol. 4 ch. 4)
activity                 :mod:`reddplus.landcover` (annual loss per zone; Puyravaud 2003 rates)
jurisdictional_rate      :mod:`reddplus.baseline.rate` (VMD0055; VT0007 section 3)
risk_map                 :mod:`reddplus.risk.tools` (VT0007 v1.0 benchmark, sections 5.1-5.2)
model_assessment         :mod:`reddplus.risk.compare` (VT0007 v1.0 section 5.3)
allocation               :mod:`reddplus.baseline.allocation` (VT0007 v1.0 section 6)
scenario                 :mod:`reddplus.baseline.scenario` (planned roads, VT0007 section 5.3)
choose_baseline          which allocation the credits use, and why
emission_factors         :mod:`reddplus.accounting.emissions` (VMD0055; IPCC 2006 vol. 4 eq. 2.16)
non_permanence           :mod:`reddplus.accounting.nprt` (AFOLU Non-Permanence Risk Tool)
credits                  :mod:`reddplus.accounting` (uncertainty deduction, buffer, net VCUs)
counterfactual           :mod:`reddplus.counterfactual` (pixel matching, over-crediting ratio)
issuance                 :mod:`reddplus.registry.issuance` (serial-number blocks)
=======================  ==================================================================
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np

from reddplus import accounting as acc
from reddplus.chain.inputs import RunInputs, RunPeriods
from reddplus.chain.results import (ActivityStepResult, AssessmentResult, BaselineResult, CounterfactualStepResult,
                                    CreditsResult, EmissionFactorsResult, RateStepResult, ScenarioStepResult,
                                    StocksResult, StratumCarbon)
from reddplus.errors import ConfigError, InputDataError, SearchDistanceError
from reddplus.project import ProjectConfig, Stocks
from reddplus.stocks import StratumStock

log = logging.getLogger(__name__)

#: two-sided 90 % normal quantile: a stock table's standard error -> its 90 % half-width
Z90 = 1.6448536


# --------------------------------------------------------------------------------------------- 1 carbon stocks
def stratum_stocks_from_inventory(st: Stocks, seed: int) -> tuple[dict[int, tuple[str, StratumStock]], dict]:
    """Per-stratum stocks from the tree inventory: plot AGB (Monte Carlo) scaled to each stratum.

    Returns ``({code: (name, StratumStock)}, plots)``; inventory strata are matched to
    ``stocks.strata`` codes by code or name.
    """
    from reddplus.stocks import stratum_carbon_stocks
    from reddplus.stocks.tools import agb_from_files

    res = agb_from_files(st.inventory, columns=st.columns or None,
                         height_model=None if (st.height_model or "none") == "none" else st.height_model,
                         plot_area=st.plot_area_ha, plot_areas_path=st.plot_areas,
                         plot_area_columns={"stratum": st.stratum_column} if st.plot_areas else None,
                         monte_carlo=st.monte_carlo, seed=seed, root_shoot_ratio=st.root_shoot_ratio,
                         carbon_fraction=st.carbon_fraction)
    labels = [p.stratum for p in res.plots]
    if any(lab is None for lab in labels):
        raise InputDataError("every plot needs a stratum to scale the stocks up", column=st.stratum_column,
                             path=str(st.inventory))
    per_ha = np.array([p.agb_mg / p.area_ha for p in res.plots])
    stocks = stratum_carbon_stocks(per_ha, labels, root_shoot_ratio=st.root_shoot_ratio,
                                   carbon_fraction=st.carbon_fraction, confidence=0.90)
    names = {str(s.code): s for s in st.strata} | {s.name.lower(): s for s in st.strata}
    out = {}
    for s in stocks:
        spec = names.get(s.stratum.lower()) or names.get(s.stratum)
        if spec is None:
            try:
                code = int(float(s.stratum))
            except ValueError:
                raise ConfigError(f"inventory stratum {s.stratum!r} has no code: add it to stocks.strata "
                                  "(code, name)", key="stocks.strata") from None
            out[code] = (s.stratum, s)
        else:
            out[spec.code] = (spec.name, s)
    return out, res.to_dict()


def stratum_stocks_from_table(st: Stocks) -> dict[int, tuple[str, StratumStock]]:
    """Per-stratum stocks from a previous assessment: mean AGB and its standard error [t CO2e/ha].

    BGB is ``bgb_tco2e_per_ha`` or ``root_shoot_ratio x AGB`` (IPCC 2006 vol. 4 table 4.4); the
    standard error scales with the total; the 90 % half-width is ``1.645 SE`` (large-sample).
    """
    out = {}
    for spec in st.strata:
        agb = spec.agb_tco2e_per_ha
        bgb = spec.bgb_tco2e_per_ha if spec.bgb_tco2e_per_ha is not None else agb * st.root_shoot_ratio
        sd = spec.agb_tco2e_per_ha_sd * (agb + bgb) / agb if agb else 0.0
        stock = StratumStock(spec.name, 0, agb / (st.carbon_fraction * 44.0 / 12.0), agb, bgb, agb + bgb, sd, sd,
                             Z90 * sd, 0.90)
        out[spec.code] = (spec.name, stock)
    return out


def carbon_stocks(cfg: ProjectConfig, inputs: RunInputs) -> StocksResult:
    """Carbon stocks per stratum and of the project's forest at the HRP end (Cochran 1977 eq. 5.2).

    The source is ``stocks.source``: ``"inventory"`` or ``"strata"`` (a stock table).
    """
    st = cfg.stocks
    if st.stock_source == "inventory":
        by_code, plots = stratum_stocks_from_inventory(st, cfg.project.seed)
        return project_stocks(by_code, st, inputs, source="inventory", plots=plots)
    return project_stocks(stratum_stocks_from_table(st), st, inputs, source="strata")


def project_stocks(by_code: dict[int, tuple[str, StratumStock]], st: Stocks, inputs: RunInputs, *,
                   source: str, plots: dict | None = None) -> StocksResult:
    """Scale per-stratum stocks [t CO2e/ha] to the project's forest at the HRP end [t CO2e].

    .. math:: Y = \\sum_h A_h \\bar y_h,\\quad SE(Y) = \\sqrt{\\sum_h A_h^2 SE_h^2}

    Cochran 1977 eqs. 5.2 and 5.16 (Satterthwaite df); a stock table's interval is large-sample.
    """
    from reddplus.landcover import forest_at
    from reddplus.stocks import project_carbon_stock

    codes = tuple(sorted(by_code))
    if inputs.strata is None and len(codes) > 1:
        raise ConfigError("several strata need a stratum raster", key="areas.strata")
    forest = forest_at(inputs.codes, inputs.periods.hrp_index[1]) & inputs.project
    px = inputs.pixel_area_ha
    if inputs.strata is None:
        areas = {codes[0]: float(np.count_nonzero(forest)) * px}
    else:
        areas = {h: float(np.count_nonzero(forest & (inputs.strata == h))) * px for h in codes}
    if any(a <= 0 for a in areas.values()):
        log.info("strata without forest in the project: %s", [h for h, a in areas.items() if a <= 0])
    stock = project_carbon_stock(tuple(by_code[h][1] for h in codes if areas[h] > 0),
                                 {by_code[h][1].stratum: areas[h] for h in codes if areas[h] > 0})
    if source != "inventory":  # stocks from a previous assessment: mean +- SE, large-sample interval
        half = Z90 * stock.se_tco2e
        stock = replace(stock, ci90_half_width_tco2e=half, relative_half_width=half / stock.total_tco2e,
                        df=float("inf"))
    agb_share = 1.0 / (1.0 + st.root_shoot_ratio)
    agb_stock = stock.total_tco2e * agb_share
    agb_ci = ((stock.total_tco2e - stock.ci90_half_width_tco2e) * agb_share,
              (stock.total_tco2e + stock.ci90_half_width_tco2e) * agb_share)
    strata = tuple(StratumCarbon(h, by_code[h][0], by_code[h][1], areas[h]) for h in codes)
    return StocksResult(source, strata, stock, agb_stock, agb_ci, plots)


# --------------------------------------------------------------------------------------------- 2 activity data
def activity(cfg: ProjectConfig, inputs: RunInputs, stratum_codes: tuple[int, ...], *,
             scheduler: str | None = None) -> ActivityStepResult:
    """Deforestation per year [ha/yr] in the jurisdiction (streamed, per admin unit), project and belt,
    and per carbon stratum in the project (``stratum_codes``, when a stratum raster is given).

    IPCC 2006 vol. 4 section 3.3.1 (areas of land-use change); a period's loss spread evenly.
    """
    from reddplus.landcover import (activity_data, annual_loss_ha, zone_deforestation_by_stratum_ha,
                                    zone_deforestation_ha)

    act = activity_data(inputs.forest_change, zones=cfg.areas.jurisdiction, zone_field=cfg.areas.admin_field,
                        scheduler=scheduler)
    per_zone = [act.annual_loss_ha(z) for z in act.zones]
    jur = {y: float(sum(z[y] for z in per_zone)) for y in per_zone[0]}
    c, dates, px = inputs.codes, inputs.dates, inputs.pixel_area_ha
    project = annual_loss_ha(zone_deforestation_ha(c, inputs.project, dates, px))
    by_stratum = None
    if inputs.strata is not None:
        per = {h: annual_loss_ha(d) for h, d in
               zone_deforestation_by_stratum_ha(c, inputs.project, inputs.strata, stratum_codes, dates, px).items()}
        by_stratum = {y: {h: per[h][y] for h in stratum_codes} for y in project}
    belt = annual_loss_ha(zone_deforestation_ha(c, inputs.leakage_belt, dates, px)) \
        if inputs.leakage_belt is not None else {}
    return ActivityStepResult(jur, project, by_stratum, belt, act)


# --------------------------------------------------------------------------------------------- 3 baseline
def jurisdictional_rate(cfg: ProjectConfig, periods: RunPeriods, activity: ActivityStepResult) -> RateStepResult:
    """Expected jurisdictional deforestation per crediting year [ha/yr] (VMD0055 section 5.1; VT0007 section 3),
    with the relative standard error of the HRP mean annual loss as the activity data's uncertainty."""
    from reddplus.baseline.rate import jurisdictional_rate as rate_of

    hrp = {y: activity.jurisdiction_ha_per_year[y] for y in periods.hrp_years}
    rate = rate_of(hrp, method=cfg.baseline.rate_method, years=list(periods.crediting_years),
                   expected_ha_per_year=cfg.baseline.expected_ha_per_year)
    losses = np.array(list(hrp.values()))
    rel_se = float(losses.std(ddof=1) / np.sqrt(len(losses)) / losses.mean()) \
        if len(losses) > 1 and losses.mean() > 0 else 0.0
    return RateStepResult(rate, rel_se)


def risk_map(cfg: ProjectConfig, inputs: RunInputs, root: Path, *, scheduler: str | None = None,
             start_m: float = 6000.0, tries: int = 4):
    """VT0007 v1.0 benchmark risk map (section 5.1-5.2) into ``root/rasters``.

    The NRT search distance doubles until 99.5 % of the HRP deforestation lies within it (section 5.1
    step 2), up to ``2**tries`` times ``start_m``. Raster paths are returned relative to ``root``.
    """
    from reddplus.risk.tools import vt0007_benchmark

    distance = start_m
    for i in range(tries + 1):
        try:
            res = vt0007_benchmark(inputs.forest_change, out_dir=root / "rasters", periods=inputs.periods.risk,
                                   admin=cfg.areas.jurisdiction, admin_field=cfg.areas.admin_field, overwrite=True,
                                   max_distance_m=distance, scheduler=scheduler)
            return replace(res, class_path=res.class_path.relative_to(root),
                           density_path=res.density_path.relative_to(root))
        except SearchDistanceError:
            if i == tries:
                raise
            log.info("NRT beyond %.0f m: retrying with %.0f m", distance, 2 * distance)
            distance *= 2
    raise AssertionError("unreachable")


def model_assessment(cfg: ProjectConfig, inputs: RunInputs) -> AssessmentResult:
    """Benchmark vs the alternative model on the same assessment cells (VT0007 v1.0 section 5.3).

    Runs when a confirmation period and driver layers (roads, rivers, settlements) are given.
    """
    b = cfg.baseline
    if not (b.roads or b.rivers or b.settlements):
        return AssessmentResult(False, "no driver layer (roads, rivers, settlements) is given")
    if inputs.periods.risk.cnf is None:
        return AssessmentResult(False, "no confirmation period (periods.confirmation)")
    from reddplus.risk.compare import compare_models_from_paths

    cmp = compare_models_from_paths(inputs.forest_change, periods=inputs.periods.risk, roads=b.roads, rivers=b.rivers,
                                    settlements=b.settlements,
                                    planned_roads=b.planned_roads[0].path if b.planned_roads else None,
                                    models=("logistic",), seed=cfg.project.seed)
    return AssessmentResult(True, "benchmark vs logistic", tuple(cmp.table()), cmp.best, cmp.nrt_m)


def allocation(cfg: ProjectConfig, periods: RunPeriods, density_path: Path, rate: RateStepResult, *,
               scheduler: str | None = None):
    """Allocate each crediting year's expected deforestation through a density raster to the project and
    leakage belt (VT0007 v1.0 section 6; adjustment ratio of section 5.1 step 6)."""
    from reddplus.baseline.allocation import allocate

    zones = {"project": cfg.areas.project}
    if cfg.areas.leakage_belt:
        zones["leakage_belt"] = cfg.areas.leakage_belt
    years = list(periods.crediting_years)
    return allocate(density_path, [rate.rate.per_year[y] for y in years], zones=zones,
                    jurisdiction=cfg.areas.jurisdiction, years=years, scheduler=scheduler)


def scenario(cfg: ProjectConfig, inputs: RunInputs, rate: RateStepResult, root: Path) -> ScenarioStepResult | None:
    """Planned-road scenario (VT0007 section 5.3 model with a road driver that opens in a given year).

    The alternative model needs every driver at every pixel: this step holds the jurisdiction's
    codes, distances and potentials in memory (the other steps stream by blocks).
    """
    if not cfg.baseline.planned_roads:
        return None
    import geopandas as gpd

    from reddplus.baseline.scenario import planned_road_scenario, read_planned_roads
    from reddplus.raster import Block, write_cog, zone_mask
    from reddplus.risk.compare import rasterize_lines

    grid = inputs.grid
    existing = rasterize_lines(cfg.baseline.roads, grid) if cfg.baseline.roads else np.zeros(grid.shape, bool)
    planned = []
    for pr in cfg.baseline.planned_roads:
        if "opening_year" in gpd.read_file(pr.path).columns:
            planned.extend(read_planned_roads(pr.path, grid, "opening_year"))
        else:
            planned.append((rasterize_lines(pr.path, grid), pr.opening_year))
    codes = inputs.forest_change.read_codes(Block.whole(grid.shape), with_halo=False)
    zones = {"project": zone_mask(cfg.areas.project, grid)}
    if cfg.areas.leakage_belt is not None:
        zones["leakage_belt"] = zone_mask(cfg.areas.leakage_belt, grid)
    years = inputs.periods.crediting_years
    res = planned_road_scenario(codes, inputs.dates, float(grid.res[0]), existing, planned,
                                {y: rate.rate.per_year[y] for y in years}, zones, fit=inputs.periods.risk.hrp,
                                vp_start=inputs.periods.risk.vp_start, model=cfg.baseline.alternative_model,
                                seed=cfg.project.seed)
    paths = {}
    for key, arr in (("without", res.classes_without), ("with", res.classes_with)):
        paths[key] = Path("rasters") / f"classes_{key}_planned_roads.tif"
        write_cog(root / paths[key], arr.astype(np.uint8), crs=grid.crs, transform=grid.transform, nodata=0,
                  overwrite=True)
    return ScenarioStepResult(res.years, res.opening_years, res.allocation, res.model_summary, paths["without"],
                              paths["with"])


def choose_baseline(benchmark, scenario_: ScenarioStepResult | None,
                    assessment: AssessmentResult) -> BaselineResult:
    """The allocation the credits use, and why (VT0007 v1.0 section 5.3: an alternative replaces the
    benchmark only when it is accepted)."""
    years = benchmark.years

    def per_year(alloc, zone):
        return dict(zip(years, alloc.zone_ha_per_year.get(zone, [0.0] * len(years))))

    chosen, source, reason = benchmark, "VT0007 benchmark risk map", "no planned-road scenario"
    if scenario_ is not None:
        accepted = assessment.selected != "benchmark" if assessment.ran else True
        if accepted:
            chosen = scenario_.allocation
            source = f"{scenario_.model_summary.get('model', 'alternative')} model with planned roads"
            reason = (f"the alternative model beat the benchmark ({assessment.selected} selected)" if assessment.ran
                      else f"no model assessment ran ({assessment.reason})")
        else:
            reason = "the alternative model does not beat the VT0007 benchmark"
            log.warning("the alternative model does not beat the VT0007 benchmark: the benchmark allocation is the "
                        "baseline and the planned-road scenario is reported only")
    return BaselineResult(source, reason, chosen, benchmark, per_year(chosen, "project"),
                          per_year(chosen, "leakage_belt"))


# --------------------------------------------------------------------------------------------- 4 credits
def emission_factors(cfg: ProjectConfig, inputs: RunInputs, stocks: StocksResult,
                     density_path: Path) -> EmissionFactorsResult:
    """Emission factor per stratum, and of the baseline deforestation: strata weighted by the allocated
    density in the project (VMD0055 section 5: activity data per stratum x its emission factor)."""
    from reddplus.raster import open_raster, read_block

    st = cfg.stocks
    agb_share = 1.0 / (1.0 + st.root_shoot_ratio)
    efs = {s.code: acc.emission_factor(s.stock.agb_tco2e_per_ha, agb_sd=s.stock.se_tco2e_per_ha * agb_share,
                                       bgb_tco2e_per_ha=s.stock.bgb_tco2e_per_ha, root_shoot_ratio=st.root_shoot_ratio,
                                       post_tco2e_per_ha=st.post_deforestation_tco2e_per_ha)
           for s in stocks.strata}
    with open_raster(density_path) as ds:
        dens = np.nan_to_num(read_block(ds, inputs.window, with_halo=False).astype(np.float64))
    if inputs.strata is not None:
        w = np.array([float(dens[inputs.project & (inputs.strata == h)].sum()) for h in stocks.codes])
    else:
        w = np.ones(1)
    ef = acc.weighted_emission_factor(w, [efs[h] for h in stocks.codes])
    return EmissionFactorsResult(efs, ef, dict(zip(stocks.codes, ef.components["weights"])))


def non_permanence(cfg: ProjectConfig, periods: RunPeriods):
    """The AFOLU Non-Permanence Risk Tool's buffer [%] from the configured answers (checked up front).

    NPRT v4.2 unless ``deductions.nprt_version`` says otherwise (v4.0 only where Verra allows it);
    a fail gate or an answer outside the tool's options is a ConfigError naming the question.
    """
    d = cfg.deductions
    if not d.nprt:
        raise ConfigError("the non-permanence risk answers are required to compute the buffer", key="deductions.nprt")
    return acc.nprt_buffer(d.nprt, version=d.nprt_version, registration_requested=d.registration_requested,
                           vintages=periods.crediting_years, override=d.nprt_override)


def credits(cfg: ProjectConfig, periods: RunPeriods, activity: ActivityStepResult, rate: RateStepResult,
            baseline: BaselineResult, efs: EmissionFactorsResult, nprt) -> CreditsResult:
    """Uncertainty deduction, buffer and net VCUs per vintage, ex-ante and ex-post (VM0048 section 8.5).

    Ex-ante, the project's deforestation continues at its own HRP rate; ex-post, each monitoring
    year uses the monitored deforestation, per stratum where strata are mapped.
    """
    years = periods.crediting_years
    ef, ef_sd = efs.baseline.mean, efs.baseline.sd
    base = baseline.project_ha_per_year
    proj_hrp = float(np.mean([activity.project_ha_per_year[y] for y in periods.hrp_years]))
    be = {y: base[y] * ef for y in years}
    be_sd = {y: base[y] * ef * np.hypot(rate.relative_standard_error, ef_sd / ef if ef else 0.0) for y in years}
    u = cfg.deductions.uncertainty
    unc = acc.combined_uncertainty(np.array([base[y] - min(proj_hrp, base[y]) for y in years]),
                                   np.array([base[y] * rate.relative_standard_error for y in years]), ef, ef_sd,
                                   draws=u.draws, seed=cfg.project.seed, confidence=u.confidence,
                                   allowable_halfwidth_percent=u.allowable_halfwidth_percent)
    udp = 100.0 * unc.deduction_fraction
    start, end = dt.date(years[0], 1, 1), dt.date(years[-1], 12, 31)
    rules = dict(uncertainty_deduction_percent=udp, buffer_percent=nprt.buffer_percent,
                 market_leakage_percent=cfg.deductions.market_leakage_percent, crediting_start=start)
    ex_ante = acc.net_credits([acc.VintageInput(y, be[y], min(proj_hrp, base[y]) * ef, 0.0) for y in years],
                              crediting_end=end, **rules)
    avoided = {y: be[y] - min(proj_hrp, base[y]) * ef for y in years}
    ex_post = None
    monitored = _monitored_vintages(periods, activity, baseline, efs, be)
    if monitored:
        mon_end = max(b for _, b in periods.monitoring)
        ex_post = acc.net_credits(monitored, crediting_end=min(end, dt.date(mon_end, 12, 31)), **rules)
    return CreditsResult(nprt, unc, ex_ante, ex_post, be, be_sd, avoided)


def _monitored_vintages(periods: RunPeriods, activity: ActivityStepResult, baseline: BaselineResult,
                        efs: EmissionFactorsResult, be: dict[int, float]) -> list:
    """Ex-post vintage inputs: monitored project emissions and belt activity-shifting leakage [t CO2e/yr]."""
    ef = efs.baseline.mean
    by_stratum = activity.project_by_stratum_ha_per_year
    out = []
    for a, b in periods.monitoring:
        for y in range(a, b + 1):
            if y not in be:
                raise ConfigError(f"monitoring year {y} outside the crediting period", key="periods.monitoring")
            if by_stratum is not None and y in by_stratum:
                proj_e = float(sum(by_stratum[y][h] * efs.by_stratum[h].mean for h in efs.by_stratum))
            else:
                proj_e = activity.project_ha_per_year.get(y, 0.0) * ef
            shift = max(0.0, activity.leakage_belt_ha_per_year.get(y, 0.0)
                        - baseline.leakage_belt_ha_per_year.get(y, 0.0)) * ef if activity.leakage_belt_ha_per_year \
                else 0.0
            out.append(acc.VintageInput(y, be[y], proj_e, shift))
    return out


# --------------------------------------------------------------------------------------------- 5 credibility
def counterfactual(cfg: ProjectConfig, inputs: RunInputs, baseline: BaselineResult, efs: EmissionFactorsResult, *,
                   scheduler: str | None = None) -> CounterfactualStepResult | None:
    """Pixel-matching counterfactual from the last map date before the crediting start, and the
    over-crediting ratio of the baseline over the mapped crediting years (West et al. 2023)."""
    if not (cfg.counterfactual.enabled and inputs.periods.monitoring):
        return None
    from reddplus.counterfactual.tool import run_counterfactual

    c0 = cfg.project.crediting_start
    before = [d for d in inputs.dates if d < c0]
    if not before:
        raise ConfigError("no forest-change date before the crediting start for the counterfactual",
                          key="project.crediting_start")
    cf = run_counterfactual(inputs.forest_change, cfg.areas.project, start_year=before[-1],
                            repeats=cfg.counterfactual.repeats, seed=cfg.project.seed,
                            emission_factor_tco2e_per_ha=efs.baseline.mean, jurisdiction_path=cfg.areas.jurisdiction,
                            protected_path=cfg.areas.protected_areas, leakage_belt_path=cfg.areas.leakage_belt,
                            buffer_m=cfg.counterfactual.buffer_km * 1000.0,
                            density_per_ha=cfg.counterfactual.sample_density_per_ha, scheduler=scheduler)
    years = [y for y in inputs.periods.crediting_years if y <= inputs.dates[-1]]
    oc = cf.overcrediting(years, [baseline.project_ha_per_year[y] for y in years])
    return CounterfactualStepResult(cf, oc)


def issuance(cfg: ProjectConfig, credits_: CreditsResult, manifest_sha256: str, root: Path):
    """Issue the ex-post vintages into the run's registry (``root/registry.sqlite``) as serial blocks."""
    if credits_.ex_post is None or not any(r.issuance > 0 for r in credits_.ex_post.rows):
        return None
    from reddplus.registry.issuance import issue_vintages

    res = issue_vintages(root / "registry.sqlite", project_name=cfg.project.name, country=cfg.project.country,
                         project_id=cfg.project.id, monitoring_periods=cfg.periods.monitoring,
                         rows=credits_.ex_post.rows, buffer_percent=credits_.ex_post.buffer_percent,
                         manifest_sha256=manifest_sha256)
    return replace(res, database=Path("registry.sqlite"))
