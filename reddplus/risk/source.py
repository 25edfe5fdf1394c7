"""Forest-change input for the risk step: the canonical ``ForestChange`` of :mod:`reddplus.landcover`.

When :func:`reddplus.landcover.open_forest_change` is available it is used. Until it lands, a
minimal reader with the same contract (``dates``, ``grid``, ``read_codes(block)``) handles the
``fcc123`` and ``masks`` formats, so the risk tools depend on the contract only.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from reddplus.errors import InputDataError
from reddplus.raster import Block, Grid, check_same_grid, open_raster, read_block, read_grid

log = logging.getLogger(__name__)

NODATA = 255


@dataclass(frozen=True)
class _ForestChange:
    """Fallback implementation of the ForestChange contract (fcc123 and masks only)."""

    dates: tuple[int, ...]
    grid: Grid
    fmt: str
    paths: tuple[str, ...]

    def read_codes(self, block: Block, *, with_halo: bool = True) -> np.ndarray:
        if self.fmt == "fcc123":
            with open_raster(self.paths[0]) as ds:
                a = read_block(ds, block, with_halo=with_halo)
                mask = ds.read_masks(1, window=block.read_window if with_halo else block.window) == 0
            codes = a.astype(np.uint8)
            if ds.nodata is not None and ds.nodata != 0:
                codes[mask] = NODATA
            bad = (codes > len(self.dates)) & (codes != NODATA)
            if bad.any():
                raise InputDataError(f"fcc123 values must be 0..{len(self.dates)}; found {int(codes[bad].max())}",
                                     path=self.paths[0])
            return codes
        codes = None
        for k, p in enumerate(self.paths):
            with open_raster(p) as ds:
                m = read_block(ds, block, with_halo=with_halo)
                nod = ds.read_masks(1, window=block.read_window if with_halo else block.window) == 0
            f = (m == 1) & ~nod
            if codes is None:
                codes = np.zeros(m.shape, dtype=np.uint8)
                alive = f.copy()
                nodata = nod.copy()
            else:
                alive &= f
                nodata |= nod
            codes[alive] = k + 1
        codes[nodata] = NODATA
        return codes


def open_forest_change(path_or_paths, fmt: str, *, dates: Sequence[int] | None = None, **options):
    """Open a forest-change input as a ``ForestChange`` (delegates to :mod:`reddplus.landcover` when present)."""
    try:
        from reddplus.landcover import open_forest_change as _ofc  # type: ignore[attr-defined]
    except ImportError:
        _ofc = None
    if _ofc is not None:
        return _ofc(path_or_paths, fmt, dates=tuple(dates) if dates else None, **options)
    paths = [path_or_paths] if isinstance(path_or_paths, (str, os.PathLike)) else list(path_or_paths)
    paths = tuple(str(p) for p in paths)
    for p in paths:
        if not os.path.exists(p):
            raise InputDataError("forest-change file not found", path=p)
    if fmt == "fcc123":
        if len(paths) != 1:
            raise InputDataError("fcc123 takes one raster", path=",".join(paths))
        dates = tuple(dates) if dates else (2000, 2010, 2020)
        if len(dates) != 3:
            raise InputDataError(f"fcc123 encodes 3 dates, got {dates}", column="dates")
    elif fmt == "masks":
        if not dates or len(dates) != len(paths):
            raise InputDataError("masks need one date per mask raster (--dates)", column="dates")
        dates = tuple(dates)
    else:
        raise InputDataError(f"format {fmt!r} needs reddplus.landcover (not available); use fcc123 or masks",
                             column="format")
    if list(dates) != sorted(dates) or len(set(dates)) != len(dates):
        raise InputDataError(f"dates must be strictly ascending, got {dates}", column="dates")
    grid = check_same_grid({p: read_grid(p) for p in paths})
    return _ForestChange(tuple(int(d) for d in dates), grid, fmt, paths)
