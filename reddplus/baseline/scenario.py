"""Baseline scenario for planned infrastructure: a risk map whose planned-road driver opens in a given year.

A logistic-regression (or random-forest) risk model is fitted on the historical period with the
distance to the roads that were open then. For each year of the validity period the distance to
roads uses the existing roads plus every planned road whose opening year is <= that year, so the
risk map "without" and "with" the highway differ, and the baseline deforestation allocated to a
project changes from the opening year on.

References
----------
[1] Verra (2023) VT0007 v1.0, section 5.3 (alternative models with drivers such as roads) and
    section 6 (allocation of the jurisdictional baseline to projects).
[2] Soares-Filho B. et al. (2006) Modelling conservation in the Amazon basin, Nature 440:520-523
    (paved roads as the main deforestation driver in scenarios).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from reddplus.baseline.allocation import AllocationResult, allocate_array
from reddplus.errors import InputDataError
from reddplus.risk import models as m
from reddplus.risk import vt0007 as v
from reddplus.risk.compare import distance_to_features

log = logging.getLogger(__name__)
NODATA = 255


def roads_open_in(existing: np.ndarray, planned: Sequence[tuple[np.ndarray, int]], year: int) -> np.ndarray:
    """Road pixels open in ``year``: existing roads plus planned roads whose opening year is <= ``year``.

    .. math:: R(t) = R_0 \\cup \\bigcup_{j : t_j \\le t} R_j
    """
    out = np.asarray(existing, dtype=bool).copy()
    for mask, opening in planned:
        if opening <= year:
            out |= np.asarray(mask, dtype=bool)
    return out


@dataclass(frozen=True)
class ScenarioResult:
    """Per-year baseline with planned roads, and the risk maps without / with every planned road."""

    years: tuple[int, ...]
    opening_years: tuple[int, ...]
    allocation: AllocationResult           # zone ha per year (the map of each year uses the roads open then)
    density_without: np.ndarray            # [ha/pixel/yr] roads open at the VP start only
    density_with: np.ndarray               # [ha/pixel/yr] every planned road open
    classes_without: np.ndarray
    classes_with: np.ndarray
    model_summary: dict

    def to_dict(self) -> dict:
        return {"years": list(self.years), "opening_years": list(self.opening_years),
                "allocation": self.allocation.to_dict(), "model": self.model_summary}


def planned_road_scenario(codes: np.ndarray, dates: Sequence[int], pixel_size_m: float, existing_roads: np.ndarray,
                          planned_roads: Sequence[tuple[np.ndarray, int]],
                          expected_ha_per_year: Mapping[int, float], zones: Mapping[str, np.ndarray], *,
                          fit: tuple[int, int] | None = None, vp_start: int | None = None, model: str = "logistic",
                          extra_drivers: Mapping[str, np.ndarray] | None = None, sample_size: int = 20_000,
                          seed: int | None = 0, max_distance_m: float = 20_000.0,
                          tolerance: float = 0.01) -> ScenarioResult:
    """Fit the road-driven risk model on the historical period and allocate each year's baseline.

    Parameters
    ----------
    codes : array of uint8
        ForestChange codes (leading forest dates per pixel; 255 = no data).
    dates : sequence of int [yr]
    pixel_size_m : float [m]
    existing_roads : array of bool
    planned_roads : sequence of (bool array, opening year)
    expected_ha_per_year : mapping year -> [ha/yr]
        Expected jurisdictional deforestation (e.g. from the jurisdictional rate).
    zones : mapping name -> bool array (project, leakage belt)
    fit : (start, end) date indices of the fit period (default first to last date).
    vp_start : date index of the validity-period start (default last date).

    Notes
    -----
    .. math:: p_i(t) = \\operatorname{logit}^{-1}(\\beta_0 + \\beta_e d^{edge}_i + \\beta_r d^{road}_i(t) + ...),
              \\quad P_t = \\sum_{i \\in \\text{project}} \\min(AR_t\\, \\delta_{c_i(t)}, a)

    VT0007 v1.0 sections 5.3 and 6 [1].
    """
    n = len(dates)
    k0, k1 = fit or (0, n - 1)
    vp = n - 1 if vp_start is None else vp_start
    if not expected_ha_per_year:
        raise InputDataError("no year to allocate", column="expected_ha_per_year")
    area = pixel_size_m ** 2 / 10_000.0
    years_fit = float(dates[k1] - dates[k0])
    f_fit = (codes > k0) & (codes != NODATA)
    d_fit = f_fit & (codes <= k1)
    f_vp = (codes > vp) & (codes != NODATA)
    edge_fit = np.minimum(v.distance_to_edge(f_fit, pixel_size_m), max_distance_m)
    edge_vp = np.minimum(v.distance_to_edge(f_vp, pixel_size_m), max_distance_m)

    def drivers(edge, roads):
        d = {"distance_to_edge": edge, "distance_to_road": distance_to_features(roads, pixel_size_m, max_distance_m)}
        d.update(extra_drivers or {})
        return d

    drv_fit = drivers(edge_fit, roads_open_in(existing_roads, planned_roads, dates[k0]))
    rng = np.random.default_rng(seed)
    idx = m.sample_training(f_fit, d_fit, sample_size, rng)
    X, names = m.feature_matrix(drv_fit, idx)
    fitted = m.get_model(model)(X, d_fit.ravel()[idx].astype(int), names, seed=seed)
    p_fit = m.predict_potential(fitted, drv_fit, f_fit)
    pmax = float(p_fit[f_fit].max())
    cls_fit = m.potential_classes(p_fit, f_fit, max_potential=pmax)
    nc = v.N_CLASSES + 1
    table = v.fitted_density(np.bincount(cls_fit.ravel(), minlength=nc)[:, None],
                             np.bincount(cls_fit[d_fit], minlength=nc)[:, None], area, years_fit)
    dens_year = table.density_ha_per_pixel[:, 0] / years_fit

    cache: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def density_for(year):
        key = tuple(o <= year for _, o in planned_roads)
        if key not in cache:
            p = m.predict_potential(fitted, drivers(edge_vp, roads_open_in(existing_roads, planned_roads, year)), f_vp)
            c = m.potential_classes(p, f_vp, max_potential=pmax)
            cache[key] = (c, np.where(c > 0, dens_year[c], 0.0))
        return cache[key]

    years = tuple(sorted(expected_ha_per_year))
    openings = tuple(o for _, o in planned_roads)
    per_year = {name: [] for name in zones}
    adjs = []
    for y in years:
        _, dens = density_for(y)
        r = allocate_array(dens, [expected_ha_per_year[y]], area, zones, years=[y], tolerance=tolerance)
        adjs.append(r.adjustments[0])
        for name in zones:
            per_year[name].append(r.zone_ha_per_year[name][0])
    err = max((a.allocation_error for a in adjs), key=abs)
    alloc = AllocationResult(years, tuple(float(expected_ha_per_year[y]) for y in years),
                             {k: tuple(val) for k, val in per_year.items()}, tuple(adjs), err,
                             max(a.capped_share for a in adjs))
    c_without, d_without = density_for(dates[vp])
    c_with, d_with = density_for(max(openings + (dates[vp],)))
    return ScenarioResult(years, openings, alloc, d_without, d_with, c_without, c_with,
                          dict(fitted.summary, model=fitted.name))


def read_planned_roads(path: str | os.PathLike, grid, opening_year_field: str) -> list[tuple[np.ndarray, int]]:
    """Planned roads from a vector layer with an opening-year attribute, one burned mask per opening year."""
    import geopandas as gpd

    from reddplus.risk.compare import rasterize_lines

    gdf = gpd.read_file(path)
    if opening_year_field not in gdf.columns:
        raise InputDataError(f"planned-road layer has no field {opening_year_field!r}", column=opening_year_field,
                             path=str(path))
    years = gdf[opening_year_field]
    if years.isna().any():
        raise InputDataError("planned road without an opening year", column=opening_year_field, path=str(path),
                             row=int(np.flatnonzero(years.isna().to_numpy())[0]))
    out = []
    for y in sorted(set(int(x) for x in years)):
        out.append((rasterize_lines(path, grid, where=lambda g, y=y: g[opening_year_field].astype(int) == y), y))
    return out


def planned_road_scenario_from_paths(forest_change, *, planned_roads: str | os.PathLike,
                                     opening_year_field: str = "opening_year",
                                     roads: str | os.PathLike | None = None,
                                     zones: Mapping[str, str | os.PathLike],
                                     expected_ha_per_year: Mapping[int, float], model: str = "logistic",
                                     seed: int | None = 0, sample_size: int = 20_000,
                                     out_dir: str | os.PathLike | None = None, overwrite: bool = False) -> ScenarioResult:
    """Path-level :func:`planned_road_scenario`: reads the forest change (whole raster, in memory), the
    existing and planned road layers and the zone polygons; optionally writes the class and density maps
    without / with the planned roads as COGs into ``out_dir``."""
    from pathlib import Path

    from reddplus.raster import Block, burn_zones, read_zones, write_cog
    from reddplus.risk.compare import rasterize_lines

    grid = forest_change.grid
    full = Block(0, 0, grid.height, grid.width, 0, grid.height, grid.width)
    codes = forest_change.read_codes(full, with_halo=False)
    existing = rasterize_lines(roads, grid) if roads is not None else np.zeros(grid.shape, bool)
    planned = read_planned_roads(planned_roads, grid, opening_year_field)
    masks = {name: burn_zones(read_zones(p, grid, dissolve=True), grid) > 0 for name, p in zones.items()}
    res = planned_road_scenario(codes, forest_change.dates, float(grid.res[0]), existing, planned,
                                expected_ha_per_year, masks, model=model, seed=seed, sample_size=sample_size)
    if out_dir is not None:
        out = Path(out_dir)
        for name, arr, nodata in (("classes_without_planned_roads", res.classes_without, 0),
                                  ("classes_with_planned_roads", res.classes_with, 0),
                                  ("density_without_planned_roads", res.density_without.astype(np.float32), None),
                                  ("density_with_planned_roads", res.density_with.astype(np.float32), None)):
            write_cog(out / f"{name}.tif", arr, crs=grid.crs, transform=grid.transform, nodata=nodata,
                      overwrite=overwrite)
    return res
