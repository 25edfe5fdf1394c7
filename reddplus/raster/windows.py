"""Blocks as value objects: the only place that decides how a raster is tiled.

A :class:`Block` is a *core* window (the pixels a step writes) plus a declared *halo*
(the overlap a step needs to read around the core, e.g. a moving window or a
bounded distance transform). :func:`iter_blocks` tiles a raster of a given shape
into blocks whose read window (core + halo) fits a memory limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

from rasterio.windows import Window

#: tiles are multiples of this size, so that they align with COG / tiled GeoTIFF blocks
TILE = 256


@dataclass(frozen=True, slots=True)
class Block:
    """One block of a raster: a core window plus a declared halo.

    Attributes
    ----------
    row_off, col_off, height, width : int [pixels]
        The core window in raster coordinates.
    halo : int [pixels]
        Requested overlap on every side (clipped at the raster edges).
    raster_height, raster_width : int [pixels]
        Shape of the whole raster (to clip the read window).
    """

    row_off: int
    col_off: int
    height: int
    width: int
    halo: int
    raster_height: int
    raster_width: int

    @classmethod
    def whole(cls, shape: tuple[int, int]) -> "Block":
        """The whole raster of ``shape`` (rows, cols) as one block without halo."""
        height, width = shape
        return cls(0, 0, height, width, 0, height, width)

    @classmethod
    def around(cls, shape: tuple[int, int], row0: float, col0: float, row1: float, col1: float, *,
               margin: int = 0, halo: int = 0) -> "Block":
        """The block of ``shape`` covering pixel rows ``[row0, row1)`` and columns ``[col0, col1)``.

        Fractional bounds are widened to whole pixels, then by ``margin`` pixels on every side, and
        clipped to the raster. Raises ``ValueError`` when nothing of the range lies on the raster.
        """
        height, width = shape
        r0 = max(0, math.floor(row0) - margin)
        c0 = max(0, math.floor(col0) - margin)
        r1 = min(height, math.ceil(row1) + margin)
        c1 = min(width, math.ceil(col1) + margin)
        if r1 <= r0 or c1 <= c0:
            raise ValueError(f"rows {row0}..{row1}, columns {col0}..{col1} lie outside the raster {shape}")
        return cls(r0, c0, r1 - r0, c1 - c0, halo, height, width)

    @property
    def window(self) -> Window:
        """The core window (what the step writes)."""
        return Window(self.col_off, self.row_off, self.width, self.height)

    @property
    def read_window(self) -> Window:
        """Core window grown by the halo and clipped to the raster."""
        r0 = max(0, self.row_off - self.halo)
        c0 = max(0, self.col_off - self.halo)
        r1 = min(self.raster_height, self.row_off + self.height + self.halo)
        c1 = min(self.raster_width, self.col_off + self.width + self.halo)
        return Window(c0, r0, c1 - c0, r1 - r0)

    @property
    def core_slices(self) -> tuple[slice, slice]:
        """Slices that cut the core out of an array read with :attr:`read_window`."""
        rw = self.read_window
        r = self.row_off - int(rw.row_off)
        c = self.col_off - int(rw.col_off)
        return slice(r, r + self.height), slice(c, c + self.width)

    @property
    def n_pixels(self) -> int:
        return self.height * self.width


def block_side(memory_limit_bytes: int, bytes_per_pixel: int, halo: int = 0, tile: int = TILE) -> int:
    """Largest square core side [pixels], a multiple of ``tile``, whose read window fits.

    ``bytes_per_pixel`` is the working memory a step needs per pixel of the read
    window (all its input and temporary arrays together).
    """
    if memory_limit_bytes <= 0 or bytes_per_pixel <= 0:
        raise ValueError("memory_limit_bytes and bytes_per_pixel must be positive")
    side = int(math.isqrt(memory_limit_bytes // bytes_per_pixel)) - 2 * halo
    return max(tile, (side // tile) * tile)


def iter_blocks(
    shape: tuple[int, int],
    *,
    halo: int = 0,
    memory_limit_bytes: int = 256 * 2**20,
    bytes_per_pixel: int = 16,
    block_size: int | None = None,
) -> Iterator[Block]:
    """Tile a raster of ``shape`` (rows, cols) into blocks, row-major.

    The core windows partition the raster exactly (no gap, no overlap). ``block_size``
    overrides the side derived from the memory limit (mainly for tests).
    """
    if halo < 0:
        raise ValueError("halo must be >= 0")
    height, width = shape
    side = block_size or block_side(memory_limit_bytes, bytes_per_pixel, halo)
    for r in range(0, height, side):
        for c in range(0, width, side):
            yield Block(r, c, min(side, height - r), min(side, width - c), halo, height, width)


def iter_strips(
    shape: tuple[int, int],
    *,
    memory_limit_bytes: int = 64 * 2**20,
    bytes_per_pixel: int = 16,
    strip_height: int | None = None,
    multiple: int = 64,
) -> Iterator[Block]:
    """Tile a raster of ``shape`` into full-width strips of rows (blocks without halo), top to bottom.

    For steps that need whole rows (a separable distance transform's row pass). The height is the
    largest multiple of ``multiple`` rows (at least one row) whose ``bytes_per_pixel`` working
    memory fits ``memory_limit_bytes``; ``strip_height`` overrides it.
    """
    height, width = shape
    if strip_height is None:
        if memory_limit_bytes <= 0 or bytes_per_pixel <= 0:
            raise ValueError("memory_limit_bytes and bytes_per_pixel must be positive")
        rows = memory_limit_bytes // (bytes_per_pixel * max(width, 1))
        strip_height = max(1, (rows // multiple) * multiple) if rows >= multiple else max(1, rows)
    for r in range(0, height, strip_height):
        yield Block(r, 0, min(strip_height, height - r), width, 0, height, width)
