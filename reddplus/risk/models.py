"""Alternative VT0007 risk models: logistic regression (statsmodels) and random forest (scikit-learn).

The model gives a transition potential per forest pixel from drivers (distance to the forest edge,
to roads, rivers and settlements, planned roads from their opening year, optional elevation and
slope). VT0007 then rescales the potential to [1, 2] and cuts it into 30 geometric classes (finer
classes at high risk), and the classes are scored exactly as the benchmark (fitted density per
class, adjustment ratio, MedAE over assessment cells).

References
----------
[1] Verra (2023) VT0007 v1.0, section 5.3 (alternative models: empirical transition potential,
    30 classes, acceptance when MedAE beats the benchmark in both CAL fit and CNF prediction).
[2] Clark Labs / Verra UDef-ARP v2.11, ``geometric_classification_alternative``: rescale
    ``v = 1 + p / max(p)``; class edges ``3 - 2^(k/n)``, k = n..0.
[3] Seabold S. & Perktold J. (2010) statsmodels; Pedregosa F. et al. (2011) scikit-learn, JMLR 12.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from reddplus.errors import ConfigError, ModelError
from reddplus.risk import vt0007 as v

log = logging.getLogger(__name__)


def potential_classes(potential: np.ndarray, forest: np.ndarray, n_classes: int = v.N_CLASSES,
                      max_potential: float | None = None) -> np.ndarray:
    """Cut a transition potential into ``n_classes`` geometric classes (1 = lowest risk, n = highest).

    Parameters
    ----------
    potential : array [-], >= 0
    forest : array of bool
    max_potential : float, optional
        Rescaling maximum (default: the maximum over forest pixels).

    Returns
    -------
    classes : array of uint8, 0 = not forest.

    Notes
    -----
    .. math:: u = 1 + p / p_{max} \\in [1, 2];\\quad e_k = 3 - 2^{k/n},\\ k = n..0;\\quad c = j
              \\ \\text{for}\\ e_{j-1} \\le u < e_j

    VT0007 v1.0 section 5.3 [1]; UDef-ARP v2.11 alternative classification [2].
    """
    p = np.asarray(potential, dtype=np.float64)
    forest = np.asarray(forest, dtype=bool)
    pmax = float(np.max(p[forest])) if max_potential is None and forest.any() else (max_potential or 0.0)
    if pmax <= 0:
        return np.where(forest, 1, 0).astype(np.uint8)
    u = 1.0 + np.clip(p, 0, pmax) / pmax
    edges = 3.0 - 2.0 ** (np.arange(n_classes, -1, -1) / n_classes)   # ascending, 1 .. 2
    c = np.clip(np.searchsorted(edges, u, side="right"), 1, n_classes)
    return np.where(forest, c, 0).astype(np.uint8)


# --------------------------------------------------------------------------- model registry
@dataclass(frozen=True)
class FittedModel:
    name: str
    features: tuple[str, ...]
    predict: Callable[[np.ndarray], np.ndarray]
    summary: dict


def _standardise(X):
    mu, sd = X.mean(axis=0), X.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return mu, sd


def fit_logistic(X: np.ndarray, y: np.ndarray, features: tuple[str, ...], seed: int | None = None) -> FittedModel:
    """Logistic regression of deforestation on standardised drivers (statsmodels Logit, MLE).

    .. math:: \\operatorname{logit} P(y=1) = \\beta_0 + \\sum_k \\beta_k\\, (x_k - \\mu_k)/\\sigma_k

    VT0007 v1.0 section 5.3 [1]; statsmodels [3].
    """
    import statsmodels.api as sm

    X = np.asarray(X, dtype=np.float64)
    keep = X.std(axis=0) > 0
    if not keep.all():
        log.warning("drivers %s are constant in the sample and are left out of the logistic regression",
                    [f for f, k in zip(features, keep) if not k])
    mu, sd = _standardise(X[:, keep])
    Z = sm.add_constant((X[:, keep] - mu) / sd, has_constant="add")
    try:
        res = sm.Logit(y, Z).fit(disp=0, maxiter=200)
    except Exception as err:  # perfect separation, singular matrix
        raise ModelError(f"logistic regression failed ({err}): collinear drivers {features}? e.g. distance to "
                         "edge equal to distance to roads when roads are the only non-forest") from err
    fit_params = np.asarray(res.params)
    fit_p = np.asarray(res.pvalues)
    params = np.zeros(X.shape[1] + 1)
    pvals = np.full(X.shape[1] + 1, np.nan)
    params[0], pvals[0] = fit_params[0], fit_p[0]
    params[1:][keep], pvals[1:][keep] = fit_params[1:], fit_p[1:]
    mu_all = np.zeros(X.shape[1])
    sd_all = np.ones(X.shape[1])
    mu_all[keep], sd_all[keep] = mu, sd

    def predict(Xn):
        z = params[0] + ((np.asarray(Xn, dtype=np.float64) - mu_all) / sd_all) @ params[1:]
        return 1.0 / (1.0 + np.exp(-z))

    summary = {"coefficients": dict(zip(("const",) + features, params.tolist())),
               "pvalues": dict(zip(("const",) + features, pvals.tolist())),
               "pseudo_r2": float(res.prsquared), "dropped_constant": [f for f, k in zip(features, keep) if not k]}
    return FittedModel("logistic", features, predict, summary)


def fit_random_forest(X: np.ndarray, y: np.ndarray, features: tuple[str, ...], seed: int | None = None,
                      n_estimators: int = 100, min_samples_leaf: int = 20) -> FittedModel:
    """Random forest classifier of deforestation on drivers (scikit-learn); potential = P(y=1).

    .. math:: \\hat p(x) = \\frac{1}{B} \\sum_b \\hat p_b(x)

    VT0007 v1.0 section 5.3 [1]; scikit-learn RandomForestClassifier [3].
    """
    from sklearn.ensemble import RandomForestClassifier

    if len(np.unique(y)) < 2:
        raise ModelError("random forest needs both deforested and remaining forest pixels in the sample")
    rf = RandomForestClassifier(n_estimators=n_estimators, min_samples_leaf=min_samples_leaf, n_jobs=-1,
                                random_state=seed)
    rf.fit(X, y)

    def predict(Xn):
        return rf.predict_proba(np.asarray(Xn))[:, 1]

    return FittedModel("random_forest", features, predict,
                       {"feature_importances": dict(zip(features, rf.feature_importances_.tolist()))})


#: explicit model choice by name (never inferred from the parameters present)
MODELS: dict[str, Callable[..., FittedModel]] = {"logistic": fit_logistic, "random_forest": fit_random_forest}


def get_model(name: str) -> Callable[..., FittedModel]:
    try:
        return MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown risk model {name!r}; choose one of {sorted(MODELS)}", key="model") from None


def sample_training(forest: np.ndarray, deforested: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Flat indices of a balanced random sample of forest pixels: up to n/2 deforested and n/2 not."""
    f = np.flatnonzero(forest.ravel() & ~deforested.ravel())
    d = np.flatnonzero(deforested.ravel())
    if d.size == 0:
        raise ModelError("no deforestation in the fit period: cannot fit an alternative model")
    k = n // 2
    return np.concatenate([rng.choice(d, min(k, d.size), replace=False), rng.choice(f, min(k, f.size), replace=False)])


