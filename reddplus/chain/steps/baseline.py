"""The baseline: validity periods, the jurisdictional rate, the VT0007 risk map, the tested model choice and
the allocation to the project and its leakage belt; or the allocation Verra delivered.

Two roles (VM0048 v1.0; VMD0055 v1.1 section 5.2; VT0007 v1.0):

* ``[baseline] source = "vt0007"``: the run makes the baseline as a jurisdiction or data provider
  would: per validity period, the rate on its HRP, the benchmark risk map (VT0007 section 5.3), a
  named alternative only when it beats the benchmark under VT0007's test (section 5.5), the
  allocation (section 5.6), and the allocated map written in the form a project run reads;
* ``source = "allocated"``: the project proponent's run reads the delivered allocated risk map.

A validity period whose HRP the data do not cover is a provisional ex-ante projection: it reuses
the latest fitted period's map and rate, and the report says so.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import replace
from pathlib import Path

from reddplus.chain.inputs import RunInputs, RunPeriods
from reddplus.chain.results import ActivityStepResult, BaselineFit, BaselineResult, RateStepResult, \
    ReferenceActivityResult
from reddplus.errors import ConfigError, ProjectionWarning, SearchDistanceError
from reddplus.project import ProjectConfig
from reddplus.risk.tools import Periods

log = logging.getLogger(__name__)


def validity(cfg: ProjectConfig, periods: RunPeriods):
    """The crediting period's validity periods, each with its HRP (VM0048 v1.0: 6 years, fitted on the 10
    before; :func:`reddplus.baseline.validity.validity_periods`). The first one's HRP is the configured one."""
    from reddplus.baseline.validity import validity_periods

    h0, h1 = periods.historical_reference
    v = cfg.periods.validity
    vps = validity_periods(cfg.project.crediting_start, cfg.project.crediting_years,
                           data_first_year=periods.dates[0] + 1, data_last_year=periods.dates[-1],
                           period_years=v.period_years, hrp_years=v.hrp_years, first_hrp=(h0 + 1, h1))
    # the data span may cover a later period's HRP while its maps do not bound it (sparse map dates):
    # that period cannot be fitted either, so it is provisional too
    out = []
    for vp in vps.periods:
        if not vp.provisional and risk_periods_of(vp, periods) is None:
            vp = replace(vp, provisional=True, reason=(
                f"HRP {vp.hrp[0]}-{vp.hrp[1]} lies within the data, but the forest-change maps (dated "
                f"{', '.join(map(str, periods.dates))}) do not bound its HRP, calibration and confirmation periods: "
                "provisional, the previous period's fit is carried forward"))
        out.append(vp)
    return replace(vps, periods=tuple(out))


def risk_periods_of(vp, periods: RunPeriods) -> Periods | None:
    """VT0007 periods (date indices) of a validity period: the configured ones for the first, shifted by the
    period's offset for later ones; None when the map dates do not bound them."""
    if vp.index == 0:
        return periods.risk
    dates = periods.dates
    off = vp.start - periods.crediting_years[0]
    r = periods.risk

    def shifted(p):
        return None if p is None else tuple(dates.index(dates[k] + off) for k in p)

    try:
        cal, cnf = shifted(r.cal), shifted(r.cnf)
        hrp = (dates.index(vp.hrp[0] - 1), dates.index(vp.hrp[1]))
    except ValueError:
        return None
    return Periods(cal, cnf, hrp, hrp[1])


# --------------------------------------------------------------------------------------------- rate
def jurisdictional_rate(cfg: ProjectConfig, hrp_years: tuple[int, ...], years: tuple[int, ...],
                        activity: ActivityStepResult, reference: ReferenceActivityResult | None = None,
                        sample_period: tuple[int, int] | None = None) -> RateStepResult:
    """Expected jurisdictional deforestation per year [ha/yr] (VMD0055 v1.1 section 5.2; VT0007 section 3).

    From the reference sample's stratified estimate of the HRP when one covers it (with its sampling
    standard error), else from the map's annual counts (no sampling error: reported as not estimated).
    """
    from reddplus.baseline.rate import jurisdictional_rate as rate_of

    b = cfg.baseline
    if reference is not None and sample_period is not None:
        d = reference.sample.period(*sample_period).domains["jurisdiction"]
        if b.rate_method == "linear_trend":
            raise ConfigError("a reference sample gives the HRP's total, not a yearly series: use "
                              "'historical_average' or 'expected'", key="baseline.rate_method")
        rate = rate_of({y: float(d.estimate_ha_per_year) for y in hrp_years}, method=b.rate_method,
                       years=list(years), expected_ha_per_year=b.expected_ha_per_year)
        rel = float(d.se_ha_per_year / d.estimate_ha_per_year) if d.estimate_ha_per_year > 0 else 0.0
        return RateStepResult(rate, rel, "reference_sample",
                              f"stratified estimate of the HRP {sample_period[0]}-{sample_period[1]} "
                              f"({d.n_samples} samples), map count {d.map_ha_per_year:,.1f} ha/yr beside it")
    hrp = {y: activity.jurisdiction_ha_per_year[y] for y in hrp_years}
    rate = rate_of(hrp, method=b.rate_method, years=list(years), expected_ha_per_year=b.expected_ha_per_year)
    return RateStepResult(rate, None, "map_counts", "map pixel counts: no sampling error was estimated")


