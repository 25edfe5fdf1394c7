"""Steps 6-7 of the counterfactual: deforestation of project vs matched controls, additionality,
leakage, and the over-crediting ratio of a VT0007 baseline (pure functions on arrays).

Year convention: a period ``(d_k, d_{k+1}]`` of the forest-change dates; a per-year value labelled
``y`` covers ``(y - 1, y]``. Deforestation within a multi-year period is spread evenly over its years.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reddplus.errors import ConfigError, InputDataError


def period_deforestation_fraction(codes: np.ndarray, start_index: int, n_dates: int) -> np.ndarray:
    """Fraction of pixels (forest at the start) deforested in each period after the start.

    Parameters
    ----------
    codes : uint8 array (n,)
        Canonical forest-change codes (number of leading dates at which the pixel is forest) of
        pixels that are forest at date index ``start_index`` (``codes > start_index``).
    start_index : int
        Index of the project start in the dates.
    n_dates : int
        Number of dates.

    Returns
    -------
    array (n_dates - 1 - start_index,) [fraction of start forest]; period j covers dates
    ``(start_index + j, start_index + j + 1]``.

    Notes
    -----
    .. math:: f_j = \\frac{1}{n} \\sum_i 1[\\mathrm{code}_i = s + j + 1]

    References
    ----------
    1. West T.A.P. et al. 2020, Overstated carbon emission reductions from voluntary REDD+ projects in the
       Brazilian Amazon, PNAS 117(39):24188-24194 (deforestation of projects vs synthetic/matched controls).
    """
    codes = np.asarray(codes)
    if len(codes) == 0:
        return np.full(n_dates - 1 - start_index, np.nan)
    return np.array([np.mean(codes == k + 1) for k in range(start_index, n_dates - 1)])


def annual_deforestation_rate(period_fraction: np.ndarray, period_years: np.ndarray) -> np.ndarray:
    """Mean annual deforestation [fraction of start forest / yr] of each period.

    .. math:: r_j = f_j / (d_{j+1} - d_j)

    Linear (not compound) so that the sum of ``r_j (d_{j+1} - d_j)`` is the total loss; compare the
    compound rate of Puyravaud J.-P. 2003, For. Ecol. Manage. 177:593-596, eq. 2.
    """
    return np.asarray(period_fraction, dtype=float) / np.asarray(period_years, dtype=float)


def avoided_deforestation_ha(control_fraction: np.ndarray, project_fraction: np.ndarray,
                             forest_start_ha: float) -> np.ndarray:
    """Additionality as avoided deforestation [ha]: matched-control minus project loss, scaled to the project.

    Parameters
    ----------
    control_fraction, project_fraction : arrays [fraction of start forest]
        Deforested fractions over the same period(s) (or per repeat).
    forest_start_ha : float [ha]
        Project forest area at the start.

    Notes
    -----
    .. math:: A = (f_c - f_p) \\, F_0

    References
    ----------
    1. West T.A.P. et al. 2023, Action needed to make carbon offsets from forest conservation work for climate
       change mitigation, Science 381:873-877 (additional reductions = counterfactual minus observed loss).
    2. Balmford A. et al. 2023, PACT Tropical Moist Forest Accreditation Methodology v2.0, additionality.
    """
    return (np.asarray(control_fraction, dtype=float) - np.asarray(project_fraction, dtype=float)) * float(
        forest_start_ha)


def avoided_emissions_tco2e(avoided_ha: np.ndarray, emission_factor_tco2e_per_ha: float) -> np.ndarray:
    """Avoided emissions [t CO2e] from avoided deforestation [ha] and an emission factor [t CO2e/ha].

    .. math:: E = A \\cdot EF

    Reference: IPCC 2006 Guidelines vol. 4 ch. 2, eq. 2.16 (stock-difference losses x area);
    VT0007 v1.0 (emission factors from the stocks step).
    """
    if not np.isfinite(emission_factor_tco2e_per_ha) or emission_factor_tco2e_per_ha < 0:
        raise ConfigError(f"must be a finite number >= 0, got {emission_factor_tco2e_per_ha}",
                          key="emission_factor_tco2e_per_ha")
    return np.asarray(avoided_ha, dtype=float) * float(emission_factor_tco2e_per_ha)


@dataclass(frozen=True)
class Interval:
    """Median and percentile interval of an estimate across matching repeats."""

    estimate: float
    low: float
    high: float
    level: float

    def to_dict(self) -> dict:
        return {"estimate": self.estimate, "low": self.low, "high": self.high, "level": self.level}


def repeat_interval(values: np.ndarray, level: float = 0.95) -> Interval:
    """Median and central percentile interval [same units] of per-repeat estimates.

    .. math:: [q_{(1-\\alpha)/2}, q_{(1+\\alpha)/2}]

    Reference: Balmford et al. 2023 (PACT v2.0): the spread across the 100 matching repeats.
    """
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if not 0 < level < 1:
        raise ConfigError(f"must be in (0, 1), got {level}", key="level")
    if len(v) == 0:
        return Interval(float("nan"), float("nan"), float("nan"), level)
    with np.errstate(invalid="ignore"):  # +-inf repeats (zero control loss) give inf bounds, not a warning
        lo, med, hi = np.quantile(v, [(1 - level) / 2, 0.5, (1 + level) / 2])
    return Interval(float(med), float(lo), float(hi), level)


def annualise(period_edges: np.ndarray, period_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spread per-period totals evenly over the years of each period.

    Parameters
    ----------
    period_edges : int array (k + 1,) [year]
        Dates bounding the periods (ascending).
    period_values : array (..., k)
        Totals per period (last axis), e.g. repeats x periods [ha].

    Returns
    -------
    years : int array (n_years,) [year]; value ``y`` covers ``(y - 1, y]``.
    values : array (..., n_years) [per year]

    Notes
    -----
    .. math:: v_y = V_j / (d_{j+1} - d_j), \\quad d_j < y \\le d_{j+1}
    """
    edges = np.asarray(period_edges, dtype=int)
    vals = np.asarray(period_values, dtype=float)
    years, cols = [], []
    for j in range(len(edges) - 1):
        span = edges[j + 1] - edges[j]
        for y in range(edges[j] + 1, edges[j + 1] + 1):
            years.append(y)
            cols.append(vals[..., j] / span)
    return np.array(years, dtype=int), np.stack(cols, axis=-1) if cols else vals[..., :0]


