"""Raster I/O at the edge: atomic, tiled, compressed Cloud-Optimized GeoTIFFs.

Every raster output is first written to a temporary file in the destination
directory and renamed into place only when complete, so a failure never leaves a
half-written file. Block outputs are streamed into a tiled GeoTIFF, then copied
into the COG layout by GDAL's COG driver (which also streams).
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine

from reddplus import outputs as _outputs
from reddplus.errors import InputDataError, OutputExistsError
from reddplus.raster.grid import Grid
from reddplus.raster.windows import TILE, Block

log = logging.getLogger(__name__)

#: creation options of every COG reddplus writes
COG_OPTIONS = {"compress": "deflate", "blocksize": 512, "overviews": "auto", "bigtiff": "if_safer",
               "num_threads": "all_cpus"}
#: a COG about 4x cheaper to write than :data:`COG_OPTIONS` for a similar size (Zstandard level 1,
#: GDAL >= 2.3 and every current GIS read it), for the large intermediate-to-final maps of the streamed tools
FAST_COG_OPTIONS = {"compress": "zstd", "level": 1}
_TILED_GTIFF = {"driver": "GTiff", "tiled": True, "blockxsize": TILE, "blockysize": TILE, "compress": "deflate",
                "bigtiff": "if_safer"}


#: what each kind of raster reddplus writes holds: kind -> (band description, unit); pass
#: ``**band_metadata(kind)`` to :class:`BlockWriter` or :func:`write_cog` so that GIS software, titiler and
#: ``reddplus view`` say what a pixel value means
BAND_METADATA: dict[str, tuple[str, str]] = {
    "forest_change": ("forest change: number of leading forest dates (canonical code; 255 no data)", "code"),
    "risk_classes": ("VT0007 vulnerability class: 1 beyond the NRT (farthest from the forest edge) to 30 nearest "
                     "the edge; 0 not forest or outside the jurisdiction", "class"),
    "model_classes": ("risk class of the alternative model's deforestation potential: 1 lowest to 30 highest; 0 "
                      "not forest", "class"),
    "density": ("deforestation density fitted on the historical reference period, before the adjustment to the "
                "jurisdiction's baseline rate [ha/pixel/yr]; no data where not forest", "ha/pixel/yr"),
    "model_density": ("deforestation density of the alternative model [ha/pixel/yr]", "ha/pixel/yr"),
    "density_adjusted": ("deforestation density adjusted to the jurisdiction's baseline rate [ha/pixel/yr]",
                         "ha/pixel/yr"),
    "local_rate": ("riskmapjnr local deforestation rate, coded rint(9999 theta + 1) with theta [1/yr]; 65535 no "
                   "data", "code"),
    "potential": ("deforestation potential of the alternative model (relative risk) [-]", "-"),
    "agbd": ("above-ground biomass density [Mg/ha]", "Mg/ha"),
}


def band_metadata(kind: str, count: int = 1) -> dict:
    """``{"band_descriptions": [...], "band_units": [...]}`` of a :data:`BAND_METADATA` kind, for ``count`` bands.

    Raises
    ------
    KeyError
        An unknown kind (naming the known ones).
    """
    if kind not in BAND_METADATA:
        raise KeyError(f"unknown raster kind {kind!r}; known: {', '.join(BAND_METADATA)}")
    desc, unit = BAND_METADATA[kind]
    return {"band_descriptions": [desc] * count, "band_units": [unit] * count}


def _check_overwrite(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")


# atomic publishing (locks, no-replace and exchange renames, stale leftovers, signals) lives in
# reddplus.outputs; raster.io keeps its two helpers under their historical names
atomic_dir = _outputs.atomic_dir
atomic_path = _outputs.atomic_path


def copy_as_cog(src, dst: str | os.PathLike, *, overwrite: bool = False, **options) -> Path:
    """Copy an open dataset (or a path) to a Cloud-Optimized GeoTIFF, atomically.

    Overviews of integer rasters (classes, codes, counts) use nearest-neighbour resampling, so
    they never invent class values; floating-point rasters keep GDAL's default.
    """
    dst = Path(dst)
    if "overview_resampling" not in options:
        if isinstance(src, (str, os.PathLike)):
            with rasterio.open(src) as ds:
                dtype = ds.dtypes[0]
        else:
            dtype = src.dtypes[0]
        if np.issubdtype(np.dtype(dtype), np.integer):
            options["overview_resampling"] = "nearest"
    with atomic_path(dst, overwrite=overwrite, suffix=".tif") as tmp:
        rasterio.shutil.copy(src, tmp, driver="COG", **{**COG_OPTIONS, **options})
    return dst


def write_cog(path: str | os.PathLike, array: np.ndarray, *, crs, transform: Affine, nodata=None,
              overwrite: bool = False, band_descriptions: list[str] | None = None,
              band_units: list[str] | None = None) -> Path:
    """Write an in-memory array (2-D, or 3-D bands-first) as a COG, atomically (band names and units
    as :class:`BlockWriter` takes them)."""
    arr = np.asarray(array)
    if arr.ndim == 2:
        arr = arr[np.newaxis]
    grid = Grid(crs, transform, arr.shape[1], arr.shape[2])
    with BlockWriter(path, grid, dtype=arr.dtype, nodata=nodata, count=arr.shape[0], overwrite=overwrite,
                     band_descriptions=band_descriptions, band_units=band_units) as w:
        w.write_window(arr, rasterio.windows.Window(0, 0, grid.width, grid.height))
    return Path(path)


class BlockWriter:
    """Stream blocks into a raster that becomes a COG at ``path`` when the context exits cleanly.

    The blocks go to a tiled staging GeoTIFF in a temporary folder beside ``path``, which is copied
    once into the COG layout and then deleted; on an exception nothing is left behind.

    Parameters
    ----------
    path : path
        The COG to write.
    grid : Grid
    dtype, nodata, count, band_descriptions
        Raster type, no-data value, number of bands, band names.
    tags, band_tags, band_units
        Dataset metadata, per-band metadata and per-band unit types (kept by the COG copy).
    overwrite : bool
        Replace an existing ``path``.
    stage_compress : str or None
        Compression of the staging GeoTIFF (default ``"deflate"``). ``None`` stages it uncompressed:
        one deflate pass less over the raster (the COG is compressed anyway), at the cost of
        temporary disk space (``dtype`` bytes per pixel).
    overview_resampling : str, optional
        How the COG overviews are made. Default: ``"nearest"`` for integer rasters (classes and
        codes must not be interpolated), GDAL's default for floating-point ones.
    cog_options : dict, optional
        Creation options of the COG that override :data:`COG_OPTIONS` (e.g. :data:`FAST_COG_OPTIONS`).

    Examples
    --------
    >>> with BlockWriter(out, grid, dtype="uint8", nodata=0) as w:      # doctest: +SKIP
    ...     for block in iter_blocks(grid.shape):
    ...         w.write(block, compute(block))
    """

    def __init__(self, path: str | os.PathLike, grid: Grid, *, dtype, nodata=None, count: int = 1,
                 overwrite: bool = False, band_descriptions: list[str] | None = None, tags: dict | None = None,
                 band_tags: list[dict] | None = None, band_units: list[str] | None = None,
                 stage_compress: str | None = "deflate", overview_resampling: str | None = None,
                 cog_options: dict | None = None):
        self.path = Path(path)
        _check_overwrite(self.path, overwrite)
        self.grid = grid
        self.profile = dict(_TILED_GTIFF, compress=stage_compress or "none", width=grid.width, height=grid.height,
                            count=count, dtype=np.dtype(dtype).name, crs=grid.crs, transform=grid.transform,
                            nodata=nodata)
        self.band_descriptions = band_descriptions
        self.cog_options = dict(cog_options or {})
        if overview_resampling:
            self.cog_options["overview_resampling"] = overview_resampling
        #: dataset metadata, per-band metadata and per-band unit types (kept by the COG copy)
        self.tags = dict(tags or {})
        self.band_tags = list(band_tags or [])
        self.band_units = list(band_units or [])
        self._tmpdir: tempfile.TemporaryDirectory | None = None
        self._ds = None

    def __enter__(self) -> "BlockWriter":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmpdir = tempfile.TemporaryDirectory(prefix=f".{self.path.name}.", dir=self.path.parent)
        self._ds = rasterio.open(Path(self._tmpdir.name) / "stage.tif", "w", **self.profile)
        if self.band_descriptions:
            for i, d in enumerate(self.band_descriptions, start=1):
                self._ds.set_band_description(i, d)
        if self.tags:
            self._ds.update_tags(**{str(k): str(v) for k, v in self.tags.items()})
        for i, t in enumerate(self.band_tags, start=1):
            self._ds.update_tags(i, **{str(k): str(v) for k, v in t.items()})
        for i, u in enumerate(self.band_units, start=1):
            self._ds.set_band_unit(i, u)
        return self

    def write(self, block: Block, data: np.ndarray) -> None:
        """Write the core of ``block`` (``data`` has the core's shape, 2-D or bands-first 3-D)."""
        self.write_window(data, block.window)

    def write_window(self, data: np.ndarray, window) -> None:
        data = np.asarray(data)
        if data.ndim == 2:
            self._ds.write(data.astype(self.profile["dtype"], copy=False), 1, window=window)
        else:
            self._ds.write(data.astype(self.profile["dtype"], copy=False), window=window)

    def write_colormap(self, band: int, colormap: dict[int, tuple[int, int, int, int]]) -> None:
        """A colour table (value -> RGBA) for ``band`` of a byte raster; the COG keeps it, so viewers
        (GDAL, QGIS, tilers) draw the classes without a legend file."""
        self._ds.write_colormap(band, colormap)

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self._ds.close()
            if exc_type is None:
                with rasterio.open(self._ds.name) as stage:
                    copy_as_cog(stage, self.path, overwrite=True, **self.cog_options)
        finally:
            self._tmpdir.cleanup()


def open_raster(path: str | os.PathLike):
    """Open a raster for reading with a clear error for missing or corrupt files."""
    try:
        return rasterio.open(path)
    except rasterio.errors.RasterioIOError as err:
        raise InputDataError(f"cannot read raster (missing or corrupt GeoTIFF?): {err}", path=str(path)) from err


def read_block(ds, block: Block, band: int | list[int] = 1, *, with_halo: bool = True) -> np.ndarray:
    """Read a block's read window (core + halo) or only its core from an open dataset."""
    window = block.read_window if with_halo else block.window
    try:
        return ds.read(band, window=window)
    except rasterio.errors.RasterioIOError as err:
        raise InputDataError(f"cannot read block {window} (corrupt GeoTIFF?): {err}", path=str(ds.name)) from err


def overview_grid(grid: Grid, max_pixels: int = 1_500_000) -> tuple[Grid, int]:
    """A decimated grid of at most about ``max_pixels`` pixels and its integer step [pixels] (for maps)."""
    step = max(1, int(np.ceil(np.sqrt(grid.height * grid.width / max_pixels))))
    oh, ow = -(-grid.height // step), -(-grid.width // step)
    return Grid(grid.crs, grid.transform * Affine.scale(step), oh, ow), step


def read_overview(path: str | os.PathLike, grid: Grid) -> np.ndarray:
    """Band 1 of a raster read onto a coarser ``grid`` of the same extent (nearest; COG overviews are used)."""
    from rasterio.enums import Resampling

    with open_raster(path) as ds:
        return ds.read(1, out_shape=grid.shape, resampling=Resampling.nearest)


def align_raster(src: str | os.PathLike, grid: Grid, dst: str | os.PathLike, *, resampling: str = "nearest",
                 overwrite: bool = False) -> Path:
    """Resample ``src`` onto ``grid`` with rasterio's warper (streamed by GDAL), atomically.

    ``resampling`` is a :class:`rasterio.enums.Resampling` name: ``nearest`` for
    categorical maps (forest change, classes), ``bilinear`` for continuous covariates.
    """
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT

    with rasterio.open(src) as ds:
        with WarpedVRT(ds, crs=grid.crs, transform=grid.transform, width=grid.width, height=grid.height,
                       resampling=Resampling[resampling]) as vrt:
            return copy_as_cog(vrt, dst, overwrite=overwrite)
