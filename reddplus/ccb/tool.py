"""Path-level tools of the CCB step: zones from the CCB folder, map indicators, the results object.

The crediting chain calls :func:`ccb_step` (a ``ProjectConfig`` with ``ccb`` set, plus the
optional :class:`~reddplus.ccb.scenario.BaselineInputs` and
:class:`~reddplus.ccb.scenario.CounterfactualInputs`); ``reddplus ccb report`` calls it without
them, so without-project values are then marked not available, with the reason.

Wiring from the crediting chain (names of :func:`reddplus.chain._run`)::

    from reddplus.ccb import BaselineInputs, CounterfactualInputs, ccb_step
    from reddplus.ccb.report import render_ccb_section

    baseline = BaselineInputs(
        source=steps["baseline_source"], density_path=risk.density_path,
        adjustment_ratio_by_year={y: a.ratio for y, a in zip(crediting_years, alloc.adjustments)},
        zone_ha_per_year={"project_area": baseline_project},
        planned_roads=tuple((p.path, p.opening_year) for p in cfg.baseline.planned_roads))
    cf_in = CounterfactualInputs.from_result(cf) if cf is not None else None
    ccb = ccb_step(cfg, baseline=baseline, counterfactual=cf_in, forest_change=fc, scheduler=scheduler)
    section = render_ccb_section(ccb, out)        # out/ccb.html, out/figures/ccb_*.png; section.fragment
    summary["ccb"] = ccb.to_dict()
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from reddplus.ccb.indicators import map_indicators
from reddplus.ccb.io import CcbDataset, read_ccb
from reddplus.ccb.results import CcbResults, assemble
from reddplus.ccb.scenario import BaselineInputs, CounterfactualInputs
from reddplus.errors import ConfigError

log = logging.getLogger(__name__)

__all__ = ["ccb_results", "ccb_step", "ccb_zones"]


def ccb_zones(ds: CcbDataset, crs) -> dict[str, object]:
    """Every zone a CCB indicator can name, as shapely polygons in ``crs``.

    ``project_zone`` (the union of the zone file), ``project_area``, ``community:GROUP``, each HCV
    id, ``reserve_buffer`` (outside the reserve, within ``buffer_m``), ``riparian`` (river buffer within
    the project zone) and ``catchment:INTAKE`` (given polygons, or delineated from the DEM).
    """
    import geopandas as gpd

    from reddplus.ccb.hydrology import catchments_from_dem, riparian_zone

    s = ds.settings
    zone = ds.zone.to_crs(crs) if ds.zone.crs != crs else ds.zone
    out: dict[str, object] = {"project_zone": zone.geometry.union_all(),
                              "project_area": zone[zone["kind"] == "project_area"].geometry.union_all()}
    if "group_id" in zone.columns:
        for gid, sub in zone[zone["kind"] == "community_area"].groupby("group_id"):
            if gid:
                out[f"community:{gid}"] = sub.geometry.union_all()
    if ds.hcv_geometry is not None:
        h = ds.hcv_geometry.to_crs(crs) if ds.hcv_geometry.crs != crs else ds.hcv_geometry
        for hid, sub in h.groupby(h["hcv_id"].astype(str)):
            out[hid] = sub.geometry.union_all()

    def layer(p):
        g = gpd.read_file(ds.path(p))
        return g.to_crs(crs) if g.crs != crs else g

    ip = s.isolated_peoples
    if ip.reserve is not None:
        res = layer(ip.reserve).geometry.union_all()
        out["reserve_buffer"] = res.buffer(ip.buffer_m).difference(res)
    w = s.water
    if w.rivers is not None:
        out["riparian"] = riparian_zone(layer(w.rivers), w.riparian_buffer_m, clip=out["project_zone"])
    if w.catchments is not None:
        c = layer(w.catchments)
    elif w.intakes is not None:
        c = catchments_from_dem(ds.path(w.dem), layer(w.intakes), snap_upstream_km2=w.snap_upstream_km2,
                                snap_distance_m=w.snap_distance_m)
        c = c.to_crs(crs) if c.crs != crs else c
    else:
        c = None
    if c is not None:
        for iid, geom in zip(c["intake_id"].astype(str), c.geometry):
            out[f"catchment:{iid}"] = geom
    return out


def ccb_results(ds: CcbDataset, forest_change, *, baseline: BaselineInputs | None = None,
                counterfactual: CounterfactualInputs | None = None, scheduler: str | None = None,
                progress: Callable[[int], None] | None = None, memory_limit_bytes: int = 128 * 2**20,
                block_size: int | None = None) -> CcbResults:
    """Measure a validated CCB dataset on the forest-change maps and assemble the results.

    Parameters
    ----------
    ds : CcbDataset
        From :func:`reddplus.ccb.read_ccb`.
    forest_change : ForestChange
        ``ProjectConfig.forest_change.open()``.
    baseline, counterfactual : optional
        Without-project inputs (see :mod:`reddplus.ccb.scenario`); without them the without-project values
        are not available and say why.
    """
    import geopandas as gpd

    s = ds.settings
    grid = forest_change.grid
    zones = ccb_zones(ds, grid.crs)
    dates = set()
    for i, (a, b) in enumerate(ds.monitoring_periods):
        for d in (a - 1, b):
            if d not in forest_change.dates:
                raise ConfigError(f"monitoring period {a}-{b} needs the forest at the end of {d}, not a date of the "
                                  f"forest change ({forest_change.dates[0]}-{forest_change.dates[-1]})",
                                  key=f"ccb: periods.monitoring.{i}")
            dates.add(d)
    c0 = s.periods.crediting[0]
    if c0 - 1 in forest_change.dates:
        dates.add(c0 - 1)
    if counterfactual is not None and counterfactual.start_year in forest_change.dates:
        dates.add(counterfactual.start_year)
    roads = []
    for r in s.isolated_peoples.roads:
        g = gpd.read_file(ds.path(r.path))
        g = g.to_crs(grid.crs) if g.crs != grid.crs else g
        roads.append((r.date, tuple(g.geometry)))
    maps = map_indicators(forest_change, zones, dates=tuple(sorted(dates)), edge_depth_m=s.landscape.core_edge_depth_m,
                          baseline=baseline, crediting=tuple(s.periods.crediting), roads=tuple(roads),
                          concession=zones["project_area"], scheduler=scheduler, progress=progress,
                          memory_limit_bytes=memory_limit_bytes, block_size=block_size)
    notes = [f"landscape metrics on the forest-change grid ({maps.pixel_m:g} m pixels, 8-cell patches, core edge "
             f"depth {s.landscape.core_edge_depth_m:g} m)",
             "forest at the start of a monitoring period A-B is the forest at the end of year A-1"]
    if s.water.catchments is None and s.water.intakes is not None:
        notes.append(f"catchments delineated from {s.water.dem} (pyflwdir D8; intakes snapped to cells draining "
                     f">= {s.water.snap_upstream_km2:g} km2 within {s.water.snap_distance_m:g} m)")
    from dataclasses import replace

    res = assemble(ds, maps, baseline=baseline, counterfactual=counterfactual, assumptions=tuple(notes))
    return replace(res, overview=_overview(forest_change, zones, ds, dates))


def _overview(fc, zones: dict, ds: CcbDataset, dates, max_pixels: int = 1_500_000) -> dict | None:
    """Forest-change classes around the project zone and the reserve buffer, decimated for the report map."""
    import geopandas as gpd
    import numpy as np
    from rasterio.windows import from_bounds
    from shapely.geometry import box

    from reddplus.raster import Block

    grid = fc.grid
    keys = [k for k in ("project_zone", "reserve_buffer") if k in zones]
    union = zones[keys[0]]
    for k in keys[1:]:
        union = union.union(zones[k])
    w = from_bounds(*union.bounds, transform=grid.transform)
    r0, c0 = max(0, int(np.floor(w.row_off)) - 2), max(0, int(np.floor(w.col_off)) - 2)
    r1 = min(grid.height, int(np.ceil(w.row_off + w.height)) + 2)
    c1 = min(grid.width, int(np.ceil(w.col_off + w.width)) + 2)
    if r1 <= r0 or c1 <= c0:
        return None
    codes = fc.read_codes(Block(r0, c0, r1 - r0, c1 - c0, 0, grid.height, grid.width), with_halo=False)
    step = max(1, int(np.ceil(np.sqrt(codes.size / max_pixels))))
    codes = codes[::step, ::step]
    per = ds.monitoring_periods
    k0 = fc.dates.index(min(a for a, _ in per) - 1) if per else 0
    k1 = fc.dates.index(max(b for _, b in per)) if per else len(fc.dates) - 1
    cls = np.zeros(codes.shape, np.uint8)
    valid = codes != 255
    cls[valid & (codes <= k0)] = 1
    cls[valid & (codes > k0) & (codes <= k1)] = 2
    cls[valid & (codes > k1)] = 3
    from rasterio.transform import array_bounds

    wt = grid.window_transform(Block(r0, c0, r1 - r0, c1 - c0, 0, grid.height, grid.width).window)
    bounds = array_bounds(r1 - r0, c1 - c0, wt)
    frame = box(*bounds)
    colours = {"project_area": "#0050c8", "reserve_buffer": "#7b1fa2", "riparian": "#00acc1"}

    def series(names):
        geoms = [zones[n].intersection(frame) for n in names if n in zones]
        return gpd.GeoSeries([g for g in geoms if not g.is_empty], crs=grid.crs)

    outlines = {"project area": (series(["project_area"]), colours["project_area"]),
                "community areas": (series([z for z in zones if z.startswith("community:")]), "#ef6c00"),
                "HCV areas": (series([h.hcv_id for h in ds.hcvs]), "#c62828"),
                "reserve buffer": (series(["reserve_buffer"]), colours["reserve_buffer"]),
                "catchments": (series([z for z in zones if z.startswith("catchment:")]), "#0097a7")}
    outlines = {k: v for k, v in outlines.items() if len(v[0])}
    d0, d1 = fc.dates[k0], fc.dates[k1]
    cats = {1: (f"non-forest at the end of {d0}", "#d9c8a9"), 2: (f"lost {d0 + 1}-{d1}", "#d62728"),
            3: (f"forest at the end of {d1}", "#2ca02c")}
    return {"classes": cls, "bounds": bounds, "categories": cats, "outlines": outlines}


def ccb_step(cfg, *, baseline: BaselineInputs | None = None, counterfactual: CounterfactualInputs | None = None,
             forest_change=None, scheduler: str | None = None, progress: Callable[[int], None] | None = None
             ) -> CcbResults:
    """The CCB step of a project: read ``cfg.ccb``, validate it against the project, measure, assemble.

    Raises
    ------
    ConfigError
        ``cfg.ccb`` is not set.
    CcbValidationError
        The CCB folder has problems (all of them listed).
    """
    if cfg.ccb is None:
        raise ConfigError("the project has no CCB folder", key="ccb")
    ds = read_ccb(Path(cfg.ccb), project=cfg)
    fc = forest_change if forest_change is not None else cfg.forest_change.open()
    return ccb_results(ds, fc, baseline=baseline, counterfactual=counterfactual, scheduler=scheduler,
                       progress=progress)

