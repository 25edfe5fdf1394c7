"""Estimators for stratified random sampling when the strata differ from the map classes.

Stehman, S. V. (2014). Estimating area and map accuracy for stratified random sampling when
the strata are different from the map classes. Int. J. Remote Sens. 35(13):4923-4939,
doi:10.1080/01431161.2014.930207.

Each sample unit ``u`` (in stratum ``h``) carries indicator variables: ``y_u`` (e.g. the
reference class is ``k``) and, for ratios, ``x_u`` (e.g. the map class is ``k``). Totals are
estimated stratum by stratum and combined with the stratum sizes ``N_h``; user's and
producer's accuracies are combined ratio estimators. When the strata are the map classes and
the finite population correction is off, these reduce to Olofsson et al. (2014) eqs. 2-10.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from reddplus.accuracy.result import AreaAccuracyEstimate
from reddplus.errors import InputDataError

__all__ = ["stratified_proportion", "stratified_ratio", "estimate_from_samples"]


def _stratum_stats(h: np.ndarray, v: np.ndarray, n_h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-stratum mean and sample variance (ddof=1) of ``v``."""
    q = len(n_h)
    mean = np.bincount(h, weights=v, minlength=q) / n_h
    dev2 = (v - mean[h]) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.bincount(h, weights=dev2, minlength=q) / (n_h - 1.0)
    return mean, var


def _fpc(n_h: np.ndarray, N_h: np.ndarray, finite_population_correction: bool) -> np.ndarray:
    return (1.0 - n_h / N_h) if finite_population_correction else np.ones_like(N_h)


def stratified_proportion(stratum_index, y, stratum_size, *, finite_population_correction: bool = True
                          ) -> tuple[float, float]:
    """Stratified estimator of a population proportion (mean of an indicator) and its SE.

    Parameters
    ----------
    stratum_index : int array [-]
        Stratum ``h`` (0 .. H-1) of each sample unit.
    y : array [-]
        :math:`y_u` of each sample unit (e.g. 1 if the reference class is ``k``).
    stratum_size : array [pixels or area]
        :math:`N_h`, size of every stratum.
    finite_population_correction : bool
        Apply :math:`1 - n_h/N_h` (Stehman 2014 does; negligible for pixel populations).

    Returns
    -------
    estimate, se : float [-]

    Notes
    -----
    .. math:: \\hat{\\bar Y} = \\frac{\\sum_h N_h \\bar y_h}{N}, \\quad
              \\hat V(\\hat{\\bar Y}) = \\frac{1}{N^2}\\sum_h N_h^2
              \\left(1 - \\frac{n_h}{N_h}\\right)\\frac{s_{yh}^2}{n_h}

    References
    ----------
    1. Stehman 2014, eq. 3 (estimator) and eq. 25 (variance).
    """
    h = np.asarray(stratum_index, dtype=np.intp)
    y = np.asarray(y, dtype=float)
    N_h = np.asarray(stratum_size, dtype=float)
    n_h = np.bincount(h, minlength=len(N_h)).astype(float)
    ybar, s2 = _stratum_stats(h, y, n_h)
    N = N_h.sum()
    est = float((N_h * ybar).sum() / N)
    var = float((N_h ** 2 * _fpc(n_h, N_h, finite_population_correction) * s2 / n_h).sum() / N ** 2)
    return est, float(np.sqrt(var))


def stratified_ratio(stratum_index, y, x, stratum_size, *, finite_population_correction: bool = True
                     ) -> tuple[float, float]:
    """Combined ratio estimator :math:`R = Y/X` under stratified sampling, and its SE.

    User's accuracy of class ``k``: ``y`` = (map = k and reference = k), ``x`` = (map = k).
    Producer's accuracy: same ``y``, ``x`` = (reference = k). NaN when :math:`\\hat X = 0`.

    Parameters
    ----------
    stratum_index : int array [-]
    y, x : array [-]
    stratum_size : array [pixels or area]
    finite_population_correction : bool

    Returns
    -------
    estimate, se : float [-]

    Notes
    -----
    .. math:: \\hat R = \\frac{\\sum_h N_h \\bar y_h}{\\sum_h N_h \\bar x_h}, \\quad
              \\hat V(\\hat R) = \\frac{1}{\\hat X^2}\\sum_h N_h^2\\left(1-\\frac{n_h}{N_h}\\right)
              \\frac{s_{yh}^2 + \\hat R^2 s_{xh}^2 - 2\\hat R s_{xyh}}{n_h}

    References
    ----------
    1. Stehman 2014, eq. 27 (ratio estimator) and eq. 28 (variance).
    """
    h = np.asarray(stratum_index, dtype=np.intp)
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    N_h = np.asarray(stratum_size, dtype=float)
    n_h = np.bincount(h, minlength=len(N_h)).astype(float)
    ybar = np.bincount(h, weights=y, minlength=len(N_h)) / n_h
    xbar = np.bincount(h, weights=x, minlength=len(N_h)) / n_h
    X = float((N_h * xbar).sum())
    if X <= 0:
        return float("nan"), float("nan")
    R = float((N_h * ybar).sum()) / X
    # s_y^2 + R^2 s_x^2 - 2 R s_xy is the sample variance of the residual d = y - R x
    _, s2d = _stratum_stats(h, y - R * x, n_h)
    var = float((N_h ** 2 * _fpc(n_h, N_h, finite_population_correction) * s2d / n_h).sum()) / X ** 2
    return R, float(np.sqrt(max(var, 0.0)))