def feature_matrix(drivers: Mapping[str, np.ndarray], index: np.ndarray | None = None) -> tuple[np.ndarray, tuple]:
    """Stack driver arrays into an (n, k) matrix (optionally at flat ``index``); names in a fixed order."""
    names = tuple(sorted(drivers))
    cols = [np.asarray(drivers[k], dtype=np.float64).ravel() for k in names]
    if index is not None:
        cols = [c[index] for c in cols]
    X = np.column_stack(cols)
    if not np.isfinite(X).all():
        bad = [nm for nm, c in zip(names, cols) if not np.isfinite(c).all()]
        raise ModelError(f"drivers {bad} have non-finite values at sampled pixels (no-data inside the forest?)")
    return X, names


def predict_potential(model: FittedModel, drivers: Mapping[str, np.ndarray], forest: np.ndarray,
                      chunk: int = 1_000_000) -> np.ndarray:
    """Transition potential on forest pixels (0 elsewhere), predicted in chunks to bound memory."""
    forest = np.asarray(forest, dtype=bool)
    idx = np.flatnonzero(forest.ravel())
    out = np.zeros(forest.size, dtype=np.float64)
    for s in range(0, idx.size, chunk):
        X, _ = feature_matrix(drivers, idx[s:s + chunk])
        out[idx[s:s + chunk]] = model.predict(X)
    return out.reshape(forest.shape)
