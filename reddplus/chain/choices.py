"""The choices a crediting run made and the defaults it assumed, stated in words.

Every choice that changes the credits is read from the config, never inferred from which files
happen to be present; where the config leaves a key out, the run says which default it used and
what it means. Diagnostics beyond their tolerance are flagged. The report, ``summary.json`` and
the console show this list.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from reddplus.counterfactual.tool import SMD_TOLERANCE
from reddplus.project import ProjectConfig


@dataclass(frozen=True)
class Choice:
    """One choice: the config key, the value used, whether the config set it, what it means, and a flag
    when it needs a reader's attention (a diagnostic beyond its tolerance, an override, an assumption)."""

    key: str
    value: str
    set_in_config: bool
    meaning: str
    flag: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def _is_set(model, name: str) -> bool:
    return name in model.model_fields_set


def stock_choices(cfg: ProjectConfig, efs) -> list[Choice]:
    """Where the stocks come from, the pools and the post-deforestation stock."""
    st = cfg.stocks
    meaning = {"inventory": "tree plots scaled to each stratum (Chave et al. 2014 eq. 4, Monte Carlo)",
               "strata": "the per-stratum stock table (mean and standard error of the mean)"}[st.stock_source]
    if st.stock_source == "inventory" and st.strata:
        meaning += "; the agb_tco2e_per_ha values of stocks.strata are not used (they only name the codes)"
    out = [Choice("stocks.source", st.stock_source, _is_set(st, "source"), meaning)]
    pools = efs.pools
    included = ", ".join(pools.included_pools)
    out.append(Choice("stocks.pools", included, _is_set(st, "pools"),
                      f"carbon pools in the emission factor: {included}; the others are excluded (see the carbon "
                      "stocks section for each pool's rule and reason)"))
    if "bgb" in pools.included_pools and (st.stock_source == "inventory"
                                          or any(s.bgb_tco2e_per_ha is None for s in st.strata)):
        out.append(Choice("stocks.root_shoot_ratio", f"{st.root_shoot_ratio:g}", _is_set(st, "root_shoot_ratio"),
                          "below-ground biomass added as root:shoot ratio x AGB (IPCC 2006 vol. 4 table 4.4)"))
    post = efs.post_deforestation
    given = st.post_deforestation is not None or st.post_deforestation_tco2e_per_ha is not None
    out.append(Choice("stocks.post_deforestation", f"{post.tco2e_per_ha:.2f} t CO2e/ha", given,
                      "stock of the land uses replacing the forest: " + post.formula
                      + ("" if given else "; not configured: the IPCC default for annual cropland is assumed"),
                      flag=not given or bool(post.unverified_constants)))
    return out


def baseline_choices(results) -> list[Choice]:
    """Who made the baseline, which model it uses and why, the validity periods and the history check."""
    cfg, b = results.config, results.baseline
    cb = cfg.baseline
    out = [Choice("baseline.source", b.source, _is_set(cb, "source"),
                  "this run made the VT0007 baseline (jurisdiction / data provider role)" if b.source == "vt0007" else
                  "the project proponent's run on the delivered allocation")]
    if b.source == "vt0007":
        out.append(Choice("baseline.vt0007_profile", cb.vt0007_profile, _is_set(cb, "vt0007_profile"),
                          "rules of the VT0007 benchmark (README: the two profiles)"))
        out.append(Choice("baseline.rate_method", cb.rate_method, _is_set(cb, "rate_method"),
                          f"jurisdictional expected deforestation (VT0007 section 3), from {b.fits[0].rate.source}"))
        out.append(Choice("baseline.risk_model", cb.risk_model, _is_set(cb, "risk_model"),
                          b.reason))
    else:
        projected = [y for f in b.fits for y in f.projected_years]
        out.append(Choice("baseline.allocated_risk_map", str(cb.allocated_risk_map), True,
                          f"the delivered allocation for {b.fits[0].allocated.years[0]}-{b.fits[0].allocated.years[-1]}"
                          + (f"; {projected[0]}-{projected[-1]} carry its last year forward (ex-ante projection "
                             "until the next validity period's allocation)" if projected else ""),
                          flag=bool(projected)))
    legacy = [k for k in ("roads", "rivers", "settlements", "planned_roads") if getattr(cb, k)]
    if legacy:
        out.append(Choice("baseline." + ", baseline.".join(legacy), "set, not used", True,
                          "the benchmark does not read these layers; an alternative model names its drivers and "
                          "planned roads in [baseline.alternatives.NAME]", flag=True))
    provisional = [p for p in b.validity.periods if p.provisional]
    out.append(Choice("periods.validity", ", ".join(f"{p.start}-{p.end}" for p in b.validity.periods),
                      _is_set(cfg.periods, "validity"),
                      f"validity periods; {len(provisional)} provisional, an ex-ante projection on the latest "
                      "fitted map (" + "; ".join(f"{p.start}-{p.end}: {p.reason}" for p in provisional) + ")"
                      if provisional else "validity periods, all fitted",
                      flag=bool(provisional)))
    h0, h1 = cfg.periods.historical_reference
    history = [results.activity.project_ha_per_year.get(y, 0.0) for y in range(h0 + 1, h1 + 1)]
    own = float(np.mean(history)) if history else 0.0
    base = float(np.mean([b.project_ha_per_year[y] for y in b.fits[0].years]))
    ratio = base / own if own > 0 else float("inf")
    limit = cb.history_ratio_flag
    out.append(Choice("baseline.history_ratio_flag", f"{ratio:.2f}x", _is_set(cb, "history_ratio_flag"),
                      f"the baseline gives the project {base:,.1f} ha/yr against its own {own:,.1f} ha/yr in the HRP; "
                      + (f"above {limit:g}x: check the allocation" if ratio > limit else f"within {limit:g}x"),
                      flag=ratio > limit))
    return out


