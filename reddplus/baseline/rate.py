"""Jurisdictional expected deforestation [ha/yr] for the baseline validity period.

References
----------
1. Verra (2024) VMD0055 v1.1, Estimation of emission reductions from avoiding unplanned
   deforestation, section 5.2 (jurisdictional activity data and its projection).
2. Verra (2023) VT0007 v1.0, section 3 (expected deforestation of the jurisdiction over the
   validity period: the historical average over the HRP, or a trend, or a value given by a
   jurisdictional programme).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from reddplus.errors import ConfigError, InputDataError

METHODS = ("historical_average", "linear_trend", "expected")


@dataclass(frozen=True)
class RateResult:
    """Expected jurisdictional deforestation per year [ha/yr] and how it was obtained."""

    method: str
    per_year: dict[int, float]
    historical_years: tuple[int, ...]
    historical_ha: tuple[float, ...]
    slope_ha_per_year2: float | None = None
    intercept_ha_per_year: float | None = None

    def to_dict(self) -> dict:
        return {"method": self.method, "per_year": {str(k): v for k, v in self.per_year.items()},
                "historical": {str(y): v for y, v in zip(self.historical_years, self.historical_ha)},
                "slope_ha_per_year2": self.slope_ha_per_year2, "intercept_ha_per_year": self.intercept_ha_per_year}


def jurisdictional_rate(annual_loss_ha: Mapping[int, float], *, method: str, years: Sequence[int],
                        expected_ha_per_year: float | None = None) -> RateResult:
    """Expected jurisdictional deforestation for each of ``years`` [ha/yr].

    Parameters
    ----------
    annual_loss_ha : mapping year -> [ha/yr]
        Deforestation in each year of the historical reference period (HRP).
    method : {"historical_average", "linear_trend", "expected"}
        Explicit choice (VT0007 section 3): the HRP mean; an OLS line through the annual losses,
        extrapolated and floored at zero; or a given value.
    years : sequence of int
        Years to project (e.g. the crediting or validity period).
    expected_ha_per_year : float [ha/yr]
        For ``method="expected"``.

    Notes
    -----
    .. math:: \\bar D = \\frac{1}{n}\\sum_{t \\in HRP} D_t, \\qquad
              \\hat D_y = \\max(0, a + b\\,y),\\ (a, b) = \\arg\\min \\sum_t (D_t - a - b t)^2

    Raises
    ------
    ConfigError
        Unknown method or missing expected value. InputDataError: negative or missing losses.
    """
    if method not in METHODS:
        raise ConfigError(f"unknown rate method {method!r}; choose one of {METHODS}", key="baseline.rate_method")
    hy = tuple(sorted(int(y) for y in annual_loss_ha))
    hv = np.array([float(annual_loss_ha[y]) for y in hy])
    if method != "expected":
        if len(hy) == 0:
            raise InputDataError("no historical deforestation to compute a rate from", column="annual_loss_ha")
        if (hv < 0).any() or not np.isfinite(hv).all():
            raise InputDataError("historical deforestation must be finite and >= 0 ha/yr", column="annual_loss_ha")
    slope = intercept = None
    if method == "historical_average":
        per = {int(y): float(hv.mean()) for y in years}
    elif method == "linear_trend":
        if len(hy) < 3:
            raise InputDataError("a linear trend needs at least three annual values", column="annual_loss_ha")
        b, a = np.polyfit(np.array(hy, float), hv, 1)
        slope, intercept = float(b), float(a)
        per = {int(y): max(0.0, float(a + b * y)) for y in years}
    else:
        if expected_ha_per_year is None or expected_ha_per_year < 0:
            raise ConfigError("method 'expected' needs expected_ha_per_year >= 0", key="baseline.expected_ha_per_year")
        per = {int(y): float(expected_ha_per_year) for y in years}
    return RateResult(method, per, hy, tuple(hv.tolist()), slope, intercept)
