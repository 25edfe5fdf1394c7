"""Tree above-ground biomass allometries (Chave et al. 2014) and their posterior draws.

Canonical names: ``diameter`` [cm] (DBH at 1.3 m), ``height`` [m], ``wood_density``
[g cm-3] (oven-dry mass over fresh volume), ``agb`` [Mg] (above-ground dry biomass),
``e`` [-] (Chave et al. 2014 environmental stress index).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from reddplus.errors import ModelError

log = logging.getLogger(__name__)

#: Chave et al. 2014 eq. 4 published coefficients: AGB [kg] = a (rho D^2 H)^b
CHAVE2014_EQ4 = {"a": 0.0673, "b": 0.976, "rse": 0.357}
#: Chave et al. 2014 eq. 7 as re-fitted in BIOMASS (Réjou-Méchain et al. 2017, doi:10.1111/2041-210X.12753)
CHAVE2014_EQ7 = {"intercept": -2.023977, "E": -0.89563505, "logwsg": 0.92023559, "logdbh": 2.79495823,
                 "logdbh2": -0.04606298}


def agb_chave2014_eq4(wood_density, diameter, height):
    """Above-ground biomass of tropical trees from wood density, diameter and height.

    Parameters
    ----------
    wood_density : array [g cm-3]
    diameter : array [cm]
    height : array [m]

    Returns
    -------
    agb : array [Mg]

    Notes
    -----
    .. math:: AGB = 0.0673 \\, (\\rho D^2 H)^{0.976} / 1000

    References
    ----------
    1. Chave, J. et al. (2014) Improved allometric models to estimate the aboveground biomass of
       tropical trees. Global Change Biology 20:3177-3190, eq. 4, doi:10.1111/gcb.12629.
    """
    wood_density, diameter, height = (np.asarray(v, dtype=float) for v in (wood_density, diameter, height))
    return CHAVE2014_EQ4["a"] * (wood_density * diameter ** 2 * height) ** CHAVE2014_EQ4["b"] / 1000.0


def agb_chave2014_eq7(wood_density, diameter, e):
    """Above-ground biomass without height, from the environmental stress index E.

    Parameters
    ----------
    wood_density : array [g cm-3]
    diameter : array [cm]
    e : float or array [-]
        Environmental stress index (Chave et al. 2014 eq. 6b), e.g. -0.129 at Nouragues.

    Returns
    -------
    agb : array [Mg]

    Notes
    -----
    .. math:: AGB = \\exp(-2.024 - 0.896 E + 0.920 \\ln\\rho + 2.795 \\ln D - 0.0461 (\\ln D)^2) / 1000

    Coefficients of eq. 7 as re-fitted by BIOMASS (Réjou-Méchain et al. 2017); the published
    eq. 7 reads exp(-1.803 - 0.976 E + 0.976 ln(rho) + 2.673 ln D - 0.0299 (ln D)^2).

    References
    ----------
    1. Chave, J. et al. (2014) Global Change Biology 20:3177-3190, eq. 7, doi:10.1111/gcb.12629.
    2. Réjou-Méchain, M. et al. (2017) BIOMASS: an R package. Methods Ecol. Evol. 8:1163-1167,
       doi:10.1111/2041-210X.12753.
    """
    wood_density, diameter, e = (np.asarray(v, dtype=float) for v in (wood_density, diameter, e))
    c = CHAVE2014_EQ7
    ld = np.log(diameter)
    return np.exp(c["intercept"] + c["E"] * e + c["logwsg"] * np.log(wood_density) + c["logdbh"] * ld
                  + c["logdbh2"] * ld ** 2) / 1000.0


def environmental_stress_chave2014(temperature_seasonality, cwd_mm, precipitation_seasonality):
    """Environmental stress index E of a site.

    Parameters
    ----------
    temperature_seasonality : array [degC x 100] (SD of monthly means x 100, WorldClim bio4)
    cwd_mm : array [mm yr-1] (climatic water deficit, negative)
    precipitation_seasonality : array [%] (coefficient of variation, WorldClim bio15)

    Returns
    -------
    e : array [-]

    Notes
    -----
    .. math:: E = (0.178\\,TS - 0.938\\,CWD - 6.61\\,PS) \\times 10^{-3}

    References
    ----------
    1. Chave, J. et al. (2014) Global Change Biology 20:3177-3190, eq. 6b, doi:10.1111/gcb.12629.
    """
    ts, cwd, ps = (np.asarray(v, dtype=float) for v in (temperature_seasonality, cwd_mm, precipitation_seasonality))
    return 1e-3 * (0.178 * ts - 0.938 * cwd - 6.61 * ps)


@dataclass(frozen=True)
class AllometryFit:
    """Result of an ordinary least-squares fit of a log-log allometry."""

    coefficients: dict[str, float]
    rse: float
    n: int
    correction_factor: float  # exp(RSE^2/2), Baskerville 1972

    def to_dict(self) -> dict:
        return {"coefficients": dict(self.coefficients), "rse": self.rse, "n": self.n,
                "correction_factor": self.correction_factor}


def fit_chave2014_eq4(agb_kg, wood_density, diameter, height) -> AllometryFit:
    """Re-fit Chave et al. 2014 eq. 4 by OLS on log-transformed harvest data.

    Parameters
    ----------
    agb_kg : array [kg] (dry harvested above-ground biomass)
    wood_density : array [g cm-3]
    diameter : array [cm]
    height : array [m]

    Returns
    -------
    AllometryFit
        ``coefficients`` = {"intercept", "slope", "a"} with a = exp(intercept + RSE^2/2) [kg].

    Notes
    -----
    .. math:: \\ln AGB = \\alpha + \\beta \\ln(\\rho D^2 H) + \\varepsilon,\\quad a = e^{\\alpha + RSE^2/2}

    References
    ----------
    1. Chave, J. et al. (2014) Global Change Biology 20:3177-3190, eq. 4, doi:10.1111/gcb.12629.
    2. Baskerville, G. L. (1972) Can. J. For. Res. 2:49-53 (log-bias correction).
    """
    agb_kg, wood_density, diameter, height = (np.asarray(v, dtype=float)
                                              for v in (agb_kg, wood_density, diameter, height))
    ok = np.isfinite(agb_kg) & np.isfinite(wood_density) & np.isfinite(diameter) & np.isfinite(height)
    ok &= (agb_kg > 0) & (wood_density > 0) & (diameter > 0) & (height > 0)
    if ok.sum() < 3:
        raise ModelError("fewer than 3 usable trees to fit Chave et al. 2014 eq. 4")
    x = np.log(wood_density[ok] * diameter[ok] ** 2 * height[ok])
    y = np.log(agb_kg[ok])
    X = np.column_stack([np.ones_like(x), x])
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    rse = float(np.sqrt(np.sum((y - X @ beta) ** 2) / (len(y) - 2)))
    cf = float(np.exp(rse ** 2 / 2))
    return AllometryFit({"intercept": float(beta[0]), "slope": float(beta[1]), "a": float(np.exp(beta[0]) * cf)},
                        rse, int(ok.sum()), cf)


@lru_cache(maxsize=None)
def _draws(name: str) -> pd.DataFrame:
    with resources.files("reddplus.data").joinpath(name).open("r") as fh:
        return pd.read_csv(fh)


def chave2014_posterior_draws(equation: int) -> pd.DataFrame:
    """The 1,001 shipped posterior draws of Chave et al. 2014 eq. 4 or eq. 7 coefficients.

    Parameters
    ----------
    equation : {4, 7}

    Returns
    -------
    DataFrame
        eq. 4: ``intercept``, ``logagbt``, ``sd`` (of ln AGB[kg] = intercept + logagbt ln(rho D^2 H));
        eq. 7: ``intercept``, ``E``, ``logwsg``, ``logdbh``, ``logdbh2``, ``sd``.

    Notes
    -----
    .. math:: \\sigma^2 \\sim (n-p) s^2 / \\chi^2_{n-p},\\quad \\beta | \\sigma^2 \\sim N(\\hat\\beta, \\sigma^2 (X^TX)^{-1})

    Re-derived by ``reddplus.data.build`` from the Chave et al. 2014 harvest database (see
    ``reddplus/data/PROVENANCE.md``); BIOMASS ships MCMCglmm draws of the same models.

    References
    ----------
    1. Chave, J. et al. (2014) Global Change Biology 20:3177-3190, eqs. 4 and 7, doi:10.1111/gcb.12629.
    2. Gelman, A. et al. (2013) Bayesian Data Analysis, 3rd ed., section 14.2 (noninformative prior).
    """
    names = {4: "chave2014_eq4_draws.csv", 7: "chave2014_eq7_draws.csv"}
    if equation not in names:
        raise ValueError(f"equation must be 4 or 7, got {equation!r}")
    return _draws(names[equation]).copy()
