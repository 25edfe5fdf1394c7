"""Catchments upstream of water intakes (from a DEM, with pyflwdir) and riparian buffers.

CCB v3.1 CM1.2 / CM2 (ecosystem services HCV 4, clean water): forest cover in the catchment that
drains to each intake or village, and in riparian buffers along the rivers.

Catchments are delineated with pyflwdir (Deltares; Eilander et al. 2021): D8 flow directions from
the DEM after depression filling (Wang & Liu 2006), each intake snapped downstream to the nearest
stream cell (upstream area at least ``snap_upstream_km2``, within ``snap_distance_m``), then every
cell draining to that outlet. Each intake gets its *whole* upstream catchment, so nested
catchments overlap (the downstream one contains the upstream one).

Memory: flow routing is global, so the DEM is read whole at its own resolution (about 20 bytes per
cell); for a very large DEM give the catchments as polygons (``water.catchments``) instead.

References
----------
1. Eilander D. et al. (2021) A hydrography upscaling method for scale-invariant parametrization of
   distributed hydrological models, HESS 25:5287-5313, doi:10.5194/hess-25-5287-2021 (pyflwdir).
2. Wang L., Liu H. (2006) An efficient method for identifying and filling surface depressions in
   digital elevation models, IJGIS 20:193-213, doi:10.1080/13658810500433453.
3. O'Callaghan J.F., Mark D.M. (1984) The extraction of drainage networks from digital elevation
   data, CVGIP 28:323-344 (D8).
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
from affine import Affine

from reddplus.errors import InputDataError

__all__ = ["catchment_masks", "catchments_from_dem", "riparian_zone"]


def catchment_masks(dem: np.ndarray, transform: Affine, outlets_xy: Sequence[tuple[float, float]], *,
                    nodata: float | None = None, snap_upstream_km2: float = 1.0,
                    snap_distance_m: float = 1000.0) -> tuple[np.ndarray, np.ndarray]:
    """Upstream catchment of each outlet (pure: arrays in, arrays out).

    Parameters
    ----------
    dem : 2-D array [m]
        Elevation on a projected metre grid.
    transform : Affine
        The DEM's geotransform.
    outlets_xy : sequence of (x, y) [m]
        Intakes or villages, in the DEM's CRS.
    snap_upstream_km2 : float [km2]
        Outlets move downstream to the first cell draining at least this area.
    snap_distance_m : float [m]
        Farthest an outlet may move.

    Returns
    -------
    masks : bool array (n_outlets, rows, cols)
        Cells draining to each (snapped) outlet.
    snapped : int array (n_outlets,)
        Linear index of each snapped outlet cell.
    """
    import pyflwdir

    dem = np.asarray(dem, dtype=np.float32)
    nod = -9999.0 if nodata is None else float(nodata)
    data = np.where(np.isfinite(dem), dem, nod).astype(np.float32)
    # a plain tuple: affine >= 3 is no namedtuple, which numba (inside pyflwdir) cannot type
    flw = pyflwdir.from_dem(data=data, nodata=nod, transform=tuple(float(v) for v in tuple(transform)[:6]),
                            latlon=False)
    xs = np.array([p[0] for p in outlets_xy], dtype=float)
    ys = np.array([p[1] for p in outlets_xy], dtype=float)
    west, north = transform.c, transform.f
    east = west + transform.a * dem.shape[1]
    south = north + transform.e * dem.shape[0]
    inside = (xs >= min(west, east)) & (xs < max(west, east)) & (ys >= min(south, north)) & (ys < max(south, north))
    if not inside.all():
        bad = int(np.flatnonzero(~inside)[0])
        raise InputDataError(f"outlet {bad + 1} ({xs[bad]:.0f}, {ys[bad]:.0f}) lies outside the DEM")
    idxs = flw.index(xs, ys)
    cell_km2 = abs(transform.a * transform.e) / 1e6
    uparea = flw.upstream_area(unit="cell") * cell_km2
    stream = uparea >= snap_upstream_km2
    max_cells = max(0, int(round(snap_distance_m / abs(transform.a))))
    if snap_upstream_km2 > 0:
        idxs = np.array([_snap_down(flw.idxs_ds, int(i), stream.ravel(), max_cells) for i in np.atleast_1d(idxs)])
    masks = np.zeros((len(idxs),) + dem.shape, bool)
    for k, i in enumerate(np.atleast_1d(idxs)):
        masks[k] = flw.basins(idxs=np.array([i])) > 0
    return masks, np.atleast_1d(idxs)


def _snap_down(idxs_ds: np.ndarray, idx: int, stream: np.ndarray, max_cells: int) -> int:
    """Follow the flow downstream from ``idx`` to the first stream cell, at most ``max_cells`` steps.

    (pyflwdir's own ``snap`` passes its geotransform to numba, which cannot type an ``affine >= 3``
    Affine; this is the same walk on its downstream-index array.)
    """
    for _ in range(max_cells):
        if stream[idx]:
            return idx
        nxt = int(idxs_ds[idx])
        if nxt == idx:  # a pit or an outlet
            return idx
        idx = nxt
    return idx


def catchments_from_dem(dem_path: str | os.PathLike, intakes, *, id_field: str = "intake_id",
                        snap_upstream_km2: float = 1.0, snap_distance_m: float = 1000.0):
    """Catchment polygons of intake points from a DEM file (GeoDataFrame with ``id_field``, in the DEM CRS).

    Raises
    ------
    InputDataError
        The DEM cannot be read, is not in a projected metre CRS, or an intake is outside it.
    """
    import geopandas as gpd
    import rasterio
    from rasterio.features import shapes
    from shapely.geometry import shape
    from shapely.ops import unary_union

    from reddplus.raster import check_projected_metres, open_raster

    with open_raster(dem_path) as ds:
        check_projected_metres(ds.crs, source=str(dem_path))
        dem = ds.read(1, masked=True).astype(np.float32).filled(np.nan)
        transform, crs = ds.transform, ds.crs
    pts = intakes.to_crs(crs) if intakes.crs != crs else intakes
    try:
        masks, _ = catchment_masks(dem, transform, [(g.x, g.y) for g in pts.geometry],
                                   snap_upstream_km2=snap_upstream_km2, snap_distance_m=snap_distance_m)
    except InputDataError as err:
        raise InputDataError(str(err), path=str(dem_path)) from err
    geoms = []
    for m in masks:
        polys = [shape(g) for g, v in shapes(m.astype(np.uint8), mask=m, transform=transform) if v == 1]
        geoms.append(unary_union(polys) if polys else None)
    del rasterio
    return gpd.GeoDataFrame({id_field: pts[id_field].astype(str).to_numpy()}, geometry=geoms, crs=crs)


def riparian_zone(rivers, buffer_m: float, clip=None):
    """Riparian buffer: river lines buffered by ``buffer_m`` [m] on each side, optionally clipped (shapely)."""
    if buffer_m <= 0:
        raise ValueError("buffer_m must be > 0")
    zone = rivers.geometry.buffer(buffer_m).union_all()
    return zone.intersection(clip) if clip is not None else zone
