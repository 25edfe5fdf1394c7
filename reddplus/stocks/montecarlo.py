"""Monte Carlo propagation of tree-level errors to plot and total AGB (as BIOMASS ``AGBmonteCarlo``).

Sources of error, each optional except the allometry:

* diameter measurement error (Chave et al. 2004: small errors on 95 % of trees, 4.64 cm on 5 %);
* wood density SD (truncated normal on [0.08, 1.39] g cm-3, the GWDD range);
* height: measured heights with an SD, or the residual error of a height–diameter model;
* allometry: posterior draws of the Chave et al. 2014 eq. 4 / eq. 7 coefficients and residual SD;
* optionally the carbon fraction (47.13 +/- 2.06 %, Thomas & Martin 2012).

Draws are made chunk by chunk (fixed chunks of trees x all draws), so memory stays bounded for
1e5 trees x 1000 draws, and each chunk has its own child seed so results do not depend on the
number of threads.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reddplus.errors import InputDataError, ModelError
from reddplus.stocks.allometry import chave2014_posterior_draws
from reddplus.stocks.height import HeightModel

log = logging.getLogger(__name__)

#: allometries available to the propagation (explicit choice, never guessed)
ALLOMETRIES = ("chave2014_eq4", "chave2014_eq7")
#: diameter error models
DIAMETER_ERRORS = ("chave2004", "none")
#: trees per chunk (fixed so that a seed gives the same numbers whatever the memory or threads)
CHUNK_TREES = 1024
#: bounds of wood density in the Global Wood Density Database [g cm-3]
WD_BOUNDS = (0.08, 1.39)
#: carbon fraction of tropical angiosperm wood, mean and SD (Thomas & Martin 2012)
CARBON_FRACTION_MC = (0.4713, 0.0206)


@dataclass(frozen=True)
class Summary:
    """Summary of Monte Carlo draws of one quantity [Mg or Mg ha-1]."""

    mean: float
    median: float
    sd: float
    ci90: tuple[float, float]
    ci95: tuple[float, float]

    @classmethod
    def of(cls, draws: np.ndarray) -> "Summary":
        q = np.quantile(draws, [0.05, 0.95, 0.025, 0.975])
        return cls(float(np.mean(draws)), float(np.median(draws)), float(np.std(draws, ddof=1)),
                   (float(q[0]), float(q[1])), (float(q[2]), float(q[3])))

    def scaled(self, factor: float) -> "Summary":
        return Summary(self.mean * factor, self.median * factor, self.sd * factor,
                       (self.ci90[0] * factor, self.ci90[1] * factor), (self.ci95[0] * factor, self.ci95[1] * factor))

    def to_dict(self, prefix: str = "") -> dict:
        return {f"{prefix}mean": self.mean, f"{prefix}median": self.median, f"{prefix}sd": self.sd,
                f"{prefix}ci90": list(self.ci90), f"{prefix}ci95": list(self.ci95)}


@dataclass(frozen=True)
class MonteCarloResult:
    """Monte Carlo draws of AGB (or carbon) summed per plot [Mg] and in total [Mg]."""

    plots: tuple
    plot_draws: np.ndarray  # (n_plots, n_draws) [Mg]
    n_draws: int
    seed: int | None
    allometry: str
    carbon: bool

    @property
    def total_draws(self) -> np.ndarray:
        return self.plot_draws.sum(axis=0)

    @property
    def total(self) -> Summary:
        return Summary.of(self.total_draws)

    def plot_summaries(self) -> dict:
        return {p: Summary.of(self.plot_draws[i]) for i, p in enumerate(self.plots)}

    def to_dict(self) -> dict:
        return {"n_draws": self.n_draws, "seed": self.seed, "allometry": self.allometry, "carbon": self.carbon,
                "total": self.total.to_dict(),
                "plots": {str(p): s.to_dict() for p, s in self.plot_summaries().items()}}


def _tnorm(rng: np.random.Generator, mean: np.ndarray, sd: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Truncated normal by rejection (exact; out-of-bounds values are redrawn)."""
    x = mean + sd * rng.standard_normal(mean.shape)
    for _ in range(100):
        bad = (x < lo) | (x > hi)
        if not bad.any():
            return x
        m = np.broadcast_to(mean, x.shape)[bad]
        s = np.broadcast_to(sd, x.shape)[bad]
        x[bad] = m + s * rng.standard_normal(m.shape)
    return np.clip(x, lo, hi)  # means far outside the bounds: reported in the caller's inputs check


