"""The moving-window local deforestation rate of riskmapjnr (for comparison with published outputs).

References
----------
[1] Vieilledent G. (2022) riskmapjnr: Map of deforestation risk following the JNR methodology,
    v1.0, ``local_defor_rate`` and ``dist_edge_threshold`` (https://ecology.ghislainv.fr/riskmapjnr).
[2] Verra (2021) VCS JNR Risk Mapping Tool v4.0, appendix 1 (moving-window approach).
"""

from __future__ import annotations

import numpy as np
from numba import njit

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
    forest_start = np.asarray(forest_start, dtype=bool)
    deforested = np.asarray(deforested, dtype=bool)
    if forest_start.shape != deforested.shape:
        raise InputDataError("forest and deforestation masks differ in shape", column="deforested")
    if win_size < 1 or win_size % 2 == 0:
        raise InputDataError(f"window size must be an odd positive number of pixels, got {win_size}",
                             column="win_size")
    # one fused compiled pass over codes = forest + 2 deforested
    codes = forest_start.view(np.uint8) + 2 * deforested.view(np.uint8)
    h, w = codes.shape
    flags = np.arange(256)
    return _run(codes, (flags & 1) > 0, (flags & 2) > 0, win_size, years, (0, h, 0, w))


def rate_lut(win_size: int, years: float) -> np.ndarray:
    """Coded rate ``lut[nd, nf]`` (uint16) for every integer pair ``nd <= nf <= win_size**2``.

    The coded rate of :func:`local_deforestation_rate` only depends on the integer pair, so one
    table gives it exactly (``nf = 0`` is never looked up: a forest pixel counts itself).
    """
    n = win_size * win_size
    a = np.arange(n + 1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):   # nf = 0 entries: never looked up
        theta = 1.0 - (1.0 - a[:, None] / a[None, :]) ** (1.0 / years)
        return np.rint(9999.0 * np.nan_to_num(theta) + 1.0).clip(0, 65534).astype(np.uint16)


def local_rate_codes(codes: np.ndarray, k0: int, k1: int, win_size: int, years: float,
                     core: tuple[int, int, int, int]) -> np.ndarray:
    """:func:`local_deforestation_rate` straight from forest-change codes, for the core of a halo'd block.

    ``codes`` (uint8): forest at the start where ``k0 < code != 255``, deforested where
    ``k0 < code <= k1``; ``core`` = (row0, row1, col0, col1) of the output inside ``codes``.
    Windows are zero-padded outside ``codes`` (riskmapjnr / GDAL at the raster edge), so a block
    read with a halo of ``win_size // 2`` gives exactly the whole-array result on its core.
    Exact integer running sums and the :func:`rate_lut` table in one compiled pass.
    """
    v = np.arange(256)
    forest = (v > k0) & (v != 255)
    return _run(codes, forest, forest & (v <= k1), win_size, years, core)


def _run(codes, is_forest, is_defor, win_size, years, core):
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    r0, r1, c0, c1 = core
    out = np.empty((r1 - r0, c1 - c0), np.uint16)
    _local_rate_kernel(codes, is_forest.astype(np.int32), is_defor.astype(np.int32), win_size // 2,
                       rate_lut(win_size, years), r0, r1, c0, c1, out)
    return out


@njit(nogil=True, cache=True)
def _local_rate_kernel(codes, fl, dl, h, lut, r0, r1, c0, c1, out):  # pragma: no cover - numba
    nr, nc = codes.shape
    # column sums over the rows [r - h, r + h] of the window, for every column the core windows touch
    ca, cb = max(c0 - h, 0), min(c1 + h, nc)
    colf = np.zeros(nc, np.int32)
    cold = np.zeros(nc, np.int32)
    for r in range(max(r0 - h, 0), min(r0 + h, nr - 1) + 1):
        for c in range(ca, cb):
            v = codes[r, c]
            colf[c] += fl[v]
            cold[c] += dl[v]
    for r in range(r0, r1):
        if r > r0:
            ra, rb = r + h, r - h - 1          # row entering, row leaving the window
            if ra < nr:
                for c in range(ca, cb):
                    v = codes[ra, c]
                    colf[c] += fl[v]
                    cold[c] += dl[v]
            if rb >= 0:
                for c in range(ca, cb):
                    v = codes[rb, c]
                    colf[c] -= fl[v]
                    cold[c] -= dl[v]
        # running sum along the row over the columns [c - h, c + h]
        sf = 0
        sd = 0
        for c in range(max(c0 - h, 0), min(c0 + h, nc - 1) + 1):
            sf += colf[c]
            sd += cold[c]
        for c in range(c0, c1):
            if c > c0:
                if c + h < nc:
                    sf += colf[c + h]
                    sd += cold[c + h]
                if c - h - 1 >= 0:
                    sf -= colf[c - h - 1]
                    sd -= cold[c - h - 1]
            if fl[codes[r, c]]:
                out[r - r0, c - c0] = lut[sd, sf]
            else:
                out[r - r0, c - c0] = 65535
