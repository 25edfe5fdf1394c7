"""Height–diameter models: local fits (log1, log2, Weibull, Michaelis–Menten), Feldpausch et al.
2012 regional models and Chave et al. 2014 eq. 6a.

Canonical names: ``diameter`` [cm], ``height`` [m], ``e`` [-].
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Callable

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit

from reddplus.errors import InputDataError, ModelError

log = logging.getLogger(__name__)

#: RSE of Chave et al. 2014 eq. 6a on the log scale
CHAVE2014_EQ6A_RSE = 0.243


@lru_cache(maxsize=None)
def feldpausch2012_coefficients() -> pd.DataFrame:
    """Feldpausch et al. 2012 Table 3 Weibull coefficients a [m], b, c and RSE [m] for 12 regions."""
    with resources.files("reddplus.data").joinpath("feldpausch2012_table3.csv").open("r") as fh:
        return pd.read_csv(fh).set_index("region")


def height_feldpausch2012(diameter, region: str):
    """Regional Weibull height–diameter model of tropical forests.

    Parameters
    ----------
    diameter : array [cm]
    region : str
        One of Africa, CAfrica, EAfrica, WAfrica, SAmerica, BrazilianShield, ECAmazonia,
        GuianaShield, WAmazonia, SEAsia, NAustralia, Pantropical.

    Returns
    -------
    height : array [m]

    Notes
    -----
    .. math:: H = a \\left(1 - e^{-b D^c}\\right)

    References
    ----------
    1. Feldpausch, T. R. et al. (2012) Tree height integrated into pantropical forest biomass
       estimates. Biogeosciences 9:3381-3403, Table 3, doi:10.5194/bg-9-3381-2012.
    """
    table = feldpausch2012_coefficients()
    if region not in table.index:
        raise InputDataError(f"unknown Feldpausch 2012 region {region!r}; choose one of {', '.join(table.index)}")
    a, b, c = table.loc[region, ["a", "b", "c"]]
    return a * (1.0 - np.exp(-b * np.asarray(diameter, dtype=float) ** c))


def height_chave2014_eq6a(diameter, e):
    """Pantropical height–diameter model with the environmental stress index E.

    Parameters
    ----------
    diameter : array [cm]
    e : float or array [-]

    Returns
    -------
    height : array [m] (with the log-bias correction exp(RSE^2/2), RSE = 0.243)

    Notes
    -----
    .. math:: \\ln H = 0.893 - E + 0.760 \\ln D - 0.0340 (\\ln D)^2,\\quad H = e^{\\ln H + 0.243^2/2}

    References
    ----------
    1. Chave, J. et al. (2014) Global Change Biology 20:3177-3190, eq. 6a, doi:10.1111/gcb.12629.
    """
    ld = np.log(np.asarray(diameter, dtype=float))
    return np.exp(0.893 - np.asarray(e, dtype=float) + 0.760 * ld - 0.0340 * ld ** 2 + CHAVE2014_EQ6A_RSE ** 2 / 2)


# --- local models -------------------------------------------------------------------------------

def _log1(ld, a, b):
    return a + b * ld


def _log2(ld, a, b, c):
    return a + b * ld + c * ld ** 2


def _weibull(d, a, b, c):
    return a * (1.0 - np.exp(-(d / b) ** c))


def _michaelis(d, a, b):
    return a * d / (b + d)


@dataclass(frozen=True)
class _Method:
    func: Callable
    params: tuple[str, ...]
    log_scale: bool
    equation: str


#: registry of local height–diameter models (BIOMASS ``modelHD`` methods)
HEIGHT_METHODS: dict[str, _Method] = {
    "log1": _Method(_log1, ("a", "b"), True, "ln H = a + b ln D"),
    "log2": _Method(_log2, ("a", "b", "c"), True, "ln H = a + b ln D + c (ln D)^2"),
    "weibull": _Method(_weibull, ("a", "b", "c"), False, "H = a (1 - exp(-(D/b)^c))"),
    "michaelis": _Method(_michaelis, ("a", "b"), False, "H = a D / (b + D)"),
}


@dataclass(frozen=True)
class HeightModel:
    """A fitted (or published) height–diameter model.

    ``residual_sd`` is on the log scale for log models (RSElog) and in metres otherwise (RSE);
    it is what the Monte Carlo propagation draws from.
    """

    method: str
    coefficients: dict[str, float]
    rse: float  # [m]
    rse_log: float | None  # [-]
    average_bias: float | None
    n: int
    weighted: bool
    region: str | None = None
    e: float | None = None
    equation: str = ""

    @property
    def log_scale(self) -> bool:
        return self.rse_log is not None

    @property
    def residual_sd(self) -> float:
        return float(self.rse_log if self.rse_log is not None else self.rse)

    def predict(self, diameter) -> np.ndarray:
        """Height [m] of trees of the given diameter [cm] (log models bias-corrected, Baskerville 1972)."""
        d = np.asarray(diameter, dtype=float)
        return np.exp(self.predict_log(d) + self.rse_log ** 2 / 2) if self.log_scale else self._predict_raw(d)

    def predict_log(self, diameter) -> np.ndarray:
        """ln H without bias correction (log models only)."""
        d = np.asarray(diameter, dtype=float)
        if self.method == "chave2014_eq6a":
            ld = np.log(d)
            return 0.893 - self.e + 0.760 * ld - 0.0340 * ld ** 2
        if not self.log_scale:
            raise ModelError(f"{self.method} is not a log-scale model")
        return HEIGHT_METHODS[self.method].func(np.log(d), *self.coefficients.values())

    def _predict_raw(self, d: np.ndarray) -> np.ndarray:
        if self.method == "feldpausch2012":
            return height_feldpausch2012(d, self.region)
        return HEIGHT_METHODS[self.method].func(d, *self.coefficients.values())

    def to_dict(self) -> dict:
        return {"method": self.method, "coefficients": dict(self.coefficients), "rse": self.rse,
                "rse_log": self.rse_log, "average_bias": self.average_bias, "n": self.n,
                "weighted": self.weighted, "region": self.region, "e": self.e, "equation": self.equation}


def feldpausch2012_model(region: str) -> HeightModel:
    """:func:`height_feldpausch2012` as a :class:`HeightModel` (RSE [m] from Table 3)."""
    table = feldpausch2012_coefficients()
    height_feldpausch2012(np.array([10.0]), region)  # validates the region
    row = table.loc[region]
    return HeightModel("feldpausch2012", {k: float(row[k]) for k in ("a", "b", "c")}, float(row["RSE"]), None, None,
                       0, False, region=region, equation="H = a (1 - exp(-b D^c))")


def chave2014_eq6a_model(e: float) -> HeightModel:
    """:func:`height_chave2014_eq6a` as a :class:`HeightModel` (log scale, RSE 0.243)."""
    return HeightModel("chave2014_eq6a", {"a": 0.893, "b": 0.760, "c": -0.0340}, float("nan"), CHAVE2014_EQ6A_RSE,
                       None, 0, False, e=float(e), equation="ln H = 0.893 - E + 0.760 ln D - 0.0340 (ln D)^2")


def fit_height_model(diameter, height, method: str, weighted: bool = True) -> HeightModel:
    """Fit a local height–diameter model on trees with measured heights.

    Parameters
    ----------
    diameter : array [cm]
        Diameters of all trees; trees whose ``height`` is NaN are not used in the fit but enter the
        average bias as in BIOMASS ``modelHD`` (see Notes).
    height : array [m] (NaN where not measured)
    method : {"log1", "log2", "weibull", "michaelis"}
    weighted : bool
        Weights :math:`w = D^2 H` (BIOMASS ``useWeight=TRUE``), else unweighted.

    Returns
    -------
    HeightModel
        With RSE [m] = sqrt(sum((H - Ĥ)^2) / (n - p)), RSElog (log models: sqrt of the unweighted
        sum of squared log residuals over n - p) and the average bias
        (mean Ĥ over all trees given - mean H measured) / mean H measured.

    Notes
    -----
    .. math:: \\ln H = a + b \\ln D\\ [+ c (\\ln D)^2],\\quad \\hat H = e^{\\widehat{\\ln H} + RSE_{log}^2/2}

    Weibull: :math:`H = a (1 - e^{-(D/b)^c})`; Michaelis–Menten: :math:`H = a D / (b + D)`,
    by weighted non-linear least squares.

    References
    ----------
    1. Réjou-Méchain, M. et al. (2017) Methods Ecol. Evol. 8:1163-1167 (BIOMASS ``modelHD``),
       doi:10.1111/2041-210X.12753.
    2. Baskerville, G. L. (1972) Can. J. For. Res. 2:49-53 (bias correction).
    3. Feldpausch, T. R. et al. (2012) Biogeosciences 9:3381-3403 (Weibull form).
    """
    if method not in HEIGHT_METHODS:
        raise InputDataError(f"unknown height model {method!r}; choose one of {', '.join(HEIGHT_METHODS)}")
    spec = HEIGHT_METHODS[method]
    diameter = np.asarray(diameter, dtype=float)
    height = np.asarray(height, dtype=float)
    ok = np.isfinite(diameter) & np.isfinite(height) & (diameter > 0) & (height > 0)
    n, p = int(ok.sum()), len(spec.params)
    if n <= p + 1:
        raise ModelError(f"{method}: only {n} trees with a diameter and a height; need more than {p + 1}")
    d, h = diameter[ok], height[ok]
    w = d ** 2 * h if weighted else np.ones_like(d)
    sigma = 1.0 / np.sqrt(w)
    rse_log = None
    if spec.log_scale:
        X = np.column_stack([np.log(d) ** k for k in range(p)])
        sw = np.sqrt(w)
        beta, *_ = np.linalg.lstsq(X * sw[:, None], np.log(h) * sw, rcond=None)
        rse_log = float(np.sqrt(np.sum((np.log(h) - X @ beta) ** 2) / (n - p)))
        coefs = dict(zip(spec.params, map(float, beta)))
    else:
        start = {"weibull": (h.max(), np.median(d) * 1.5, 0.8), "michaelis": (h.max() * 1.2, np.median(d))}[method]
        try:
            beta, _ = curve_fit(spec.func, d, h, p0=start, sigma=sigma, maxfev=20000)
        except (RuntimeError, ValueError) as err:
            raise ModelError(f"{method} height model did not converge: {err}") from err
        coefs = dict(zip(spec.params, map(float, beta)))
    model = HeightModel(method, coefs, float("nan"), rse_log, None, n, weighted, equation=spec.equation)
    resid = h - model.predict(d)
    rse = float(np.sqrt(np.sum(resid ** 2) / (n - p)))
    d_all = diameter[np.isfinite(diameter) & (diameter > 0)]
    bias = float((np.mean(model.predict(d_all)) - np.mean(h)) / np.mean(h))
    return HeightModel(method, coefs, rse, rse_log, bias, n, weighted, equation=spec.equation)


@dataclass(frozen=True)
class HeightModelComparison:
    """Comparison table of local height–diameter models (as BIOMASS ``modelHD``)."""

    models: tuple[HeightModel, ...] = field(default_factory=tuple)

    def best(self) -> HeightModel:
        """The model with the lowest RSE."""
        return min(self.models, key=lambda m: m.rse)

    def to_dict(self) -> dict:
        return {"models": [{"method": m.method, "rse": m.rse, "rse_log": m.rse_log, "average_bias": m.average_bias,
                            "n": m.n, "coefficients": dict(m.coefficients)} for m in self.models]}


def compare_height_models(diameter, height, methods=tuple(HEIGHT_METHODS), weighted: bool = True
                          ) -> HeightModelComparison:
    """Fit every method in ``methods`` and return the RSE / RSElog / average-bias table.

    Parameters
    ----------
    diameter : array [cm]
    height : array [m] (NaN where not measured)
    methods : iterable of str (keys of :data:`HEIGHT_METHODS`)
    weighted : bool (weights D^2 H)

    Returns
    -------
    HeightModelComparison

    Notes
    -----
    .. math:: RSE = \\sqrt{\\sum (H - \\hat H)^2 / (n - p)}

    References
    ----------
    1. Réjou-Méchain, M. et al. (2017) Methods Ecol. Evol. 8:1163-1167 (BIOMASS ``modelHD``).
    """
    fitted = []
    for m in methods:
        try:
            fitted.append(fit_height_model(diameter, height, m, weighted=weighted))
        except ModelError as err:
            log.warning("height model %s skipped: %s", m, err)
    if not fitted:
        raise ModelError("no height model could be fitted")
    return HeightModelComparison(tuple(fitted))