@dataclass(frozen=True)
class OvercreditingRatio:
    """VT0007 baseline deforestation over matched-control deforestation, over ``years``.

    ``ratio`` > 1: the baseline expects more deforestation than comparable forest actually lost
    (credits computed from it would be over-stated by that factor); ``per_repeat`` holds each repeat's ratio.
    """

    ratio: Interval
    years: tuple[int, ...]
    baseline_ha: float
    control_ha: Interval
    per_repeat: np.ndarray

    def to_dict(self) -> dict:
        return {"overcrediting_ratio": self.ratio.estimate, "low": self.ratio.low, "high": self.ratio.high,
                "level": self.ratio.level, "years": list(self.years), "baseline_deforestation_ha": self.baseline_ha,
                "matched_control_deforestation_ha": self.control_ha.to_dict()}


def overcrediting_ratio(baseline_years, baseline_deforestation_ha, control_years, control_deforestation_ha,
                        *, level: float = 0.95) -> OvercreditingRatio:
    """Over-crediting ratio: VT0007 baseline deforestation allocated to the project over matched-control deforestation.

    Parameters
    ----------
    baseline_years : int array (a,) [year]
        Years of the baseline series (value ``y`` covers ``(y - 1, y]``).
    baseline_deforestation_ha : array (a,) [ha/yr]
        VT0007 baseline deforestation allocated to the project in each year.
    control_years : int array (b,) [year]
    control_deforestation_ha : array (b,) or (repeats, b) [ha/yr]
        Matched-control deforestation scaled to the project's start forest area (per repeat), e.g. from
        :meth:`~reddplus.counterfactual.CounterfactualResult.control_deforestation_per_year`.
    level : float
        Interval level across repeats.

    Returns
    -------
    :class:`OvercreditingRatio` over the years common to both series.

    Notes
    -----
    .. math:: R_r = \\frac{\\sum_{y \\in Y} B_y}{\\sum_{y \\in Y} C_{r,y}}, \\quad Y = Y_B \\cap Y_C

    References
    ----------
    1. West T.A.P. et al. 2023, Science 381:873-877 (baselines vs synthetic controls; ratio of claimed to
       counterfactual-based reductions).
    2. Verra VT0007 v1.0 (2023), Unplanned deforestation allocation: baseline activity data allocated to the
       project area.
    3. Balmford A. et al. 2023, PACT Tropical Moist Forest Accreditation Methodology v2.0 (matched controls).
    """
    by = np.asarray(baseline_years, dtype=int).ravel()
    bv = np.asarray(baseline_deforestation_ha, dtype=float).ravel()
    cy = np.asarray(control_years, dtype=int).ravel()
    cv = np.atleast_2d(np.asarray(control_deforestation_ha, dtype=float))
    if len(by) != len(bv):
        raise InputDataError(f"{len(by)} baseline years but {len(bv)} values", column="baseline_deforestation_ha")
    if cv.shape[-1] != len(cy):
        raise InputDataError(f"{len(cy)} control years but {cv.shape[-1]} values per repeat",
                             column="control_deforestation_ha")
    if np.any(bv < 0) or np.any(~np.isfinite(bv)):
        raise InputDataError("baseline deforestation must be finite and >= 0 [ha/yr]",
                             column="baseline_deforestation_ha")
    common = np.intersect1d(by, cy)
    if len(common) == 0:
        raise InputDataError(f"baseline years {by.min() if len(by) else '-'}-{by.max() if len(by) else '-'} do not "
                             f"overlap the counterfactual years {cy.min()}-{cy.max()}", column="years")
    b = float(bv[np.isin(by, common)].sum())
    c = cv[:, np.isin(cy, common)].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        per = np.where(c > 0, b / np.where(c > 0, c, 1.0), np.inf if b > 0 else np.nan)
    return OvercreditingRatio(repeat_interval(per, level), tuple(int(y) for y in common), b,
                              repeat_interval(c, level), per)
