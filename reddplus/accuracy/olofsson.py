"""Stratified estimators of area and accuracy from an error matrix (Olofsson et al. 2013, 2014).

The strata are the map classes; the inputs are an error matrix of *sample counts*
``n_ij`` (rows = map class ``i``, columns = reference class ``j``, same labels in the
same order) and the *mapped area* of each map class. Every function is pure
(arrays in, arrays out) and cites its equation in

1. Olofsson, P., Foody, G. M., Herold, M., Stehman, S. V., Woodcock, C. E., Wulder, M. A. (2014).
   Good practices for estimating area and assessing accuracy of land change.
   Remote Sens. Environ. 148:42-57, doi:10.1016/j.rse.2014.02.015 (section 4.4 and 5).
2. Olofsson, P., Foody, G. M., Stehman, S. V., Woodcock, C. E. (2013). Making better use of
   accuracy data in land change studies. Remote Sens. Environ. 129:122-131,
   doi:10.1016/j.rse.2012.10.031.

The finite population correction is ignored, as in both papers (sample sizes are tiny
compared with the number of pixels).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from reddplus.accuracy.result import AreaAccuracyEstimate
from reddplus.errors import InputDataError

__all__ = [
    "check_error_matrix",
    "stratum_weights",
    "area_proportion_matrix",
    "area_proportions",
    "area_proportions_se",
    "overall_accuracy",
    "overall_accuracy_se",
    "users_accuracy",
    "users_accuracy_se",
    "producers_accuracy",
    "producers_accuracy_se",
    "estimate_from_error_matrix",
]


def check_error_matrix(sample_counts, mapped_area,
                       classes: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Validate an error matrix of sample counts and the mapped areas; return float arrays.

    Raises :class:`~reddplus.errors.InputDataError` naming the class (row) at fault for a
    non-square matrix, negative or non-integer counts, a zero row total (a mapped class with
    no sample: its user's accuracy and its share of every area are not estimable), fewer
    than 2 samples in a row (no variance), or a negative / zero-total mapped area. A zero row
    is accepted only for a class with no mapped area (a class that occurs in the reference
    data only: its user's accuracy is undefined and it adds nothing to the estimates).
    """
    n = np.asarray(sample_counts, dtype=float)
    a = np.asarray(mapped_area, dtype=float)
    if n.ndim != 2 or n.shape[0] != n.shape[1]:
        raise InputDataError(f"the error matrix must be square (same classes as rows and columns); got shape {n.shape}")
    q = n.shape[0]
    labels = [str(c) for c in classes] if classes is not None else [str(i + 1) for i in range(q)]
    if a.shape != (q,):
        raise InputDataError(f"need one mapped area per map class ({q}); got {a.shape}", column="mapped_area")
    for i in range(q):
        if not np.isfinite(a[i]) or a[i] < 0:
            raise InputDataError(f"mapped area of class {labels[i]!r} must be a non-negative number; got {a[i]!r}",
                                 row=i + 1, column="mapped_area")
    for i in range(q):
        row = n[i]
        if not np.all(np.isfinite(row)) or np.any(row < 0) or np.any(row != np.round(row)):
            raise InputDataError(f"sample counts of map class {labels[i]!r} must be non-negative integers; got "
                                 f"{row.tolist()}", row=i + 1)
        if row.sum() == 0 and a[i] == 0:
            continue
        if row.sum() == 0:
            raise InputDataError(f"map class {labels[i]!r} has a zero row total (no sample): its accuracy and the "
                                 "areas cannot be estimated; sample every map class (stratum) or merge it", row=i + 1)
        if row.sum() < 2:
            raise InputDataError(f"map class {labels[i]!r} has a single sample: its variance is not estimable "
                                 "(Olofsson et al. 2014 eq. 5-7 divide by n_i - 1); sample at least 2", row=i + 1)
    if a.sum() <= 0:
        raise InputDataError("the mapped areas sum to zero", column="mapped_area")
    return n, a


