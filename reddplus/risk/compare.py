"""Benchmark vs a named alternative model under VT0007's test, and the alternative's validity-period map.

One assessment (:func:`assess_alternative`): the alternative is fitted on the calibration period
(CAL) from its drivers at the CAL start, predicts the CAL map (fit) and the confirmation map (CNF,
drivers at the CNF start), and both maps are scored on **the benchmark's assessment cells** against
**the benchmark's own MedAE figures** (taken from its :class:`~reddplus.risk.tools.RiskResult`, so
a run reports one set of benchmark figures). The alternative is accepted only if its MedAE is lower
in both stages (:func:`reddplus.risk.vt0007.accept_alternative`).

The model that is tested is the one that is used: :func:`predict_validity_period` refits the same
definition (drivers, form, sample size, seed) on the HRP and predicts the validity-period (VP) map
at the VP start, written as ``density_vp.tif`` [ha/pixel/yr] like the benchmark's. Planned roads
are a driver: their effect is fitted on the roads open in the data periods; a road opening after
the VP start enters the VP prediction only with ``use_planned_roads_in_baseline = true``, and then
the result carries the VP maps both without and with it (an extrapolation the report must show).

Everything streams by blocks through :mod:`reddplus.raster` (driver rasters, sample, potentials,
classes, counts); ``scheduler`` sends the block tasks to a Dask cluster.

References
----------
[1] Verra (2024) VT0007 v1.0, sections 5.1 steps 4-7 (regions, fitted density, adjustment ratio,
    assessment cells and MedAE), 5.4 (alternative risk mapping) and 5.5 (testing and model selection).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from reddplus.errors import ConfigError, ModelError, SearchDistanceError
from reddplus.raster import Grid, read_zones
from reddplus.risk import vt0007 as v
from reddplus.risk.drivers import DriverStack, driver_stacks
from reddplus.risk.models import (AlternativeModel, FittedAlternative, PredictedMap, Regions, check_sample_size,
                                  fit_alternative, predict_map, write_density_raster)
from reddplus.risk.tools import Periods, RiskResult

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- assessment cells
def benchmark_cells(benchmark: RiskResult, grid: Grid) -> v.AssessmentGrid:
    """The benchmark's assessment cells (its :class:`~reddplus.risk.vt0007.AssessmentGrid`: the ``reddplus``
    lattice from the raster corner, or the ``udef-arp`` profile's offset full cells inside the
    jurisdiction); a result without one gets the ``reddplus`` lattice of its ``cell_side_pixels``."""
    g = getattr(benchmark, "assessment_grid", None)
    if g is not None:
        return g
    side = int(benchmark.cell_side_pixels)
    return v.AssessmentGrid(side, 0, -(-grid.height // side), -(-grid.width // side), False)


# --------------------------------------------------------------------------- results
def _stage_row(a: v.Assessment, model: str, stage: str) -> dict:
    return {"model": model, "stage": stage, "n_cells": a.n_cells, "medae_ha": a.medae_ha, "mae_ha": a.mae_ha,
            "r2": a.r2, "predicted_ha": float(a.predicted_ha.sum()), "observed_ha": float(a.observed_ha.sum())}


@dataclass(frozen=True)
class ModelAssessment:
    """Benchmark vs one named alternative under VT0007's test (VT0007 v1.0 section 5.5 [1]).

    ``selected`` is ``"benchmark"`` or ``"alternative:NAME"``; ``reason`` says why in words.
    """

    name: str
    model: str
    benchmark_cal: v.Assessment
    benchmark_cnf: v.Assessment
    alternative_cal: v.Assessment
    alternative_cnf: v.Assessment
    accepted: bool
    reason: str
    nrt_m: float
    cell_side_pixels: int
    fit: FittedAlternative
    maps: tuple[PredictedMap, ...]
    drivers: tuple[DriverStack, ...]
    profile: str = "reddplus"
    cnf_adjustment: v.Adjustment | None = None

    @property
    def selected(self) -> str:
        return f"alternative:{self.name}" if self.accepted else "benchmark"

    def table(self) -> list[dict]:
        """One row per model and stage: MedAE, MAE, R² [ha] over the same cells."""
        return [_stage_row(self.benchmark_cal, "benchmark", "CAL fit"),
                _stage_row(self.benchmark_cnf, "benchmark", "CNF prediction"),
                _stage_row(self.alternative_cal, f"alternative:{self.name}", "CAL fit"),
                _stage_row(self.alternative_cnf, f"alternative:{self.name}", "CNF prediction")]

    def to_dict(self) -> dict:
        return {"alternative": self.name, "model": self.model, "table": self.table(), "accepted": self.accepted,
                "selected": self.selected, "reason": self.reason, "nrt_m": self.nrt_m,
                "assessment_cell_side_pixels": self.cell_side_pixels, "profile": self.profile,
                "cnf_adjustment": self.cnf_adjustment.to_dict() if self.cnf_adjustment else None,
                "fit": self.fit.to_dict(),
                "maps": [m.to_dict() for m in self.maps], "drivers": [d.to_dict() for d in self.drivers],
                "rule": "VT0007 v1.0 section 5.5: the alternative replaces the benchmark only if its MedAE is "
                        "lower in both the calibration fit and the confirmation prediction, on the same cells"}


def decision_reason(name: str, bench_cal: v.Assessment, bench_cnf: v.Assessment, alt_cal: v.Assessment,
                    alt_cnf: v.Assessment) -> tuple[bool, str]:
    """VT0007's acceptance rule and its reason in words (VT0007 v1.0 section 5.5 [1]).

    .. math:: \\mathrm{MedAE}^{alt}_{CAL} < \\mathrm{MedAE}^{bm}_{CAL} \\wedge
              \\mathrm{MedAE}^{alt}_{CNF} < \\mathrm{MedAE}^{bm}_{CNF}
    """
    ok = v.accept_alternative(bench_cal, bench_cnf, alt_cal, alt_cnf)
    parts = []
    for stage, a, b in (("calibration fit", alt_cal, bench_cal), ("confirmation prediction", alt_cnf, bench_cnf)):
        rel = "lower than" if a.medae_ha < b.medae_ha else "not lower than"
        parts.append(f"{stage} MedAE {a.medae_ha:,.1f} ha {rel} the benchmark's {b.medae_ha:,.1f} ha")
    if ok:
        return True, (f"alternative:{name} is used: its {parts[0]} and its {parts[1]} (VT0007 v1.0 section 5.5, "
                      f"{alt_cal.n_cells} assessment cells)")
    return False, (f"the benchmark is used: alternative:{name} must beat it in both stages; its {parts[0]}, its "
                   f"{parts[1]} (VT0007 v1.0 section 5.5, {alt_cal.n_cells} assessment cells)")


# --------------------------------------------------------------------------- shared steps
def modelling_regions(grid: Grid, alternative: AlternativeModel, admin: str | os.PathLike | None = None,
                      admin_field: str | None = None) -> Regions:
    """The alternative's VT0007 step 4 regions: the benchmark's admin divisions (``admin``/``admin_field``,
    which also bound the jurisdiction), or the jurisdiction as one region."""
    zones = read_zones(admin, grid, field=admin_field) if admin else None
    return Regions(grid, zones, merge=alternative.modelling_regions == "jurisdiction")


def _stacks(forest_change, alternative, dates, out_dir, stacks, scheduler, overwrite, block_size):
    need = [d for d in dates if stacks is None or d not in stacks]
    got = dict(stacks or {})
    if need:
        got.update(driver_stacks(forest_change, alternative.drivers, need, out_dir=Path(out_dir) / "drivers",
                                 max_distance_m=alternative.max_distance_m, planned_roads=alternative.planned_roads,
                                 key=alternative.key("drivers"), planned_key=alternative.key("planned_roads"),
                                 reuse=tuple(got.values()), scheduler=scheduler, overwrite=overwrite,
                                 block_size=block_size))
    return got


def _years(dates, p):
    return float(dates[p[1]] - dates[p[0]])


def driver_dates(forest_change, alternative: AlternativeModel, periods: Periods) -> list[tuple[int, int]]:
    """The map dates ``(date index, year)`` an alternative needs: CAL and CNF starts (assessment), HRP and
    VP starts (validity period) and, with ``use_planned_roads_in_baseline``, the VP start with the roads of
    each later opening year."""
    dates = tuple(int(d) for d in forest_change.dates)
    want = [(periods.cal[0], dates[periods.cal[0]])]
    if periods.cnf is not None:
        want.append((periods.cnf[0], dates[periods.cnf[0]]))
    want += [(periods.hrp[0], dates[periods.hrp[0]]), (periods.vp_start, dates[periods.vp_start])]
    if alternative.use_planned_roads_in_baseline:
        want += [(periods.vp_start, y) for y in _opening_years(forest_change, alternative)
                 if y > dates[periods.vp_start]]
    return list(dict.fromkeys(want))


def alternative_drivers(forest_change, alternative: AlternativeModel, periods: Periods, *,
                        out_dir: str | os.PathLike, scheduler: str | None = None, overwrite: bool = False,
                        block_size: int | None = None) -> dict[tuple[int, int], DriverStack]:
    """Every driver raster an alternative needs (:func:`driver_dates`), in one streamed pass into
    ``out_dir/drivers`` (VT0007 v1.0 section 5.4 [1]); pass the result as ``stacks=`` to
    :func:`assess_alternative` and :func:`predict_validity_period`."""
    return _stacks(forest_change, alternative, driver_dates(forest_change, alternative, periods), out_dir, None,
                   scheduler, overwrite, block_size)


# --------------------------------------------------------------------------- the assessment
def assess_alternative(forest_change, alternative: AlternativeModel, benchmark: RiskResult, periods: Periods, *,
                       out_dir: str | os.PathLike, seed: int, admin: str | os.PathLike | None = None,
                       admin_field: str | None = None, cells: v.AssessmentGrid | None = None,
                       stacks: Mapping[tuple[int, int], DriverStack] | None = None, scheduler: str | None = None,
                       overwrite: bool = False, block_size: int | None = None) -> ModelAssessment:
    """Benchmark vs ``alternative`` under VT0007's test, on the benchmark's cells (VT0007 v1.0 section 5.5 [1]).

    Parameters
    ----------
    forest_change : reddplus.landcover.ForestChange
    alternative : AlternativeModel
        The named definition (``[baseline.alternatives.NAME]``).
    benchmark : RiskResult
        The run's benchmark (:func:`reddplus.risk.tools.vt0007_benchmark`); its CAL and CNF assessments
        are the figures the alternative must beat.
    periods : Periods
        CAL and CNF date indices (CNF is required).
    out_dir : path
        Driver rasters (``drivers/``), potential and class COGs of the CAL and CNF maps.
    seed : int
        Project seed (used when ``alternative.seed`` is not set).
    admin, admin_field : optional
        The benchmark's admin divisions (jurisdiction), for the modelling regions and the jurisdiction mask.
    cells : AssessmentGrid, optional
        Default: the benchmark's (:func:`benchmark_cells`). The kept cells and the observed deforestation
        per cell must equal the benchmark's, which proves the cells are the same. The benchmark's profile
        (``reddplus`` or ``udef-arp``) sets the CNF adjustment and the metrics, as in its own step 7.

    Notes
    -----
    .. math:: \\hat y^{CAL}_k = \\sum_{i \\in k} \\delta_{c(i), z(i)},\\quad
              \\hat y^{CNF}_k = \\sum_{i \\in k} \\min\\big(AR\\,\\delta_{c(i), z(i)}\\,T_{CNF}/T_{CAL},\\ a\\big)

    with ``delta`` the CAL fitted density per (class, region) (step 5) and ``AR`` the adjustment ratio
    to the observed CNF total (step 6). VT0007 v1.0 sections 5.1 steps 4-7 and 5.5 [1].

    Raises
    ------
    ModelError
        No confirmation period, no benchmark CNF assessment, or cells that differ from the benchmark's.
    """
    fc = forest_change
    grid = fc.grid
    dates = tuple(int(d) for d in fc.dates)
    if periods.cnf is None:
        raise ModelError("the model assessment needs a confirmation period (periods.confirmation)")
    if len(benchmark.assessment) < 2:
        raise ModelError("the benchmark result has no confirmation assessment to compare with")
    b_cal, b_cnf = benchmark.assessment[0], benchmark.assessment[1]
    out = Path(out_dir)
    regions = modelling_regions(grid, alternative, admin, admin_field)
    cells = cells or benchmark_cells(benchmark, grid)
    profile = v.check_profile(getattr(benchmark, "profile", "reddplus"))
    c0, n0 = periods.cal[0], periods.cnf[0]
    st = _stacks(fc, alternative, [(c0, dates[c0]), (n0, dates[n0])], out, stacks, scheduler, overwrite, block_size)
    fit = fit_alternative(fc, alternative, st[(c0, dates[c0])], periods.cal, seed=seed, regions=regions,
                          scheduler=scheduler, block_size=block_size)
    kw = dict(regions=regions, cells=cells, scheduler=scheduler, overwrite=overwrite, block_size=block_size)
    m_cal = predict_map(fc, fit.model, st[(c0, dates[c0])], c0, out, stage="cal", period=periods.cal, **kw)
    # the CNF map is cut with the CAL map's scale, so that a class is the same potential band in both
    m_cnf = predict_map(fc, fit.model, st[(n0, dates[n0])], n0, out, stage="cnf", period=periods.cnf,
                        max_potential=m_cal.max_potential, **kw)
    area = grid.pixel_area_ha
    zone_ids = np.arange(regions.n, dtype=np.int64)
    dens = v.fitted_density(m_cal.nforest, m_cal.ndefor, area, _years(dates, periods.cal), zone_ids)
    _warn_missing(dens, m_cnf, alternative.name, "CNF", "CAL")
    name = f"alternative:{alternative.name}"
    # the benchmark's own rules of its profile (tools.vt0007_benchmark, step 7): same cells, same metrics
    udef = profile == "udef-arp"
    d_cal = dens.density_ha_per_pixel.astype(np.float32) if udef else dens.density_ha_per_pixel
    cal_cells = _CellTotals(m_cal.cells, area)
    a_cal, kept_cal = _assess(cal_cells, cal_cells.sums(d_cal), cells, f"{name} CAL fit", profile)
    cnf_cells = _CellTotals(m_cnf.cells, area)
    observed_total = float(m_cnf.ndefor.sum()) * area
    if udef:          # CAL-period densities adjusted per pixel to the observed CNF total (UDef-ARP's loop)
        b_adj = getattr(benchmark, "cnf_adjustment", None)
        iters = b_adj.max_iterations if b_adj is not None and b_adj.max_iterations else v.UDEF_ARP_MAX_ITERATIONS
        adj = v.adjustment_ratio_udef_arp(dens.density_ha_per_pixel[1:].ravel(), m_cnf.nforest[1:].ravel(),
                                          observed_total, area, iters)
        pred = cnf_cells.sums(adj.adjust(dens.density_ha_per_pixel, area).astype(np.float32))
    else:             # CAL densities rescaled (annual) to the CNF length, adjusted to the observed CNF total
        d_cnf = dens.density_ha_per_pixel * (_years(dates, periods.cnf) / _years(dates, periods.cal))
        adj = v.adjustment_ratio(d_cnf[1:].ravel(), m_cnf.nforest[1:].ravel(), observed_total, area)
        pred = np.minimum(cnf_cells.sums(d_cnf) * adj.ratio, cnf_cells.forest * area)
    a_cnf, kept_cnf = _assess(cnf_cells, pred, cells, f"{name} CNF prediction", profile)
    kept_bench = getattr(benchmark, "assessment_cells", None) or {}
    for stage, a, b, kept in (("CAL", a_cal, b_cal, kept_cal), ("CNF", a_cnf, b_cnf, kept_cnf)):
        same = a.n_cells == b.n_cells and np.allclose(a.observed_ha, b.observed_ha, rtol=1e-9, atol=1e-9 * area)
        if stage in kept_bench:
            same = same and np.array_equal(kept, np.asarray(kept_bench[stage]))
        if not same:
            raise ModelError(f"the alternative's {stage} assessment cells are not the benchmark's ({a.n_cells} vs "
                             f"{b.n_cells} cells, observed {a.observed_ha.sum():.1f} vs {b.observed_ha.sum():.1f} ha): "
                             "pass the benchmark's cell geometry (cells=...) and the same jurisdiction (admin=...)")
    ok, reason = decision_reason(alternative.name, b_cal, b_cnf, a_cal, a_cnf)
    log.info("%s", reason)
    return ModelAssessment(alternative.name, alternative.model, b_cal, b_cnf, a_cal, a_cnf, ok, reason,
                           float(benchmark.nrt_m), int(cells.side), fit, (m_cal, m_cnf),
                           (st[(c0, dates[c0])], st[(n0, dates[n0])]), profile, adj)


@dataclass(frozen=True)
class _CellTotals:
    counts: object          # CellCounts
    area: float

    @property
    def forest(self) -> np.ndarray:
        return self.counts.per_cell(self.counts.forest.astype(np.float64))

    @property
    def observed(self) -> np.ndarray:
        return self.counts.per_cell(self.counts.deforested * self.area)

    def sums(self, density: np.ndarray) -> np.ndarray:
        """Per cell: the sum of ``density[class, region]`` over the cell's forest pixels [ha]."""
        _, cls, reg = self.counts.split()
        return self.counts.per_cell(self.counts.forest * np.asarray(density, dtype=np.float64)[cls, reg])


