"""Step 1 of the counterfactual: systematic samples of pixels (project, leakage belt, candidate pool).

A systematic sample on a square lattice with a seeded random origin is an
equal-probability design (every pixel has inclusion probability ``1 / step**2``),
as PACT's project sample (Balmford et al. 2023, PACT Tropical Moist Forest
Methodology v2, section on the project set K: 0.25 samples per hectare for projects
under 250,000 ha).
"""

from __future__ import annotations

import math

import numpy as np

from reddplus.errors import ConfigError


def systematic_step_px(density_per_ha: float, pixel_area_ha: float) -> int:
    """Lattice step [pixels] of a systematic sample with the requested density.

    Parameters
    ----------
    density_per_ha : float [samples/ha]
        Target sampling density (PACT: 0.25 samples/ha for projects < 250,000 ha).
    pixel_area_ha : float [ha]
        Area of one pixel.

    Returns
    -------
    int [pixels]
        Step ``s >= 1``; the achieved density is ``1 / (s**2 * pixel_area_ha)``.

    Notes
    -----
    .. math:: s = \\max\\left(1, \\operatorname{round}\\left(1 / \\sqrt{d \\, a_{px}}\\right)\\right)

    References
    ----------
    1. Balmford A. et al. 2023, PACT Tropical Moist Forest Accreditation Methodology v2.0,
       Cambridge Centre for Carbon Credits (4C), project sample K.
    2. Cochran W.G. 1977, Sampling Techniques, 3rd ed., ch. 8 (systematic sampling).
    """
    if not density_per_ha > 0 or not math.isfinite(density_per_ha):
        raise ConfigError(f"must be a positive number, got {density_per_ha}", key="density_per_ha")
    if not pixel_area_ha > 0:
        raise ConfigError(f"must be positive, got {pixel_area_ha}", key="pixel_area_ha")
    return max(1, int(round(1.0 / math.sqrt(density_per_ha * pixel_area_ha))))


def systematic_origin(step: int, seed: int | None) -> tuple[int, int]:
    """Seeded random origin (row, col) of a systematic lattice, each in ``[0, step)`` [pixels]."""
    rng = np.random.default_rng(seed)
    r0, c0 = rng.integers(0, step, size=2)
    return int(r0), int(c0)


def lattice_positions(row_off: int, col_off: int, height: int, width: int, step: int,
                      origin: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns (raster coordinates) of the lattice points inside a window.

    A pixel ``(r, c)`` is sampled when ``(r - r0) % step == 0`` and ``(c - c0) % step == 0``,
    so the samples of adjacent windows tile the raster's lattice exactly.

    Returns
    -------
    rows, cols : int64 arrays [pixels], one entry per lattice point (row-major).
    """
    r0, c0 = origin
    first_r = row_off + (r0 - row_off) % step
    first_c = col_off + (c0 - col_off) % step
    rr = np.arange(first_r, row_off + height, step, dtype=np.int64)
    cc = np.arange(first_c, col_off + width, step, dtype=np.int64)
    R, C = np.meshgrid(rr, cc, indexing="ij")
    return R.ravel(), C.ravel()