def _row_totals(n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n_i, n_i with empty rows set to 1 (safe divisor), and 1/(n_i - 1) with 0 for empty rows."""
    ni = n.sum(axis=1)
    safe = np.where(ni > 0, ni, 1.0)
    inv_dof = np.where(ni > 1, 1.0 / np.where(ni > 1, ni - 1.0, 1.0), 0.0)
    return ni, safe, inv_dof


def stratum_weights(mapped_area) -> np.ndarray:
    """Proportion of the mapped area in each map class (stratum weight).

    Parameters
    ----------
    mapped_area : array [any area unit, e.g. pixels or ha]
        :math:`A_{m,i}`, area mapped as class ``i``.

    Returns
    -------
    weights : array [-]

    Notes
    -----
    .. math:: W_i = \\frac{A_{m,i}}{A_{tot}}

    References
    ----------
    1. Olofsson et al. 2014, section 4.4 (definition of :math:`W_i`, Table 8).
    """
    a = np.asarray(mapped_area, dtype=float)
    return a / a.sum()


def area_proportion_matrix(sample_counts, weights) -> np.ndarray:
    """Error matrix of estimated area proportions.

    Parameters
    ----------
    sample_counts : 2-d array [samples]
        :math:`n_{ij}`, rows = map class, columns = reference class.
    weights : array [-]
        :math:`W_i` (:func:`stratum_weights`).

    Returns
    -------
    p : 2-d array [-]

    Notes
    -----
    .. math:: \\hat p_{ij} = W_i \\frac{n_{ij}}{n_{i\\cdot}}

    References
    ----------
    1. Olofsson et al. 2014, eq. 9 (its cell terms; the error matrix of area proportions of section 5).
    """
    n = np.asarray(sample_counts, dtype=float)
    _, safe, _ = _row_totals(n)
    return np.asarray(weights, dtype=float)[:, None] * n / safe[:, None]


def area_proportions(sample_counts, weights) -> np.ndarray:
    """Stratified estimator of the proportion of area of each reference class.

    Parameters
    ----------
    sample_counts : 2-d array [samples]
        :math:`n_{ik}`, rows = map class, columns = reference class.
    weights : array [-]
        :math:`W_i`.

    Returns
    -------
    area_proportion : array [-]
        :math:`\\hat p_{\\cdot k}`; sums to 1.

    Notes
    -----
    .. math:: \\hat p_{\\cdot k} = \\sum_i W_i \\frac{n_{ik}}{n_{i\\cdot}}

    References
    ----------
    1. Olofsson et al. 2014, eq. 9; Olofsson et al. 2013, eq. 9.
    """
    return area_proportion_matrix(sample_counts, weights).sum(axis=0)


def area_proportions_se(sample_counts, weights) -> np.ndarray:
    """Standard error of the stratified area proportions.

    Parameters
    ----------
    sample_counts : 2-d array [samples]
    weights : array [-]

    Returns
    -------
    area_proportion_se : array [-]
        Multiply by the total area for the SE of the area (eq. 12).

    Notes
    -----
    .. math:: S(\\hat p_{\\cdot k}) = \\sqrt{\\sum_i W_i^2
              \\frac{\\frac{n_{ik}}{n_{i\\cdot}}\\left(1-\\frac{n_{ik}}{n_{i\\cdot}}\\right)}{n_{i\\cdot}-1}}

    References
    ----------
    1. Olofsson et al. 2014, eq. 10; Olofsson et al. 2013, eq. 10.
    """
    n = np.asarray(sample_counts, dtype=float)
    w = np.asarray(weights, dtype=float)
    _, safe, inv_dof = _row_totals(n)
    f = n / safe[:, None]
    return np.sqrt(((w ** 2 * inv_dof)[:, None] * f * (1.0 - f)).sum(axis=0))


def users_accuracy(sample_counts) -> np.ndarray:
    """User's accuracy of each map class.

    Parameters
    ----------
    sample_counts : 2-d array [samples]

    Returns
    -------
    user_accuracy : array [-]

    Notes
    -----
    .. math:: \\hat U_i = \\frac{\\hat p_{ii}}{\\hat p_{i\\cdot}} = \\frac{n_{ii}}{n_{i\\cdot}}

    References
    ----------
    1. Olofsson et al. 2014, eq. 3 (with eq. 9's cell terms).
    """
    n = np.asarray(sample_counts, dtype=float)
    ni, safe, _ = _row_totals(n)
    return np.where(ni > 0, np.diag(n) / safe, np.nan)


def users_accuracy_se(sample_counts) -> np.ndarray:
    """Standard error of the user's accuracies.

    Notes
    -----
    .. math:: S(\\hat U_i) = \\sqrt{\\frac{\\hat U_i (1 - \\hat U_i)}{n_{i\\cdot} - 1}}

    References
    ----------
    1. Olofsson et al. 2014, eq. 6.
    """
    n = np.asarray(sample_counts, dtype=float)
    ni, _, inv_dof = _row_totals(n)
    u = users_accuracy(n)
    return np.where(ni > 1, np.sqrt(np.abs(u * (1.0 - u)) * inv_dof), np.nan)


def producers_accuracy(sample_counts, weights) -> np.ndarray:
    """Producer's accuracy of each reference class.

    Returns NaN for a class with no estimated area (an all-zero column).

    Notes
    -----
    .. math:: \\hat P_j = \\frac{\\hat p_{jj}}{\\hat p_{\\cdot j}}

    References
    ----------
    1. Olofsson et al. 2014, eq. 4.
    """
    p = area_proportion_matrix(sample_counts, weights)
    col = p.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(col > 0, np.diag(p) / np.where(col > 0, col, 1.0), np.nan)


def producers_accuracy_se(sample_counts, weights) -> np.ndarray:
    """Standard error of the producer's accuracies.

    Parameters
    ----------
    sample_counts : 2-d array [samples]
    weights : array [-]
        Stratum weights; the equation's :math:`N_{i\\cdot}` (mapped areas) enter only as
        ratios, so weights give the same result.

    Notes
    -----
    .. math:: S(\\hat P_j) = \\sqrt{\\frac{1}{\\hat N_{\\cdot j}^2}\\left[
              \\frac{N_{j\\cdot}^2 (1-\\hat P_j)^2 \\hat U_j (1-\\hat U_j)}{n_{j\\cdot}-1}
              + \\hat P_j^2 \\sum_{i \\ne j} N_{i\\cdot}^2
              \\frac{\\frac{n_{ij}}{n_{i\\cdot}}\\left(1-\\frac{n_{ij}}{n_{i\\cdot}}\\right)}{n_{i\\cdot}-1}\\right]},
              \\quad \\hat N_{\\cdot j} = \\sum_i \\frac{N_{i\\cdot}}{n_{i\\cdot}} n_{ij}

    References
    ----------
    1. Olofsson et al. 2014, eq. 7 (from Card 1982).
    """
    n = np.asarray(sample_counts, dtype=float)
    w = np.asarray(weights, dtype=float)
    ni, safe, inv_dof = _row_totals(n)
    u = np.nan_to_num(users_accuracy(n))  # empty rows have W_j = 0 and add nothing
    pa = producers_accuracy(n, w)
    n_hat = (w[:, None] * n / safe[:, None]).sum(axis=0)
    f = n / safe[:, None]
    cell = (w ** 2 * inv_dof)[:, None] * f * (1.0 - f)
    others = cell.sum(axis=0) - np.diag(cell)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = (w ** 2 * (1.0 - pa) ** 2 * u * (1.0 - u) * inv_dof + pa ** 2 * others) / n_hat ** 2
    return np.where(n_hat > 0, np.sqrt(v), np.nan)


def overall_accuracy(sample_counts, weights) -> float:
    """Overall accuracy (proportion of area correctly mapped).

    Notes
    -----
    .. math:: \\hat O = \\sum_j \\hat p_{jj}

    References
    ----------
    1. Olofsson et al. 2014, eq. 2.
    """
    return float(np.trace(area_proportion_matrix(sample_counts, weights)))


def overall_accuracy_se(sample_counts, weights) -> float:
    """Standard error of the overall accuracy.

    Notes
    -----
    .. math:: S(\\hat O) = \\sqrt{\\sum_i W_i^2 \\frac{\\hat U_i (1 - \\hat U_i)}{n_{i\\cdot} - 1}}

    References
    ----------
    1. Olofsson et al. 2014, eq. 5.
    """
    n = np.asarray(sample_counts, dtype=float)
    w = np.asarray(weights, dtype=float)
    _, _, inv_dof = _row_totals(n)
    u = np.nan_to_num(users_accuracy(n))  # empty rows have W_i = 0 and add nothing
    return float(np.sqrt((w ** 2 * u * (1.0 - u) * inv_dof).sum()))


def estimate_from_error_matrix(sample_counts, mapped_area, classes: Sequence[str] | None = None, *,
                               confidence: float = 0.90, area_unit: str = "input") -> AreaAccuracyEstimate:
    """All Olofsson et al. (2014) estimates from an error matrix and the mapped areas.

    Parameters
    ----------
    sample_counts : 2-d array [samples]
        :math:`n_{ij}`, rows = map class (stratum), columns = reference class, same order.
    mapped_area : array [area_unit]
        Area mapped as each class (pixels, ha, or proportions).
    classes : sequence of str, optional
        Class labels (default "1", "2", ...).
    confidence : float [-]
        Level of the confidence intervals (0.90 as VCS uses; 0.95 to compare with papers).
    area_unit : str
        Label of the unit of ``mapped_area`` (carried into the result).

    Returns
    -------
    AreaAccuracyEstimate
        Areas :math:`\\hat A_k = A_{tot}\\,\\hat p_{\\cdot k}` (eq. 11) with SE (eq. 12) and CI
        :math:`\\hat A_k \\pm z\\,S(\\hat A_k)`; user's, producer's and overall accuracy (eqs. 2-7).

    Notes
    -----
    .. math:: \\hat A_k = A_{tot} \\sum_i W_i \\frac{n_{ik}}{n_{i\\cdot}}, \\quad
              S(\\hat A_k) = A_{tot}\\, S(\\hat p_{\\cdot k})

    References
    ----------
    1. Olofsson et al. 2014, eqs. 2-7 and 9-12.
    2. Olofsson et al. 2013, section 3 (examples 1 and 2).
    """
    n, a = check_error_matrix(sample_counts, mapped_area, classes)
    w = stratum_weights(a)
    labels = tuple(str(c) for c in classes) if classes is not None else tuple(str(i + 1) for i in range(len(a)))
    if len(set(labels)) != len(labels):
        raise InputDataError(f"duplicate class labels: {list(labels)}")
    return AreaAccuracyEstimate(
        method="olofsson2014",
        classes=labels,
        area_proportion=area_proportions(n, w),
        area_proportion_se=area_proportions_se(n, w),
        total_area=float(a.sum()),
        area_unit=area_unit,
        user_accuracy=users_accuracy(n),
        user_accuracy_se=users_accuracy_se(n),
        producer_accuracy=producers_accuracy(n, w),
        producer_accuracy_se=producers_accuracy_se(n, w),
        overall_accuracy=overall_accuracy(n, w),
        overall_accuracy_se=overall_accuracy_se(n, w),
        error_matrix=area_proportion_matrix(n, w),
        sample_counts=n,
        confidence=confidence,
    )