def estimate_from_samples(stratum: Sequence, map_class: Sequence, reference: Sequence,
                          stratum_size: Mapping, *, classes: Sequence[str] | None = None,
                          confidence: float = 0.90, finite_population_correction: bool = True,
                          area_unit: str = "pixels") -> AreaAccuracyEstimate:
    """Stehman (2014) estimates of area proportions and accuracy from a point sample.

    Parameters
    ----------
    stratum, map_class, reference : sequences of labels, one per sample unit
        Sampling stratum, map class and reference class of each point.
    stratum_size : mapping {stratum label: size [pixels or area]}
        :math:`N_h` of every stratum (all strata of the design, sampled or not).
    classes : sequence of str, optional
        Class order; default: the sorted union of map and reference labels.
    confidence : float [-]
        Level of the confidence intervals (0.90 default).
    finite_population_correction : bool
        Include :math:`1 - n_h/N_h` in the variances (as Stehman 2014 does).
    area_unit : str
        Unit of the stratum sizes (areas are :math:`N\\,\\hat p_k` in that unit).

    Returns
    -------
    AreaAccuracyEstimate
        ``area_proportion`` (eq. 3), user's/producer's accuracy (eq. 27), overall accuracy,
        the error matrix of area proportions, and SEs (eqs. 25, 28).

    Notes
    -----
    .. math:: \\hat p_k = \\frac{1}{N}\\sum_h N_h \\bar y_h,\\ y_u = [r_u = k]; \\quad
              \\hat U_k = \\frac{\\sum_h N_h \\bar y_h}{\\sum_h N_h \\bar x_h},\\
              y_u = [m_u = k \\wedge r_u = k],\\ x_u = [m_u = k]

    References
    ----------
    1. Stehman 2014, section 2 (eqs. 3, 25, 27, 28) and the numerical example of section 3.
    """
    s = np.asarray([str(v).strip() for v in stratum], dtype=object)
    m = np.asarray([str(v).strip() for v in map_class], dtype=object)
    r = np.asarray([str(v).strip() for v in reference], dtype=object)
    if not (len(s) == len(m) == len(r)):
        raise InputDataError(f"stratum, map and reference must have one entry per sample; got {len(s)}, {len(m)}, "
                             f"{len(r)}")
    if len(s) == 0:
        raise InputDataError("the sample is empty")
    sizes = {str(k).strip(): float(v) for k, v in stratum_size.items()}
    strata = list(sizes)
    for k, v in sizes.items():
        if not np.isfinite(v) or v <= 0:
            raise InputDataError(f"stratum {k!r} must have a positive size; got {v!r}", column="size")
    index = {k: i for i, k in enumerate(strata)}
    unknown = [(i, v) for i, v in enumerate(s) if v not in index]
    if unknown:
        i, v = unknown[0]
        raise InputDataError(f"stratum {v!r} is not in the strata table (strata: {strata})", row=i + 1,
                             column="stratum")
    h = np.array([index[v] for v in s], dtype=np.intp)
    n_h = np.bincount(h, minlength=len(strata))
    N_h = np.array([sizes[k] for k in strata])
    for i, k in enumerate(strata):
        if n_h[i] == 0:
            raise InputDataError(f"stratum {k!r} (size {sizes[k]:g}) has no sample: the area it covers cannot be "
                                 "estimated; sample it or remove it from the strata table", column="stratum")
        if n_h[i] < 2:
            raise InputDataError(f"stratum {k!r} has a single sample: its variance is not estimable "
                                 "(Stehman 2014 eq. 25 divides by n_h - 1); sample at least 2", column="stratum")
        if n_h[i] > N_h[i]:
            raise InputDataError(f"stratum {k!r} has more samples ({n_h[i]}) than its size ({N_h[i]:g})",
                                 column="size")
    if classes is None:
        labels = sorted(set(m) | set(r), key=_natural_key)
    else:
        labels = [str(c).strip() for c in classes]
        missing = sorted((set(m) | set(r)) - set(labels))
        if missing:
            raise InputDataError(f"classes {missing} occur in the sample but not in the class list {labels}")
    q = len(labels)
    kw = {"finite_population_correction": finite_population_correction}
    p = np.zeros(q)
    p_se = np.zeros(q)
    ua = np.zeros(q)
    ua_se = np.zeros(q)
    pa = np.zeros(q)
    pa_se = np.zeros(q)
    matrix = np.zeros((q, q))
    counts = np.zeros((q, q))
    for k, c in enumerate(labels):
        ref_k = (r == c).astype(float)
        map_k = (m == c).astype(float)
        hit = ref_k * map_k
        p[k], p_se[k] = stratified_proportion(h, ref_k, N_h, **kw)
        ua[k], ua_se[k] = stratified_ratio(h, hit, map_k, N_h, **kw)
        pa[k], pa_se[k] = stratified_ratio(h, hit, ref_k, N_h, **kw)
        for j, cj in enumerate(labels):
            cell = map_k * (r == cj)
            matrix[k, j] = stratified_proportion(h, cell, N_h, **kw)[0]
            counts[k, j] = cell.sum()
    oa, oa_se = stratified_proportion(h, (m == r).astype(float), N_h, **kw)
    return AreaAccuracyEstimate(
        method="stehman2014", classes=tuple(labels), area_proportion=p, area_proportion_se=p_se,
        total_area=float(N_h.sum()), area_unit=area_unit, user_accuracy=ua, user_accuracy_se=ua_se,
        producer_accuracy=pa, producer_accuracy_se=pa_se, overall_accuracy=oa, overall_accuracy_se=oa_se,
        error_matrix=matrix, sample_counts=counts, confidence=confidence,
    )


def _natural_key(label: str):
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)