def unbalanced_covariates(cf) -> list[tuple[str, float, float]]:
    """``(covariate, SMD before, SMD after)`` of each covariate whose mean |SMD| after matching exceeds the
    tolerance (Stuart 2010 section 4); empty without a counterfactual."""
    if cf is None:
        return []
    names = set(cf.result.diagnostics.get("unbalanced_covariates", ()))
    return [(r.covariate, float(r.smd_before), float(r.smd_after)) for r in cf.result.balance.itertuples()
            if r.covariate in names]


def run_choices(results) -> tuple[Choice, ...]:
    """Every choice of a run (config key, value, set or defaulted, meaning, flag), in the order of the chain."""
    cfg = results.config
    fc, d, per = cfg.forest_change, cfg.deductions, cfg.periods
    dates = results.dates
    out = stock_choices(cfg, results.emission_factors)
    out.append(Choice("forest_change.dates", f"{dates[0]}–{dates[-1]} ({len(dates)} dates)", fc.dates is not None,
                      "map dates of the forest-change input" + ("" if fc.dates is not None else
                                                                f"; the {fc.format} format's default dates assumed"),
                      flag=fc.dates is None))
    out.append(Choice("activity_data.reference_sample", "given" if results.reference else "none",
                      results.reference is not None,
                      "activity data from the reference sample's stratified estimates (with their sampling error)"
                      if results.reference else "map pixel counts: their sampling error is not estimated"))
    out.append(Choice("areas.leakage_belt", "given" if cfg.areas.leakage_belt else "none",
                      cfg.areas.leakage_belt is not None,
                      "activity-shifting leakage monitored in the belt" if cfg.areas.leakage_belt else
                      "no leakage belt: activity-shifting leakage is not monitored and counts as 0",
                      flag=cfg.areas.leakage_belt is None))
    out += baseline_choices(results)
    cf = results.counterfactual
    cf_meaning = ("pixel-matching counterfactual and over-crediting ratio" if cf is not None else
                  "skipped: counterfactual.enabled = false" if not cfg.counterfactual.enabled else
                  "skipped: an ex-ante run (no periods.monitoring) has no monitored deforestation to compare")
    over = cf is not None and cf.overcrediting.ratio.low > 1.0
    if over:
        o = cf.overcrediting
        cf_meaning += (f"; the baseline exceeds the matched controls (ratio {o.ratio.estimate:.2f}, interval "
                       f"{o.ratio.low:.2f}-{o.ratio.high:.2f}): it may overstate deforestation")
    unbalanced = unbalanced_covariates(cf)
    if unbalanced:
        cf_meaning += (f"; covariate balance after matching is beyond |SMD| {SMD_TOLERANCE:g} ("
                       + ", ".join(f"{c} {b:+.2f} before, {a:+.2f} after" for c, b, a in unbalanced)
                       + "): the matched controls differ from the project there, so the ratio is less reliable")
    out.append(Choice("counterfactual.enabled", "ran" if cf is not None else "skipped",
                      _is_set(cfg.counterfactual, "enabled"), cf_meaning, flag=over or cf is None or bool(unbalanced)))
    for name in ("beyond_belt", "market"):
        m = getattr(d.leakage, name)
        out.append(Choice(f"deductions.leakage.{name}", m.method, True,
                          m.reason or f"{name.replace('_', ' ')} leakage by the method {m.method}"))
    nprt = results.credits.nprt
    meaning = f"AFOLU Non-Permanence Risk Tool v{nprt.tool_version}: buffer {nprt.buffer_percent:g} %"
    if nprt.unverified:
        meaning += (f"; {len(nprt.unverified)} tool constants used are not confirmed from the tool text (listed in "
                    "the non-permanence section)")
    if nprt.version_override:
        meaning += "; USED BY OVERRIDE outside the tool version's allowed scope (deductions.nprt_override)"
    out.append(Choice("deductions.nprt_version", nprt.tool_version, _is_set(d, "nprt_version"), meaning,
                      flag=nprt.version_override or bool(nprt.unverified)))
    u = results.credits.uncertainty
    out.append(Choice("deductions.uncertainty_rule", d.uncertainty_rule, _is_set(d, "uncertainty_rule"),
                      f"threshold {u.allowable_halfwidth_percent:g} % of the mean at {u.confidence:.0%} confidence; "
                      "the VM0048 / VMD0055 v1.1 uncertainty text could not be read: the VCS rule is assumed",
                      flag=True))
    rate = results.credits.ex_ante_project_ha_per_year
    if cfg.ex_ante.project_deforestation_ha_per_year is not None:
        out.append(Choice("ex_ante.project_deforestation_ha_per_year", f"{rate:,.1f} ha/yr", True,
                          "the proponent's ex-ante projection of the project's deforestation (capped at the baseline); "
                          "the ex-post credits use the monitored deforestation"))
    else:
        out.append(Choice("ex_ante.project_deforestation_ha_per_year", f"{rate:,.1f} ha/yr", False,
                          "not set: the ex-ante projection assumes no project effect, the project keeps clearing at "
                          "its own HRP rate (capped at the baseline), so the ex-ante credits are only the baseline's "
                          "excess over that rate; the ex-post credits use the monitored deforestation", flag=True))
    if not per.monitoring:
        out.append(Choice("periods.monitoring", "none", False, "ex-ante run: no vintage is credited or issued"))
    return tuple(out)