def _chunk(args) -> np.ndarray:
    (seed_seq, d, wd, wd_sd, h, h_sd, h_model_mask, height_model, e, allometry, params, diameter_error,
     carbon, seg_starts, n_seg) = args
    rng = np.random.default_rng(seed_seq)
    n = params.shape[0]
    c = d.shape[0]
    d0 = d[:, None]
    if diameter_error == "chave2004":
        d_sd = np.where(rng.random((c, n)) < 0.05, 4.64, (0.0062 * d0 + 0.0904))
        d_sim = _tnorm(rng, np.broadcast_to(d0, (c, n)), d_sd, 0.1, 500.0)
    else:
        d_sim = np.broadcast_to(d0, (c, n))
    if np.any(wd_sd > 0):
        wd_sim = _tnorm(rng, np.broadcast_to(wd[:, None], (c, n)), np.broadcast_to(wd_sd[:, None], (c, n)),
                        *WD_BOUNDS)
    else:
        wd_sim = np.broadcast_to(wd[:, None], (c, n))
    ln_d = np.log(d_sim)
    if allometry == "chave2014_eq4":
        h_sim = np.empty((c, n))
        meas = ~h_model_mask
        if meas.any():
            hm = h[meas][:, None]
            hs = h_sd[meas][:, None]
            h_sim[meas] = _tnorm(rng, np.broadcast_to(hm, (int(meas.sum()), n)),
                                 np.broadcast_to(hs, (int(meas.sum()), n)), 1.3, float(np.nanmax(h)) + 15.0)
        if h_model_mask.any():
            dm = d_sim[h_model_mask]
            if height_model.log_scale:
                h_sim[h_model_mask] = np.exp(height_model.predict_log(dm)
                                             + height_model.residual_sd * rng.standard_normal(dm.shape))
            else:
                h_sim[h_model_mask] = _tnorm(rng, height_model.predict(dm),
                                             np.full(dm.shape, height_model.residual_sd), 1.3, np.inf)
        x = np.log(wd_sim) + 2.0 * ln_d + np.log(h_sim)
        ln_agb = params[:, 0] + params[:, 1] * x + params[:, 2] * rng.standard_normal((c, n))
    else:
        ln_agb = (params[:, 0] + params[:, 1] * e[:, None] + params[:, 2] * np.log(wd_sim) + params[:, 3] * ln_d
                  + params[:, 4] * ln_d ** 2 + params[:, 5] * rng.standard_normal((c, n)))
    agb = np.exp(ln_agb) / 1000.0
    if carbon:
        agb *= CARBON_FRACTION_MC[0] + CARBON_FRACTION_MC[1] * rng.standard_normal((c, n))
    return np.add.reduceat(agb, seg_starts, axis=0)


