"""Activity data: deforestation per zone and year from the map, and from a reference sample when given.

IPCC 2006 vol. 4 section 3.3.1 (areas of land-use change); Olofsson et al. 2014 (stratified
estimators, their standard errors); Stehman 2014 (strata that are not the map classes).
"""

from __future__ import annotations


from reddplus.chain.inputs import RunInputs
from reddplus.chain.results import ActivityStepResult, ReferenceActivityResult
from reddplus.errors import ConfigError
from reddplus.project import ProjectConfig


def activity(cfg: ProjectConfig, inputs: RunInputs, stratum_codes: tuple[int, ...], *,
             scheduler: str | None = None) -> ActivityStepResult:
    """Map counts: deforestation per year [ha/yr] in the jurisdiction (streamed, per admin unit), the project
    and its belt, and per carbon stratum in the project (``stratum_codes``, with a stratum raster).

    A period's loss is spread evenly over its years. Map counts carry no sampling error.
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


def reference_activity(cfg: ProjectConfig, inputs: RunInputs, *,
                       scheduler: str | None = None) -> ReferenceActivityResult | None:
    """Activity data from the reference sample (``[activity_data] reference_sample``), or None without one.

    The sample must cover the HRP (``periods.historical_reference``); each monitoring period it covers
    gives the project's and the belt's monitored deforestation with its sampling error.
    """
    ad = cfg.activity_data
    if ad.reference_sample is None:
        return None
    from reddplus.accuracy.reference import reference_sample_activity

    ref = reference_sample_activity(ad.reference_sample, inputs.forest_change, jurisdiction=cfg.areas.jurisdiction,
                                    project=cfg.areas.project, leakage_belt=cfg.areas.leakage_belt,
                                    confidence=ad.confidence,
                                    finite_population_correction=ad.finite_population_correction,
                                    scheduler=scheduler)
    h0, h1 = inputs.periods.historical_reference
    covered = {(p.start, p.end) for p in ref.periods}
    if (h0, h1) not in covered:
        raise ConfigError(f"the reference sample has no period {h0}-{h1} (the HRP); its periods: {sorted(covered)}",
                          key="activity_data.reference_sample")
    return ReferenceActivityResult(ref)


def monitored_from_sample(reference: ReferenceActivityResult | None, period: tuple[int, int], domain: str):
    """The sample's estimate of a domain's deforestation over a monitoring period (first, last vintage), or None
    when the sample does not cover it. Monitoring vintages ``a..b`` are the map period ``(a - 1, b]``."""
    if reference is None:
        return None
    a, b = period
    for p in reference.sample.periods:
        if (p.start, p.end) == (a - 1, b):
            return p.domains.get(domain)
    return None


