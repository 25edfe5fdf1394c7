"""From tree biomass to plot, stratum and project carbon stocks.

Canonical names: ``agb`` [Mg] / ``agb_mg_per_ha`` [Mg ha-1] above-ground dry biomass, ``bgb``
below-ground biomass, ``root_shoot_ratio`` [-], ``carbon_fraction`` [t C t-1 d.m.],
``co2e`` [t CO2e] (= C x 44/12), ``area_ha`` [ha].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from reddplus.errors import InputDataError

#: IPCC 2006 vol. 4 ch. 4 Table 4.3: carbon fraction of above-ground forest biomass, tropical
CARBON_FRACTION = 0.47
#: molar mass ratio CO2 / C
CO2_PER_C = 44.0 / 12.0
#: root:shoot ratios R [t root d.m. / t shoot d.m.], IPCC 2006 vol. 4 ch. 4 Table 4.4 (explicit choice)
ROOT_SHOOT_RATIOS: dict[str, float] = {
    "ipcc2006_tropical_rainforest": 0.37,            # Fittkau & Klinge 1973
    "ipcc2006_tropical_moist_deciduous_lt125": 0.20,  # AGB < 125 t/ha (Mokany et al. 2006)
    "ipcc2006_tropical_moist_deciduous_gt125": 0.24,  # AGB > 125 t/ha (Mokany et al. 2006)
    "ipcc2006_tropical_dry_lt20": 0.56,               # AGB < 20 t/ha (Mokany et al. 2006)
    "ipcc2006_tropical_dry_gt20": 0.28,               # AGB > 20 t/ha (Mokany et al. 2006)
}
DEFAULT_ROOT_SHOOT = "ipcc2006_tropical_rainforest"


def root_shoot_ratio(name: str) -> float:
    """Root:shoot ratio of a named IPCC 2006 Table 4.4 ecological zone (see :data:`ROOT_SHOOT_RATIOS`)."""
    if name not in ROOT_SHOOT_RATIOS:
        raise InputDataError(f"unknown root:shoot ratio {name!r}; choose one of {', '.join(ROOT_SHOOT_RATIOS)} "
                             f"or give a number")
    return ROOT_SHOOT_RATIOS[name]


def bgb_from_agb(agb, root_shoot_ratio: float = ROOT_SHOOT_RATIOS[DEFAULT_ROOT_SHOOT]):
    """Below-ground biomass from above-ground biomass.

    Parameters
    ----------
    agb : array [Mg] or [Mg ha-1]
    root_shoot_ratio : float [-] (default 0.37, tropical rainforest)

    Returns
    -------
    bgb : array, same unit as ``agb``

    Notes
    -----
    .. math:: BGB = R \\times AGB

    References
    ----------
    1. IPCC (2006) Guidelines for National GHG Inventories, vol. 4, ch. 4, eq. 2.8 and Table 4.4.
    2. Mokany, K., Raison, R. J. & Prokushkin, A. S. (2006) Global Change Biology 12:84-96,
       doi:10.1111/j.1365-2486.2005.001043.x.
    """
    return np.asarray(agb, dtype=float) * float(root_shoot_ratio)


def co2e_from_biomass(biomass, carbon_fraction: float = CARBON_FRACTION):
    """CO2-equivalent of dry biomass.

    Parameters
    ----------
    biomass : array [Mg d.m.] (or [Mg ha-1])
    carbon_fraction : float [t C t-1 d.m.] (default 0.47)

    Returns
    -------
    co2e : array [t CO2e] (or [t CO2e ha-1])

    Notes
    -----
    .. math:: CO_2e = B \\times CF \\times 44/12

    References
    ----------
    1. IPCC (2006) vol. 4, ch. 4, Table 4.3 (CF = 0.47, tropical and subtropical).
    """
    return np.asarray(biomass, dtype=float) * float(carbon_fraction) * CO2_PER_C


def _ci(values: np.ndarray, confidence: float) -> tuple[float, float, float, float]:
    n = len(values)
    mean = float(np.mean(values))
    sd = float(np.std(values, ddof=1)) if n > 1 else float("nan")
    se = sd / np.sqrt(n) if n > 1 else float("nan")
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * se) if n > 1 else float("nan")
    return mean, sd, se, half


@dataclass(frozen=True)
class StratumStock:
    """Mean carbon stock of one stratum [t CO2e ha-1] with its sampling uncertainty."""

    stratum: str
    n_plots: int
    agb_mg_per_ha: float
    agb_tco2e_per_ha: float
    bgb_tco2e_per_ha: float
    total_tco2e_per_ha: float  # AGB + BGB
    sd_tco2e_per_ha: float     # between-plot SD of AGB + BGB
    se_tco2e_per_ha: float
    ci90_half_width_tco2e_per_ha: float
    confidence: float

    @property
    def ci(self) -> tuple[float, float]:
        return (self.total_tco2e_per_ha - self.ci90_half_width_tco2e_per_ha,
                self.total_tco2e_per_ha + self.ci90_half_width_tco2e_per_ha)

    def to_dict(self) -> dict:
        return {"stratum": self.stratum, "n_plots": self.n_plots, "agb_mg_per_ha": self.agb_mg_per_ha,
                "agb_tco2e_per_ha": self.agb_tco2e_per_ha, "bgb_tco2e_per_ha": self.bgb_tco2e_per_ha,
                "total_tco2e_per_ha": self.total_tco2e_per_ha, "sd_tco2e_per_ha": self.sd_tco2e_per_ha,
                "se_tco2e_per_ha": self.se_tco2e_per_ha,
                "ci90_half_width_tco2e_per_ha": self.ci90_half_width_tco2e_per_ha,
                "ci90_tco2e_per_ha": list(self.ci), "confidence": self.confidence}


def stratum_carbon_stocks(agb_mg_per_ha, stratum, root_shoot_ratio: float = ROOT_SHOOT_RATIOS[DEFAULT_ROOT_SHOOT],
                          carbon_fraction: float = CARBON_FRACTION, confidence: float = 0.90
                          ) -> tuple[StratumStock, ...]:
    """Per-stratum mean carbon stock [t CO2e ha-1] (AGB, BGB) with its confidence interval.

    This is the entry point the crediting chain calls with plot-level values.

    Parameters
    ----------
    agb_mg_per_ha : array [Mg ha-1] (one value per plot)
    stratum : sequence (stratum label of each plot)
    root_shoot_ratio : float [-] (default 0.37, IPCC 2006 vol. 4 Table 4.4 tropical rainforest)
    carbon_fraction : float [t C t-1] (default 0.47, IPCC 2006 vol. 4 Table 4.3)
    confidence : float (default 0.90)

    Returns
    -------
    tuple of StratumStock
        Mean, between-plot SD, standard error and the half-width of the interval
        :math:`t_{n-1} \\, s / \\sqrt{n}` of AGB + BGB [t CO2e ha-1].

    Notes
    -----
    .. math:: \\bar y_h = \\frac{1}{n_h}\\sum_i (1 + R)\\,AGB_i\\,CF\\,\\frac{44}{12},\\quad
              \\bar y_h \\pm t_{0.95, n_h-1}\\, s_h/\\sqrt{n_h}

    References
    ----------
    1. Cochran, W. G. (1977) Sampling Techniques, 3rd ed., eqs. 2.12 and 5.1-5.6 (simple random and
       stratified sampling).
    2. IPCC (2006) vol. 4, ch. 4, Tables 4.3 and 4.4.
    """
    y = np.asarray(agb_mg_per_ha, dtype=float)
    labels = np.asarray(stratum).astype(str)
    if y.shape != labels.shape:
        raise InputDataError("agb_mg_per_ha and stratum must have the same length")
    if not np.all(np.isfinite(y)):
        raise InputDataError("plot AGB per hectare must be finite (does every plot have an area?)",
                             column="agb_mg_per_ha")
    factor = (1.0 + root_shoot_ratio) * carbon_fraction * CO2_PER_C
    out = []
    for h in pd.unique(labels):
        v = y[labels == h]
        mean, sd, se, half = _ci(v * factor, confidence)
        agb_co2 = float(np.mean(v)) * carbon_fraction * CO2_PER_C
        out.append(StratumStock(str(h), len(v), float(np.mean(v)), agb_co2, agb_co2 * root_shoot_ratio, mean, sd,
                                se, half, confidence))
    return tuple(out)


@dataclass(frozen=True)
class ProjectStock:
    """Project carbon stock [t CO2e] = sum of stratum area x stratum mean, with a combined interval."""

    total_tco2e: float
    se_tco2e: float
    ci90_half_width_tco2e: float
    relative_half_width: float  # half-width / total
    df: float
    area_ha: float
    strata: tuple[str, ...]
    confidence: float

    def to_dict(self) -> dict:
        return {"total_tco2e": self.total_tco2e, "se_tco2e": self.se_tco2e,
                "ci90_half_width_tco2e": self.ci90_half_width_tco2e,
                "ci90_tco2e": [self.total_tco2e - self.ci90_half_width_tco2e,
                               self.total_tco2e + self.ci90_half_width_tco2e],
                "relative_half_width": self.relative_half_width, "df": self.df, "area_ha": self.area_ha,
                "strata": list(self.strata), "confidence": self.confidence}


def project_carbon_stock(strata: tuple[StratumStock, ...], area_ha: dict[str, float]) -> ProjectStock:
    """Project total carbon stock over stratum areas, with a combined confidence interval.

    Parameters
    ----------
    strata : tuple of StratumStock (from :func:`stratum_carbon_stocks`)
    area_ha : dict stratum -> area [ha]

    Returns
    -------
    ProjectStock
        Total [t CO2e], its standard error and the half-width of the interval with
        Satterthwaite's effective degrees of freedom.

    Notes
    -----
    .. math:: Y = \\sum_h A_h \\bar y_h,\\quad SE(Y) = \\sqrt{\\sum_h A_h^2 SE_h^2},\\quad
              \\nu = \\frac{SE(Y)^4}{\\sum_h (A_h^2 SE_h^2)^2/(n_h - 1)}

    References
    ----------
    1. Cochran, W. G. (1977) Sampling Techniques, 3rd ed., eqs. 5.2, 5.6 and 5.16 (effective df).
    2. IPCC (2006) vol. 1, ch. 3, eq. 3.2 (combining uncertainties of a sum).
    """
    if not strata:
        raise InputDataError("no stratum to total")
    missing = [s.stratum for s in strata if s.stratum not in area_ha]
    if missing:
        raise InputDataError(f"no area for strata {', '.join(missing)}", column="stratum")
    for s in strata:
        if not (np.isfinite(area_ha[s.stratum]) and area_ha[s.stratum] > 0):
            raise InputDataError(f"stratum {s.stratum!r} has a missing, zero or negative area", column="area_ha")
    total = sum(area_ha[s.stratum] * s.total_tco2e_per_ha for s in strata)
    terms = np.array([(area_ha[s.stratum] * s.se_tco2e_per_ha) ** 2 for s in strata])
    dfs = np.array([s.n_plots - 1 for s in strata], dtype=float)
    var = float(np.nansum(terms))
    if np.any(~np.isfinite(terms)) or np.any(dfs < 1):
        df, half = float("nan"), float("nan")  # a stratum with one plot has no sampling variance
    else:
        df = var ** 2 / float(np.sum(terms ** 2 / dfs)) if var > 0 else float("inf")
        half = float(stats.t.ppf(0.5 + strata[0].confidence / 2, df) * np.sqrt(var))
    return ProjectStock(float(total), float(np.sqrt(var)), half, half / total if total else float("nan"), float(df),
                        float(sum(area_ha[s.stratum] for s in strata)), tuple(s.stratum for s in strata),
                        strata[0].confidence)
