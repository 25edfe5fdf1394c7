"""Deductions and net credits: the non-permanence buffer, leakage, the uncertainty deduction, reversals.

AFOLU Non-Permanence Risk Tool v4.2 (buffer); VMD0055 v1.1 section 5.3 (leakage in the belt, beyond
it, market leakage; emissions); VM0048 v1.0 and the VCS rule (uncertainty, per monitoring period);
VCS Standard v4.5 section 3.2.26 (a negative net reduction is a reversal compensated from the buffer).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from reddplus import accounting as acc
from reddplus.chain.inputs import RunPeriods
from reddplus.chain.results import (ActivityStepResult, BaselineResult, CounterfactualStepResult, CreditsResult,
                                    EmissionFactorsResult, ReferenceActivityResult)
from reddplus.chain.steps.activity import monitored_from_sample
from reddplus.errors import ConfigError
from reddplus.project import ProjectConfig


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


# --------------------------------------------------------------------------------------------- monitoring
@dataclass(frozen=True)
class Monitored:
    """Monitored deforestation of one monitoring period [ha/yr per year] and its activity data for the
    uncertainty (a reference-sample estimate with its standard error, or map counts without one)."""

    years: tuple[int, ...]
    project: dict[int, float]
    project_by_stratum: dict[int, dict[int, float]] | None
    belt: dict[int, float]
    project_ad: object              # reddplus.accounting.ActivityData (period total)
    belt_ad: object | None


def _scaled(series: dict[int, float], years, total: float) -> tuple[dict[int, float], float]:
    """The annual map series over ``years`` scaled to a period total (the sample's estimate) and the factor."""
    m = float(sum(series.get(y, 0.0) for y in years))
    f = total / m if m > 0 else 0.0
    return ({y: series.get(y, 0.0) * f for y in years} if m > 0 else {y: total / len(years) for y in years}), f


def monitored(period: tuple[int, int], activity: ActivityStepResult,
              reference: ReferenceActivityResult | None) -> Monitored:
    """The project's and the belt's monitored deforestation in a monitoring period (first, last vintage).

    With a reference sample covering the period, its stratified estimate is the activity data (map
    counts beside it; the map's year-to-year shape and strata scaled to the estimate), with its
    sampling error; otherwise the map counts, which carry none (Olofsson et al. 2014, section 1).
    """
    a, b = period
    years = tuple(range(a, b + 1))
    proj_map = {y: activity.project_ha_per_year.get(y, 0.0) for y in years}
    belt_map = {y: activity.leakage_belt_ha_per_year.get(y, 0.0) for y in years}
    by_stratum = activity.project_by_stratum_ha_per_year
    strata = {y: dict(by_stratum[y]) for y in years if y in by_stratum} if by_stratum is not None else None
    d_p = monitored_from_sample(reference, period, "project")
    if d_p is None:
        belt_ad = acc.activity_from_map_counts(sum(belt_map.values())) if activity.leakage_belt_ha_per_year else None
        return Monitored(years, proj_map, strata, belt_map, acc.activity_from_map_counts(sum(proj_map.values())),
                         belt_ad)
    note = f"reference sample {a - 1}-{b}: {d_p.n_samples} samples; map count {d_p.map_ha:,.1f} ha"
    proj, f = _scaled(proj_map, years, float(d_p.estimate_ha))
    if strata is not None:
        strata = {y: {h: v * f for h, v in strata[y].items()} for y in strata}
    project_ad = acc.ActivityData(float(d_p.estimate_ha), float(d_p.se_ha), "reference_sample", note)
    belt, belt_ad = belt_map, None
    d_b = monitored_from_sample(reference, period, "leakage_belt")
    if d_b is not None:
        belt, _ = _scaled(belt_map, years, float(d_b.estimate_ha))
        belt_ad = acc.ActivityData(float(d_b.estimate_ha), float(d_b.se_ha), "reference_sample",
                                   f"reference sample {a - 1}-{b}: map count {d_b.map_ha:,.1f} ha")
    elif activity.leakage_belt_ha_per_year:
        belt_ad = acc.activity_from_map_counts(sum(belt_map.values()))
    return Monitored(years, proj, strata, belt, project_ad, belt_ad)


# --------------------------------------------------------------------------------------------- leakage
def leakage(cfg: ProjectConfig, years: tuple[int, ...], gross: np.ndarray, avoided_ha: np.ndarray,
            belt_monitored: np.ndarray | None, belt_baseline: np.ndarray | None, ef: float,
            counterfactual: CounterfactualStepResult | None = None) -> acc.LeakageResult:
    """Leakage per vintage [t CO2e]: in the belt (monitored above its allocated baseline), beyond it, and
    through markets, each by the configured method (VMD0055 v1.1 section 5.3); the counterfactual's belt
    estimate is set beside the belt's as a check, never deducted."""
    lk = cfg.deductions.leakage
    comps = []
    if belt_monitored is not None:
        comps.append(acc.belt_activity_shifting_leakage(belt_monitored, belt_baseline, ef,
                                                        floor_at_zero=lk.belt_floor_at_zero))
    comps.append(acc.beyond_belt_leakage(gross, method=lk.beyond_belt.method, share=lk.beyond_belt.share,
                                         reason=lk.beyond_belt.reason))
    m = lk.market
    harvest = None if m.timber_tco2e_per_ha is None else m.timber_tco2e_per_ha * np.maximum(0.0, avoided_ha)
    comps.append(acc.market_leakage(method=m.method, gross_reductions_tco2e=gross, percent=m.percent,
                                    baseline_harvest_tco2e=harvest, factor=m.factor, reason=m.reason))
    check = {}
    if counterfactual is not None and belt_monitored is not None:
        est = counterfactual.result.leakage_deforestation_ha
        check = dict(counterfactual_belt_excess_ha=float(est.estimate), belt_monitored_ha=float(belt_monitored.sum()),
                     belt_baseline_ha=float(belt_baseline.sum()))
    return acc.total_leakage(comps, **check)


def _per_year(component, years) -> dict[int, float]:
    t = np.broadcast_to(np.asarray(component.tco2e, dtype=float), (len(years),))
    return dict(zip(years, t.tolist()))


# --------------------------------------------------------------------------------------------- credits
def ex_ante_project_rate(cfg: ProjectConfig, periods: RunPeriods, activity: ActivityStepResult) -> float:
    """The project's ex-ante deforestation [ha/yr] before the cap at the baseline:
    ``ex_ante.project_deforestation_ha_per_year`` when set, otherwise the project's own mean loss over the
    HRP (no project effect; the choices flag it)."""
    given = cfg.ex_ante.project_deforestation_ha_per_year
    if given is not None:
        return float(given)
    return float(np.mean([activity.project_ha_per_year[y] for y in periods.hrp_years]))


def credits(cfg: ProjectConfig, periods: RunPeriods, activity: ActivityStepResult,
            reference: ReferenceActivityResult | None, baseline: BaselineResult, efs: EmissionFactorsResult, nprt,
            counterfactual: CounterfactualStepResult | None = None) -> CreditsResult:
    """Net credits per vintage, ex-ante over the crediting period and ex-post per monitoring period.

    Ex-ante, the project's deforestation is :func:`ex_ante_project_rate` capped at the baseline and the
    belt follows its baseline; ex-post, each monitoring period uses the monitored deforestation, its leakage and its own
    uncertainty deduction (VM0048 v1.0; the rule named in ``deductions.uncertainty_rule``).
    """
    years = periods.crediting_years
    ef = efs.baseline.mean
    base = baseline.project_ha_per_year
    proj_rate = ex_ante_project_rate(cfg, periods, activity)
    be = {y: base[y] * ef for y in years}
    rel = baseline.fits[0].rate.relative_standard_error if baseline.fits[0].rate else None
    be_sd = {y: base[y] * ef * np.hypot(rel or 0.0, efs.baseline.sd / ef if ef else 0.0) for y in years}
    ante_proj = {y: min(proj_rate, base[y]) for y in years}
    ex_ante_unc = _uncertainty(cfg, base, ante_proj, years, efs, rel, None, None, None, seed=cfg.project.seed)
    start, end = dt.date(years[0], 1, 1), dt.date(years[-1], 12, 31)
    rules = dict(buffer_percent=nprt.buffer_percent, market_leakage_percent=0.0, crediting_start=start,
                 uncertainty_rule=cfg.deductions.uncertainty_rule)
    gross = np.array([be[y] - ante_proj[y] * ef for y in years])
    avoided = np.array([base[y] - ante_proj[y] for y in years])
    lk_ante = leakage(cfg, years, gross, avoided, None, None, ef)
    ex_ante = acc.net_credits([acc.VintageInput(y, be[y], ante_proj[y] * ef, 0.0, **_other_leakage(lk_ante, years, y))
                               for y in years], uncertainty_deduction_percent=ex_ante_unc.deduction_percent,
                              crediting_end=end, **rules)
    ex_post, by_period, lk_post = None, (), ()
    if periods.monitoring:
        ex_post, by_period, lk_post = _ex_post(cfg, periods, activity, reference, baseline, efs, be, rel, rules,
                                               counterfactual, end)
    return CreditsResult(nprt, ex_ante_unc, ex_ante, ex_post, be, be_sd, dict(zip(years, gross.tolist())),
                         by_period, lk_ante, lk_post, ex_ante_project_ha_per_year=proj_rate)


def _other_leakage(lk: acc.LeakageResult, years, y) -> dict:
    comps = {c.name: _per_year(c, years) for c in lk.components}
    return {"leakage_beyond_belt_tco2e": comps["beyond_belt"][y], "market_leakage_tco2e": comps["market"][y]}


def _ex_post(cfg, periods, activity, reference, baseline, efs, be, rel, rules, counterfactual, end):
    """Ex-post vintages of every monitoring period: monitored emissions, leakage, the period's deduction."""
    ef = efs.baseline.mean
    vintages, by_period, lk_all = [], [], []
    for k, (a, b) in enumerate(periods.monitoring):
        mon = monitored((a, b), activity, reference)
        for y in mon.years:
            if y not in be:
                raise ConfigError(f"monitoring year {y} outside the crediting period", key="periods.monitoring")
        ys = mon.years
        base = baseline.project_ha_per_year
        proj_e = {y: (float(sum(mon.project_by_stratum[y][h] * efs.by_stratum[h].mean for h in efs.by_stratum))
                      if mon.project_by_stratum is not None and y in mon.project_by_stratum
                      else mon.project[y] * ef) for y in ys}
        gross = np.array([be[y] - proj_e[y] for y in ys])
        avoided = np.array([base[y] - mon.project[y] for y in ys])
        has_belt = bool(activity.leakage_belt_ha_per_year)
        belt_m = np.array([mon.belt[y] for y in ys]) if has_belt else None
        belt_b = np.array([baseline.leakage_belt_ha_per_year.get(y, 0.0) for y in ys]) if has_belt else None
        lk = leakage(cfg, ys, gross, avoided, belt_m, belt_b, ef, counterfactual)
        unc = _uncertainty(cfg, base, mon.project, ys, efs, rel, mon.project_ad,
                           mon.belt_ad, {y: baseline.leakage_belt_ha_per_year.get(y, 0.0) for y in ys},
                           seed=cfg.project.seed + 1 + k, belt=mon.belt if has_belt else None)
        comps = {c.name: _per_year(c, ys) for c in lk.components}
        events = _loss_events(cfg, ef)
        for y in ys:
            vintages.append(acc.VintageInput(y, be[y], proj_e[y], comps.get("activity_shifting_belt", {}).get(y, 0.0),
                                             leakage_beyond_belt_tco2e=comps["beyond_belt"][y],
                                             market_leakage_tco2e=comps["market"][y],
                                             uncertainty_deduction_percent=unc.deduction_percent,
                                             loss_events=tuple(e for e in events if e.year == y)))
        by_period.append(unc)
        lk_all.append(lk)
    mon_end = max(b for _, b in periods.monitoring)
    table = acc.net_credits(vintages, uncertainty_deduction_percent=by_period[0].deduction_percent,
                            crediting_end=min(end, dt.date(mon_end, 12, 31)),
                            monitoring_periods=[(dt.date(a, 1, 1), dt.date(b, 12, 31)) for a, b in periods.monitoring],
                            **rules)
    return table, tuple(by_period), tuple(lk_all)


def _loss_events(cfg: ProjectConfig, ef: float) -> list:
    """The configured loss events; an event without its emissions emits its area x the baseline EF."""
    return [acc.LossEvent(e.event, e.year, e.area_ha, e.emissions_tco2e if e.emissions_tco2e is not None
                          else e.area_ha * ef, e.date, e.description) for e in cfg.loss_events]


def _uncertainty(cfg, base, project, years, efs, rel, project_ad, belt_ad, belt_base, *, seed: int, belt=None):
    """One period's uncertainty of the credited reductions (:func:`reddplus.accounting.period_uncertainty`).

    Baseline activity data: the allocated deforestation, with the relative sampling error of the
    jurisdiction's HRP estimate when a reference sample gave it (the project's share of it keeps the
    relative error), else none (map counts). Emission factor: the stock estimate's standard error.
    """
    u = cfg.deductions.uncertainty
    b_ha = float(sum(base[y] for y in years))
    base_ad = acc.ActivityData(b_ha, rel * b_ha, "allocated", "allocated share of the jurisdiction's sample-based "
                               "activity data") if rel is not None else acc.activity_from_map_counts(
        b_ha, note="allocated share of the jurisdiction's map counts")
    proj_ad = project_ad or acc.activity_from_map_counts(float(sum(project[y] for y in years)),
                                                         note="ex-ante projection of the project's HRP rate")
    belt_kw = {}
    if belt_ad is not None and belt is not None:
        belt_kw = {"belt_monitored": belt_ad,
                   "belt_baseline": acc.ActivityData(float(sum(belt_base.values())), None, "allocated")}
    ef = acc.ef_from_se(efs.baseline.mean, efs.baseline.sd, note="stock estimate's standard error, strata weighted "
                        "by the baseline's allocation")
    return acc.period_uncertainty(baseline=base_ad, project=proj_ad, emission_factor=ef,
                                  allocation_relative_se=u.allocation_relative_se, rule=cfg.deductions.uncertainty_rule,
                                  allowable_halfwidth_percent=u.allowable_halfwidth_percent, confidence=u.confidence,
                                  draws=u.draws, seed=seed, period=(years[0], years[-1]), **belt_kw)
