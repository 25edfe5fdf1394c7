"""The choices a crediting run made and the defaults it assumed, stated in words.

Every choice that changes the credits is read from the config, never inferred from which files
happen to be present; where the config leaves a key out, the run says which default it used and
what it means. The report, ``summary.json`` and the console show this list.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from reddplus.project import ProjectConfig


@dataclass(frozen=True)
class Choice:
    """One choice: the config key, the value used, whether the config set it, and what it means."""

    key: str
    value: str
    set_in_config: bool
    meaning: str

    def to_dict(self) -> dict:
        return asdict(self)


def _is_set(model, name: str) -> bool:
    return name in model.model_fields_set


def stock_choices(cfg: ProjectConfig) -> list[Choice]:
    """Where the stocks come from, the below-ground and post-deforestation stocks."""
    st = cfg.stocks
    out = []
    meaning = {"inventory": "tree plots scaled to each stratum (Chave et al. 2014 eq. 4, Monte Carlo)",
               "strata": "the per-stratum stock table (mean and standard error of the mean)"}[st.stock_source]
    if st.stock_source == "inventory" and st.strata:
        meaning += "; the agb_tco2e_per_ha values of stocks.strata are not used (they only name the codes)"
    out.append(Choice("stocks.source", st.stock_source, _is_set(st, "source"), meaning))
    bgb_added = st.stock_source == "inventory" or any(s.bgb_tco2e_per_ha is None for s in st.strata)
    if bgb_added:
        out.append(Choice("stocks.root_shoot_ratio", f"{st.root_shoot_ratio:g}", _is_set(st, "root_shoot_ratio"),
                          "below-ground biomass added as root:shoot ratio x AGB (IPCC 2006 vol. 4 table 4.4)"))
    out.append(Choice("stocks.post_deforestation_tco2e_per_ha", f"{st.post_deforestation_tco2e_per_ha:g}",
                      _is_set(st, "post_deforestation_tco2e_per_ha"),
                      "carbon stock of the land use replacing the forest [t CO2e/ha]"
                      + ("; 0: the whole forest stock counts as emitted" if st.post_deforestation_tco2e_per_ha == 0
                         else "")))
    return out


def run_choices(cfg: ProjectConfig, dates: tuple[int, ...], *, baseline_source: str, baseline_reason: str,
                assessment_ran: bool, assessment_reason: str, counterfactual_ran: bool, nprt=None) -> tuple[Choice, ...]:
    """Every choice of the run (config key, value, set or defaulted, meaning), in the order of the chain."""
    fc, b, d, per = cfg.forest_change, cfg.baseline, cfg.deductions, cfg.periods
    out = stock_choices(cfg)
    out.append(Choice("forest_change.dates", f"{dates[0]}–{dates[-1]} ({len(dates)} dates)", fc.dates is not None,
                      "map dates of the forest-change input" + ("" if fc.dates is not None else
                                                                f"; the {fc.format} format's default dates")))
    out.append(Choice("areas.leakage_belt", "given" if cfg.areas.leakage_belt else "none",
                      cfg.areas.leakage_belt is not None,
                      "activity-shifting leakage monitored in the belt" if cfg.areas.leakage_belt else
                      "no leakage belt: activity-shifting leakage is not monitored and counts as 0"))
    out.append(Choice("baseline.rate_method", b.rate_method, _is_set(b, "rate_method"),
                      "jurisdictional expected deforestation (VT0007 section 3)"))
    out.append(Choice("baseline", baseline_source, True, baseline_reason))
    out.append(Choice("model assessment", "ran" if assessment_ran else "not run", assessment_ran, assessment_reason))
    cf_meaning = ("pixel-matching counterfactual and over-crediting ratio" if counterfactual_ran else
                  "skipped: counterfactual.enabled = false" if not cfg.counterfactual.enabled else
                  "skipped: an ex-ante run (no periods.monitoring) has no monitored deforestation to compare")
    out.append(Choice("counterfactual.enabled", "ran" if counterfactual_ran else "skipped",
                      _is_set(cfg.counterfactual, "enabled"), cf_meaning))
    out.append(Choice("deductions.market_leakage_percent", f"{d.market_leakage_percent:g}",
                      _is_set(d, "market_leakage_percent"), "market leakage as a share of the emission reductions [%]"))
    if nprt is not None:
        meaning = f"AFOLU Non-Permanence Risk Tool v{nprt.tool_version}: buffer {nprt.buffer_percent:g} %"
        if nprt.unverified:
            meaning += f"; {len(nprt.unverified)} tool constants used are not confirmed from the tool text (listed " \
                       "in the non-permanence section)"
        if nprt.version_override:
            meaning += "; USED BY OVERRIDE outside the tool version's allowed scope (deductions.nprt_override)"
        out.append(Choice("deductions.nprt_version", nprt.tool_version, _is_set(d, "nprt_version"), meaning))
    out.append(Choice("deductions.uncertainty.allowable_halfwidth_percent",
                      f"{d.uncertainty.allowable_halfwidth_percent:g}",
                      _is_set(d.uncertainty, "allowable_halfwidth_percent"),
                      "uncertainty deducted beyond this 90 % CI half-width [% of the mean]"))
    if not per.monitoring:
        out.append(Choice("periods.monitoring", "none", False, "ex-ante run: no vintage is credited or issued"))
    return tuple(out)
