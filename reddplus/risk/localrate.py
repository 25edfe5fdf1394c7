"""The moving-window local deforestation rate of riskmapjnr (for comparison with published outputs).

References
----------
[1] Vieilledent G. (2022) riskmapjnr: Map of deforestation risk following the JNR methodology,
    v1.0, ``local_defor_rate`` and ``dist_edge_threshold`` (https://ecology.ghislainv.fr/riskmapjnr).
[2] Verra (2021) VCS JNR Risk Mapping Tool v4.0, appendix 1 (moving-window approach).
"""

from __future__ import annotations

import numpy as np

from reddplus.errors import InputDataError

#: riskmapjnr's no-data value for the uint16 local-rate raster
LDEFRATE_NODATA = 65535


def window_counts(mask: np.ndarray, win_size: int) -> np.ndarray:
    """Number of ``True`` pixels in the ``win_size`` x ``win_size`` window centred on each pixel.

    Zero padding outside the array (riskmapjnr / GDAL behaviour). Exact integer summed-area table.

    .. math:: n_{ij} = \\sum_{|k-i| \\le h,\\ |l-j| \\le h} m_{kl},\\quad h = (w-1)/2
    """
    if win_size < 1 or win_size % 2 == 0:
        raise InputDataError(f"window size must be an odd positive number of pixels, got {win_size}",
                             column="win_size")
    h = win_size // 2
    m = np.asarray(mask)
    dt = np.int32 if m.size < 2**31 else np.int64
    w = win_size
    # separable box sum with cumulative sums (exact integers): rows, then columns
    c = np.pad(m.astype(dt, copy=False), ((h + 1, h), (0, 0))).cumsum(axis=0, dtype=dt)
    rows = c[w:] - c[:-w]
    c = np.pad(rows, ((0, 0), (h + 1, h))).cumsum(axis=1, dtype=dt)
    return c[:, w:] - c[:, :-w]


def local_deforestation_rate(forest_start: np.ndarray, deforested: np.ndarray, win_size: int,
                             years: float) -> np.ndarray:
    """Annual local deforestation rate in a moving window, coded as riskmapjnr does (uint16).

    Parameters
    ----------
    forest_start : array of bool
        Forest at the start of the period.
    deforested : array of bool
        Deforested during the period.
    win_size : int [pixels]
        Odd window side.
    years : float [yr]
        Length of the period.

    Returns
    -------
    ldefrate : array of uint16
        ``rint(9999 * theta + 1)`` on forest pixels (at the start), 65535 elsewhere.

    Notes
    -----
    .. math:: \\theta = 1 - \\left(1 - \\frac{n_{defor}}{n_{forest}}\\right)^{1/T},\\quad
              v = \\operatorname{rint}(9999\\,\\theta + 1)

    riskmapjnr v1.0 ``local_defor_rate`` [1]; JNR tool v4.0 appendix 1 [2].
    """
    nf = window_counts(forest_start, win_size)
    nd = window_counts(deforested, win_size)
    out = np.full(nf.shape, LDEFRATE_NODATA, dtype=np.uint16)
    ok = (nf > 0) & np.asarray(forest_start, dtype=bool)
    # the coded rate only depends on the integer pair (nd, nf), nf <= win_size^2: one lookup table
    n = win_size * win_size
    a = np.arange(n + 1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = 1.0 - (1.0 - a[:, None] / a[None, :]) ** (1.0 / years)
    lut = np.rint(9999.0 * np.nan_to_num(theta) + 1.0).clip(0, 65534).astype(np.uint16)
    out[ok] = lut[nd[ok], nf[ok]]
    return out
