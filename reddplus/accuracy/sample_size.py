"""Sample size and allocation for stratified random sampling of a change map.

1. Olofsson, P. et al. (2014). Good practices for estimating area and assessing accuracy of
   land change. Remote Sens. Environ. 148:42-57, doi:10.1016/j.rse.2014.02.015, section 5.1
   (eq. 13; allocation of 50-100 units to rare change strata, the rest proportionally).
2. Cochran, W. G. (1977). Sampling Techniques, 3rd ed., Wiley, eq. 5.25.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from reddplus.errors import InputDataError

log = logging.getLogger(__name__)

__all__ = ["sample_size_overall_accuracy", "allocate_with_minimum", "expected_overall_accuracy_se"]


def _check_weights_ua(weights, expected_ua) -> tuple[np.ndarray, np.ndarray]:
    w = np.asarray(weights, dtype=float)
    u = np.asarray(expected_ua, dtype=float)
    if w.ndim != 1 or w.shape != u.shape or len(w) == 0:
        raise InputDataError(f"need one expected user's accuracy per stratum; got {u.shape} for {w.shape} strata")
    if np.any(~np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise InputDataError("stratum weights must be non-negative and not all zero")
    if np.any(~np.isfinite(u)) or np.any(u < 0) or np.any(u > 1):
        raise InputDataError(f"expected user's accuracies must be in [0, 1]; got {u.tolist()}",
                             column="expected_ua")
    return w / w.sum(), u


def sample_size_overall_accuracy(weights, expected_ua, target_se: float, population_size: float | None = None) -> int:
    """Total sample size giving a target standard error of the overall accuracy.

    Parameters
    ----------
    weights : array [-]
        :math:`W_i`, proportion of the map in each stratum (normalised here).
    expected_ua : array [-]
        :math:`U_i`, conjectured user's accuracy of each stratum.
    target_se : float [-]
        :math:`S(\\hat O)`, target standard error of the overall accuracy (e.g. 0.01).
    population_size : float [pixels], optional
        :math:`N`; when given the finite-population term is kept.

    Returns
    -------
    n : int [samples]
        Rounded up. The equation is exact for the optimal (Neyman) allocation
        :math:`n_i \\propto W_i S_i`; other allocations (e.g. a minimum for rare strata) give a
        different SE, which :func:`expected_overall_accuracy_se` reports.

    Notes
    -----
    .. math:: n = \\frac{\\left(\\sum_i W_i S_i\\right)^2}{S(\\hat O)^2 + \\frac{1}{N}\\sum_i W_i S_i^2}
              \\approx \\left(\\frac{\\sum_i W_i S_i}{S(\\hat O)}\\right)^2,
              \\quad S_i = \\sqrt{U_i (1 - U_i)}

    References
    ----------
    1. Olofsson et al. 2014, eq. 13 (section 5.1.1 example: n = 641); Cochran 1977, eq. 5.25.
    """
    w, u = _check_weights_ua(weights, expected_ua)
    if not (np.isfinite(target_se) and target_se > 0):
        raise InputDataError(f"target standard error must be positive; got {target_se!r}", column="target_se")
    s = np.sqrt(u * (1.0 - u))
    num = float((w * s).sum()) ** 2
    den = target_se ** 2
    if population_size is not None:
        den += float((w * s ** 2).sum()) / float(population_size)
    if num == 0:
        return 0
    # a tiny relative tolerance so that an exact integer is not bumped up by rounding noise
    return int(math.ceil(num / den * (1 - 1e-12)))


def allocate_with_minimum(n_total: int, weights, min_per_stratum: int = 50, stratum_size=None) -> np.ndarray:
    """Allocate a sample to strata proportionally, with a minimum for rare strata.

    Strata whose proportional share is below ``min_per_stratum`` receive the minimum; the
    rest of the sample is shared among the other strata in proportion to their weights
    (repeated until stable), then rounded by largest remainders so that the allocation sums
    to ``n_total`` (unless the minimums alone exceed it; the total then grows, logged).
    No stratum gets more units than it has pixels (``stratum_size``).

    Parameters
    ----------
    n_total : int [samples]
    weights : array [-]
        :math:`W_h` (normalised here).
    min_per_stratum : int [samples]
        Olofsson et al. 2014 (section 5.1.2) suggest 50-100 for the rare change strata.
    stratum_size : array [pixels], optional
        :math:`N_h`, an upper bound per stratum.

    Returns
    -------
    n_h : int array [samples]

    Notes
    -----
    .. math:: n_h = \\max\\left(n_{min},\\ (n - \\textstyle\\sum_{g \\in R} n_{min})
              \\frac{W_h}{\\sum_{g \\notin R} W_g}\\right),\\ R = \\{h : n W_h < n_{min}\\}

    References
    ----------
    1. Olofsson et al. 2014, section 5.1.2 (allocation to rare classes).
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim != 1 or len(w) == 0 or np.any(~np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise InputDataError("stratum weights must be non-negative and not all zero")
    if n_total < 0 or min_per_stratum < 0:
        raise InputDataError("sample sizes must be non-negative")
    w = w / w.sum()
    cap = np.full(len(w), np.inf) if stratum_size is None else np.asarray(stratum_size, dtype=float)
    floor = np.minimum(min_per_stratum, cap) * (w > 0)
    fixed = np.zeros(len(w), dtype=bool)
    alloc = np.zeros(len(w))
    for _ in range(2 * len(w) + 2):
        free = ~fixed & (w > 0)
        remaining = max(n_total - alloc[fixed].sum(), 0.0)
        share = np.zeros(len(w))
        if free.any():
            share[free] = remaining * w[free] / w[free].sum()
        new_fixed = free & ((share < floor) | (share > cap))
        if not new_fixed.any():
            alloc[free] = share[free]
            break
        alloc[new_fixed] = np.clip(share[new_fixed], floor[new_fixed], cap[new_fixed])
        fixed |= new_fixed
    # integer allocation by largest remainders over the proportional part
    out = np.floor(alloc + 1e-9).astype(np.int64)
    deficit = int(round(max(n_total, 0) - out.sum()))
    if deficit > 0:
        room = (alloc - out) * (out < cap)
        for i in np.argsort(-room, kind="stable")[:deficit]:
            if out[i] < cap[i] and w[i] > 0:
                out[i] += 1
    out = np.maximum(out, floor.astype(np.int64))
    if out.sum() > n_total:
        log.info("minimum of %d per stratum raises the sample from %d to %d", min_per_stratum, n_total, out.sum())
    return out


def expected_overall_accuracy_se(weights, expected_ua, n_h) -> float:
    """Standard error of the overall accuracy expected from an allocation.

    Parameters
    ----------
    weights : array [-]
    expected_ua : array [-]
    n_h : array [samples]

    Returns
    -------
    se : float [-]
        NaN when a stratum with a positive weight has fewer than 2 units.

    Notes
    -----
    .. math:: S(\\hat O) = \\sqrt{\\sum_h W_h^2 \\frac{U_h (1 - U_h)}{n_h - 1}}

    References
    ----------
    1. Olofsson et al. 2014, eq. 5 with the conjectured :math:`U_h` in place of estimates.
    """
    w, u = _check_weights_ua(weights, expected_ua)
    n = np.asarray(n_h, dtype=float)
    used = w > 0
    if np.any(n[used] < 2):
        return float("nan")
    return float(np.sqrt((w[used] ** 2 * u[used] * (1 - u[used]) / (n[used] - 1)).sum()))
