"""Uncertainty of the emission reductions by Monte Carlo, and the VCS uncertainty deduction.

References
----------
1. Verra (2023) VMD0017 v3.0, Estimation of uncertainty for REDD+ project activities, section 5
   (Monte Carlo propagation; 90 % confidence interval half-width as a percentage of the mean).
2. Verra VM0007 v1.6 REDD+ Methodology Framework, module X-UNC, eq. 5: adjusted reductions
   ER x (100 % - U + 15 %) when U > 15 %, i.e. a deduction of (U - 15) % of the reductions.
3. IPCC (2006) vol. 1, ch. 3, section 3.2.3 (approach 2: Monte Carlo simulation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from reddplus.errors import InputDataError


def uncertainty_deduction(halfwidth_percent: float, allowable_halfwidth_percent: float = 15.0) -> float:
    """Share of the emission reductions to deduct [0..1] for their uncertainty.

    .. math:: d = \\max(0, U - U_{allow}) / 100,\\quad U = 100\\,\\frac{CI^{90\\%}_{half}}{\\mu}

    No deduction when the 90 % CI half-width is at most 15 % of the mean; otherwise the excess is
    deducted (VM0007 X-UNC eq. 5; VMD0017 section 5). Capped at 1.
    """
    if not np.isfinite(halfwidth_percent) or halfwidth_percent < 0:
        raise InputDataError(f"uncertainty half-width must be >= 0 %, got {halfwidth_percent}",
                             column="halfwidth_percent")
    return float(min(1.0, max(0.0, halfwidth_percent - allowable_halfwidth_percent) / 100.0))


@dataclass(frozen=True)
class UncertaintyResult:
    """Monte Carlo distribution summary of the total emission reductions [t CO2e]."""

    mean: float
    ci: tuple[float, float]
    halfwidth_percent: float
    deduction_fraction: float
    confidence: float
    draws: int
    seed: int | None

    def to_dict(self) -> dict:
        return {"mean_tco2e": self.mean, "ci_tco2e": list(self.ci), "confidence": self.confidence,
                "halfwidth_percent": self.halfwidth_percent, "deduction_percent": 100 * self.deduction_fraction,
                "draws": self.draws, "seed": self.seed}


def combined_uncertainty(activity_ha, activity_sd_ha, ef_mean: float, ef_sd: float, *, draws: int = 10_000,
                         seed: int | None = None, confidence: float = 0.90,
                         allowable_halfwidth_percent: float = 15.0) -> UncertaintyResult:
    """Combine activity-data and emission-factor uncertainty by Monte Carlo.

    Parameters
    ----------
    activity_ha : array [ha]
        Avoided deforestation per year (or one total).
    activity_sd_ha : array [ha]
        Its standard deviation per year. The activity errors of the years are drawn fully
        correlated (one standard normal per draw: they share the jurisdictional rate), which is
        the conservative choice.
    ef_mean, ef_sd : float [t CO2e/ha]
    draws : int
    seed : int, optional
    confidence : float
        Two-sided interval level (VCS: 0.90).

    Notes
    -----
    .. math:: ER^{(d)} = \\sum_y \\max(0, A_y + \\sigma_{A,y} z^{(d)}_A)\\,\\max(0, EF + \\sigma_{EF} z^{(d)}_{EF})

    Returns
    -------
    UncertaintyResult
        Mean, interval [t CO2e], half-width in % of the mean and the deduction share.
    """
    a = np.atleast_1d(np.asarray(activity_ha, dtype=float))
    s = np.broadcast_to(np.asarray(activity_sd_ha, dtype=float), a.shape)
    if (a < 0).any() or (s < 0).any() or ef_mean < 0 or ef_sd < 0:
        raise InputDataError("areas, emission factor and their standard deviations must be >= 0",
                             column="activity_ha")
    if draws < 100:
        raise InputDataError("at least 100 Monte Carlo draws", column="draws")
    rng = np.random.default_rng(seed)
    za = rng.standard_normal(draws)
    ze = rng.standard_normal(draws)
    acts = np.maximum(0.0, a[None, :] + s[None, :] * za[:, None]).sum(axis=1)
    ef = np.maximum(0.0, ef_mean + ef_sd * ze)
    total = acts * ef
    lo, hi = np.quantile(total, [(1 - confidence) / 2, (1 + confidence) / 2])
    mean = float(total.mean())
    half = 100.0 * (hi - lo) / 2.0 / mean if mean > 0 else 0.0
    return UncertaintyResult(mean, (float(lo), float(hi)), float(half),
                             uncertainty_deduction(half, allowable_halfwidth_percent), confidence, draws, seed)


def normal_halfwidth_percent(mean: float, sd: float, confidence: float = 0.90) -> float:
    """Half-width of a normal interval in % of the mean (for cross-checks): :math:`100 z\\sigma/\\mu`."""
    return float(100.0 * stats.norm.ppf(0.5 + confidence / 2) * sd / mean)