def _assess(t: _CellTotals, pred: np.ndarray, cells: v.AssessmentGrid, name: str,
            profile: str) -> tuple[v.Assessment, np.ndarray]:
    sel = cells.select(t.counts.jurisdiction, t.forest)
    return v.assessment_metrics(pred[sel], t.observed[sel], name, profile), np.nonzero(sel)[0]


def _warn_missing(table: v.DensityTable, m: PredictedMap, name: str, stage: str, fit: str) -> None:
    missing = table.missing_classes(m.nforest)
    if missing:
        import warnings

        from reddplus.errors import MissingClassWarning

        warnings.warn(f"alternative:{name} {stage} map: classes {missing} have no forest in the {fit} fit; their "
                      "densities are the pooled density of the nearest fitted classes either side",
                      MissingClassWarning, stacklevel=3)


# --------------------------------------------------------------------------- the validity period
@dataclass(frozen=True)
class PlannedRoadMap:
    """The VP density map from ``from_year`` on, with the planned roads open by then (an extrapolation)."""

    from_year: int
    density_path: Path
    class_path: Path
    potential_path: Path

    def to_dict(self) -> dict:
        return {"from_year": self.from_year, "density_raster": str(self.density_path),
                "class_raster": str(self.class_path), "potential_raster": str(self.potential_path)}


