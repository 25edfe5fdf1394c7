"""Allocation of the expected jurisdictional deforestation to pixels, a project and its leakage belt.

References
----------
[1] Verra (2023) VT0007 Unplanned Deforestation Allocation (UDef-A) v1.0, section 5.1 step 6
    (adjustment ratio, capped at the pixel area) and section 6 (allocation to projects).
[2] Vieilledent G. et al., forestatrisk ``deforest()``: returns its allocation error and warns at >= 1 %.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from reddplus.errors import InputDataError, ToleranceWarning, ZoneError
from reddplus.raster import (Grid, burn_zones, check_same_grid, iter_blocks, map_blocks, open_raster, read_block,
                             read_grid, read_zones)
from reddplus.risk.vt0007 import Adjustment, adjustment_ratio, adjustment_ratio_udef_arp, check_profile

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AllocationResult:
    """Per-year allocated deforestation [ha/yr] in each zone, with diagnostics."""

    years: tuple[int, ...]
    expected_ha_per_year: tuple[float, ...]
    zone_ha_per_year: dict          # zone name -> tuple of ha per year
    adjustments: tuple[Adjustment, ...]
    allocation_error: float         # signed worst relative error (allocated - expected) / expected over the years
    capped_share: float             # worst share of forest pixels at the cap over the years
    zone_stratum_ha_per_year: dict = field(default_factory=dict)   # zone -> stratum code -> tuple of ha per year

    def to_dict(self) -> dict:
        return {
            "years": list(self.years),
            "expected_ha_per_year": list(self.expected_ha_per_year),
            "zones": {k: list(val) for k, val in self.zone_ha_per_year.items()},
            "adjustment_ratio": [a.ratio for a in self.adjustments],
            "allocation_error": self.allocation_error,
            "capped_share": self.capped_share,
            "zone_strata": {z: {str(h): list(v) for h, v in d.items()} for z, d in self.zone_stratum_ha_per_year.items()},
        }


def merge_allocations(parts: Sequence[AllocationResult], years: Sequence[int]) -> AllocationResult:
    """One allocation over ``years`` from allocations of disjoint subsets of them (e.g. one per validity
    period, or one per road map), each year taken from the part that allocated it."""
    by_year = {}
    for r in parts:
        for i, y in enumerate(r.years):
            by_year[y] = (r, i)
    years = tuple(years)
    missing = [y for y in years if y not in by_year]
    if missing:
        raise InputDataError(f"no allocation for the years {missing}", column="year")
    zones = parts[0].zone_ha_per_year.keys()
    adjs = tuple(by_year[y][0].adjustments[by_year[y][1]] for y in years)
    err = max((a.allocation_error for a in adjs), key=abs)

    def pick(get):
        return tuple(get(by_year[y][0])[by_year[y][1]] for y in years)

    strata = {z: {h: pick(lambda r, z=z, h=h: r.zone_stratum_ha_per_year[z][h])
                  for h in parts[0].zone_stratum_ha_per_year[z]}
              for z in parts[0].zone_stratum_ha_per_year
              if all(z in r.zone_stratum_ha_per_year for r in parts)}
    return AllocationResult(years, pick(lambda r: r.expected_ha_per_year),
                            {z: pick(lambda r, z=z: r.zone_ha_per_year[z]) for z in zones}, adjs, err,
                            max(a.capped_share for a in adjs), strata)


def _check(adjs, tolerance, capped_tolerance):
    err = max((a.allocation_error for a in adjs), key=abs, default=0.0)
    capped = max((a.capped_share for a in adjs), default=0.0)
    if abs(err) > tolerance:
        warnings.warn(f"allocation error {err:.2%} exceeds the tolerance {tolerance:.2%}: the expected deforestation "
                      "exceeds what the forest can lose at the pixel-area cap", ToleranceWarning, stacklevel=3)
    if capped > capped_tolerance:
        warnings.warn(f"{capped:.2%} of the forest pixels are at the pixel-area cap (tolerance {capped_tolerance:.2%})",
                      ToleranceWarning, stacklevel=3)
    return err, capped


def allocate_array(density: np.ndarray, expected_ha_per_year: Sequence[float], pixel_area_ha: float,
                   zones: Mapping[str, np.ndarray], *, years: Sequence[int] | None = None,
                   tolerance: float = 0.01, capped_tolerance: float = 0.05) -> AllocationResult:
    """Allocate expected deforestation through density x AR (capped at the pixel area) and sum it per zone.

    Parameters
    ----------
    density : array [ha/pixel/yr]
        Fitted density (0 or NaN outside forest).
    expected_ha_per_year : sequence [ha/yr]
        Expected jurisdictional deforestation for each year.
    pixel_area_ha : float [ha]
    zones : mapping name -> bool array
        E.g. ``{"project": ..., "leakage_belt": ...}``.

    Notes
    -----
    .. math:: \\hat d_i = \\min(AR_t\\,\\delta_i, a),\\quad \\sum_i \\hat d_i = E_t,\\quad
              P_t = \\sum_{i \\in \\text{project}} \\hat d_i

    VT0007 v1.0 section 5.1 step 6 and section 6 [1].
    """
    d = np.nan_to_num(np.asarray(density, dtype=np.float64))
    vals, counts = np.unique(d[d > 0], return_counts=True)
    years = tuple(years) if years is not None else tuple(range(len(expected_ha_per_year)))
    adjs = tuple(adjustment_ratio(vals, counts, e, pixel_area_ha) for e in expected_ha_per_year)
    out = {}
    for name, m in zones.items():
        dz = d[np.asarray(m, dtype=bool)]
        out[name] = tuple(float(np.minimum(a.ratio * dz, pixel_area_ha).sum()) for a in adjs)
    err, capped = _check(adjs, tolerance, capped_tolerance)
    return AllocationResult(years, tuple(float(e) for e in expected_ha_per_year), out, adjs, err, capped)


def allocate(*args, **kwargs) -> AllocationResult:
    """Streamed allocation (see :func:`_allocate`), with GDAL's block cache bounded."""
    import rasterio

    from reddplus.risk.tools import GDAL_CACHE_BYTES

    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES):
        return _allocate(*args, **kwargs)


