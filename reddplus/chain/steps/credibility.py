"""Credibility checks and co-benefits: the pixel-matching counterfactual and the CCB v3.1 monitoring.

West et al. 2023 (over-crediting ratio: the baseline against matched controls); CCB v3.1 (criteria
G1-G5, CL1-CL4, CM1-CM4, B1-B4, Gold Levels GL1-GL3).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from reddplus.chain.inputs import RunInputs
from reddplus.chain.results import BaselineResult, CcbStepResult, CounterfactualStepResult, EmissionFactorsResult
from reddplus.errors import ConfigError
from reddplus.project import ProjectConfig


def counterfactual(cfg: ProjectConfig, inputs: RunInputs, baseline: BaselineResult, efs: EmissionFactorsResult, *,
                   scheduler: str | None = None) -> CounterfactualStepResult | None:
    """Pixel-matching counterfactual from the last map date before the crediting start, and the
    over-crediting ratio of the baseline over the mapped crediting years (West et al. 2023).

    None when ``counterfactual.enabled`` is false or the run is ex-ante (no monitoring period).
    """
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


def ccb(cfg: ProjectConfig, inputs: RunInputs, baseline: BaselineResult,
        counterfactual: CounterfactualStepResult | None, root: Path, *,
        scheduler: str | None = None) -> CcbStepResult | None:
    """The CCB v3.1 section (``[ccb]``): the folder validated against the project, the indicators measured on
    the project's maps per monitoring period, their without-project values from the baseline and the
    counterfactual, and the section rendered into the run folder (``ccb.html``, ``figures/ccb_*``)."""
    if cfg.ccb is None:
        return None
    from reddplus.ccb import BaselineInputs, CounterfactualInputs, ccb_step
    from reddplus.ccb.report import render_ccb_section

    fit = baseline.fits[0]
    if fit.allocation is not None:
        density = (fit.scenario.density_paths[fit.years[0]] if fit.scenario is not None
                   else root / fit.risk.density_path)
        ratios = dict(zip(fit.allocation.years, (a.ratio for a in fit.allocation.adjustments)))
    else:
        density, ratios = Path(cfg.baseline.allocated_risk_map), dict.fromkeys(fit.years, 1.0)
    base = BaselineInputs(source=baseline.label, density_path=density, adjustment_ratio_by_year=ratios,
                          zone_ha_per_year={"project_area": baseline.project_ha_per_year})
    cf_in = CounterfactualInputs.from_result(counterfactual.result) if counterfactual is not None else None
    res = ccb_step(cfg, baseline=base, counterfactual=cf_in, forest_change=inputs.forest_change, scheduler=scheduler)
    # paths inside the run folder are relative to it (the built-in sample's CCB folder lies there too)
    if res.baseline and res.baseline.get("density_path") and Path(res.baseline["density_path"]).is_relative_to(root):
        res = replace(res, baseline=res.baseline | {
            "density_path": str(Path(res.baseline["density_path"]).relative_to(root))})
    if Path(res.validation.folder).is_relative_to(root):
        res = replace(res, validation=replace(res.validation, folder=Path(res.validation.folder).relative_to(root)))
    section = render_ccb_section(res, root)
    return CcbStepResult(res, Path(section.html).relative_to(root) if Path(section.html).is_absolute()
                         else Path(section.html), section.fragment)