@dataclass(frozen=True)
class AlternativeBaseline:
    """The alternative refitted on the HRP and its validity-period density [ha/pixel/yr] (VT0007 v1.0 section 5.4).

    ``density_path`` uses the roads open at the VP start (no road opening later). With
    ``use_planned_roads_in_baseline``, ``planned`` holds one map per later opening year (roads open
    by then); without it, ``excluded_opening_years`` lists the planned roads left out.
    """

    name: str
    model: str
    fit: FittedAlternative
    density_hrp: v.DensityTable
    vp_start_year: int
    density_path: Path
    class_path: Path
    potential_path: Path
    use_planned_roads_in_baseline: bool
    planned: tuple[PlannedRoadMap, ...]
    excluded_opening_years: tuple[int, ...]
    drivers: tuple[DriverStack, ...]
    region_labels: dict

    def density_path_for(self, year: int, *, with_planned_roads: bool | None = None) -> Path:
        """The density raster valid in ``year``: with the planned roads open by then when they are used
        (``with_planned_roads`` defaults to ``use_planned_roads_in_baseline``)."""
        use = self.use_planned_roads_in_baseline if with_planned_roads is None else with_planned_roads
        path = self.density_path
        if use:
            for p in self.planned:
                if p.from_year <= year:
                    path = p.density_path
        return path

    def to_dict(self) -> dict:
        return {"alternative": self.name, "model": self.model, "fit": self.fit.to_dict(),
                "density_class_table": self.density_hrp.class_table(), "vp_start_year": self.vp_start_year,
                "density_raster": str(self.density_path), "class_raster": str(self.class_path),
                "potential_raster": str(self.potential_path),
                "use_planned_roads_in_baseline": self.use_planned_roads_in_baseline,
                "with_planned_roads": [p.to_dict() for p in self.planned],
                "excluded_planned_road_opening_years": list(self.excluded_opening_years),
                "extrapolation": ("the maps with planned roads extrapolate the road effect fitted on the roads open "
                                  "in the data periods to roads that do not exist yet") if self.planned else None,
                "drivers": [d.to_dict() for d in self.drivers], "regions": {str(k): x for k, x in
                                                                            self.region_labels.items()}}


