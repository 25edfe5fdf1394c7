"""Drivers of deforestation for the alternative VT0007 risk models, computed by blocks.

One implementation, used by the alternative models (:mod:`reddplus.risk.models`), the model
assessment (:mod:`reddplus.risk.compare`), the planned-road scenario
(:mod:`reddplus.baseline.scenario`) and the counterfactual covariates
(:mod:`reddplus.counterfactual.covariates`):

* pure functions on arrays: :func:`distance_to_features` (exact Euclidean distance, capped),
  :func:`slope_degrees`, :func:`roads_open_in`;
* driver definitions as a project config holds them (:class:`ForestEdgeDriver`,
  :class:`DistanceDriver`, :class:`RasterDriver`, :class:`SlopeDriver`, :class:`PlannedRoad`);
* :class:`FeatureLayer`: vector features (roads, rivers, settlements, planned roads) with the year
  each one opens, burned per block;
* :func:`driver_stacks`: the driver rasters at given dates (:class:`DriverStack`), streamed by
  full-width strips through :mod:`reddplus.raster` into COGs.

Exact by strips
---------------
Distances use the separable exact Euclidean distance transform streamed by full-width strips of
:func:`reddplus.risk.vt0007.distance_to_edge_strip`: a first pass records, per strip and column, the
first and last feature row; chained (:func:`strip_neighbours`), they give each strip the nearest
feature row above and below it in every column, all the rest of the raster its column pass needs,
and its row pass works on whole rows. So every distance equals the whole-array EDT bit for bit, at
any distance, and the cap ``max_distance_m`` (a saturated driver) does not change the cost. Lines
are burned as every pixel they pass through ("all touched", so a road stays 4-connected) by a
kernel working in whole-raster pixel coordinates, which gives the same pixels whatever the window
(GDAL's own ``all_touched`` burner does not: it differs at window edges). Slope reads one row above
and below each strip (central differences inside, one-sided at the raster edge). Every driver
raster equals the whole-array computation bit for bit (``tests/risk/test_drivers.py``).

References
----------
[1] Verra (2024) VT0007 Unplanned Deforestation Allocation (UDef-A) v1.0, section 5.4 (alternative
    risk maps from empirical drivers: distances to roads, rivers and settlements, elevation, slope).
[2] Felzenszwalb P.F., Huttenlocher D.P. (2012) Distance transforms of sampled functions, Theory of
    Computing 8, 415-428 (the exact EDT kernel of :func:`reddplus.risk.vt0007.distance_to_edge_fast`);
    Maurer C.R. et al. (2003) IEEE TPAMI 25(2):265-270 (:func:`scipy.ndimage.distance_transform_edt`).
[3] Horn B.K.P. (1981) Hill shading and the reflectance map, Proc. IEEE 69(1):14-47 (slope from
    elevation gradients); central differences as :func:`numpy.gradient`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from numba import njit
from scipy import ndimage

from reddplus.errors import ConfigError, InputDataError, validation_message
from reddplus.raster import BlockWriter, Grid, check_same_grid, iter_strips, map_blocks, open_raster, read_grid
from reddplus.risk import vt0007 as v
from reddplus.risk.config import (DistanceDriver, DriverSpec, ForestEdgeDriver, PlannedRoad,  # noqa: F401
                                  RasterDriver, SlopeDriver)
from reddplus.risk.tools import bounded_gdal_cache

log = logging.getLogger(__name__)

CODES_NODATA = 255
#: value of a feature layer's ``opening_year`` for features present at every date
ALWAYS = -(2**31)


# --------------------------------------------------------------------------- pure functions
def distance_to_features(features: np.ndarray, pixel_size_m: float | tuple[float, float],
                         max_distance_m: float | None = None) -> np.ndarray:
    """Euclidean distance [m] from every pixel to the nearest feature pixel, optionally capped.

    Parameters
    ----------
    features : 2-D array of bool
        True on feature pixels (road, river, settlement; non-forest for the distance to the forest edge).
    pixel_size_m : float or (float, float) [m]
        Pixel side, or (x, y) sizes.
    max_distance_m : float [m], optional
        Cap: every distance is ``min(d, max_distance_m)`` (a saturated driver; on a block it is also
        what makes the result exact, see the module notes).

    Returns
    -------
    float32 array [m]; 0 on feature pixels. Without any feature pixel: the cap, or ``inf`` without cap.

    Notes
    -----
    .. math:: d_i = \\min\\left(\\min_{j:\\,\\text{feature}_j} \\lVert x_i - x_j \\rVert_2,\\; d_{max}\\right)

    Square pixels use the compiled exact EDT (Felzenszwalb & Huttenlocher 2012 [2]); others SciPy's
    exact EDT with anisotropic sampling. VT0007 v1.0 section 5.4 [1].
    """
    f = np.asarray(features, dtype=bool)
    px, py = (float(pixel_size_m), float(pixel_size_m)) if np.isscalar(pixel_size_m) else map(float, pixel_size_m)
    if not f.any():
        return np.full(f.shape, np.inf if max_distance_m is None else max_distance_m, dtype=np.float32)
    if abs(px - py) <= 1e-9 * px:
        d = v.distance_to_edge_fast(~f, px)
    else:
        d = ndimage.distance_transform_edt(~f, sampling=(py, px)).astype(np.float32)
    if max_distance_m is not None:
        np.minimum(d, np.float32(max_distance_m), out=d)
    return d


def slope_degrees(elevation: np.ndarray, pixel_size_m: float | tuple[float, float]) -> np.ndarray:
    """Terrain slope [deg] from an elevation grid [m] by central differences (one-sided at the edges).

    .. math:: s = \\arctan\\sqrt{(\\partial z/\\partial x)^2 + (\\partial z/\\partial y)^2}

    Horn (1981) [3]; :func:`numpy.gradient`. No-data (NaN) elevations give NaN slopes around them.
    VT0007 v1.0 section 5.4 [1] (slope as a driver).
    """
    z = np.asarray(elevation, dtype=np.float64)
    px, py = (float(pixel_size_m), float(pixel_size_m)) if np.isscalar(pixel_size_m) else map(float, pixel_size_m)
    gy = np.gradient(z, py, axis=0) if z.shape[0] > 1 else np.zeros_like(z)
    gx = np.gradient(z, px, axis=1) if z.shape[1] > 1 else np.zeros_like(z)
    return np.degrees(np.arctan(np.hypot(gx, gy))).astype(np.float32)


def roads_open_in(existing: np.ndarray, planned: Sequence[tuple[np.ndarray, int]], year: int) -> np.ndarray:
    """Road pixels open in ``year``: existing roads plus planned roads whose opening year is <= ``year``.

    .. math:: R(t) = R_0 \\cup \\bigcup_{j : t_j \\le t} R_j

    VT0007 v1.0 section 5.4 [1] (dynamic drivers recomputed at each date).
    """
    out = np.asarray(existing, dtype=bool).copy()
    for mask, opening in planned:
        if opening <= year:
            out |= np.asarray(mask, dtype=bool)
    return out


# --------------------------------------------------------------------------- feature layers
@njit(nogil=True, cache=True)
def _burn_segments(segs, keep, r0, c0, h, w, out):  # pragma: no cover - numba
    """Mark every pixel a segment passes through, for the pixels of one window.

    ``segs`` are (col, row) pixel coordinates of the whole raster and pixels are half-open squares
    ``[c, c + 1) x [r, r + 1)``, so the pixels a segment touches do not depend on the window: in each
    column strip it crosses, it touches the rows between its heights at the strip's two ends (the
    right end excluded when it is the next strip's left edge). This is GDAL's ``all_touched`` rule up
    to lines that pass exactly through pixel corners (GDAL's choice there is not a fixed rule).
    """
    for i in range(segs.shape[0]):
        if not keep[i]:
            continue
        x0, y0, x1, y1 = segs[i, 0], segs[i, 1], segs[i, 2], segs[i, 3]
        if x1 < x0:
            x0, y0, x1, y1 = x1, y1, x0, y0
        ca, cb = math.floor(x0), math.floor(x1)
        if cb < c0 or ca >= c0 + w or max(y0, y1) < r0 or min(y0, y1) >= r0 + h:
            continue
        k = (y1 - y0) / (x1 - x0) if x1 > x0 else 0.0
        for c in range(max(ca, c0), min(cb, c0 + w - 1) + 1):
            if x1 == x0:
                ra, rb = math.floor(min(y0, y1)), math.floor(max(y0, y1))
            else:
                xa = x0 if c <= x0 else float(c)
                xb = x1 if c + 1.0 > x1 else c + 1.0
                ya = y0 if xa == x0 else y0 + (xa - x0) * k
                yb = y1 if xb == x1 else y0 + (xb - x0) * k
                if yb >= ya:
                    ra = math.floor(ya)
                    rb = math.ceil(yb) - 1 if (xb == c + 1.0 and yb > ya) else math.floor(yb)
                else:
                    ra, rb = math.floor(yb), math.floor(ya)
            for r in range(max(ra, r0), min(rb, r0 + h - 1) + 1):
                out[r - r0, c - c0] = True


@dataclass(frozen=True)
class FeatureLayer:
    """Vector features in the grid's pixel coordinates with the year each opens (:data:`ALWAYS` = every date).

    Lines and polygon boundaries are segments (``(col0, row0, col1, row1)`` of the whole raster),
    points are their pixel, polygon interiors keep their geometry. Picklable, so block tasks run on
    Dask workers.
    """

    segments: np.ndarray           # (n, 4) float64 pixel coordinates
    segment_years: np.ndarray      # (n,) int64
    points: np.ndarray             # (m, 2) int64 (row, col)
    point_years: np.ndarray        # (m,) int64
    polygons: tuple                # shapely polygons in the grid CRS (interiors)
    polygon_years: np.ndarray
    source: str = ""

    def years(self) -> tuple[int, ...]:
        """Distinct opening years (``ALWAYS`` excluded), ascending."""
        ys = np.concatenate([self.segment_years, self.point_years, self.polygon_years])
        return tuple(sorted({int(y) for y in ys if y != ALWAYS}))

    def effective_year(self, year: int) -> int:
        """The latest opening year <= ``year`` (``ALWAYS`` if none): two dates with the same value see the
        same features."""
        ys = [y for y in self.years() if y <= year]
        return ys[-1] if ys else ALWAYS

    def burn(self, grid: Grid, window, year: int | None) -> np.ndarray:
        """Bool mask of the features open in ``year`` (every feature when ``None``) on ``window``.

        "All touched" for lines and polygon boundaries (every pixel a line passes through, so roads stay
        4-connected), the containing pixel for points, pixel centres for polygon interiors; computed
        in whole-raster pixel coordinates, so the pixels are the same whatever the window.
        """
        h, w = int(window.height), int(window.width)
        r0, c0 = int(window.row_off), int(window.col_off)
        out = np.zeros((h, w), bool)
        open_ = (lambda ys: np.ones(ys.shape, bool)) if year is None else (lambda ys: ys <= year)
        if len(self.segments):
            _burn_segments(self.segments, open_(self.segment_years), r0, c0, h, w, out)
        if len(self.points):
            p = self.points[open_(self.point_years)]
            p = p[(p[:, 0] >= r0) & (p[:, 0] < r0 + h) & (p[:, 1] >= c0) & (p[:, 1] < c0 + w)]
            out[p[:, 0] - r0, p[:, 1] - c0] = True
        sel = [g for g, ok in zip(self.polygons, open_(self.polygon_years)) if ok]
        if sel:
            from rasterio.features import rasterize

            out |= rasterize(((g, 1) for g in sel), out_shape=(h, w), transform=grid.window_transform(window),
                             fill=0, all_touched=False, dtype="uint8").astype(bool)
        return out

    def merged(self, other: "FeatureLayer") -> "FeatureLayer":
        return FeatureLayer(np.concatenate([self.segments, other.segments]),
                            np.concatenate([self.segment_years, other.segment_years]),
                            np.concatenate([self.points, other.points]),
                            np.concatenate([self.point_years, other.point_years]),
                            self.polygons + other.polygons, np.concatenate([self.polygon_years, other.polygon_years]),
                            ";".join(x for x in (self.source, other.source) if x))


def feature_layer(geometries: Sequence, opening_years: Sequence[int], grid: Grid, source: str = "") -> FeatureLayer:
    """A :class:`FeatureLayer` from shapely geometries in the grid CRS and their opening years."""
    import shapely

    geoms = np.asarray(list(geometries), dtype=object)
    years = np.asarray(opening_years, dtype=np.int64)
    parts, gidx = shapely.get_parts(geoms, return_index=True) if len(geoms) else (np.zeros(0, object),
                                                                                 np.zeros(0, np.int64))
    types = shapely.get_type_id(parts)
    inv = ~grid.transform
    lines = parts[(types == 1) | (types == 2)]
    line_years = years[gidx[(types == 1) | (types == 2)]]
    polys = parts[types == 3]
    poly_years = years[gidx[types == 3]]
    rings, ridx = shapely.get_rings(polys, return_index=True) if len(polys) else (np.zeros(0, object),
                                                                                 np.zeros(0, np.int64))
    chains = np.concatenate([lines, rings]) if len(rings) else lines
    chain_years = np.concatenate([line_years, poly_years[ridx]]) if len(rings) else line_years
    segs = np.zeros((0, 4))
    seg_years = np.zeros(0, np.int64)
    if len(chains):
        xy, cidx = shapely.get_coordinates(chains, return_index=True)
        cols, rows = inv * (xy[:, 0], xy[:, 1])
        same = cidx[1:] == cidx[:-1]
        segs = np.column_stack([cols[:-1], rows[:-1], cols[1:], rows[1:]])[same]
        seg_years = chain_years[cidx[:-1][same]]
    pts = parts[types == 0]
    if len(pts):
        xy = shapely.get_coordinates(pts)
        cols, rows = inv * (xy[:, 0], xy[:, 1])
        points = np.column_stack([np.floor(rows), np.floor(cols)]).astype(np.int64)
    else:
        points = np.zeros((0, 2), np.int64)
    return FeatureLayer(np.ascontiguousarray(segs, dtype=np.float64), seg_years, points,
                        years[gidx[types == 0]], tuple(polys), poly_years, source)


def read_feature_layer(path: str | os.PathLike, grid: Grid, *, opening_year_field: str | None = None,
                       opening_year: int | None = None, layer: str | None = None) -> FeatureLayer:
    """Read a vector layer, reproject it to the grid and attach each feature's opening year.

    Parameters
    ----------
    opening_year_field : str, optional
        Attribute with each feature's opening year [yr].
    opening_year : int, optional
        One opening year for every feature (overrides the field).

    Raises
    ------
    InputDataError
        Unreadable layer, no CRS, missing field, or a feature without an opening year (naming the row).
    """
    import geopandas as gpd

    try:
        gdf = gpd.read_file(path, layer=layer)
    except Exception as err:  # pyogrio DataSourceError / DataLayerError
        raise InputDataError(f"cannot read the vector layer: {err}", path=str(path)) from err
    if gdf.crs is None:
        raise InputDataError("vector layer has no CRS", path=str(path))
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    if opening_year is not None:
        years = np.full(len(gdf), int(opening_year), np.int64)
    elif opening_year_field is not None:
        if opening_year_field not in gdf.columns:
            raise InputDataError(f"no field {opening_year_field!r}; available: "
                                 f"{[c for c in gdf.columns if c != 'geometry']}", column=opening_year_field,
                                 path=str(path))
        col = gdf[opening_year_field]
        if col.isna().any():
            raise InputDataError("feature without an opening year", column=opening_year_field, path=str(path),
                                 row=int(np.flatnonzero(col.isna().to_numpy())[0]) + 1)
        years = col.to_numpy().astype(np.int64)
    else:
        years = np.full(len(gdf), ALWAYS, np.int64)
    gdf = gdf.to_crs(grid.crs)
    return feature_layer(gdf.geometry, years, grid, str(path))


# --------------------------------------------------------------------------- driver sources (resolved specs)
@dataclass(frozen=True)
class _Source:
    """One driver resolved against the grid: what a block task computes or reads."""

    name: str
    kind: str                         # forest_edge | distance | raster | slope
    features: FeatureLayer | None = None
    path: str | None = None

    @property
    def time_varying(self) -> bool:
        return self.kind == "forest_edge" or (self.features is not None and bool(self.features.years()))


def resolve_drivers(drivers: Mapping[str, object], grid: Grid, *, planned_roads: Sequence[PlannedRoad] = (),
                    key: str = "drivers", planned_key: str = "planned_roads") -> tuple[_Source, ...]:
    """Check driver definitions against the grid and read their vector layers (up front, before any pass).

    ``key`` and ``planned_key`` are the config keys of the driver table and of the planned roads, used
    in error messages (e.g. ``baseline.alternatives.roads.drivers``).

    Raises
    ------
    ConfigError
        No driver, a planned road joining a driver that is not a distance driver, or a raster driver on
        another grid (the message names the key).
    """
    if not drivers:
        raise ConfigError("an alternative model needs at least one driver", key=key)
    specs = {name: _as_spec(spec, f"{key}.{name}") for name, spec in drivers.items()}
    layers: dict[str, FeatureLayer] = {}
    for name, spec in specs.items():
        if isinstance(spec, DistanceDriver):
            layers[name] = read_feature_layer(spec.path, grid, opening_year_field=spec.opening_year_field,
                                              layer=spec.layer)
        elif isinstance(spec, (RasterDriver, SlopeDriver)):
            path = spec.path if isinstance(spec, RasterDriver) else spec.elevation
            try:
                check_same_grid({"forest change": grid, f"{key}.{name} ({path})": read_grid(path, check_crs=False)})
            except InputDataError as err:
                raise ConfigError(str(err), key=f"{key}.{name}") from err
    for i, pr in enumerate(planned_roads):
        if pr.driver not in layers:
            raise ConfigError(f"planned road joins {pr.driver!r}, which is not a distance driver of this model "
                              f"(distance drivers: {sorted(layers)})", key=f"{planned_key}[{i}].driver")
        layers[pr.driver] = layers[pr.driver].merged(
            read_feature_layer(pr.path, grid, opening_year=pr.opening_year,
                               opening_year_field=None if pr.opening_year is not None else pr.opening_year_field))
    out = []
    for name, spec in specs.items():
        if isinstance(spec, ForestEdgeDriver):
            out.append(_Source(name, "forest_edge"))
        elif isinstance(spec, DistanceDriver):
            out.append(_Source(name, "distance", features=layers[name]))
        elif isinstance(spec, RasterDriver):
            out.append(_Source(name, "raster", path=str(spec.path)))
        else:
            out.append(_Source(name, "slope", path=str(spec.elevation)))
    return tuple(out)


def _as_spec(spec, key):
    if isinstance(spec, (ForestEdgeDriver, DistanceDriver, RasterDriver, SlopeDriver)):
        return spec
    from pydantic import TypeAdapter, ValidationError

    try:
        return TypeAdapter(DriverSpec).validate_python(spec)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(validation_message(first), key=f"{key}.{loc}" if loc else key) from err


# --------------------------------------------------------------------------- driver stacks at dates
@dataclass(frozen=True)
class DriverStack:
    """The driver rasters of one map date, all on the forest-change grid.

    Attributes
    ----------
    year : int [yr]
        Features (roads...) open in this year are present.
    date_index : int
        Forest-change date of the forest-edge distance.
    paths : dict name -> path
        One raster per driver (float32; distances [m], slope [deg], user rasters as given).
    """

    year: int
    date_index: int
    paths: dict

    @property
    def names(self) -> tuple[str, ...]:
        """Driver names in the fixed order the models use (sorted)."""
        return tuple(sorted(self.paths))

    def read(self, block, *, with_halo: bool = False) -> dict[str, np.ndarray]:
        """Driver values on ``block`` (float64; no-data as NaN)."""
        out = {}
        window = block.read_window if with_halo else block.window
        for name in self.names:
            with open_raster(self.paths[name]) as ds:
                a = ds.read(1, window=window, masked=True)
            out[name] = np.ma.filled(a.astype(np.float64), np.nan)
        return out

    def to_dict(self) -> dict:
        return {"year": self.year, "date_index": self.date_index, "paths": {k: str(p) for k, p in self.paths.items()}}


@dataclass(frozen=True)
class _Output:
    file: str
    source: _Source
    year: int | None = None          # distance: features open in this year (None = all)
    date_index: int | None = None    # forest_edge: forest at this date

    @property
    def is_distance(self) -> bool:
        return self.source.kind in ("forest_edge", "distance")


@dataclass(frozen=True)
class _Job:
    forest_change: object
    outputs: tuple[_Output, ...]
    max_distance_m: float


def _free(block, o: _Output, job: _Job, codes) -> np.ndarray:
    """Pixels of the strip's core that are not features (forest, for the distance to the forest edge)."""
    if o.source.kind == "forest_edge":
        return (codes > o.date_index) & (codes != CODES_NODATA)
    return ~o.source.features.burn(job.forest_change.grid, block.window, o.year)


def _bounds_task(block, job: _Job) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Pass 1: per distance output, the first and last feature row of each column of the strip (absolute)."""
    codes = job.forest_change.read_codes(block, with_halo=False)
    out = {}
    for o in job.outputs:
        if o.is_distance:
            first, last = v.nonforest_row_bounds(_free(block, o, job, codes))
            out[o.file] = (np.where(first >= 0, first + block.row_off, -1),
                           np.where(last >= 0, last + block.row_off, -1))
    return out


def strip_neighbours(strips: Sequence, first: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per strip and column, the rows up (down) from the strip's first (last) row to the nearest feature row
    above (below) it; -1 where there is none.

    ``first``/``last`` are ``(n_strips, width)`` arrays of each strip's first and last feature row
    (absolute, -1 for none), from :func:`reddplus.risk.vt0007.nonforest_row_bounds`. These are the only
    facts about the rest of the raster that a strip's exact distance transform needs
    (:func:`reddplus.risk.vt0007.distance_to_edge_strip`).
    """
    n, w = first.shape
    above = np.full((n, w), -1, np.int64)
    below = np.full((n, w), -1, np.int64)
    seen = np.full(w, -1, np.int64)
    for i, s in enumerate(strips):
        above[i] = np.where(seen >= 0, s.row_off - seen, -1)
        seen = np.where(last[i] >= 0, last[i], seen)
    seen = np.full(w, -1, np.int64)
    for i in range(n - 1, -1, -1):
        s = strips[i]
        below[i] = np.where(seen >= 0, seen - (s.row_off + s.height - 1), -1)
        seen = np.where(first[i] >= 0, first[i], seen)
    return above, below


def _driver_task(item, job: _Job) -> dict[str, np.ndarray]:
    """Pass 2: the driver rasters of one strip (exact distances from the neighbour rows of pass 1)."""
    block, neighbours = item
    fc = job.forest_change
    pixel = fc.grid.res[0]
    codes = fc.read_codes(block, with_halo=False)
    out = {}
    for o in job.outputs:
        if o.is_distance:
            above, below = neighbours[o.file]
            d = v.distance_to_edge_strip(_free(block, o, job, codes), pixel, above, below)
            out[o.file] = np.minimum(d, np.float32(job.max_distance_m), out=d)
        elif o.source.kind == "slope":
            with open_raster(o.source.path) as ds:
                z = np.ma.filled(ds.read(1, window=block.read_window, masked=True).astype(np.float64), np.nan)
            out[o.file] = slope_degrees(z, fc.grid.res)[block.core_slices]
    return out


def _stream_drivers(fc, outputs: tuple[_Output, ...], out_dir: Path, max_distance_m: float, *, scheduler,
                    overwrite: bool, memory_limit_bytes: int, block_size: int | None) -> None:
    """Two passes over full-width strips: feature-row bounds per column, then every driver raster."""
    grid: Grid = fc.grid
    if any(o.is_distance for o in outputs):
        px, py = grid.res
        if abs(px - py) > 1e-6 * px:
            raise ConfigError(f"distance drivers need square pixels; got {px} x {py} m", key="grid")
    per_px = 16 + 9 * len(outputs)
    strips = [dataclasses.replace(s, halo=1) for s in iter_strips(grid.shape, memory_limit_bytes=memory_limit_bytes,
                                                                   bytes_per_pixel=per_px, strip_height=block_size)]
    job = _Job(fc, outputs, max_distance_m)
    dist = [o.file for o in outputs if o.is_distance]
    neighbours = [{} for _ in strips]
    if dist:
        index = {s.row_off: i for i, s in enumerate(strips)}
        first = {f: np.full((len(strips), grid.width), -1, np.int64) for f in dist}
        last = {f: np.full((len(strips), grid.width), -1, np.int64) for f in dist}
        for strip, res in map_blocks(functools.partial(_bounds_task, job=job), strips, scheduler=scheduler):
            for f, (a, b) in res.items():
                first[f][index[strip.row_off]], last[f][index[strip.row_off]] = a, b
        for f in dist:
            above, below = strip_neighbours(strips, first.pop(f), last.pop(f))
            for i in range(len(strips)):
                neighbours[i][f] = (above[i], below[i])
    log.info("driver rasters: %s (%d strips)", ", ".join(o.file for o in outputs), len(strips))
    with contextlib.ExitStack() as stack:
        writers = {o.file: stack.enter_context(BlockWriter(out_dir / o.file, grid, dtype="float32",
                                                           overwrite=overwrite, stage_compress=None))
                   for o in outputs}
        for (strip, _), arrays in map_blocks(functools.partial(_driver_task, job=job), zip(strips, neighbours),
                                             scheduler=scheduler):
            for f, a in arrays.items():
                writers[f].write(strip, a)


@bounded_gdal_cache
def driver_stacks(forest_change, drivers: Mapping[str, object], dates: Sequence[tuple[int, int]], *,
                  out_dir: str | os.PathLike, max_distance_m: float, planned_roads: Sequence[PlannedRoad] = (),
                  key: str = "drivers", planned_key: str = "planned_roads", reuse: Sequence[DriverStack] = (),
                  scheduler: str | None = None,
                  overwrite: bool = False, memory_limit_bytes: int = 64 * 2**20,
                  block_size: int | None = None) -> dict[tuple[int, int], DriverStack]:
    """Driver rasters at each requested date, streamed by blocks into COGs in ``out_dir``.

    Parameters
    ----------
    forest_change : reddplus.landcover.ForestChange
    drivers : mapping name -> driver definition
        :class:`ForestEdgeDriver`, :class:`DistanceDriver`, :class:`RasterDriver` or :class:`SlopeDriver`
        (or the equivalent dicts, as in a TOML table).
    dates : sequence of (date index, year)
        Each map date: the forest-change date of the forest-edge distance and the year whose open
        features (roads, planned roads) count. ``(k, forest_change.dates[k])`` for a map at a date of the
        data; ``(k_last, 2025)`` for a validity-period map with the roads open in 2025.
    max_distance_m : float [m]
        Cap of every distance driver (a saturated driver; it does not change the cost).
    planned_roads : sequence of :class:`PlannedRoad`
        Features joining a distance driver from their opening year.
    reuse : sequence of DriverStack
        Stacks this run already wrote into ``out_dir`` with the same definitions: their rasters are
        used as they are instead of being computed again.
    key, planned_key : str
        Config keys of the driver table and of the planned roads, for error messages.

    Returns
    -------
    dict (date index, year) -> :class:`DriverStack`
        Rasters are shared between dates that see the same features (one file each): static drivers
        ``NAME.tif``, time-varying ones ``NAME_YEAR.tif``; user rasters are used in place.

    Notes
    -----
    Two passes over full-width strips compute every raster that is needed (module notes); memory is
    bounded by ``memory_limit_bytes`` per strip. Exact against the whole-array computation.
    VT0007 v1.0 section 5.4 [1].
    """
    fc = forest_change
    grid: Grid = fc.grid
    if not max_distance_m > 0:
        raise ConfigError(f"the distance cap must be > 0 m, got {max_distance_m}", key="max_distance_m")
    sources = resolve_drivers(drivers, grid, planned_roads=planned_roads, key=key, planned_key=planned_key)
    out_dir = Path(out_dir)
    fdates = tuple(int(d) for d in fc.dates)
    done = {Path(p) for s in reuse for p in s.paths.values()}
    outputs: dict[str, _Output] = {}
    stacks: dict[tuple[int, int], DriverStack] = {}
    for k, year in dates:
        if not 0 <= k < len(fdates):
            raise ConfigError(f"date index {k} outside the forest-change dates {fdates}", key="dates")
        paths = {}
        for s in sources:
            if s.kind == "raster":
                paths[s.name] = Path(s.path)
                continue
            if s.kind == "forest_edge":
                o = _Output(f"{s.name}_{fdates[k]}.tif", s, date_index=k)
            elif s.kind == "distance" and s.time_varying:
                eff = s.features.effective_year(year)
                o = _Output(f"{s.name}_{eff}.tif" if eff != ALWAYS else f"{s.name}_base.tif", s, year=eff)
            else:
                o = _Output(f"{s.name}.tif", s)
            if out_dir / o.file not in done:
                outputs.setdefault(o.file, o)
            paths[s.name] = out_dir / o.file
        stacks[(k, year)] = DriverStack(int(year), int(k), paths)
    if outputs:
        _stream_drivers(fc, tuple(outputs.values()), out_dir, float(max_distance_m), scheduler=scheduler,
                        overwrite=overwrite, memory_limit_bytes=memory_limit_bytes, block_size=block_size)
    return stacks