# --------------------------------------------------------------------------------------------- risk map
def risk_map(cfg: ProjectConfig, inputs: RunInputs, risk_periods: Periods, out_dir: Path, *,
             scheduler: str | None = None, start_m: float = 6000.0):
    """VT0007 v1.0 benchmark risk map (section 5.3) with the configured profile into ``out_dir``.

    When the NRT lies beyond the search distance, the benchmark is run once more with the distance
    the first pass found necessary (section 5.1 step 2: 99.5 % of the HRP deforestation).
    """
    from reddplus.risk.tools import vt0007_benchmark

    b = cfg.baseline
    kw = dict(out_dir=out_dir, periods=risk_periods, admin=cfg.areas.jurisdiction, admin_field=cfg.areas.admin_field,
              overwrite=True, scheduler=scheduler, profile=b.vt0007_profile, max_iterations=b.max_iterations,
              cell_area_ha=b.cell_area_ha)
    try:
        return vt0007_benchmark(inputs.forest_change, max_distance_m=start_m, **kw)
    except SearchDistanceError as err:
        needed = getattr(err, "needed_m", None) or 2 * err.searched_m
        log.info("NRT beyond %.0f m: rerunning with %.0f m", err.searched_m, needed)
        return vt0007_benchmark(inputs.forest_change, max_distance_m=needed, **kw)


def _zones(cfg: ProjectConfig) -> dict:
    zones = {"project": cfg.areas.project}
    if cfg.areas.leakage_belt:
        zones["leakage_belt"] = cfg.areas.leakage_belt
    return zones


def allocate_years(cfg: ProjectConfig, density_path: Path, rate: RateStepResult, years, *,
                   scheduler: str | None = None):
    """Allocate each year's expected jurisdictional deforestation through a density raster to the project and
    leakage belt, per stratum (VT0007 v1.0 section 5.6; adjustment ratio by the profile's rule)."""
    from reddplus.baseline.allocation import allocate

    b = cfg.baseline
    return allocate(density_path, [rate.rate.per_year[y] for y in years], zones=_zones(cfg),
                    jurisdiction=cfg.areas.jurisdiction, years=list(years), scheduler=scheduler,
                    strata=cfg.areas.strata, profile=b.vt0007_profile, max_iterations=b.max_iterations)


# --------------------------------------------------------------------------------------------- fits
def fit_vt0007(cfg: ProjectConfig, inputs: RunInputs, activity: ActivityStepResult,
               reference: ReferenceActivityResult | None, vps: tuple, root: Path, *,
               scheduler: str | None = None, note=lambda s: None) -> BaselineFit:
    """One fit of the VT0007 baseline: the first of ``vps`` is fitted on its HRP, the others reuse it."""
    lead = vps[0]
    risk_periods = risk_periods_of(lead, inputs.periods)
    years = tuple(y for vp in vps for y in vp.years)
    hrp_years = tuple(range(lead.hrp[0], lead.hrp[1] + 1))
    sample_period = (lead.hrp[0] - 1, lead.hrp[1]) if reference is not None and lead.index == 0 else None
    rate = jurisdictional_rate(cfg, hrp_years, years, activity, reference, sample_period)
    sub = "rasters" if lead.index == 0 else f"rasters/vp{lead.index + 1}"
    note(f"baseline: VT0007 risk map ({cfg.baseline.vt0007_profile} profile), validity period "
         f"{lead.start}-{vps[-1].end}")
    risk = risk_map(cfg, inputs, risk_periods, root / sub, scheduler=scheduler)
    bench = allocate_years(cfg, risk.density_path, rate, years, scheduler=scheduler)
    fit = BaselineFit(vps, years, rate, _relative(risk, root), None, None, bench, bench, None, "benchmark",
                      "risk_model = 'benchmark': the VT0007 benchmark risk map")
    alt = cfg.baseline.alternative
    if alt is None:
        return fit
    return _with_alternative(cfg, inputs, fit, risk, alt, root / sub / f"alternative_{alt.name}", scheduler, note)


