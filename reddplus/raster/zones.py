"""Vector zones (jurisdiction, sub-jurisdictions, project, leakage belt, strata) on a raster grid.

Zones are read from GeoPackage or any OGR format (pyogrio), reprojected to the raster
CRS and burned per block with :func:`rasterio.features.rasterize`. ``all_touched`` is
**off**: a pixel belongs to a zone when its *centre* falls inside the polygon, so
each pixel is counted in at most one of a set of non-overlapping zones and zone
areas are unbiased on average (GDAL's default rasterisation rule).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from rasterio.features import rasterize
from shapely.geometry import box

from reddplus.errors import CRSError, ZoneError
from reddplus.raster.grid import Grid
from reddplus.raster.windows import Block

if TYPE_CHECKING:  # geopandas is imported lazily: it costs ~0.2 s at every command's start
    import geopandas as gpd


@dataclass(frozen=True)
class Zones:
    """Zone polygons in the raster CRS with integer ids ``1..n`` and their labels.

    ``ids`` are int64 (no int16 limit); 0 means "outside every zone" in burned rasters.
    """

    gdf: gpd.GeoDataFrame
    ids: np.ndarray
    labels: list[str]
    field: str | None

    def label_of(self) -> dict[int, str]:
        return dict(zip(self.ids.tolist(), self.labels))


def read_zones(path: str | os.PathLike, grid: Grid, *, field: str | None = None, layer: str | None = None,
               dissolve: bool = False) -> Zones:
    """Read a zone layer, reproject it to ``grid`` and check that it overlaps the raster.

    Parameters
    ----------
    field : str, optional
        Attribute naming each zone; features with the same value form one zone.
        Without it each feature is its own zone (or all features one zone with ``dissolve``).
    """
    gdf = _read_layer(path, layer)
    if gdf.crs is None:
        raise CRSError("zone layer has no CRS", path=str(path))
    if field is not None and field not in gdf.columns:
        raise ZoneError(f"zone field {field!r} not found; available: {[c for c in gdf.columns if c != 'geometry']}",
                        path=str(path))
    gdf = gdf.to_crs(grid.crs)
    gdf = gdf[~gdf.geometry.is_empty & gdf.geometry.notna()]
    if dissolve:
        gdf = gdf.dissolve().reset_index(drop=True)
        labels = [str(field and gdf[field].iloc[0] or "zone")]
    elif field is not None:
        gdf = gdf.dissolve(by=field).reset_index()
        labels = [str(v) for v in gdf[field]]
    else:
        labels = [str(i) for i in range(1, len(gdf) + 1)]
    if not gdf.intersects(box(*grid.bounds)).any():
        raise ZoneError(f"zone layer does not overlap the raster (raster bounds {grid.bounds}, layer bounds "
                        f"{tuple(gdf.total_bounds)}) — wrong CRS or wrong file?", path=str(path))
    for label, geom in zip(labels, gdf.geometry):
        if not covers_a_pixel_centre(geom, grid):
            raise ZoneError(f"zone {label!r} covers no pixel centre of the raster (0 ha): it lies outside the raster "
                            f"or is smaller than a pixel ({grid.res[0]:g} m); remove it or use a finer raster",
                            path=str(path))
    ids = np.arange(1, len(gdf) + 1, dtype=np.int64)
    return Zones(gdf.reset_index(drop=True), ids, labels, field)


def covers_a_pixel_centre(geom, grid: Grid, *, block_size: int = 1024) -> bool:
    """Whether a polygon contains the centre of at least one pixel of the grid (the burn rule).

    Rasterised (``all_touched`` off, as :func:`burn_zones`) block by block over the polygon's
    bounding window, starting with the block of a point inside the polygon, so a large zone is
    settled by its first block and memory stays bounded by ``block_size``².
    """
    from rasterio.windows import Window, from_bounds

    if geom is None or geom.is_empty:
        return False
    w = from_bounds(*geom.bounds, transform=grid.transform)
    r0, c0 = max(0, int(np.floor(w.row_off))), max(0, int(np.floor(w.col_off)))
    r1 = min(grid.height, int(np.ceil(w.row_off + w.height)))
    c1 = min(grid.width, int(np.ceil(w.col_off + w.width)))
    if r1 <= r0 or c1 <= c0:
        return False
    pt = geom.representative_point()
    inv = ~grid.transform
    pc, pr = inv * (pt.x, pt.y)
    starts = [(r, c) for r in range(r0, r1, block_size) for c in range(c0, c1, block_size)]
    starts.sort(key=lambda rc: (rc[0] + block_size / 2 - pr) ** 2 + (rc[1] + block_size / 2 - pc) ** 2)
    for r, c in starts:
        win = Window(c, r, min(block_size, c1 - c), min(block_size, r1 - r))
        burned = rasterize([(geom, 1)], out_shape=(int(win.height), int(win.width)),
                           transform=grid.window_transform(win), fill=0, all_touched=False, dtype="uint8")
        if burned.any():
            return True
    return False


def burn_zones(zones: Zones, grid: Grid, block: Block | None = None, *, with_halo: bool = False,
               dtype="int64") -> np.ndarray:
    """Rasterise zone ids on the grid, or on one block (core or read window); 0 = no zone."""
    if block is None:
        from rasterio.windows import Window

        window = Window(0, 0, grid.width, grid.height)
    else:
        window = block.read_window if with_halo else block.window
    h, w = int(window.height), int(window.width)
    shapes = ((geom, int(i)) for geom, i in zip(zones.gdf.geometry, zones.ids))
    return rasterize(shapes, out_shape=(h, w), transform=grid.window_transform(window), fill=0, all_touched=False,
                     dtype=dtype)


# ------------------------------------------------------------------------------------------ one-layer helpers
def _read_in_crs(path: str | os.PathLike, crs) -> "gpd.GeoDataFrame":
    """A polygon layer in ``crs``; an unreadable or empty layer is a ZoneError naming its file."""
    gdf = _read_layer(path)
    if gdf.crs is not None and crs is not None and gdf.crs != crs:
        gdf = gdf.to_crs(crs)
    return gdf


def _read_layer(path: str | os.PathLike, layer: str | None = None) -> "gpd.GeoDataFrame":
    import geopandas as gpd

    try:
        gdf = gpd.read_file(path, layer=layer)
    except Exception as err:  # pyogrio raises DataSourceError / DataLayerError
        raise ZoneError(f"cannot read zone layer: {err}", path=str(path)) from err
    if gdf.empty or not (gdf.geometry.notna() & ~gdf.geometry.is_empty).any():
        raise ZoneError("zone layer has no features", path=str(path))
    return gdf


def zone_mask(path: str | os.PathLike, grid: Grid, block: Block | None = None) -> np.ndarray:
    """Boolean mask of a polygon layer (dissolved) on the grid or on one block's core (pixel centres)."""
    return burn_zones(read_zones(path, grid, dissolve=True), grid, block) > 0