def _opening_years(fc, alternative: AlternativeModel) -> tuple[int, ...]:
    """Every opening year of the features of the alternative's distance drivers (planned roads included)."""
    from reddplus.risk.drivers import resolve_drivers

    srcs = resolve_drivers(alternative.drivers, fc.grid, planned_roads=alternative.planned_roads,
                           key=alternative.key("drivers"), planned_key=alternative.key("planned_roads"))
    return tuple(sorted({y for s in srcs if s.features is not None for y in s.features.years()}))


def predict_validity_period(forest_change, alternative: AlternativeModel, periods: Periods, *,
                            out_dir: str | os.PathLike, seed: int, admin: str | os.PathLike | None = None,
                            admin_field: str | None = None,
                            stacks: Mapping[tuple[int, int], DriverStack] | None = None,
                            scheduler: str | None = None, overwrite: bool = False,
                            block_size: int | None = None) -> AlternativeBaseline:
    """Refit ``alternative`` on the HRP and write its validity-period density raster (VT0007 v1.0 section 5.4).

    The same definition as the assessed one (drivers, form, sample size, seed) is fitted on the HRP from
    its drivers at the HRP start; its HRP map gives the fitted density per (class, region) (step 5),
    annualised and applied to the classes of the map at the VP start: ``out_dir/density_vp.tif``
    [ha/pixel/yr] (float32, 0 off forest) and ``classes_vp.tif``, as the benchmark writes them. With
    ``use_planned_roads_in_baseline``, every later opening year ``Y`` of a planned road also gets
    ``density_vp_roads_Y.tif`` (the VP start's forest with the roads open in ``Y``).

    .. math:: \\delta^{VP}_i = \\delta^{HRP}_{c_{VP}(i), z(i)} / T_{HRP}
    """
    fc = forest_change
    grid = fc.grid
    dates = tuple(int(d) for d in fc.dates)
    out = Path(out_dir)
    regions = modelling_regions(grid, alternative, admin, admin_field)
    h0, vp = periods.hrp[0], periods.vp_start
    later = tuple(y for y in _opening_years(fc, alternative) if y > dates[vp])
    use = bool(alternative.use_planned_roads_in_baseline)
    want = [(h0, dates[h0]), (vp, dates[vp])] + ([(vp, y) for y in later] if use else [])
    st = _stacks(fc, alternative, want, out, stacks, scheduler, overwrite, block_size)
    fit = fit_alternative(fc, alternative, st[(h0, dates[h0])], periods.hrp, seed=seed, regions=regions,
                          scheduler=scheduler, block_size=block_size)
    kw = dict(regions=regions, scheduler=scheduler, overwrite=overwrite, block_size=block_size)
    m_hrp = predict_map(fc, fit.model, st[(h0, dates[h0])], h0, out, stage="hrp", period=periods.hrp, **kw)
    years = _years(dates, periods.hrp)
    dens = v.fitted_density(m_hrp.nforest, m_hrp.ndefor, grid.pixel_area_ha, years,
                            np.arange(regions.n, dtype=np.int64))
    per_year = dens.density_ha_per_pixel / years
    dkw = dict(grid=grid, regions=regions, scheduler=scheduler, overwrite=overwrite, block_size=block_size)
    scale = m_hrp.max_potential       # the classes of the fit map: the same potential bands at every date
    m_vp = predict_map(fc, fit.model, st[(vp, dates[vp])], vp, out, stage="vp", max_potential=scale, **kw)
    _warn_missing(dens, m_vp, alternative.name, "VP", "HRP")
    d_vp = write_density_raster(m_vp, per_year, out / "density_vp.tif", **dkw)
    planned = []
    for y in later if use else ():
        m = predict_map(fc, fit.model, st[(vp, y)], vp, out, stage=f"vp_roads_{y}", max_potential=scale, **kw)
        planned.append(PlannedRoadMap(y, write_density_raster(m, per_year, out / f"density_vp_roads_{y}.tif", **dkw),
                                      m.class_path, m.potential_path))
    if later and not use:
        log.info("planned roads opening in %s are left out of the validity-period map "
                 "(use_planned_roads_in_baseline = false)", list(later))
    return AlternativeBaseline(alternative.name, alternative.model, fit, dens, dates[vp], d_vp, m_vp.class_path,
                               m_vp.potential_path, use, tuple(planned), () if use else later,
                               tuple(st[d] for d in want), regions.labels())