def _with_alternative(cfg, inputs, fit: BaselineFit, risk, alt, out_dir: Path, scheduler, note) -> BaselineFit:
    """Assess the named alternative against the benchmark on its cells (VT0007 v1.0 section 5.5); when it
    passes, the same model refitted on the HRP gives the validity-period map that is allocated."""
    from reddplus.baseline.scenario import planned_road_scenario
    from reddplus.risk.compare import alternative_risk_model

    periods = risk_periods_of(fit.periods[0], inputs.periods)
    if periods.cnf is None:
        raise ConfigError(f"testing {cfg.baseline.risk_model} against the benchmark needs a confirmation period",
                          key="periods.confirmation")
    note(f"baseline: {cfg.baseline.risk_model} vs the benchmark (VT0007 section 5.5)")
    res = alternative_risk_model(inputs.forest_change, alt, risk, periods, out_dir=out_dir,
                                 seed=alt.seed if alt.seed is not None else cfg.project.seed,
                                 admin=cfg.areas.jurisdiction, admin_field=cfg.areas.admin_field,
                                 scheduler=scheduler, overwrite=True)
    if not res.assessment.accepted:
        return replace(fit, alternative=res, reason=res.assessment.reason)
    b = cfg.baseline
    scen = planned_road_scenario(res.baseline, {y: fit.rate.rate.per_year[y] for y in fit.years},
                                 zones=_zones(cfg), jurisdiction=cfg.areas.jurisdiction, scheduler=scheduler,
                                 strata=cfg.areas.strata, profile=b.vt0007_profile, max_iterations=b.max_iterations)
    return replace(fit, alternative=res, scenario=scen, allocation=scen.allocation, model=alt.choice,
                   reason=res.assessment.reason)


def fit_allocated(cfg: ProjectConfig, inputs: RunInputs, vps: tuple, *, scheduler: str | None = None) -> BaselineFit:
    """The delivered allocation (``source = "allocated"``): the allocated risk map summed over the project and
    belt (VT0007 v1.0 section 5.6; VMD0055 v1.1 section 5.2) for the years it declares.

    A map that declares no years (no ``YEARS`` or band ``YEAR`` tags) is taken as the first validity
    period's allocation. A crediting year after the map's years (a later validity period, whose
    allocation Verra has not yet delivered) carries the map's last year forward as an ex-ante
    projection: the fit's ``projected_years``, a warning and a flagged choice of the run; a monitoring
    report needs the next period's allocation.
    """
    from reddplus.baseline.allocated import allocated_baseline, allocated_years

    b = cfg.baseline
    wanted = tuple(y for vp in vps for y in vp.years)
    declared = allocated_years(b.allocated_risk_map)
    undeclared = declared is None
    if undeclared:          # a VT0007 allocation is one validity period's: a map without years is the first's
        declared = tuple(vps[0].years)
    covered = tuple(y for y in wanted if y in declared)
    if not covered:
        raise ConfigError(f"the allocated risk map is for {list(declared)}, none of the crediting years "
                          f"{wanted[0]}-{wanted[-1]}", key="baseline.allocated_risk_map")
    projected = tuple(y for y in wanted if y > covered[-1])
    missing = [y for y in wanted if y not in covered and y not in projected]
    if missing:
        raise ConfigError(f"the allocated risk map has no band for crediting year(s) {missing} (it declares "
                          f"{list(declared)})", key="baseline.allocated_risk_map")
    ab = allocated_baseline(b.allocated_risk_map, project=cfg.areas.project, leakage_belt=cfg.areas.leakage_belt,
                            grid=inputs.grid, years=covered, units=b.allocated_units,
                            activity_data=b.allocated_activity_data, tolerance_percent=b.allocated_tolerance_percent,
                            scheduler=scheduler)
    if projected:
        warnings.warn(f"the allocated risk map covers {covered[0]}-{covered[-1]}; crediting years "
                      f"{projected[0]}-{projected[-1]} carry its {covered[-1]} allocation forward as an ex-ante "
                      "projection (the next validity period's allocation replaces it)", ProjectionWarning,
                      stacklevel=2)
    strata = {}
    if inputs.strata is not None:       # the map's first band over the project's strata (the EF weights)
        from reddplus.raster import open_raster, read_block

        with open_raster(b.allocated_risk_map) as ds:
            m = read_block(ds, inputs.window, with_halo=False).astype("float64")
        for h in sorted(set(inputs.strata[inputs.project].tolist())):
            strata[int(h)] = float(m[inputs.project & (inputs.strata == h)].sum())
    what = f"the delivered allocated risk map {Path(b.allocated_risk_map).name}" + (
        f" (it declares no years: taken as the first validity period's, {covered[0]}-{covered[-1]})"
        if undeclared else "")
    return BaselineFit(vps, wanted, None, None, None, None, None, None, ab, "allocated", what, strata,
                       projected_years=projected)


