"""Step 4 inputs: matching covariates computed on one raster window (pure functions on arrays).

* :func:`neighbourhood_proportion_at`: proportion of a class (forest, recent deforestation)
  in a square neighbourhood around given pixels, from an integral image (O(window) + O(points));
* :func:`distance_to_features` (from :mod:`reddplus.risk.drivers`, the one implementation of the
  driver distances): Euclidean distance [m] to the nearest feature pixel (forest edge, roads,
  rivers), capped at the block halo.

Both are evaluated on a block's read window (core + declared halo); values are exact for
core pixels as long as the halo is at least the neighbourhood radius / the distance cap.
"""

from __future__ import annotations

import numpy as np

from reddplus.risk.drivers import distance_to_features

__all__ = ["distance_to_features", "integral_image", "neighbourhood_proportion_at", "proportion_from_integrals"]


def integral_image(a: np.ndarray) -> np.ndarray:
    """Summed-area table of a boolean/integer window, zero-padded (int32 while counts fit, else int64)."""
    dt = np.int32 if a.size < 2**31 else np.int64
    s = np.zeros((a.shape[0] + 1, a.shape[1] + 1), dtype=dt)
    np.cumsum(a, axis=0, dtype=dt, out=s[1:, 1:])
    np.cumsum(s[1:, 1:], axis=1, out=s[1:, 1:])
    return s


def _box_sums(s: np.ndarray, rows: np.ndarray, cols: np.ndarray, radius: int, shape) -> np.ndarray:
    r0 = np.clip(rows - radius, 0, shape[0])
    r1 = np.clip(rows + radius + 1, 0, shape[0])
    c0 = np.clip(cols - radius, 0, shape[1])
    c1 = np.clip(cols + radius + 1, 0, shape[1])
    return s[r1, c1] - s[r0, c1] - s[r1, c0] + s[r0, c0]


def neighbourhood_proportion_at(layer: np.ndarray, valid: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                                radius_px: int, *, valid_integral: np.ndarray | None = None) -> np.ndarray:
    """Proportion of ``layer`` pixels among valid pixels in a square neighbourhood of each point.

    Parameters
    ----------
    layer : 2-D bool array
        Class of interest (e.g. forest at a date, or deforested in the period ending at a date).
    valid : 2-D bool array
        Pixels with data (the denominator); pixels outside the data are ignored.
    rows, cols : int arrays [pixels]
        Points, in the array's coordinates.
    radius_px : int [pixels]
        Half side of the square window (side ``2 r + 1``), clipped at the array edges.
    valid_integral : array, optional
        ``integral_image(valid)``, to share between several layers of one window.

    Returns
    -------
    float32 array [fraction 0-1]; NaN where the window holds no valid pixel.

    Notes
    -----
    .. math:: p_i = \\frac{\\sum_{j \\in W_i} 1[\\text{class}_j]\\,1[\\text{valid}_j]}{\\sum_{j \\in W_i} 1[\\text{valid}_j]}

    PACT's "coarsened proportional cover" covariates (cpc0/cpc5/cpc10 of undisturbed forest and of
    deforestation) use the same idea on JRC TMF classes; this is the square-window version.

    References
    ----------
    1. Balmford A. et al. 2023, PACT Tropical Moist Forest Accreditation Methodology v2.0 (4C, Cambridge),
       matching variables (proportional cover at t0, t-5, t-10).
    2. Crow F.C. 1984, Summed-area tables for texture mapping, SIGGRAPH 18(3):207-212 (integral image).
    """
    vi = integral_image(valid) if valid_integral is None else valid_integral
    return proportion_from_integrals(integral_image(layer & valid), vi, rows, cols, radius_px)


def proportion_from_integrals(layer_integral: np.ndarray, valid_integral: np.ndarray, rows: np.ndarray,
                              cols: np.ndarray, radius_px: int) -> np.ndarray:
    """:func:`neighbourhood_proportion_at` from precomputed :func:`integral_image` of ``layer & valid`` and ``valid``."""
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    shape = (layer_integral.shape[0] - 1, layer_integral.shape[1] - 1)
    num = _box_sums(layer_integral, rows, cols, radius_px, shape).astype(np.int64)
    den = _box_sums(valid_integral, rows, cols, radius_px, shape).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / np.maximum(den, 1), np.nan)
    return out.astype(np.float32)
