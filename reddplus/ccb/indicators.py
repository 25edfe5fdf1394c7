"""Map-based CCB indicators per monitoring period, streamed by blocks (path-level tool).

For each zone (the project zone, the project area, each community area, each HCV area, the
reserve buffer, the riparian zone, each catchment) and each date needed (the start and end of
every monitoring period, the crediting start, the counterfactual's start), the forest-class
metrics of :mod:`reddplus.ccb.landscape` are computed in one pass over the forest-change blocks
(:meth:`reddplus.landcover.ForestChange.read_codes`, halo = the core-area edge depth), and the
baseline's expected deforestation per zone in a second, halo-free pass over its density raster.

Without-project values (CCB v3.1 G2, CM1, B1), for a monitoring period ``(a, b)`` (inclusive
years; forest at the end of year ``a - 1`` and of year ``b``) and a zone ``z``:

* baseline, forest area: :math:`F^{wp}_z(b) = F_z(c_0 - 1) - \\sum_{t=c_0}^{b} E_z(t)`, with
  :math:`E_z(t)` the VT0007 expected deforestation of the zone in year ``t`` and :math:`c_0` the
  crediting start; forest loss in the period: :math:`\\sum_{t=a}^{b} E_z(t)`;
* counterfactual, forest loss: :math:`F_z(s) \\sum_{p \\subset (a-1, b]} f_p` with :math:`f_p` the
  matched controls' loss per period as a share of the forest at the counterfactual start ``s``;
* fragmentation metrics (patches, edge density, core area, mean patch area, mesh): not available
  without a without-project forest *map*; the baseline and the counterfactual give amounts, not
  locations. The reason is kept with the value.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from reddplus.ccb.landscape import ClassMetrics, edge_depth_px, streamed_class_metrics
from reddplus.ccb.scenario import BaselineInputs, CounterfactualInputs, allocated_ha
from reddplus.errors import ConfigError, InputDataError

log = logging.getLogger(__name__)

__all__ = ["MapIndicators", "RoadState", "map_indicators", "road_state"]


@dataclass(frozen=True)
class RoadState:
    """Roads inside the concession at one date: length [km] and number of pieces entering it."""

    date: int
    road_km: float
    road_entries: int


def road_state(lines, area, date: int) -> RoadState:
    """Roads of ``lines`` (GeoSeries) inside the polygon ``area``: km and number of separate pieces.

    .. math:: L = \\sum_k |r_k \\cap A| / 1000, \\qquad N = \\#\\text{parts}(\\bigcup_k r_k \\cap A)
    """
    from shapely.ops import linemerge, unary_union

    inside = unary_union([g.intersection(area) for g in lines if g is not None and not g.is_empty])
    if inside.is_empty:
        return RoadState(date, 0.0, 0)
    merged = linemerge(inside) if inside.geom_type == "MultiLineString" else inside
    parts = getattr(merged, "geoms", [merged])
    parts = [p for p in parts if p.length > 0]
    return RoadState(date, float(sum(p.length for p in parts) / 1000.0), len(parts))


@dataclass(frozen=True)
class MapIndicators:
    """Everything measured on the maps: class metrics per (zone, date) and expected deforestation per zone."""

    dates: tuple[int, ...]                          # forest dates measured [yr, end of year]
    zones: tuple[str, ...]
    metrics: Mapping[tuple[str, int], ClassMetrics]  # (zone, date) -> metrics
    expected_ha: Mapping[str, Mapping[int, float]]   # zone -> year -> baseline expected deforestation [ha]
    roads: tuple[RoadState, ...]
    planned_roads: Mapping[int, RoadState]           # year -> without-project roads (baseline)
    pixel_m: float
    edge_depth_m: float

    def to_dict(self) -> dict:
        return {"dates": list(self.dates), "pixel_m": self.pixel_m, "edge_depth_m": self.edge_depth_m,
                "zones": {z: {str(d): self.metrics[(z, d)].to_dict() for d in self.dates if (z, d) in self.metrics}
                          for z in self.zones},
                "baseline_expected_deforestation_ha": {z: {str(y): v for y, v in e.items()}
                                                       for z, e in self.expected_ha.items()},
                "roads": [r.__dict__ for r in self.roads],
                "baseline_roads": {str(y): r.__dict__ for y, r in self.planned_roads.items()}}


def _geoms_in_grid(zones: Mapping[str, object], grid) -> dict[str, object]:
    return {k: v for k, v in zones.items() if v is not None and not v.is_empty}


def map_indicators(forest_change, zones: Mapping[str, object], *, dates: tuple[int, ...], edge_depth_m: float,
                   baseline: BaselineInputs | None = None, crediting: tuple[int, int] | None = None,
                   roads: tuple[tuple[int, object], ...] = (), concession=None,
                   scheduler: str | None = None, progress: Callable[[int], None] | None = None,
                   memory_limit_bytes: int = 128 * 2**20, block_size: int | None = None) -> MapIndicators:
    """Measure the zones on the forest-change maps (streamed by blocks, bounded memory).

    Parameters
    ----------
    forest_change : ForestChange
        Canonical codes (:mod:`reddplus.landcover.forest_change`).
    zones : mapping name -> shapely polygon
        In the forest-change grid's CRS.
    dates : tuple of int [yr]
        Forest dates to measure (each must be a date of ``forest_change``).
    edge_depth_m : float [m]
        Core-area edge depth.
    baseline : BaselineInputs, optional
        Expected deforestation per zone and crediting year (needs ``crediting``).
    crediting : (first, last) [yr]
    roads : tuple of (date, GeoSeries)
        Observed roads and access per date; ``concession`` is the polygon they are measured in.
    """
    from rasterio.features import rasterize
    from rasterio.windows import bounds as win_bounds
    from shapely.geometry import box

    from reddplus.landcover import forest_at
    from reddplus.raster import check_projected_metres, iter_blocks, map_blocks, open_raster, read_block

    fc = forest_change
    grid = fc.grid
    check_projected_metres(grid.crs, source="forest change")
    rx, ry = grid.res
    if not math.isclose(rx, ry, rel_tol=1e-6):
        raise InputDataError(f"landscape metrics need square pixels; the forest change has {rx} x {ry} m",
                             path=fc.paths[0])
    cell = float(rx)
    zones = _geoms_in_grid(zones, grid)
    missing = [d for d in dates if d not in fc.dates]
    if missing:
        raise ConfigError(f"forest dates {missing} are not dates of the forest change ({fc.dates[0]}-{fc.dates[-1]})",
                          key="periods.monitoring")
    kidx = {d: fc.dates.index(d) for d in dates}
    halo = max(1, edge_depth_px(edge_depth_m, cell))   # read_codes adds what its own decoder needs
    bpp = 2 + 2 * max(1, len(zones))
    union = box(*zones[next(iter(zones))].bounds) if zones else None
    for g in zones.values():
        union = union.union(box(*g.bounds))
    blocks = [b for b in iter_blocks(grid.shape, halo=halo, memory_limit_bytes=memory_limit_bytes,
                                     bytes_per_pixel=bpp, block_size=block_size)
              if union is not None and box(*win_bounds(b.read_window, grid.transform)).intersects(union)]

    def burn(geom, window):
        h, w = int(window.height), int(window.width)
        return rasterize([(geom, 1)], out_shape=(h, w), transform=grid.window_transform(window), fill=0,
                         all_touched=False, dtype="uint8").astype(bool)

    def masks(block):
        rw = block.read_window
        wb = box(*win_bounds(rw, grid.transform))
        codes = fc.read_codes(block, with_halo=True)
        valid = codes != 255
        out = {}
        for name, geom in zones.items():
            if not geom.intersects(wb):
                continue
            land = burn(geom, rw) & valid
            if not land.any():
                continue
            for d, k in kidx.items():
                out[(name, d)] = (forest_at(codes, k), land)
        return out

    metrics = streamed_class_metrics(masks, blocks, cell_m=cell, edge_depth_m=edge_depth_m, scheduler=scheduler,
                                     progress=progress)
    for name in zones:  # a zone with no pixel: an empty landscape, not a missing one
        for d in dates:
            metrics.setdefault((name, d), ClassMetrics(0.0, 0.0, None, 0.0, 0, 0.0, None, None, None, edge_depth_m))

    expected: dict[str, dict[int, float]] = {}
    if baseline is not None and crediting is not None:
        years = list(range(crediting[0], crediting[1] + 1))
        for name in zones:
            if name in baseline.zone_ha_per_year:
                expected[name] = {int(y): float(v) for y, v in baseline.zone_ha_per_year[name].items()}
        todo = [z for z in zones if z not in expected]
        t0 = crediting[0] - 1
        if todo and baseline.density_path is not None and t0 in fc.dates and baseline.adjustment_ratio_by_year:
            k0 = fc.dates.index(t0)
            ar = {y: float(baseline.adjustment_ratio_by_year[y]) for y in years if y in baseline.adjustment_ratio_by_year}
            px_ha = grid.pixel_area_ha
            dblocks = [b for b in iter_blocks(grid.shape, memory_limit_bytes=memory_limit_bytes, bytes_per_pixel=24,
                                              block_size=block_size)
                       if box(*win_bounds(b.window, grid.transform)).intersects(union)]
            dpath = str(baseline.density_path)

            def dtask(block):
                wb = box(*win_bounds(block.window, grid.transform))
                codes = fc.read_codes(block, with_halo=False)
                with open_raster(dpath) as ds:
                    dens = read_block(ds, block, with_halo=False).astype(np.float64)
                    if ds.nodata is not None:
                        dens[dens == ds.nodata] = np.nan
                f0 = forest_at(codes, k0)
                res = {}
                for name in todo:
                    if not zones[name].intersects(wb):
                        continue
                    m = burn(zones[name], block.window) & f0
                    if m.any():
                        dz = dens[m]
                        res[name] = {y: float(allocated_ha(dz, r, px_ha).sum()) for y, r in ar.items()}
                return res

            sums = {z: {y: 0.0 for y in ar} for z in todo}
            for _, res in sorted(map_blocks(dtask, dblocks, scheduler=scheduler),
                                 key=lambda t: (t[0].row_off, t[0].col_off)):
                for z, e in res.items():
                    for y, v in e.items():
                        sums[z][y] += v
            expected.update(sums)

    road_states = tuple(road_state(lines, concession, int(d)) for d, lines in roads) if concession is not None else ()
    planned: dict[int, RoadState] = {}
    if baseline is not None and baseline.planned_roads and concession is not None and crediting is not None:
        import geopandas as gpd

        start = [(d, l) for d, l in roads if d <= crediting[0] - 1]
        base_lines = list(start[-1][1]) if start else []
        layers = []
        for p, y in baseline.planned_roads:
            g = gpd.read_file(p)
            if g.crs is not None and grid.crs is not None and g.crs != grid.crs:
                g = g.to_crs(grid.crs)
            layers.append((int(y), list(g.geometry)))
        for y in range(crediting[0], crediting[1] + 1):
            lines = base_lines + [g for oy, gs in layers if oy <= y for g in gs]
            planned[y] = road_state(lines, concession, y)
    return MapIndicators(tuple(sorted(dates)), tuple(zones), metrics, expected, road_states, planned, cell,
                         float(edge_depth_m))


def forest_without_project(m: MapIndicators, zone: str, a: int, b: int, crediting_start: int) -> tuple[float | None, str]:
    """Baseline forest area of a zone at the end of year ``b`` [ha] and the reason when not available."""
    e = m.expected_ha.get(zone)
    t0 = crediting_start - 1
    if e is None:
        return None, "no baseline expected deforestation for this zone"
    if (zone, t0) not in m.metrics:
        return None, f"the forest at the crediting start ({t0}) was not measured"
    years = range(crediting_start, b + 1)
    if any(y not in e for y in years):
        return None, f"the baseline covers {min(e)}-{max(e)}, not {crediting_start}-{b}"
    return m.metrics[(zone, t0)].forest_area_ha - sum(e[y] for y in years), ""


def baseline_loss(m: MapIndicators, zone: str, a: int, b: int) -> tuple[float | None, str]:
    """Baseline expected deforestation of a zone in the years ``a..b`` [ha] (reason when not available)."""
    e = m.expected_ha.get(zone)
    if e is None:
        return None, "no baseline expected deforestation for this zone"
    if any(y not in e for y in range(a, b + 1)):
        return None, f"the baseline covers {min(e)}-{max(e)}, not {a}-{b}"
    return float(sum(e[y] for y in range(a, b + 1))), ""


def counterfactual_loss(m: MapIndicators, cf: CounterfactualInputs, zone: str, a: int, b: int) -> tuple[float | None, str]:
    """Matched-control deforestation scaled to a zone over ``(a - 1, b]`` [ha] (reason when not available)."""
    f = cf.fraction_over(a - 1, b)
    if f is None:
        return None, f"the counterfactual periods do not tile {a - 1}-{b}"
    if (zone, cf.start_year) not in m.metrics:
        return None, f"the forest at the counterfactual start ({cf.start_year}) was not measured"
    return m.metrics[(zone, cf.start_year)].forest_area_ha * f, ""