def agb_monte_carlo(diameter, wood_density, wood_density_sd, *, allometry: str = "chave2014_eq4", height=None,
                    height_sd=0.0, height_model: HeightModel | None = None, e: float | None = None, plot=None,
                    n_draws: int = 1000, diameter_error: str = "chave2004", carbon: bool = False,
                    seed: int | None = None, threads: int | None = None, progress=None) -> MonteCarloResult:
    """Propagate measurement, wood density, height and allometry errors to plot and total AGB.

    Parameters
    ----------
    diameter : array [cm]
    wood_density : array [g cm-3]
    wood_density_sd : array [g cm-3] (0 for no wood density error)
    allometry : {"chave2014_eq4", "chave2014_eq7"}
    height : array [m], optional (measured heights; NaN where missing) — eq. 4 only
    height_sd : float or array [m] (SD of measured heights; default 0)
    height_model : HeightModel, optional (for trees without a measured height; its residual error
        is propagated: log models on the log scale, others additively)
    e : float or array [-] (environmental stress index, per site or per tree) — eq. 7 only
    plot : sequence, optional (plot label of each tree; default: one plot)
    n_draws : int (number of Monte Carlo iterations)
    diameter_error : {"chave2004", "none"}
    carbon : bool (multiply by a carbon fraction drawn from N(0.4713, 0.0206): results in Mg C)
    seed : int, optional
    threads : int, optional (default: all cores)
    progress : callable, optional (called with the number of trees of each finished chunk)

    Returns
    -------
    MonteCarloResult
        Draws of the plot sums [Mg] (mean, median, SD, 90 % and 95 % intervals via ``Summary``).

    Notes
    -----
    For draw :math:`k` with posterior coefficients :math:`(\\alpha_k, \\beta_k, \\sigma_k)`:

    .. math:: AGB_{ik} = \\exp(\\alpha_k + \\beta_k \\ln(\\rho_{ik} D_{ik}^2 H_{ik}) + \\varepsilon_{ik}) / 1000,
              \\ \\varepsilon_{ik} \\sim N(0, \\sigma_k^2),\\ D_{ik} \\sim TN(D_i, 0.0062 D_i + 0.0904)

    The Chave et al. 2004 large errors (SD 4.64 cm) hit each tree in each draw with probability
    0.05 (BIOMASS picks exactly 5 % of trees per draw).

    References
    ----------
    1. Chave, J. et al. (2004) Error propagation and scaling for tropical forest biomass estimates.
       Phil. Trans. R. Soc. B 359:409-420, p. 412, doi:10.1098/rstb.2003.1425.
    2. Chave, J. et al. (2014) Global Change Biology 20:3177-3190, eqs. 4 and 7, doi:10.1111/gcb.12629.
    3. Réjou-Méchain, M. et al. (2017) Methods Ecol. Evol. 8:1163-1167 (``AGBmonteCarlo``).
    4. Thomas, S. C. & Martin, A. R. (2012) Carbon content of tree tissues. Forests 3:332-352,
       doi:10.3390/f3020332.
    """
    if allometry not in ALLOMETRIES:
        raise InputDataError(f"unknown allometry {allometry!r}; choose one of {', '.join(ALLOMETRIES)}")
    if diameter_error not in DIAMETER_ERRORS:
        raise InputDataError(f"unknown diameter error model {diameter_error!r}")
    if n_draws < 2:
        raise InputDataError("n_draws must be at least 2")
    d = np.asarray(diameter, dtype=float)
    n_trees = d.shape[0]
    if n_trees == 0:
        raise InputDataError("no trees to propagate")
    wd = np.broadcast_to(np.asarray(wood_density, dtype=float), (n_trees,))
    wd_sd = np.broadcast_to(np.asarray(wood_density_sd, dtype=float), (n_trees,))
    if not (np.all(np.isfinite(d)) and np.all(d > 0)):
        raise InputDataError("diameters must be finite and positive", column="diameter")
    if allometry == "chave2014_eq4":
        h = np.full(n_trees, np.nan) if height is None else np.asarray(height, dtype=float).copy()
        h_model_mask = ~np.isfinite(h)
        if h_model_mask.any() and height_model is None:
            raise ModelError(f"{int(h_model_mask.sum())} trees have no height and no height model was given")
        h_sd = np.broadcast_to(np.asarray(height_sd, dtype=float), (n_trees,))
        e_arr = np.zeros(n_trees)
        draws = chave2014_posterior_draws(4)[["intercept", "logagbt", "sd"]].to_numpy()
    else:
        if e is None:
            raise ModelError("Chave et al. 2014 eq. 7 needs the environmental stress index E")
        h = h_sd = np.zeros(n_trees)
        h_model_mask = np.zeros(n_trees, dtype=bool)
        e_arr = np.broadcast_to(np.asarray(e, dtype=float), (n_trees,))
        draws = chave2014_posterior_draws(7)[["intercept", "E", "logwsg", "logdbh", "logdbh2", "sd"]].to_numpy()
    labels = np.zeros(n_trees, dtype=int) if plot is None else np.asarray(plot)
    codes, uniques = pd.factorize(pd.Series(labels), sort=True)
    order = np.argsort(codes, kind="stable")
    codes = codes[order]
    root = np.random.SeedSequence(seed)
    rng = np.random.default_rng(root.spawn(1)[0])
    params = draws[rng.choice(len(draws), size=n_draws, replace=n_draws > len(draws))]
    chunks = []
    starts = range(0, n_trees, CHUNK_TREES)
    children = root.spawn(len(starts) + 1)[1:]
    for k, s in enumerate(starts):
        idx = order[s:s + CHUNK_TREES]
        cc = codes[s:s + CHUNK_TREES]
        seg = np.flatnonzero(np.r_[True, cc[1:] != cc[:-1]])
        chunks.append(((children[k], d[idx], wd[idx], wd_sd[idx], h[idx], h_sd[idx], h_model_mask[idx], height_model,
                        e_arr[idx], allometry, params, diameter_error, carbon, seg, len(seg)), cc[seg]))
    plot_draws = np.zeros((len(uniques), n_draws))
    with ThreadPoolExecutor(max_workers=threads or os.cpu_count() or 1) as pool:
        for (args, seg_codes), sums in zip(chunks, pool.map(_chunk, [a for a, _ in chunks])):
            plot_draws[seg_codes] += sums
            if progress is not None:
                progress(len(args[1]))
    log.info("Monte Carlo: %d trees x %d draws in %d chunks", n_trees, n_draws, len(chunks))
    return MonteCarloResult(tuple(uniques.tolist()), plot_draws, n_draws, seed, allometry, carbon)