def _relative(risk, root: Path):
    """The risk result with its raster paths relative to the run folder."""
    def rel(p):
        return Path(p).relative_to(root) if p is not None and Path(p).is_absolute() else p

    return replace(risk, class_path=rel(risk.class_path), density_path=rel(risk.density_path),
                   adjusted_density_path=rel(risk.adjusted_density_path),
                   class_paths={k: rel(v) for k, v in risk.class_paths.items()})


# --------------------------------------------------------------------------------------------- the baseline
def baseline(cfg: ProjectConfig, inputs: RunInputs, activity: ActivityStepResult,
             reference: ReferenceActivityResult | None, root: Path, *, scheduler: str | None = None,
             note=lambda s: None) -> BaselineResult:
    """The baseline of every crediting year: one fit per validity period whose HRP the data cover, the
    provisional periods after it reusing it; for a VT0007 run, the allocated map written for a project run."""
    vps = validity(cfg, inputs.periods)
    if cfg.baseline.source == "allocated":
        fits = [fit_allocated(cfg, inputs, vps.periods, scheduler=scheduler)]
    else:
        groups: list[list] = []
        for vp in vps.periods:    # the first period is always fitted: its HRP is the configured one
            if not groups or not vp.provisional:
                groups.append([vp])
            else:
                groups[-1].append(vp)
        fits = [fit_vt0007(cfg, inputs, activity, reference, tuple(g), root, scheduler=scheduler, note=note)
                for g in groups]
    outputs = {}
    if cfg.baseline.source == "vt0007":
        outputs = write_allocated(fits[0], root, scheduler=scheduler)
    return BaselineResult.from_fits(cfg.baseline.source, vps, tuple(fits), outputs, years=inputs.periods.crediting_years,
                                    root=root)


def write_allocated(fit: BaselineFit, root: Path, *, scheduler: str | None = None) -> dict[str, Path]:
    """The first validity period's allocation as a project run reads it: ``rasters/allocated_risk_map.tif``
    [ha pixel-1 yr-1] and ``tables/allocated_activity_data.csv`` (:mod:`reddplus.baseline.allocated`)."""
    from reddplus.baseline.allocated import write_allocated_outputs

    first = fit.periods[0]
    density = fit.scenario.density_paths[first.start] if fit.scenario is not None else root / fit.risk.density_path
    alloc = fit.allocation
    years = [y for y in alloc.years if first.start <= y <= first.end]
    idx = [alloc.years.index(y) for y in years]
    part = replace(alloc, years=tuple(years), expected_ha_per_year=tuple(alloc.expected_ha_per_year[i] for i in idx),
                   zone_ha_per_year={z: tuple(v[i] for i in idx) for z, v in alloc.zone_ha_per_year.items()},
                   adjustments=tuple(alloc.adjustments[i] for i in idx))
    out = write_allocated_outputs(part, density, root / "rasters" / "allocated_risk_map.tif",
                                  root / "tables" / "allocated_activity_data.csv",
                                  validity_period=f"{first.start}-{first.end}", overwrite=True, scheduler=scheduler)
    return {k: Path(p).relative_to(root) for k, p in out.items()}


__all__ = ["allocate_years", "baseline", "fit_allocated", "fit_vt0007", "jurisdictional_rate",
           "risk_map", "risk_periods_of", "validity", "write_allocated"]