# --------------------------------------------------------------------------- one call for the chain
@dataclass(frozen=True)
class AlternativeResult:
    """The assessment of a named alternative and, when it is used, its validity-period baseline."""

    assessment: ModelAssessment
    baseline: AlternativeBaseline | None

    @property
    def selected(self) -> str:
        return self.assessment.selected

    def to_dict(self) -> dict:
        return {"assessment": self.assessment.to_dict(),
                "baseline": None if self.baseline is None else self.baseline.to_dict()}


def alternative_risk_model(forest_change, alternative: AlternativeModel, benchmark: RiskResult, periods: Periods, *,
                           out_dir: str | os.PathLike, seed: int, admin: str | os.PathLike | None = None,
                           admin_field: str | None = None, cells: v.AssessmentGrid | None = None,
                           predict_if_rejected: bool = False, scheduler: str | None = None,
                           overwrite: bool = False, block_size: int | None = None) -> AlternativeResult:
    """Assess a named alternative against the run's benchmark and, if it passes (or ``predict_if_rejected``),
    predict its validity-period density (one pass writes every driver raster into ``out_dir/drivers``).

    VT0007 v1.0 sections 5.4-5.5 [1]: :func:`assess_alternative` then :func:`predict_validity_period`.
    """
    if alternative.name is None:
        raise ConfigError("the alternative has no name (define it under [baseline.alternatives.NAME])",
                          key="baseline.risk_model")
    kw = dict(out_dir=out_dir, seed=seed, admin=admin, admin_field=admin_field, scheduler=scheduler,
              overwrite=overwrite, block_size=block_size)
    # bad input fails before any raster is written
    check_sample_size(forest_change, alternative.sample_size, {"calibration": periods.cal, "HRP": periods.hrp},
                      regions=modelling_regions(forest_change.grid, alternative, admin, admin_field),
                      key=alternative.key("sample_size"), scheduler=scheduler)
    stacks = alternative_drivers(forest_change, alternative, periods, out_dir=out_dir, scheduler=scheduler,
                                 overwrite=overwrite, block_size=block_size)
    res = assess_alternative(forest_change, alternative, benchmark, periods, cells=cells, stacks=stacks, **kw)
    base = None
    if res.accepted or predict_if_rejected:
        base = predict_validity_period(forest_change, alternative, periods, stacks=stacks, **kw)
    return AlternativeResult(res, base)


