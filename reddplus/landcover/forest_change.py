"""Forest-change inputs in one canonical representation.

Every supported convention is decoded, block by block, into one ``uint8`` code per pixel: the
number of leading dates at which the pixel is forest.

* ``0``: non-forest already at ``dates[0]``;
* ``k`` (1 .. n-1): forest at ``dates[0..k-1]``, deforested in the period ``(dates[k-1], dates[k]]``;
* ``n = len(dates)``: forest at every date;
* ``255`` (:data:`NODATA`): outside the data.

So "forest at date index k" is ``(codes > k) & (codes != 255)`` (:func:`forest_at`) and
"deforested between date indices k0 and k1" is ``(codes > k0) & (codes <= k1)``
(:func:`deforested_between`). Deforestation is final: a pixel that regrows after a loss stays
counted as deforested (VT0007 v1.0 section 4: the benchmark map uses forest/non-forest
transitions, not regrowth).

Conventions (``fmt``):

``fcc123``
    riskmapjnr / forestatrisk: 0 = non-forest (or no data), 1 = deforested in the first period,
    2 = deforested in the second period, 3 = forest at the last date; dates default to
    (2000, 2010, 2020). Pixels flagged by the file's nodata are 255, except when the nodata value
    is 0 (riskmapjnr's files): 0 then stays code 0, "non-forest or outside", as riskmapjnr reads it.
``masks``
    a stack of forest masks, one band per date in one raster (or one raster per date),
    1 = forest, 0 = non-forest, nodata = outside; dates are given.
``hansen``
    Global Forest Change (Hansen et al. 2013): ``treecover2000`` [%] and ``lossyear``
    (0 = no loss, k = loss in 2000 + k), optionally ``datamask`` (0 = no data -> 255,
    1 = land, 2 = permanent water -> non-forest). Forest in 2000 where
    ``treecover2000 >= canopy_threshold`` (default 30 %). Dates are the years 2000, 2001, ...
    An optional minimum mapping unit removes loss patches smaller than ``mmu_ha`` (8-connected;
    see :func:`apply_mmu`).
``tmf``
    JRC Tropical Moist Forest "annual change" collection (Vancutsem et al. 2021): one band per
    year with classes 1 undisturbed TMF, 2 degraded TMF, 3 deforested land, 4 TMF regrowth,
    5 permanent or seasonal water, 6 other land cover; 0 = no data. Forest = classes 1 and 2.
    One multi-band raster (a band per year) or one raster per year; dates: one per band
    (``dates`` given, or 1990 + band index).

References
----------
1. Vieilledent G. (2021) forestatrisk: a Python package for modelling and forecasting deforestation
   in the tropics, Journal of Open Source Software 6(59):2975, doi:10.21105/joss.02975 (the fcc123
   convention, shared by riskmapjnr).
2. Hansen M.C. et al. (2013) High-resolution global maps of 21st-century forest cover change,
   Science 342:850-853, doi:10.1126/science.1244693 (GFC user notes: datamask codes, lossyear).
3. Vancutsem C. et al. (2021) Long-term (1990-2019) monitoring of forest cover changes in the
   humid tropics, Science Advances 7:eabe1603, doi:10.1126/sciadv.abe1603 (annual change classes).
4. Verra (2023) VT0007 v1.0, section 4 (forest cover benchmark maps).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from scipy import ndimage

from reddplus.errors import InputDataError, ReddplusError
from reddplus.raster import Block, Grid, check_same_grid, iter_blocks, map_blocks, open_raster, read_block, read_grid

log = logging.getLogger(__name__)

NODATA = 255
FORMATS = ("fcc123", "masks", "hansen", "tmf")
FCC123_DATES = (2000, 2010, 2020)
TMF_FOREST_CLASSES = (1, 2)
TMF_VALID_CLASSES = (0, 1, 2, 3, 4, 5, 6)


# ------------------------------------------------------------------------------------------ pure decoders
def forest_at(codes: np.ndarray, k: int) -> np.ndarray:
    """Forest at date index ``k``: ``(codes > k) & (codes != 255)``."""
    return (codes > k) & (codes != NODATA)


def deforested_between(codes: np.ndarray, k0: int, k1: int) -> np.ndarray:
    """Deforested after date index ``k0`` and up to date index ``k1``: ``k0 < codes <= k1``."""
    return (codes > k0) & (codes <= k1)


def check_class_values(values: np.ndarray, valid: np.ndarray | None, lo: int, hi: int, what: str) -> None:
    """Every value with data must be an integer class ``lo..hi``.

    Refuses values outside the classes (negative ones included: they would wrap around when cast
    to the uint8 codes), non-integer values (1.5) and NaN of float rasters that the file's nodata
    does not flag. Integer rasters cost two vectorised passes (min, max); the element-wise test
    runs only when one of them is outside the classes (nodata values usually are).

    Parameters
    ----------
    values : array
        Raw values of one band (or a stack of bands) of a block.
    valid : bool array, optional
        True where the pixel has data (broadcast over the bands of a stack); None: every pixel.
    lo, hi : int
        The allowed classes, inclusive.
    what : str
        The layer's name in the message (``fcc123``, ``lossyear``, ``mask``...).

    Raises
    ------
    InputDataError
        Naming the value and the pixel (``err.pixel`` = (row, col) in ``values``; ``err.band``
        the band index of a stack), with ``column = what``.
    """
    v = np.asarray(values)
    if v.size == 0:
        return
    floating = np.issubdtype(v.dtype, np.floating)
    if not floating:
        if lo <= v.min() and v.max() <= hi:
            return
        bad = (v < lo) | (v > hi)
    else:
        with np.errstate(invalid="ignore"):
            bad = ~((v >= lo) & (v <= hi) & (v == np.floor(v)))     # NaN compares False: bad
    if valid is not None:
        bad &= np.broadcast_to(valid, v.shape)
    if not bad.any():
        return
    where = np.argwhere(bad)[0]
    value = v[tuple(where)]
    pix = tuple(int(i) for i in where[-2:])
    band = int(where[0]) if v.ndim == 3 else None
    at = f"at pixel (row {pix[0]}, col {pix[1]})" + (f" of band {band + 1}" if band is not None else "")
    n = int(bad.sum())
    if floating and np.isnan(value):
        msg = (f"{what}: NaN {at} is not flagged as nodata ({n} such pixels in this block); set the file's nodata "
               "to NaN or fill the gaps")
    elif floating and value != np.floor(value):
        msg = (f"{what}: non-integer value {float(value):g} {at} ({n} bad pixels in this block); forest-change "
               f"classes are integers {lo}..{hi}")
    else:
        shown = f"{float(value):g}" if floating else f"{int(value)}"
        msg = f"{what} value {shown} {at} is outside the classes {lo}..{hi} ({n} bad pixels in this block)"
    err = InputDataError(msg, column=what)
    err.pixel, err.band, err.value = pix, band, value
    raise err


def codes_from_fcc123(values: np.ndarray, nodata: np.ndarray | None, n_dates: int = 3) -> np.ndarray:
    """fcc123 values (0..n_dates) -> canonical codes (identity; ``nodata`` pixels -> 255).

    Raises
    ------
    InputDataError
        A value outside 0..n_dates, or not an integer (see :func:`check_class_values`).
    """
    values = np.asarray(values)
    check_class_values(values, None if nodata is None else ~nodata, 0, n_dates, "fcc123")
    codes = values.astype(np.uint8, copy=True) if nodata is None else \
        np.where(nodata, 0, values).astype(np.uint8)
    if nodata is not None:
        codes[nodata] = NODATA
    return codes


def codes_from_masks(stack: np.ndarray, nodata: np.ndarray | None) -> np.ndarray:
    """Forest masks (dates, rows, cols; 1 forest, 0 non-forest) -> codes = number of leading forest dates.

    Raises
    ------
    InputDataError
        A mask value other than 0 or 1 inside the data (``0/1``), or a non-integer value.
    """
    stack = np.asarray(stack)
    try:
        check_class_values(stack, None if nodata is None else ~nodata, 0, 1, "mask")
    except InputDataError as err:
        raise _relabel(err, "forest masks must be 0/1; found", "mask") from None
    alive = np.cumprod(stack == 1, axis=0, dtype=np.uint8)
    codes = alive.sum(axis=0, dtype=np.uint8)
    if nodata is not None:
        codes[nodata] = NODATA
    return codes


def codes_from_hansen(treecover: np.ndarray, lossyear: np.ndarray, n_dates: int, *,
                      canopy_threshold: float = 30.0, datamask: np.ndarray | None = None,
                      nodata: np.ndarray | None = None) -> np.ndarray:
    """Hansen GFC treecover2000 [%] and lossyear -> codes over the dates 2000, 2001, ..., 1999 + n_dates.

    .. math:: c = \\begin{cases} 0 & tc_{2000} < \\theta \\\\ l & l > 0 \\\\ n & l = 0 \\end{cases}

    where :math:`l` is the loss year index (loss in 2000 + l, i.e. in the period ending at date
    index l) and :math:`n` the number of dates (Hansen et al. 2013).

    Raises
    ------
    InputDataError
        Tree cover outside 0..100, a loss year beyond the last date (or negative), a datamask
        outside 0..2, or a non-integer value (see :func:`check_class_values`).
    """
    tc = np.asarray(treecover)
    ly = np.asarray(lossyear)
    valid = np.ones(tc.shape, bool) if nodata is None else ~nodata
    if datamask is not None:
        check_class_values(datamask, valid, 0, 2, "datamask")
        valid &= datamask != 0
    check_class_values(tc, valid, 0, 100, "treecover2000")
    try:
        check_class_values(ly, valid, 0, n_dates - 1, "lossyear")
    except InputDataError as err:
        if err.value > n_dates - 1:
            raise _relabel(err, f"loss beyond the last date {1999 + n_dates}:", "lossyear") from None
        raise
    forest = tc >= canopy_threshold
    if datamask is not None:
        forest &= datamask == 1
    codes = np.where(forest, np.where(ly > 0, ly, n_dates), 0).astype(np.uint8)
    codes[~valid] = NODATA
    return codes


def codes_from_tmf(stack: np.ndarray, nodata: np.ndarray | None = None) -> np.ndarray:
    """JRC TMF annual change classes (years, rows, cols) -> codes (leading years in class 1 or 2).

    Raises
    ------
    InputDataError
        A class outside 0..6, or a non-integer value.
    """
    stack = np.asarray(stack)
    check_class_values(stack, None if nodata is None else ~nodata, 0, 6, "TMF annual change class")
    forest = np.isin(stack, TMF_FOREST_CLASSES)
    codes = np.cumprod(forest, axis=0, dtype=np.uint8).sum(axis=0, dtype=np.uint8)
    missing = (stack == 0).all(axis=0)
    if nodata is not None:
        missing |= nodata
    codes[missing] = NODATA
    return codes


def _relabel(err: InputDataError, lead: str, what: str) -> InputDataError:
    """The same problem with a format-specific lead (kept for the messages users know)."""
    body = str(err).split(" (column")[0]
    new = InputDataError(f"{lead} {body}", column=what)
    new.pixel, new.band, new.value = err.pixel, err.band, err.value
    return new


def check_forest_present(counts: np.ndarray, dates: Sequence[int], path: str) -> None:
    """Refuse a forest-change input without data or without any forest (an all-zero raster).

    Parameters
    ----------
    counts : array (256,) [pixels]
        Pixel counts per canonical code over the whole raster (summed over zones).
    dates : sequence of int [year]
    path : str
        The input, named in the message.
    """
    counts = np.asarray(counts)
    n = len(dates)
    if counts[:NODATA].sum() == 0:
        raise InputDataError("every pixel is nodata: no forest-change data at all (wrong file or nodata value?)",
                             path=path)
    if counts[1:n + 1].sum() == 0:
        raise InputDataError(f"no pixel is forest at {dates[0]}: every value with data decodes to non-forest (an "
                             "all-zero raster?); wrong file, format or canopy threshold?", path=path)


def apply_mmu(codes: np.ndarray, n_dates: int, min_pixels: int) -> np.ndarray:
    """Undo loss patches smaller than ``min_pixels`` (8-connected components of any-year loss).

    A removed patch is set back to forest at every date (code ``n_dates``). Used by the Hansen
    reader with a halo of ``min_pixels`` pixels: a patch smaller than the MMU spans fewer than
    ``min_pixels`` pixels in any direction, so every small patch that touches a block's core lies
    wholly inside the read window, and a component that reaches the window's edge from the core
    is at least ``min_pixels`` large and is kept. The block-wise result is therefore exact.
    """
    loss = (codes >= 1) & (codes < n_dates)
    if min_pixels <= 1 or not loss.any():
        return codes
    lab, n = ndimage.label(loss, structure=np.ones((3, 3), bool))
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    small = sizes < min_pixels
    small[0] = False
    out = codes.copy()
    out[small[lab]] = n_dates
    return out


# ------------------------------------------------------------------------------------------ the reader
@dataclass(frozen=True)
class ForestChange:
    """A validated forest-change input on one grid; decode any block with :meth:`read_codes`."""

    dates: tuple[int, ...]
    grid: Grid
    fmt: str
    paths: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def halo(self) -> int:
        """Halo [px] the decoder itself needs (the Hansen MMU)."""
        return int(self.options.get("mmu_pixels", 0) or 0)

    def read_codes(self, block: Block, *, with_halo: bool = True) -> np.ndarray:
        """Canonical codes (uint8; 255 = no data) of ``block`` (its read window, or only its core)."""
        if self.fmt == "hansen" and self.halo > 1:
            return self._hansen_mmu(block, with_halo)
        return self._decode(block.read_window if with_halo else block.window)

    def _read(self, path: str, window) -> tuple[np.ndarray, np.ndarray]:
        with open_raster(path) as ds:
            try:
                data = ds.read(window=window)
                mask = ds.read_masks(1, window=window) == 0
            except Exception as err:  # rasterio.errors.RasterioIOError on a corrupt tile
                raise InputDataError(f"cannot read {window} (corrupt GeoTIFF?): {err}", path=path) from err
        return data, mask

    def _decode(self, window) -> np.ndarray:
        n = len(self.dates)
        p = self.paths
        if self.fmt == "fcc123":
            data, nod = self._read(p[0], window)
            if self.options.get("nodata_is_nonforest"):
                nod = None  # riskmapjnr writes nodata = 0: 0 is "non-forest or outside", kept as code 0
            return _with_path(codes_from_fcc123, window, {"fcc123": p[0]}, data[0], nod, n)
        if self.fmt == "masks":
            if len(p) == 1:  # one raster, one band per date
                stack, nodata = self._read(p[0], window)
                files = {"mask": p[0]}
            else:
                layers, nods = zip(*(self._read(f, window) for f in p))
                stack, nodata = np.stack([a[0] for a in layers]), np.logical_or.reduce(nods)
                files = {"mask": list(p)}
            return _with_path(codes_from_masks, window, files, stack, nodata)
        if self.fmt == "hansen":
            tc, tc_nod = self._read(p[0], window)
            ly, ly_nod = self._read(p[1], window)
            dm = self._read(p[2], window)[0][0] if len(p) > 2 else None
            files = {"treecover2000": p[0], "lossyear": p[1]} | ({"datamask": p[2]} if len(p) > 2 else {})
            return _with_path(codes_from_hansen, window, files, tc[0], ly[0], n,
                              canopy_threshold=self.options.get("canopy_threshold", 30.0), datamask=dm,
                              nodata=tc_nod | ly_nod)
        if len(p) == 1:  # one raster, a band per year
            data, nod = self._read(p[0], window)
            files = {"TMF annual change class": p[0]}
        else:            # one raster per year
            layers, nods = zip(*(self._read(f, window) for f in p))
            data, nod = np.stack([a[0] for a in layers]), np.logical_or.reduce(nods)
            files = {"TMF annual change class": list(p)}
        return _with_path(codes_from_tmf, window, files, data, nod)

    def _hansen_mmu(self, block: Block, with_halo: bool) -> np.ndarray:
        from rasterio.windows import Window

        h = self.halo
        r0 = max(0, block.row_off - block.halo - h)
        c0 = max(0, block.col_off - block.halo - h)
        r1 = min(self.grid.height, block.row_off + block.height + block.halo + h)
        c1 = min(self.grid.width, block.col_off + block.width + block.halo + h)
        wide = self._decode(Window(c0, r0, c1 - c0, r1 - r0))
        wide = apply_mmu(wide, len(self.dates), self.halo)
        win = block.read_window if with_halo else block.window
        return wide[int(win.row_off) - r0:int(win.row_off) - r0 + int(win.height),
                    int(win.col_off) - c0:int(win.col_off) - c0 + int(win.width)]


def _with_path(fn, window, files: dict[str, str | list[str]], *args, **kwargs):
    """Call a pure decoder; a value error is re-raised naming the file and the raster pixel.

    ``files`` maps the decoder's layer names (the error's ``column``) to the file, or to one
    file per band of a stack (masks, TMF: one raster per date).
    """
    try:
        return fn(*args, **kwargs)
    except InputDataError as err:
        if err.path is not None:
            raise
        msg = str(err).split(" (column")[0]
        target = files.get(err.column, next(iter(files.values())))
        band = getattr(err, "band", None)
        if isinstance(target, list):
            target = target[band] if band is not None else ",".join(target)
            msg = msg.replace(f" of band {band + 1}", "") if band is not None else msg
        pix = getattr(err, "pixel", None)
        if pix is not None:  # block-relative -> raster row/column
            r, c = pix[0] + int(window.row_off), pix[1] + int(window.col_off)
            msg = msg.replace(f"(row {pix[0]}, col {pix[1]})", f"(row {r}, col {c})")
        raise InputDataError(msg, column=err.column, path=target) from None


def _streamed_max(path: str) -> int:
    """Largest value of band 1 in the data, streamed by blocks."""
    grid = read_grid(path)
    best = 0

    def task(block):
        with open_raster(path) as ds:
            a = read_block(ds, block, with_halo=False)
            m = ds.read_masks(1, window=block.window) > 0
        return int(a[m].max()) if m.any() else 0

    for _, v in map_blocks(task, iter_blocks(grid.shape, memory_limit_bytes=64 * 2**20, bytes_per_pixel=4)):
        best = max(best, v)
    return best


def open_forest_change(path_or_paths, fmt: str, *, dates: Sequence[int] | None = None,
                       canopy_threshold: float = 30.0, mmu_ha: float | None = None) -> ForestChange:
    """Open and validate a forest-change input (see the module docstring for the conventions).

    Parameters
    ----------
    path_or_paths : path or list of paths
        fcc123: one raster; masks: one multi-band raster (a band per date) or one raster per date; hansen: ``[treecover2000, lossyear]`` or
        ``[treecover2000, lossyear, datamask]``; tmf: one multi-band raster (a band per year) or one raster per year.
    fmt : {"fcc123", "masks", "hansen", "tmf"}
    dates : sequence of int [year], optional
        Required for masks; hansen defaults to 2000 .. 2000 + max(lossyear) (streamed max);
        tmf defaults to 1990 + band index.
    canopy_threshold : float [%]
        Hansen: forest in 2000 where treecover2000 >= this.
    mmu_ha : float [ha], optional
        Hansen: minimum mapping unit of loss patches.

    Raises
    ------
    InputDataError, CRSError, GridMismatchError
        Missing file, wrong number of files or dates, a geographic or non-metre CRS, grids that
        differ. Values outside the convention are reported when the blocks are read.
    """
    if fmt not in FORMATS:
        raise InputDataError(f"unknown forest-change format {fmt!r}; choose one of {', '.join(FORMATS)}",
                             column="format")
    paths = [path_or_paths] if isinstance(path_or_paths, (str, os.PathLike)) else list(path_or_paths)
    paths = tuple(str(p) for p in paths)
    for p in paths:
        if not os.path.exists(p):
            raise InputDataError("forest-change file not found", path=p)
    grids = {}
    for p in paths:
        try:
            grids[p] = read_grid(p)
        except ReddplusError:
            raise
        except Exception as err:  # rasterio.errors.RasterioIOError: not a raster / corrupt
            raise InputDataError(f"cannot open raster: {err}", path=p) from err
    grid = check_same_grid(grids)
    options: dict[str, Any] = {}
    if fmt == "fcc123":
        if len(paths) != 1:
            raise InputDataError("fcc123 takes one raster", path=",".join(paths))
        if not dates:
            log.warning("%s: no dates given; the fcc123 format's usual dates %s are assumed (give the real ones: "
                        "forest_change.dates, or --dates)", os.path.basename(paths[0]),
                        ", ".join(map(str, FCC123_DATES)))
        dates = tuple(dates) if dates else FCC123_DATES
        if len(dates) != 3:
            raise InputDataError(f"fcc123 encodes 3 dates, got {tuple(dates)}", column="dates")
        with open_raster(paths[0]) as ds:
            options["nodata_is_nonforest"] = ds.nodata is not None and float(ds.nodata) == 0.0
    elif fmt == "masks":
        if len(paths) == 1:
            with open_raster(paths[0]) as ds:
                n_layers = ds.count
        else:
            n_layers = len(paths)
        if n_layers < 2 or not dates or len(dates) != n_layers:
            raise InputDataError(f"masks need one date per mask ({n_layers} masks: one band each of one raster, or "
                                 "one raster each) and at least two (--dates)", column="dates")
    elif fmt == "hansen":
        if len(paths) not in (2, 3):
            raise InputDataError("hansen takes treecover2000 and lossyear [and datamask]", path=",".join(paths))
        if not 0 <= canopy_threshold <= 100:
            raise InputDataError("canopy threshold must be 0..100 %", column="canopy_threshold")
        if dates:
            dates = tuple(int(d) for d in dates)
            if dates[0] != 2000 or list(dates) != list(range(2000, 2000 + len(dates))):
                raise InputDataError("hansen dates are consecutive years from 2000", column="dates")
        else:
            last = _streamed_max(paths[1])
            dates = tuple(range(2000, 2000 + max(last, 1) + 1))
        options["canopy_threshold"] = float(canopy_threshold)
        if mmu_ha:
            options["mmu_pixels"] = int(np.ceil(mmu_ha / grid.pixel_area_ha - 1e-9))
            options["mmu_ha"] = float(mmu_ha)
    else:
        if len(paths) == 1:
            with open_raster(paths[0]) as ds:
                nb = ds.count
        else:
            nb = len(paths)
        dates = tuple(dates) if dates else tuple(range(1990, 1990 + nb))
        if len(dates) != nb:
            raise InputDataError(f"{nb} bands but {len(dates)} dates", column="dates", path=paths[0])
    dates = tuple(int(d) for d in dates)
    if list(dates) != sorted(set(dates)):
        raise InputDataError(f"dates must be strictly ascending, got {dates}", column="dates")
    if len(dates) >= NODATA:
        raise InputDataError("at most 254 dates", column="dates")
    for path, (lo, hi, what, allowed) in _classes_of(fmt, paths, len(dates)).items():
        _check_nodata(path, lo, hi, what, allowed)
    return ForestChange(dates, grid, fmt, paths, options)


def _classes_of(fmt: str, paths: tuple[str, ...], n_dates: int) -> dict[str, tuple[int, int, str, tuple[int, ...]]]:
    """Each file's classes ``lo..hi``, its layer name, and the class values its convention lets be nodata."""
    if fmt == "fcc123":
        return {paths[0]: (0, n_dates, "fcc123", (0,))}       # riskmapjnr: nodata = 0 = non-forest or outside
    if fmt == "masks":
        return {p: (0, 1, "mask", ()) for p in paths}
    if fmt == "hansen":
        out = {paths[0]: (0, 100, "treecover2000", ()), paths[1]: (0, n_dates - 1, "lossyear", ())}
        if len(paths) > 2:
            out[paths[2]] = (0, 2, "datamask", (0,))                # GFC datamask: 0 = no data
        return out
    return {p: (0, 6, "TMF annual change class", (0,)) for p in paths}  # TMF: 0 = no data


def _check_nodata(path: str, lo: int, hi: int, what: str, allowed: tuple[int, ...]) -> None:
    """A nodata value that is also a class would turn every pixel of that class into no data: refused."""
    with open_raster(path) as ds:
        values = {v for v in ds.nodatavals if v is not None}
    for v in values:
        if np.isfinite(v) and float(v).is_integer() and lo <= v <= hi and int(v) not in allowed:
            raise InputDataError(f"the nodata value {v:g} is also the {what} class {int(v)} (classes {lo}..{hi}): "
                                 f"every pixel of that class would become no data; unset or change the nodata "
                                 f"value (e.g. gdal_edit.py -a_nodata 255)", path=path)
