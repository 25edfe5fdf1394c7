"""The one results object of every area/accuracy estimator (frozen, arrays read-only)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import norm

from reddplus.errors import InputDataError


def z_score(confidence: float) -> float:
    """Two-sided standard normal quantile for a confidence level.

    Parameters
    ----------
    confidence : float [-]
        Confidence level in (0, 1), e.g. 0.90 (VCS/VT0007 reporting) or 0.95 (papers).

    Returns
    -------
    z : float [-]
        :math:`z` such that :math:`P(|Z| \\le z) = \\text{confidence}`.

    Notes
    -----
    .. math:: z = \\Phi^{-1}\\left(\\frac{1 + \\text{confidence}}{2}\\right)

    A confidence interval is :math:`\\hat\\theta \\pm z\\,S(\\hat\\theta)` (Olofsson et al. 2014,
    section 4.4; 1.645 at 90 %, 1.960 at 95 %).

    References
    ----------
    1. Olofsson, P. et al. (2014). Good practices for estimating area and assessing accuracy of
       land change. Remote Sens. Environ. 148:42-57, doi:10.1016/j.rse.2014.02.015.
    """
    if not (0.0 < confidence < 1.0) or not np.isfinite(confidence):
        raise InputDataError(f"confidence must be in (0, 1), e.g. 0.90 or 0.95; got {confidence!r}",
                             column="confidence")
    return float(norm.ppf(0.5 + confidence / 2.0))


def _ro(a) -> np.ndarray:
    arr = np.array(a, dtype=float, copy=True)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class AreaAccuracyEstimate:
    """Area and accuracy estimates with their standard errors (one per reference/map class).

    Attributes
    ----------
    method : str
        Key of :data:`reddplus.accuracy.ESTIMATORS` that produced it.
    classes : tuple of str
        Class labels, in the order of every per-class array.
    area_proportion, area_proportion_se : array [-]
        Estimated proportion of the total area in each (reference) class and its SE.
    total_area : float [area_unit]
        Total area of the region (sum of mapped areas / stratum sizes).
    area_unit : str
        Unit of ``total_area``, ``area`` and ``area_se`` ("ha", "pixels", or "input").
    user_accuracy, user_accuracy_se : array [-]
        User's accuracy per map class (NaN when nothing is mapped as that class).
    producer_accuracy, producer_accuracy_se : array [-]
        Producer's accuracy per reference class (NaN when the class has no estimated area).
    overall_accuracy, overall_accuracy_se : float [-]
    error_matrix : 2-d array [-]
        Estimated area proportions, rows = map class, columns = reference class.
    sample_counts : 2-d array [samples]
        Sample counts, rows = map class, columns = reference class.
    confidence : float [-]
        Confidence level of the ``*_ci_halfwidth`` properties.
    """

    method: str
    classes: tuple[str, ...]
    area_proportion: np.ndarray
    area_proportion_se: np.ndarray
    total_area: float
    area_unit: str
    user_accuracy: np.ndarray
    user_accuracy_se: np.ndarray
    producer_accuracy: np.ndarray
    producer_accuracy_se: np.ndarray
    overall_accuracy: float
    overall_accuracy_se: float
    error_matrix: np.ndarray
    sample_counts: np.ndarray
    confidence: float = 0.90
    z: float = field(init=False)

    def __post_init__(self) -> None:
        for name in ("area_proportion", "area_proportion_se", "user_accuracy", "user_accuracy_se",
                     "producer_accuracy", "producer_accuracy_se", "error_matrix", "sample_counts"):
            object.__setattr__(self, name, _ro(getattr(self, name)))
        object.__setattr__(self, "classes", tuple(str(c) for c in self.classes))
        object.__setattr__(self, "z", z_score(self.confidence))

    # derived quantities -------------------------------------------------------------------
    @property
    def area(self) -> np.ndarray:
        """Estimated area per class [area_unit] (Olofsson et al. 2014, eq. 11: :math:`A\\,\\hat p_{\\cdot k}`)."""
        return self.total_area * self.area_proportion

    @property
    def area_se(self) -> np.ndarray:
        """Standard error of the area [area_unit] (Olofsson et al. 2014, eq. 12)."""
        return self.total_area * self.area_proportion_se

    @property
    def area_ci_halfwidth(self) -> np.ndarray:
        return self.z * self.area_se

    @property
    def area_proportion_ci_halfwidth(self) -> np.ndarray:
        return self.z * self.area_proportion_se

    @property
    def user_accuracy_ci_halfwidth(self) -> np.ndarray:
        return self.z * self.user_accuracy_se

    @property
    def producer_accuracy_ci_halfwidth(self) -> np.ndarray:
        return self.z * self.producer_accuracy_se

    @property
    def overall_accuracy_ci_halfwidth(self) -> float:
        return self.z * self.overall_accuracy_se

    def with_confidence(self, confidence: float) -> "AreaAccuracyEstimate":
        """The same estimates with confidence intervals at another level."""
        kw = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "z"}
        kw["confidence"] = confidence
        return AreaAccuracyEstimate(**kw)

    def to_dict(self) -> dict:
        """JSON-ready dict (the ``reddplus accuracy estimate --json`` document)."""
        classes = []
        for i, c in enumerate(self.classes):
            classes.append({
                "class": c,
                "area": self.area[i],
                "area_se": self.area_se[i],
                "area_ci_halfwidth": self.area_ci_halfwidth[i],
                "area_proportion": self.area_proportion[i],
                "area_proportion_se": self.area_proportion_se[i],
                "area_proportion_ci_halfwidth": self.area_proportion_ci_halfwidth[i],
                "user_accuracy": self.user_accuracy[i],
                "user_accuracy_se": self.user_accuracy_se[i],
                "user_accuracy_ci_halfwidth": self.user_accuracy_ci_halfwidth[i],
                "producer_accuracy": self.producer_accuracy[i],
                "producer_accuracy_se": self.producer_accuracy_se[i],
                "producer_accuracy_ci_halfwidth": self.producer_accuracy_ci_halfwidth[i],
            })
        return {
            "method": self.method,
            "confidence": self.confidence,
            "z": self.z,
            "area_unit": self.area_unit,
            "total_area": self.total_area,
            "classes": classes,
            "overall_accuracy": self.overall_accuracy,
            "overall_accuracy_se": self.overall_accuracy_se,
            "overall_accuracy_ci_halfwidth": self.overall_accuracy_ci_halfwidth,
            "n_samples": int(self.sample_counts.sum()),
            "error_matrix": {"rows": "map", "columns": "reference", "area_proportion": self.error_matrix,
                             "sample_counts": self.sample_counts},
        }