# --------------------------------------------------------------------------- path-level tool (CLI)
@dataclass(frozen=True)
class ModelComparison:
    """The benchmark and several alternatives assessed on the same cells (``reddplus risk compare``)."""

    benchmark: RiskResult
    assessments: tuple[ModelAssessment, ...]

    @property
    def nrt_m(self) -> float:
        return self.benchmark.nrt_m

    @property
    def best(self) -> str:
        """The accepted alternative with the lowest CNF MedAE, else ``"benchmark"`` (VT0007 v1.0 section 5.5)."""
        ok = [a for a in self.assessments if a.accepted]
        return min(ok, key=lambda a: a.alternative_cnf.medae_ha).selected if ok else "benchmark"

    def table(self) -> list[dict]:
        """One row per model and stage (the benchmark once), with each row's acceptance."""
        rows = [dict(r, accepted=None) for r in self.assessments[0].table()[:2]] if self.assessments else []
        for a in self.assessments:
            rows += [dict(r, accepted=a.accepted) for r in a.table()[2:]]
        return rows

    def to_dict(self) -> dict:
        return {"nrt_m": self.nrt_m, "assessment": self.table(), "selected_model": self.best,
                "models": {a.name: a.fit.model.summary for a in self.assessments},
                "reasons": {a.name: a.reason for a in self.assessments}}


