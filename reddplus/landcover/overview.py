"""Decimated forest-change codes for maps, streamed by blocks (bounded memory whatever the raster size)."""

from __future__ import annotations

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
