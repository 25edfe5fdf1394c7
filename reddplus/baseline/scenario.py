"""Baseline scenario for planned infrastructure: the allocation of an alternative model's validity-period
density, without and with the roads that open after the data.

This is a thin use of the alternative model (:mod:`reddplus.risk.compare`): the model refitted on the
HRP (:func:`~reddplus.risk.compare.predict_validity_period`) gives one density raster for the roads
open at the VP start and, with ``use_planned_roads_in_baseline``, one per later opening year. Each
year's expected jurisdictional deforestation is allocated through the streamed
:func:`reddplus.baseline.allocation.allocate` to the map valid that year, so the project's baseline
changes from a planned road's opening year on. Both allocations are returned: the one with planned
roads is an extrapolation (the road effect is fitted on roads that existed in the data periods).

References
----------
[1] Verra (2024) VT0007 v1.0, section 5.4 (alternative models with drivers such as roads) and
    section 5.6 (using the allocated risk map).
[2] Soares-Filho B. et al. (2006) Modelling conservation in the Amazon basin, Nature 440:520-523
    (paved roads as the main deforestation driver in scenarios).
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from reddplus.baseline.allocation import AllocationResult, allocate, merge_allocations
from reddplus.errors import InputDataError
from reddplus.risk.compare import AlternativeBaseline, predict_validity_period
from reddplus.risk.drivers import DistanceDriver, ForestEdgeDriver, PlannedRoad
from reddplus.risk.models import AlternativeModel
from reddplus.risk.tools import default_periods

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScenarioResult:
    """Per-year baseline [ha/yr] per zone without and with the planned roads.

    ``without``: every year on the VP map with the roads open at the VP start. ``with_planned``: each
    year on the map with the roads open by then (None unless ``use_planned_roads_in_baseline``).
    ``allocation`` is the one the baseline uses.
    """

    years: tuple[int, ...]
    opening_years: tuple[int, ...]
    without: AllocationResult
    with_planned: AllocationResult | None
    density_paths: dict
    model_summary: dict

    @property
    def allocation(self) -> AllocationResult:
        return self.with_planned if self.with_planned is not None else self.without

    def to_dict(self) -> dict:
        return {"years": list(self.years), "opening_years": list(self.opening_years),
                "without_planned_roads": self.without.to_dict(),
                "with_planned_roads": None if self.with_planned is None else self.with_planned.to_dict(),
                "uses_planned_roads": self.with_planned is not None,
                "extrapolation": ("the baseline with planned roads extrapolates the road effect fitted on the roads "
                                  "open in the data periods to roads that do not exist yet")
                if self.with_planned is not None else None,
                "density_rasters": {str(y): str(p) for y, p in self.density_paths.items()},
                "model": self.model_summary}


def planned_road_scenario(baseline: AlternativeBaseline, expected_ha_per_year: Mapping[int, float], *,
                          zones: Mapping[str, str | os.PathLike], jurisdiction: str | os.PathLike | None = None,
                          scheduler: str | None = None, tolerance: float = 0.01, **allocate_options) -> ScenarioResult:
    """Allocate each year's expected deforestation to the zones on the alternative's VP map valid that year.

    Parameters
    ----------
    baseline : AlternativeBaseline
        From :func:`reddplus.risk.compare.predict_validity_period`.
    expected_ha_per_year : mapping year -> [ha/yr]
        Expected jurisdictional deforestation (e.g. from the jurisdictional rate).
    zones : mapping name -> polygon file
        E.g. ``{"project": ..., "leakage_belt": ...}``.
    jurisdiction : polygon file, optional
        Each zone must lie inside it.
    allocate_options
        Passed to :func:`~reddplus.baseline.allocation.allocate` (``strata``, ``profile``, ``max_iterations``).

    Notes
    -----
    .. math:: P_t = \\sum_{i \\in \\text{project}} \\min(AR_t\\, \\delta_i(t), a),\\quad
              \\sum_i \\min(AR_t\\, \\delta_i(t), a) = E_t

    with ``delta(t)`` the density of the map valid in year ``t``. VT0007 v1.0 sections 5.4 and 5.6 [1].
    """
    if not expected_ha_per_year:
        raise InputDataError("no year to allocate", column="expected_ha_per_year")
    years = tuple(sorted(int(y) for y in expected_ha_per_year))
    kw = dict(zones=zones, jurisdiction=jurisdiction, tolerance=tolerance, scheduler=scheduler, **allocate_options)
    without = allocate(baseline.density_path, [expected_ha_per_year[y] for y in years], years=years, **kw)
    with_planned = None
    paths = {y: baseline.density_path for y in years}
    if baseline.use_planned_roads_in_baseline:
        paths = {y: baseline.density_path_for(y, with_planned_roads=True) for y in years}
        groups: dict[Path, list[int]] = {}
        for y in years:
            groups.setdefault(paths[y], []).append(y)
        parts = [without if p == baseline.density_path else
                 allocate(p, [expected_ha_per_year[y] for y in ys], years=ys, **kw) for p, ys in groups.items()]
        with_planned = merge_allocations(parts, years)
    openings = tuple(p.from_year for p in baseline.planned) or baseline.excluded_opening_years
    return ScenarioResult(years, openings, without, with_planned, paths,
                          dict(baseline.fit.model.summary, model=baseline.model))


def planned_road_scenario_from_paths(forest_change, *, planned_roads: str | os.PathLike,
                                     opening_year_field: str = "opening_year",
                                     roads: str | os.PathLike | None = None,
                                     zones: Mapping[str, str | os.PathLike],
                                     expected_ha_per_year: Mapping[int, float], model: str = "logistic",
                                     seed: int | None = 0, sample_size: int = 20_000,
                                     max_distance_m: float = 20_000.0, out_dir: str | os.PathLike | None = None,
                                     overwrite: bool = False, scheduler: str | None = None) -> ScenarioResult:
    """Path-level scenario (the tool behind ``reddplus risk scenario``).

    An alternative with the distance to the forest edge and to the roads (``roads``, plus
    ``planned_roads`` from each feature's ``opening_year_field``) is refitted on the whole data period
    (first to last date) and its VP maps are written into ``out_dir`` (``density_vp.tif`` and
    ``density_vp_roads_YEAR.tif``); without ``out_dir`` they go to a temporary folder that is removed
    (only the allocation is returned). The planned roads are used (``use_planned_roads_in_baseline``).
    """
    drivers = {"distance_to_edge": ForestEdgeDriver(kind="forest_edge")}
    planned = []
    if roads is not None:
        drivers["distance_to_road"] = DistanceDriver(kind="distance", path=Path(roads))
        planned = [PlannedRoad(path=Path(planned_roads), opening_year_field=opening_year_field)]
    else:
        drivers["distance_to_road"] = DistanceDriver(kind="distance", path=Path(planned_roads),
                                                     opening_year_field=opening_year_field)
    alt = AlternativeModel(name="planned_roads", model=model, drivers=drivers, planned_roads=planned,
                           use_planned_roads_in_baseline=True, sample_size=sample_size, seed=seed,
                           max_distance_m=max_distance_m, modelling_regions="jurisdiction")
    periods = default_periods(forest_change.dates)
    with tempfile.TemporaryDirectory(prefix="reddplus-scenario-") as tmp:
        where = Path(out_dir) if out_dir is not None else Path(tmp)
        base = predict_validity_period(forest_change, alt, periods, out_dir=where, seed=seed or 0,
                                       scheduler=scheduler, overwrite=overwrite)
        res = planned_road_scenario(base, expected_ha_per_year, zones=zones, scheduler=scheduler)
    if out_dir is None:
        from dataclasses import replace

        res = replace(res, density_paths={})
    return res
