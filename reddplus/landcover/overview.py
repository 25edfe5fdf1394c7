"""Summaries of a forest-change input for maps and set-up, streamed by blocks (bounded memory whatever the size).

* :func:`codes_overview`: decimated canonical codes for maps;
* :func:`forest_change_dates`: the map dates a forest-change input records (``reddplus init``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from reddplus.landcover.forest_change import NODATA, ForestChange
from reddplus.raster import Grid, iter_blocks, overview_grid


def codes_overview(forest_change: ForestChange, max_pixels: int = 1_500_000) -> tuple[np.ndarray, Grid]:
    """Canonical codes sampled every ``step`` pixels (nearest, no averaging) and the overview :class:`Grid`.

    ``step`` is the smallest integer that keeps the overview within about ``max_pixels`` pixels
    (:func:`reddplus.raster.overview_grid`); the pixel ``(i, j)`` of the overview is the pixel
    ``(i * step, j * step)`` of the raster.
    """
    grid = forest_change.grid
    ogrid, step = overview_grid(grid, max_pixels)
    out = np.full(ogrid.shape, NODATA, np.uint8)
    for b in iter_blocks(grid.shape, memory_limit_bytes=64 * 2**20, bytes_per_pixel=8, block_size=step * 256):
        c = forest_change.read_codes(b, with_halo=False)
        r0 = -(-b.row_off // step) * step - b.row_off   # first sampled row/col inside the block
        c0 = -(-b.col_off // step) * step - b.col_off
        sub = c[r0::step, c0::step]
        orow, ocol = (b.row_off + r0) // step, (b.col_off + c0) // step
        out[orow:orow + sub.shape[0], ocol:ocol + sub.shape[1]] = sub
    return out, ogrid


@dataclass(frozen=True)
class DatesFound:
    """What a forest-change input says about its dates (for ``reddplus init``).

    Attributes
    ----------
    dates : tuple of int [yr] or None
        The map dates, when the files record them; None when the user must give them.
    note : str
        Where they come from, or what is missing, in words.
    n_dates : int or None
        How many dates the input encodes (fcc123: 3; masks and TMF: one per band or file).
    """

    dates: tuple[int, ...] | None
    note: str
    n_dates: int | None = None


_YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20\d\d|2100)(?!\d)")


def _year_of(text: str | None) -> int | None:
    found = _YEAR.findall(text or "")
    return int(found[0]) if len(found) == 1 else None


def forest_change_dates(paths: Sequence[str | os.PathLike], fmt: str) -> DatesFound:
    """The map dates recorded in a forest-change input, streamed (see :mod:`reddplus.landcover.forest_change`).

    * ``fcc123``: the file encodes three dates but records none: ``dates`` is None;
    * ``hansen`` (``lossyear``, or ``treecover2000, lossyear[, datamask]``): 2000 to 2000 + the
      largest loss year, with the years in which loss occurs;
    * ``tmf``: one date per band (one raster) or per file, each read from the band description
      or the file name when it holds exactly one year;
    * ``masks``: one date per file (or per band of one raster), read the same way.

    Where any date cannot be read, ``dates`` is None and the note says how many are needed.
    """
    from reddplus.raster import open_raster, read_block

    paths = [str(p) for p in paths]
    if fmt == "fcc123":
        return DatesFound(None, f"{Path(paths[0]).name} is an fcc123 raster: it encodes three map dates (forest at the "
                          "first, lost by the second, lost by the third) but does not record their years", 3)
    if fmt == "hansen":
        lossyear = paths[0] if len(paths) == 1 else paths[1]
        with open_raster(lossyear) as ds:
            grid_shape = (ds.height, ds.width)
        seen = np.zeros(256, bool)
        for b in iter_blocks(grid_shape, memory_limit_bytes=64 * 2**20, bytes_per_pixel=4):
            with open_raster(lossyear) as ds:
                a = read_block(ds, b, with_halo=False)
                m = ds.read_masks(1, window=b.window) > 0
            v = a[m]
            seen[np.unique(v[(v >= 0) & (v < 256)]).astype(int)] = True
        years = [2000 + int(k) for k in np.flatnonzero(seen) if k > 0]
        if not years:
            return DatesFound(None, f"{Path(lossyear).name} records no loss year (all 0 or no data)")
        dates = tuple(range(2000, years[-1] + 1))
        missing = sorted(set(range(2001, years[-1] + 1)) - set(years))
        note = (f"read from {Path(lossyear).name}: loss in {years[0]}-{years[-1]}"
                + (f" (none recorded in {', '.join(map(str, missing))})" if missing else ""))
        if years[-1] <= 2005:      # GFC lossyear layers run to 2012 at the earliest (v1.0), 2024 today
            note += (f"; its values reach only {years[-1] - 2000}, unlike a Hansen lossyear layer (loss to 2012 or "
                     "later): if its codes mean something else (an fcc123 raster holds 1, 2 and 3), choose that "
                     "format")
        return DatesFound(dates, note, len(dates))
    labels: list[tuple[str, str | None]] = []       # (where, text holding the year)
    if len(paths) == 1:
        with open_raster(paths[0]) as ds:
            descs = ds.descriptions
            if ds.count == 1 and fmt == "masks":
                labels = [(Path(paths[0]).name, Path(paths[0]).stem)]
            else:
                labels = [(f"band {i} of {Path(paths[0]).name}", d) for i, d in enumerate(descs, 1)]
    else:
        for p in paths:
            with open_raster(p) as ds:
                d = ds.descriptions[0]
            labels.append((Path(p).name, d if _year_of(d) else Path(p).stem))
    years = [_year_of(t) for _, t in labels]
    n = len(labels)
    if fmt == "masks" and n < 2:
        return DatesFound(None, f"masks need one mask per date (at least two); {labels[0][0]} is one mask: give the "
                          "others in more_paths", None)
    if all(y is not None for y in years) and years == sorted(set(years)):
        return DatesFound(tuple(years), "read from " + ", ".join(f"{w}: {y}" for (w, _), y in zip(labels, years)), n)
    what = "bands" if len(paths) == 1 else "files"
    return DatesFound(None, f"{n} {what} ({', '.join(w for w, _ in labels)}), whose years are not recorded in their "
                      "band descriptions or file names" + ("; the JRC TMF annual-change collection starts in 1990"
                                                           if fmt == "tmf" else ""), n)