def polygon_area_ha(path: str | os.PathLike, crs) -> float:
    """Area of a polygon layer's union, measured in ``crs`` [ha] (exact in an equal-area CRS)."""
    return float(_read_in_crs(path, crs).geometry.union_all().area) / 10_000.0


def zone_layout_problems(project, jurisdiction, leakage_belt=None, *, tolerance_m: float = 0.0
                         ) -> list[tuple[str, str]]:
    """How the project, the jurisdiction and the leakage belt lie to one another: ``(config key, message)``
    pairs, empty when they fit. Shapely geometries in one projected CRS [m].

    - At most 1 % of the project, and of the belt, may lie outside the jurisdiction (widened by
      ``tolerance_m`` [m], a pixel for the allocation): VT0007 v1.0 section 5.6 allocates the
      jurisdiction's expected deforestation to zones inside it.
    - The belt may overlap the project by at most 0.1 % of the project's area (digitising slivers):
      VMD0055 v1.1 monitors activity-shifting leakage in a belt around the project area, and an overlap
      would count the project's own deforestation a second time, as leakage.
    """
    out = []
    jur = jurisdiction.buffer(tolerance_m) if tolerance_m > 0 else jurisdiction
    for key, name, geom in (("areas.project", "the project", project), ("areas.leakage_belt", "the leakage belt",
                                                                         leakage_belt)):
        if geom is None:
            continue
        outside = geom.difference(jur).area / geom.area if geom.area > 0 else 1.0
        if outside > 0.01:
            out.append((key, f"{outside:.1%} of {name} lies outside the jurisdiction (at most 1 % is allowed)"))
    if leakage_belt is not None and project.area > 0:
        overlap = leakage_belt.intersection(project).area
        if overlap > 1e-3 * project.area:
            out.append(("areas.leakage_belt", f"the leakage belt overlaps the project by {overlap / 1e4:,.1f} ha "
                        f"({overlap / project.area:.1%} of the project): the belt lies around the project and "
                        "excludes it (VMD0055 v1.1), otherwise the project's deforestation counts again as leakage; "
                        "remove the project from the belt (e.g. belt.difference(project))"))
    return out


def layer_union(path: str | os.PathLike, crs):
    """The union of a polygon layer's geometries in ``crs`` (a ZoneError naming the file when unreadable)."""
    return _read_in_crs(path, crs).geometry.union_all()


def block_around(paths, grid: Grid, *, margin: int = 1) -> Block:
    """The grid block that covers the bounding box of the given polygon layers, ``margin`` pixels wider.

    Raises
    ------
    ZoneError
        The layers lie outside the raster (names the first layer).
    """
    from rasterio.windows import from_bounds

    paths = list(paths)
    b = np.array([_read_in_crs(p, grid.crs).total_bounds for p in paths])
    w = from_bounds(b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max(), grid.transform)
    try:
        return Block.around(grid.shape, w.row_off, w.col_off, w.row_off + w.height, w.col_off + w.width,
                            margin=margin)
    except ValueError:
        raise ZoneError("the polygons lie outside the raster", path=str(paths[0])) from None
