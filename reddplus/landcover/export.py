"""The canonical forest-change codes written as a Cloud-Optimized GeoTIFF (``rasters/forest_change.tif``).

Whatever the input convention (fcc123, masks, Hansen, TMF), a run's forest change is read as one
``uint8`` code per pixel (:mod:`reddplus.landcover.forest_change`): ``0`` non-forest at the first
date, ``k`` deforested between dates ``k-1`` and ``k``, ``n`` forest at every date, ``255`` no data.
:func:`write_forest_change` streams those codes by blocks into a COG with a band description, the
dates and the meaning of each code as metadata, and a colour table, so that GIS software and
``reddplus view`` show the map that every number of the run was computed from.

* :func:`forest_change_legend` (pure): the label and colour of each code for a list of dates;
* :func:`write_forest_change` (tool): the COG.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from reddplus.landcover.forest_change import NODATA, ForestChange
from reddplus.raster.io import BAND_METADATA

#: colours of the codes: non-forest, forest, no data (transparent); losses run from yellow (early) to red (late)
NON_FOREST_RGBA = (222, 214, 196, 255)
FOREST_RGBA = (27, 120, 55, 255)
NODATA_RGBA = (0, 0, 0, 0)
_LOSS_FIRST, _LOSS_LAST = (254, 217, 118), (189, 0, 38)

BAND_DESCRIPTION, BAND_UNIT = BAND_METADATA["forest_change"]


def forest_change_legend(dates: Sequence[int]) -> list[tuple[int, str, tuple[int, int, int, int]]]:
    """``(code, label, RGBA)`` of every code for the map ``dates`` (see the module docstring).

    Parameters
    ----------
    dates : sequence of int [yr]
        The forest-change dates (at least two).

    Returns
    -------
    list of (int, str, tuple)
        Code 0 (non-forest at ``dates[0]``), the loss periods ``1 .. n-1`` coloured from yellow
        (first) to red (last), ``n`` (forest at ``dates[-1]``) and 255 (no data, transparent).
    """
    dates = [int(d) for d in dates]
    n = len(dates)
    out = [(0, f"non-forest in {dates[0]}", NON_FOREST_RGBA)]
    for k in range(1, n):
        t = 0.0 if n == 2 else (k - 1) / (n - 2)
        rgb = tuple(round(a + (b - a) * t) for a, b in zip(_LOSS_FIRST, _LOSS_LAST))
        span = f"{dates[k]}" if dates[k] == dates[k - 1] + 1 else f"{dates[k - 1] + 1}-{dates[k]}"
        out.append((k, f"deforested {span}", (*rgb, 255)))
    out.append((n, f"forest in {dates[-1]}", FOREST_RGBA))
    out.append((NODATA, "no data", NODATA_RGBA))
    return out


def write_forest_change(forest_change: ForestChange, path: str | os.PathLike, *, overwrite: bool = False,
                        scheduler: str | None = None, memory_limit_bytes: int = 64 * 2**20) -> Path:
    """Stream the canonical codes of ``forest_change`` into a COG at ``path`` (atomic; nodata 255).

    The band has the description and unit of ``BAND_METADATA["forest_change"]``; the dataset's
    metadata holds ``FOREST_CHANGE_DATES`` (comma-separated years), the input's format and one
    ``CODE_k`` entry per code with its label (:func:`forest_change_legend`); the colour table
    draws the codes. Blocks are decoded on local threads or a Dask cluster (``scheduler``) and
    written as they arrive, so memory stays bounded whatever the raster size.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is False.
    InputDataError
        A block of the input cannot be read or holds values outside its convention.
    """
    from reddplus.raster import BlockWriter, iter_blocks, map_blocks

    legend = forest_change_legend(forest_change.dates)
    tags = {"FOREST_CHANGE_DATES": ",".join(str(d) for d in forest_change.dates),
            "FOREST_CHANGE_FORMAT": forest_change.fmt,
            **{f"CODE_{code}": label for code, label, _ in legend}}
    fc = forest_change

    def task(block):
        return fc.read_codes(block, with_halo=False)

    blocks = iter_blocks(fc.grid.shape, memory_limit_bytes=memory_limit_bytes, bytes_per_pixel=8)
    with BlockWriter(path, fc.grid, dtype="uint8", nodata=NODATA, overwrite=overwrite,
                     band_descriptions=[BAND_DESCRIPTION], band_units=[BAND_UNIT], tags=tags) as w:
        w.write_colormap(1, {code: rgba for code, _, rgba in legend})
        for block, codes in map_blocks(task, blocks, scheduler=scheduler):
            w.write(block, codes)
    return Path(path)