def compare_models_from_paths(forest_change, *, periods: Periods | None = None, roads=None, rivers=None,
                              settlements=None, planned_roads=None, opening_year_field: str = "opening_year",
                              rasters: Mapping[str, str | os.PathLike] | None = None,
                              models: tuple[str, ...] = ("logistic", "random_forest"), cell_area_ha: float = 100_000.0,
                              sample_size: int = 20_000, seed: int = 0, nrt_share: float = v.NRT_SHARE,
                              max_distance_m: float = 10_000.0, nrt_search_distance_m: float = 6000.0,
                              admin=None, admin_field: str | None = None, out_dir: str | os.PathLike | None = None,
                              scheduler: str | None = None) -> ModelComparison:
    """Path-level assessment (the tool behind ``reddplus risk compare``): the benchmark, then one alternative
    per model type with the distance to the forest edge and the given vector drivers (distances [m]) and
    rasters (on the forest-change grid), each assessed by :func:`assess_alternative` on the benchmark's cells.

    ``planned_roads`` (opening years from ``opening_year_field``) join the roads, or are the road layer when
    no ``roads`` are given. Rasters go to ``out_dir`` (a temporary folder, removed, when it is None). The
    benchmark's NRT search distance starts at ``nrt_search_distance_m`` and grows to the distance the
    NRT needs (:class:`~reddplus.errors.SearchDistanceError`).
    """
    import tempfile

    from reddplus.risk.drivers import DistanceDriver, ForestEdgeDriver, PlannedRoad, RasterDriver
    from reddplus.risk.tools import default_periods, vt0007_benchmark

    per = periods or default_periods(forest_change.dates)
    if per.cnf is None:
        raise ModelError("model assessment needs a confirmation period (three or more dates)")
    drivers: dict = {"distance_to_edge": ForestEdgeDriver(kind="forest_edge")}
    planned = []
    if roads is not None:
        drivers["distance_to_road"] = DistanceDriver(kind="distance", path=Path(roads))
        if planned_roads is not None:
            planned = [PlannedRoad(path=Path(planned_roads), opening_year_field=opening_year_field)]
    elif planned_roads is not None:
        drivers["distance_to_road"] = DistanceDriver(kind="distance", path=Path(planned_roads),
                                                     opening_year_field=opening_year_field)
    for name, path in (("distance_to_river", rivers), ("distance_to_settlement", settlements)):
        if path is not None:
            drivers[name] = DistanceDriver(kind="distance", path=Path(path))
    for name, path in (rasters or {}).items():
        drivers[name] = RasterDriver(kind="raster", path=Path(path))
    with tempfile.TemporaryDirectory(prefix="reddplus-compare-") as tmp:
        out = Path(out_dir) if out_dir is not None else Path(tmp)
        kw = dict(out_dir=out / "benchmark", periods=per, admin=admin, admin_field=admin_field, nrt_share=nrt_share,
                  cell_area_ha=cell_area_ha, scheduler=scheduler, overwrite=True)
        try:
            bench = vt0007_benchmark(forest_change, max_distance_m=nrt_search_distance_m, **kw)
        except SearchDistanceError as err:      # the distances are exact at any length: search as far as needed
            if err.needed_m is None:
                raise
            log.info("NRT beyond %.0f m: searching %.0f m", err.searched_m, err.needed_m)
            bench = vt0007_benchmark(forest_change, max_distance_m=err.needed_m, **kw)
        done: list[ModelAssessment] = []
        stacks: dict = {}
        for model in models:
            alt = AlternativeModel(name=model, model=model, drivers=drivers, planned_roads=planned,
                                   sample_size=sample_size, seed=seed, max_distance_m=max_distance_m)
            a = assess_alternative(forest_change, alt, bench, per, out_dir=out / model, seed=seed, admin=admin,
                                   admin_field=admin_field, stacks=stacks, scheduler=scheduler)
            stacks = {(d.date_index, d.year): d for d in a.drivers}
            done.append(a)
    return ModelComparison(bench, tuple(done))


__all__ = ["AlternativeBaseline", "AlternativeResult", "ModelAssessment", "ModelComparison", "PlannedRoadMap",
           "alternative_drivers", "alternative_risk_model", "assess_alternative", "benchmark_cells",
           "compare_models_from_paths", "decision_reason", "driver_dates", "modelling_regions",
           "predict_validity_period"]