def _allocate(density_path: str | os.PathLike, expected_ha_per_year: float | Sequence[float], *,
             zones: Mapping[str, str | os.PathLike] | None = None, jurisdiction: str | os.PathLike | None = None,
             years: Sequence[int] | None = None, tolerance: float = 0.01, capped_tolerance: float = 0.05,
             scheduler: str | None = None, block_size: int | None = None, strata: str | os.PathLike | None = None,
             profile: str = "reddplus", max_iterations: int = 5) -> AllocationResult:
    """Streamed allocation of a density raster [ha/pixel/yr] to zone polygons (e.g. project, leakage belt).

    Two passes through the raster engine: the distinct densities and their pixel counts (for the
    adjustment ratio, VT0007 step 6, by the ``profile``'s rule: the exact fixed point, or UDef-ARP's
    iteration up to ``max_iterations``), then the per-zone sums, and per stratum code of the
    ``strata`` raster (same grid) when one is given. Each zone must lie inside the jurisdiction
    polygon when one is given (else inside the raster).
    """
    check_profile(profile)
    grid: Grid = read_grid(density_path)
    expected = [float(expected_ha_per_year)] if np.isscalar(expected_ha_per_year) else \
        [float(e) for e in expected_ha_per_year]
    if any(e < 0 for e in expected):
        raise InputDataError("expected deforestation must be >= 0 ha/yr", column="expected_ha_per_year")
    zl = {name: read_zones(p, grid, dissolve=True) for name, p in (zones or {}).items()}
    if jurisdiction is not None:
        jz = read_zones(jurisdiction, grid, dissolve=True)
        jgeom = jz.gdf.geometry.union_all()
        for name, z in zl.items():
            g = z.gdf.geometry.union_all()
            if not g.intersects(jgeom):
                raise ZoneError(f"{name} lies outside the jurisdiction", path=str((zones or {})[name]))
            if g.difference(jgeom.buffer(max(grid.res))).area > 0.01 * g.area:
                raise ZoneError(f"{name} extends more than 1% outside the jurisdiction",
                                path=str((zones or {})[name]))
    blocks = list(iter_blocks(grid.shape, memory_limit_bytes=64 * 2**20, bytes_per_pixel=40, block_size=block_size))

    def uniq(block):
        with open_raster(density_path) as ds:
            d = np.nan_to_num(read_block(ds, block, with_halo=False).astype(np.float64))
        return np.unique(d[d > 0], return_counts=True)

    vals_all, counts_all = [], []
    for _, (vals, cnt) in map_blocks(uniq, blocks, scheduler=scheduler):
        vals_all.append(vals)
        counts_all.append(cnt)
    vals = np.concatenate(vals_all) if vals_all else np.zeros(0)
    cnt = np.concatenate(counts_all) if counts_all else np.zeros(0, np.int64)
    u, inv = np.unique(vals, return_inverse=True)
    counts = np.bincount(inv, weights=cnt, minlength=u.size)
    area = grid.pixel_area_ha
    if profile == "udef-arp":
        adjs = tuple(adjustment_ratio_udef_arp(u, counts, e, area, max_iterations) for e in expected)
    else:
        adjs = tuple(adjustment_ratio(u, counts, e, area) for e in expected)
    if strata is not None:
        check_same_grid({f"density ({density_path})": grid, f"strata ({strata})": read_grid(strata)})

    def sums(block):
        with open_raster(density_path) as ds:
            d = np.nan_to_num(read_block(ds, block, with_halo=False).astype(np.float64))
        s = None
        if strata is not None:
            with open_raster(strata) as ds:
                s = read_block(ds, block, with_halo=False)
        out, by_stratum = {}, {}
        for name, z in zl.items():
            inside = burn_zones(z, grid, block) > 0
            adjusted = np.stack([a.adjust(d[inside], area) for a in adjs]) if adjs else np.zeros((0, 0))
            out[name] = adjusted.sum(axis=1)
            if s is not None:
                codes = s[inside]
                by_stratum[name] = {int(h): adjusted[:, codes == h].sum(axis=1) for h in np.unique(codes)}
        return out, by_stratum

    # summed in block order, not in the threads' completion order: the same bits on every run
    tot = {name: np.zeros(len(expected)) for name in zl}
    tot_s: dict[str, dict[int, np.ndarray]] = {name: {} for name in zl}
    for _, (out, by_stratum) in map_blocks(sums, blocks, scheduler=scheduler, ordered=True):
        for name, a in out.items():
            tot[name] += a
        for name, per in by_stratum.items():
            for h, a in per.items():
                tot_s[name][h] = tot_s[name].get(h, 0.0) + a
    err, capped = _check(adjs, tolerance, capped_tolerance)
    yrs = tuple(years) if years is not None else tuple(range(len(expected)))
    strata_out = {name: {h: tuple(float(x) for x in a) for h, a in sorted(per.items())}
                  for name, per in tot_s.items()} if strata is not None else {}
    return AllocationResult(yrs, tuple(expected), {k: tuple(float(x) for x in a) for k, a in tot.items()}, adjs,
                            err, capped, strata_out)
