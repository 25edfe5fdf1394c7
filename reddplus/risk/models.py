"""Alternative VT0007 risk models: their definition, a seeded stratified training sample, fitting, and
prediction by blocks.

An alternative model gives a transition potential per forest pixel from drivers (distance to the
forest edge, to roads, rivers and settlements, planned roads from their opening year, elevation,
slope; see :mod:`reddplus.risk.drivers`). VT0007 then rescales the potential to [1, 2] and cuts it
into 30 geometric classes (finer classes at high risk), and the classes are used exactly as the
benchmark's: fitted density per modelling region (class x admin division), adjustment ratio, MedAE
over the assessment cells (:mod:`reddplus.risk.compare`).

Layers
------
* pure functions: :func:`potential_classes`, :func:`stratified_allocation`, :func:`fit_logistic`,
  :func:`fit_random_forest` (the :data:`MODELS` registry, chosen by name);
* the definition a project config holds: :class:`AlternativeModel` (``[baseline.alternatives.NAME]``)
  and the choice ``[baseline] risk_model = "benchmark" | "alternative:NAME"``
  (:func:`parse_risk_model`, :func:`resolve_risk_model`);
* streamed tools: :func:`sample_training_pixels` (one pass: seeded order sampling per stratum,
  the same sample whatever the tiling), :func:`fit_alternative`, :func:`predict_map` (potential and class COGs, region
  and assessment-cell counts), :func:`write_density_raster`. Block tasks are module-level functions
  of picklable specs, so ``scheduler="tcp://..."`` runs them on a Dask cluster with the same result.

References
----------
[1] Verra (2024) VT0007 v1.0, sections 5.4 (alternative risk mapping: empirical transition potential,
    30 geometric classes) and 5.5 (testing and model selection: MedAE lower than the benchmark in
    both the calibration fit and the confirmation prediction).
[2] Clark Labs / Verra UDef-ARP (commit 14acdaf) ``geometric_classification_alternative``: rescale
    ``u = 1 + p / max(p)`` over the map; class edges ``3 - 2^(k/n)``, k = n..0.
[3] Seabold S. & Perktold J. (2010) statsmodels; Pedregosa F. et al. (2011) scikit-learn, JMLR 12.
[4] Breslow N.E. (1996) Statistics in epidemiology: the case-control study, JASA 91:14-28 (outcome-
    stratified samples leave the logistic slopes unbiased; only the intercept shifts).
[5] Steele G.L., Lea D., Flood C.H. (2014) Fast splittable pseudorandom number generators, OOPSLA '14,
    453-472, doi:10.1145/2660193.2660195 (SplitMix64).
[6] Rosén B. (1997) Asymptotic theory for order sampling, J. Stat. Plan. Inference 62:135-158 (order
    sampling; with equal probabilities it is simple random sampling without replacement).
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from reddplus.errors import ConfigError, ModelError
from reddplus.raster import BlockWriter, Grid, Zones, burn_zones, iter_blocks, map_blocks, open_raster, read_block
from reddplus.raster.io import band_metadata
from reddplus.risk import vt0007 as v
from reddplus.risk.config import (CONFIG_TABLE, AlternativeModel, AlternativesTable,  # noqa: F401
                                  parse_risk_model, resolve_risk_model)
from reddplus.risk.drivers import DriverStack
from reddplus.risk.tools import bounded_gdal_cache

log = logging.getLogger(__name__)

CODES_NODATA = 255
#: config table of the alternative models (``[baseline.alternatives.NAME]``)


# --------------------------------------------------------------------------- pure functions
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

    VT0007 v1.0 section 5.4 [1]; UDef-ARP alternative classification [2].
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


def stratified_allocation(n: int, n_deforested: int, n_remaining: int) -> tuple[int, int]:
    """Sample sizes of the two outcome strata: half each, the shortfall of a small stratum to the other.

    .. math:: k_d = \\min(N_d, \\max(\\lfloor n/2 \\rfloor, n - N_f)),\\quad k_f = n - k_d

    Parameters
    ----------
    n : int
        Requested sample size (``1 <= n <= N_d + N_f``).
    n_deforested, n_remaining : int
        Population sizes: forest pixels deforested in the fit period, and those that remained forest.

    An outcome-stratified (case-control) sample: the logistic slopes stay unbiased, the intercept
    shifts by ``log(k_d N_f / (k_f N_d))`` [4]. VT0007 v1.0 section 5.4 [1].
    """
    if n < 1 or n > n_deforested + n_remaining:
        raise ValueError(f"sample size {n} outside 1..{n_deforested + n_remaining}")
    kd = min(n_deforested, max(n // 2, n - n_remaining))
    return kd, n - kd


@dataclass(frozen=True)
class _LogisticPredictor:
    params: np.ndarray     # [const, beta_1..beta_k] on standardised drivers
    mu: np.ndarray
    sd: np.ndarray

    def __call__(self, X: np.ndarray) -> np.ndarray:
        z = self.params[0] + ((np.asarray(X, dtype=np.float64) - self.mu) / self.sd) @ self.params[1:]
        return 1.0 / (1.0 + np.exp(-z))


@dataclass(frozen=True)
class _ForestPredictor:
    estimator: Any

    def __call__(self, X: np.ndarray) -> np.ndarray:
        # the mean of the trees' class probabilities (RandomForestClassifier.predict_proba, float32 input),
        # summed in tree order, without joblib inside the block threads
        X32 = np.ascontiguousarray(X, dtype=np.float32)
        out = np.zeros((X32.shape[0], self.estimator.n_classes_))
        for tree in self.estimator.estimators_:
            out += tree.predict_proba(X32)
        out /= len(self.estimator.estimators_)
        return out[:, 1]


@dataclass(frozen=True)
class FittedModel:
    """A fitted model: name, driver order, a picklable predictor of the potential, and its summary."""

    name: str
    features: tuple[str, ...]
    predict: Callable[[np.ndarray], np.ndarray]
    summary: dict


def fit_logistic(X: np.ndarray, y: np.ndarray, features: tuple[str, ...], seed: int | None = None) -> FittedModel:
    """Logistic regression of deforestation on standardised drivers (statsmodels Logit, MLE).

    .. math:: \\operatorname{logit} P(y=1) = \\beta_0 + \\sum_k \\beta_k\\, (x_k - \\mu_k)/\\sigma_k

    Drivers constant in the sample are left out (coefficient 0, reported). VT0007 v1.0 section 5.4 [1];
    statsmodels [3].
    """
    from statsmodels.discrete.discrete_model import Logit   # not statsmodels.api: a third of the import time

    X = np.asarray(X, dtype=np.float64)
    keep = X.std(axis=0) > 0
    if not keep.all():
        log.warning("drivers %s are constant in the sample and are left out of the logistic regression",
                    [f for f, k in zip(features, keep) if not k])
    mu, sd = X[:, keep].mean(axis=0), X[:, keep].std(axis=0)
    Z = np.column_stack([np.ones(len(X)), (X[:, keep] - mu) / sd])
    try:
        res = Logit(y, Z).fit(disp=0, maxiter=200)
    except Exception as err:  # perfect separation, singular matrix
        raise ModelError(f"logistic regression failed ({err}): collinear drivers {features}? e.g. distance to "
                         "edge equal to distance to roads when roads are the only non-forest") from err
    params = np.zeros(X.shape[1] + 1)
    pvals = np.full(X.shape[1] + 1, np.nan)
    params[0], pvals[0] = np.asarray(res.params)[0], np.asarray(res.pvalues)[0]
    params[1:][keep], pvals[1:][keep] = np.asarray(res.params)[1:], np.asarray(res.pvalues)[1:]
    mu_all, sd_all = np.zeros(X.shape[1]), np.ones(X.shape[1])
    mu_all[keep], sd_all[keep] = mu, sd
    summary = {"coefficients": dict(zip(("const",) + tuple(features), params.tolist())),
               "pvalues": dict(zip(("const",) + tuple(features), pvals.tolist())),
               "pseudo_r2": float(res.prsquared), "dropped_constant": [f for f, k in zip(features, keep) if not k],
               "standardisation": {"mean": dict(zip(features, mu_all.tolist())),
                                   "sd": dict(zip(features, sd_all.tolist()))}}
    return FittedModel("logistic", tuple(features), _LogisticPredictor(params, mu_all, sd_all), summary)


def fit_random_forest(X: np.ndarray, y: np.ndarray, features: tuple[str, ...], seed: int | None = None,
                      n_estimators: int = 100, min_samples_leaf: int = 20) -> FittedModel:
    """Random forest classifier of deforestation on drivers (scikit-learn); potential = P(y=1).

    .. math:: \\hat p(x) = \\frac{1}{B} \\sum_b \\hat p_b(x)

    Fitted on all cores; predicts the mean of the trees' probabilities block by block (the blocks run
    in parallel), ``predict_proba`` up to rounding (1e-16).
    VT0007 v1.0 section 5.4 [1]; scikit-learn RandomForestClassifier [3].
    """
    from sklearn.ensemble import RandomForestClassifier

    if len(np.unique(y)) < 2:
        raise ModelError("random forest needs both deforested and remaining forest pixels in the sample")
    rf = RandomForestClassifier(n_estimators=n_estimators, min_samples_leaf=min_samples_leaf, n_jobs=-1,
                                random_state=seed)
    rf.fit(np.asarray(X, dtype=np.float64), y)
    return FittedModel("random_forest", tuple(features), _ForestPredictor(rf),
                       {"feature_importances": dict(zip(features, rf.feature_importances_.tolist())),
                        "n_estimators": n_estimators, "min_samples_leaf": min_samples_leaf})


#: explicit model choice by name (never inferred from the parameters present)
MODELS: dict[str, Callable[..., FittedModel]] = {"logistic": fit_logistic, "random_forest": fit_random_forest}


def get_model(name: str) -> Callable[..., FittedModel]:
    try:
        return MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown risk model {name!r}; choose one of {sorted(MODELS)}", key="model") from None


# --------------------------------------------------------------------------- modelling regions
@dataclass(frozen=True)
class Regions:
    """VT0007 step 4 modelling regions on the grid (picklable; burned per block).

    With admin divisions, ids ``1..n`` and 0 outside the jurisdiction (excluded, as in the
    benchmark); ``merge`` makes the whole jurisdiction one region (id 1). Without zones every pixel
    is inside, in region 0.
    """

    grid: Grid
    zones: Zones | None = None
    merge: bool = False

    @property
    def n(self) -> int:
        """Number of region ids (the second axis of the count tables)."""
        if self.zones is None:
            return 1
        return 2 if self.merge else int(self.zones.ids.max()) + 1

    def index(self, block) -> np.ndarray:
        """Region id of each core pixel of ``block`` (int64)."""
        if self.zones is None:
            return np.zeros((block.height, block.width), np.int64)
        z = burn_zones(self.zones, self.grid, block)
        return (z > 0).astype(np.int64) if self.merge else z

    def inside(self, z: np.ndarray) -> np.ndarray:
        return np.ones(z.shape, bool) if self.zones is None else z > 0

    def labels(self) -> dict:
        if self.zones is None:
            return {0: "jurisdiction"}
        return {1: "jurisdiction"} if self.merge else self.zones.label_of()


def _forest(codes, k):
    return (codes > k) & (codes != CODES_NODATA)


def _defor(codes, k0, k1):
    return (codes > k0) & (codes <= k1) & (codes != CODES_NODATA)


# --------------------------------------------------------------------------- training sample (streamed)
@dataclass(frozen=True)
class TrainingSample:
    """Drivers and outcome of the sampled pixels (row-major order of the raster).

    ``population`` and ``sampled`` give, per stratum (``deforested``, ``remaining``), the forest pixels
    of the fit period inside the jurisdiction and how many were drawn.
    """

    X: np.ndarray
    y: np.ndarray
    features: tuple[str, ...]
    rows: np.ndarray
    cols: np.ndarray
    population: dict
    sampled: dict
    seed: int

    def to_dict(self) -> dict:
        return {"n": int(self.y.size), "features": list(self.features), "population": dict(self.population),
                "sampled": dict(self.sampled), "seed": self.seed, "design": "stratified by outcome (deforested / "
                "remaining forest in the fit period), equal allocation, without replacement"}


def pixel_keys(flat_index: np.ndarray, salt: int) -> np.ndarray:
    """Uniform 64-bit sampling keys of pixels from their flat raster index and a seeded salt.

    .. math:: k_i = \\operatorname{splitmix64}(i \\oplus s)

    SplitMix64's finaliser (Steele, Lea & Flood 2014 [5]) is a bijection of 64-bit integers whose
    outputs pass BigCrush; keeping the ``k`` smallest keys of a stratum is order sampling with equal
    probabilities, i.e. a simple random sample without replacement (Rosén 1997 [6]). The key of a
    pixel depends only on its position and the seed, never on the tiling or the scheduler.
    """
    z = np.asarray(flat_index, dtype=np.uint64) ^ np.uint64(salt & 0xFFFFFFFFFFFFFFFF)
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _smallest(keys: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` smallest keys, ascending (keys are distinct: a bijection of distinct indices)."""
    if keys.size <= k:
        return np.argsort(keys, kind="stable")
    part = np.argpartition(keys, k - 1)[:k]
    return part[np.argsort(keys[part], kind="stable")]


@dataclass(frozen=True)
class _SampleSpec:
    forest_change: Any
    fit: tuple[int, int]
    regions: Regions
    stack: DriverStack
    n: int
    salts: tuple[int, int]     # deforested, remaining


def _sample_task(block, spec: _SampleSpec):
    """Per stratum: population count and the ``n`` smallest-key pixels of the block with their drivers."""
    codes = spec.forest_change.read_codes(block, with_halo=False)
    inside = spec.regions.inside(spec.regions.index(block))
    d = _defor(codes, *spec.fit) & inside
    f = _forest(codes, spec.fit[0]) & inside & ~d
    width = spec.forest_change.grid.width
    out = []
    drv = None
    for mask, salt in ((d, spec.salts[0]), (f, spec.salts[1])):
        local = np.flatnonzero(mask.ravel())
        r, c = np.divmod(local, block.width)
        gi = (r + block.row_off).astype(np.int64) * width + (c + block.col_off)
        keys = pixel_keys(gi, salt)
        pick = _smallest(keys, spec.n)
        if drv is None and pick.size:
            drv = spec.stack.read(block)
        X = np.column_stack([drv[nm].ravel()[local[pick]] for nm in spec.stack.names]) if pick.size else \
            np.zeros((0, len(spec.stack.names)))
        out.append((int(local.size), keys[pick], gi[pick], X))
    return out


def _merge_smallest(acc, part, n):
    if acc is None:
        return part
    keys = np.concatenate([acc[0], part[0]])
    pick = _smallest(keys, n)
    return keys[pick], np.concatenate([acc[1], part[1]])[pick], np.concatenate([acc[2], part[2]])[pick]


@bounded_gdal_cache
def sample_training_pixels(forest_change, stack: DriverStack, fit: tuple[int, int], *, n: int, seed: int,
                           regions: Regions | None = None, key: str = "sample_size", scheduler: str | None = None,
                           memory_limit_bytes: int = 64 * 2**20, block_size: int | None = None) -> TrainingSample:
    """Seeded outcome-stratified sample of the fit period's forest pixels with their drivers (one streamed pass).

    Parameters
    ----------
    forest_change : reddplus.landcover.ForestChange
    stack : DriverStack
        Drivers at the start of the fit period.
    fit : (start, end) date indices
    n : int
        Sample size (the config's ``sample_size``).
    seed : int
    regions : Regions, optional
        Only pixels inside the jurisdiction are sampled.
    key : str
        Config key of the sample size, named by the errors.

    Notes
    -----
    Two strata: forest pixels deforested in the fit period and those that remained forest, inside the
    jurisdiction. Each pixel gets a seeded uniform key (:func:`pixel_keys`); each block returns its
    stratum counts and the ``n`` smallest-key pixels with their drivers, and the running merge keeps
    the ``n`` smallest per stratum (memory O(n)). The sizes ``k_d, k_f`` (:func:`stratified_allocation`)
    are then the ``k`` smallest keys of each stratum: a simple random sample without replacement per
    stratum [6], identical whatever the tiling, the block order or the scheduler. VT0007 v1.0 section 5.4 [1].

    Raises
    ------
    ConfigError
        ``n`` is zero, negative or larger than the forest pixels of the fit period (naming ``key``).
    ModelError
        No deforestation in the fit period, or a driver with no data at a sampled pixel.
    """
    fc = forest_change
    regions = regions or Regions(fc.grid)
    if n <= 0:
        raise ConfigError(f"the sample size must be >= 1, got {n}", key=key)
    salts = tuple(int(x) for x in np.random.SeedSequence(int(seed)).generate_state(2, np.uint64))
    spec = _SampleSpec(fc, tuple(fit), regions, stack, int(n), salts)
    blocks = iter_blocks(fc.grid.shape, memory_limit_bytes=memory_limit_bytes,
                         bytes_per_pixel=8 * (len(stack.names) + 4), block_size=block_size)
    pops = [0, 0]
    acc: list = [None, None]
    for _, parts in map_blocks(functools.partial(_sample_task, spec=spec), blocks, scheduler=scheduler):
        for s, (count, keys, gi, X) in enumerate(parts):
            pops[s] += count
            acc[s] = _merge_smallest(acc[s], (keys, gi, X), n)
    nd, nf = pops
    if nd == 0:
        raise ModelError("no deforestation in the fit period inside the jurisdiction: cannot fit an alternative "
                         "model")
    if n > nd + nf:
        raise ConfigError(f"the sample size {n} is larger than the {nd + nf} forest pixels of the fit period "
                          f"{fc.dates[fit[0]]}-{fc.dates[fit[1]]} inside the jurisdiction", key=key)
    kd, kf = stratified_allocation(n, nd, nf)
    gi = np.concatenate([acc[0][1][:kd], acc[1][1][:kf]])
    X = np.concatenate([acc[0][2][:kd], acc[1][2][:kf]])
    y = np.concatenate([np.ones(kd, np.int8), np.zeros(kf, np.int8)])
    order = np.argsort(gi, kind="stable")                 # row-major order of the raster
    gi, X, y = gi[order], X[order], y[order]
    rows, cols = np.divmod(gi, fc.grid.width)
    bad = ~np.isfinite(X)
    if bad.any():
        j = int(np.flatnonzero(bad.any(axis=0))[0])
        i = int(np.flatnonzero(bad[:, j])[0])
        raise ModelError(f"driver {stack.names[j]!r} ({stack.paths[stack.names[j]]}) has no data at a forest pixel "
                         f"of the sample (row {rows[i]}, column {cols[i]}): fill it or mask that area")
    return TrainingSample(X, y, stack.names, rows, cols, {"deforested": nd, "remaining": nf},
                          {"deforested": kd, "remaining": kf}, int(seed))


def _forest_count_task(block, spec):
    fc, ks, regions = spec
    codes = fc.read_codes(block, with_halo=False)
    inside = regions.inside(regions.index(block))
    return [int((_forest(codes, k) & inside).sum()) for k in ks]


@bounded_gdal_cache
def check_sample_size(forest_change, n: int, fits: Mapping[str, tuple[int, int]], *, regions: Regions | None = None,
                      key: str = "sample_size", scheduler: str | None = None) -> dict[str, int]:
    """Check a sample size against the forest pixels at the start of each fit period, before any output.

    One streamed pass over the forest-change codes; returns the forest pixels per fit name.

    Raises
    ------
    ConfigError
        ``n`` is zero or larger than the forest pixels of a fit period inside the jurisdiction (naming ``key``).
    """
    fc = forest_change
    regions = regions or Regions(fc.grid)
    if n <= 0:
        raise ConfigError(f"the sample size must be >= 1, got {n}", key=key)
    ks = sorted({k0 for k0, _ in fits.values()})
    tot = np.zeros(len(ks), np.int64)
    blocks = iter_blocks(fc.grid.shape, memory_limit_bytes=64 * 2**20, bytes_per_pixel=16)
    for _, c in map_blocks(functools.partial(_forest_count_task, spec=(fc, ks, regions)), blocks, scheduler=scheduler):
        tot += c
    out = {name: int(tot[ks.index(k0)]) for name, (k0, _) in fits.items()}
    for name, (k0, k1) in fits.items():
        if n > out[name]:
            raise ConfigError(f"the sample size {n} is larger than the {out[name]} forest pixels of the {name} fit "
                              f"period {fc.dates[k0]}-{fc.dates[k1]} inside the jurisdiction", key=key)
    return out


@dataclass(frozen=True)
class FittedAlternative:
    """An alternative model fitted on one period (CAL for the assessment, HRP for the validity period)."""

    name: str
    period: tuple[int, int]           # years
    model: FittedModel
    sample: TrainingSample

    def to_dict(self) -> dict:
        return {"name": self.name, "model": self.model.name, "period": list(self.period),
                "drivers": list(self.model.features), "summary": self.model.summary,
                "sample": self.sample.to_dict()}


def fit_alternative(forest_change, alternative: AlternativeModel, stack: DriverStack, fit: tuple[int, int], *,
                    seed: int, regions: Regions | None = None, scheduler: str | None = None,
                    block_size: int | None = None) -> FittedAlternative:
    """Fit ``alternative`` on the period ``fit`` (date indices) from its drivers at the period start.

    The training sample is :func:`sample_training_pixels` of ``alternative.sample_size`` pixels with
    ``alternative.seed`` (else ``seed``); the model is ``MODELS[alternative.model]``. VT0007 v1.0
    section 5.4 [1].
    """
    s = alternative.seed if alternative.seed is not None else int(seed)
    sample = sample_training_pixels(forest_change, stack, fit, n=alternative.sample_size, seed=s, regions=regions,
                                    key=alternative.key("sample_size"), scheduler=scheduler, block_size=block_size)
    model = get_model(alternative.model)(sample.X, sample.y, sample.features, seed=s)
    years = (int(forest_change.dates[fit[0]]), int(forest_change.dates[fit[1]]))
    log.info("alternative %s (%s) fitted on %d-%d: %s", alternative.name, alternative.model, *years,
             model.summary.get("coefficients") or model.summary.get("feature_importances"))
    return FittedAlternative(alternative.name or alternative.model, years, model, sample)


# --------------------------------------------------------------------------- prediction by blocks
@dataclass(frozen=True)
class CellCounts:
    """Pixel counts per (assessment cell, class, region), sparse: ``key = (cell * nc + class) * nr + region``.

    ``forest`` counts forest pixels of the map; ``deforested`` those deforested in the counted period;
    ``jurisdiction`` (dense, per cell) the pixels of each cell inside the jurisdiction (which the
    ``udef-arp`` profile's full-cell rule reads).
    """

    keys: np.ndarray
    forest: np.ndarray
    deforested: np.ndarray
    n_classes: int
    n_regions: int
    n_cells: int
    jurisdiction: np.ndarray

    def split(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(cell, class, region) of each key."""
        nc, nr = self.n_classes + 1, self.n_regions
        return self.keys // (nc * nr), (self.keys // nr) % nc, self.keys % nr

    def per_cell(self, weights: np.ndarray) -> np.ndarray:
        """Sum of ``weights`` (one per key) per cell."""
        cell = self.keys // ((self.n_classes + 1) * self.n_regions)
        return np.bincount(cell, weights, minlength=self.n_cells)


@dataclass(frozen=True)
class PredictedMap:
    """A potential map and its 30 classes at one date, with the counts the VT0007 steps need."""

    stage: str
    date_index: int
    year: int
    potential_path: Path
    class_path: Path
    max_potential: float
    nforest: np.ndarray               # [class, region] forest pixels of the map
    ndefor: np.ndarray | None         # [class, region] of them deforested in ``period``
    period: tuple[int, int] | None    # date indices of the counted deforestation
    cells: CellCounts | None

    def to_dict(self) -> dict:
        return {"stage": self.stage, "year": self.year, "potential_raster": str(self.potential_path),
                "class_raster": str(self.class_path), "max_potential": self.max_potential}


@dataclass(frozen=True)
class _MapSpec:
    forest_change: Any
    date_index: int
    regions: Regions
    stack: DriverStack | None = None
    predictor: Any = None
    features: tuple[str, ...] = ()
    potential_path: str | None = None
    max_potential: float = 0.0
    period: tuple[int, int] | None = None
    cells: Any = None


def _potential_task(block, spec: _MapSpec):
    codes = spec.forest_change.read_codes(block, with_halo=False)
    forest = _forest(codes, spec.date_index) & spec.regions.inside(spec.regions.index(block))
    out = np.zeros(forest.shape, np.float32)
    if forest.any():
        drv = spec.stack.read(block)
        X = np.column_stack([drv[n][forest] for n in spec.features])
        bad = ~np.isfinite(X)
        if bad.any():
            j = int(np.flatnonzero(bad.any(axis=0))[0])
            name = spec.features[j]
            raise ModelError(f"driver {name!r} ({spec.stack.paths[name]}) has no data at forest pixels of block "
                             f"{block.window}: fill it or mask that area")
        out[forest] = spec.predictor(X)
    return out, float(out[forest].max()) if forest.any() else 0.0


def _class_task(block, spec: _MapSpec):
    codes = spec.forest_change.read_codes(block, with_halo=False)
    z = spec.regions.index(block)
    forest = _forest(codes, spec.date_index) & spec.regions.inside(z)
    with open_raster(spec.potential_path) as ds:
        p = read_block(ds, block, with_halo=False)
    cls = potential_classes(p, forest, max_potential=spec.max_potential)
    nc, nr = v.N_CLASSES + 1, spec.regions.n
    idx = cls.astype(np.int64) * nr + z
    nf = np.bincount(idx[forest], minlength=nc * nr)
    nd = None
    defor = None
    if spec.period is not None:
        defor = _defor(codes, *spec.period) & forest
        nd = np.bincount(idx[defor], minlength=nc * nr)
    cells = None
    if spec.cells is not None:
        cell = spec.cells.cell_of(block.row_off, block.col_off, block.height, block.width)
        key = cell[forest] * (nc * nr) + idx[forest]
        u, inv = np.unique(key, return_inverse=True)
        cf = np.bincount(inv, minlength=u.size)
        cd = np.bincount(inv, weights=defor[forest], minlength=u.size).astype(np.int64) if defor is not None else \
            np.zeros(u.size, np.int64)
        ju, jc = np.unique(cell[spec.regions.inside(z)], return_counts=True)
        cells = (u, cf, cd, ju, jc)
    return cls, nf, nd, cells


@bounded_gdal_cache
def predict_map(forest_change, model: FittedModel, stack: DriverStack, date_index: int, out_dir: str | os.PathLike, *,
                stage: str, regions: Regions | None = None, period: tuple[int, int] | None = None, cells=None,
                max_potential: float | None = None,
                scheduler: str | None = None, overwrite: bool = False, memory_limit_bytes: int = 64 * 2**20,
                block_size: int | None = None) -> PredictedMap:
    """Potential and 30-class maps of the forest at ``date_index``, streamed into COGs (two passes).

    Pass 1 predicts the potential of every forest pixel inside the jurisdiction from the drivers of
    ``stack`` into ``potential_{stage}.tif`` (float32, 0 off forest) and finds its maximum; pass 2
    rescales by ``max_potential`` (default: that maximum) and cuts the 30 classes
    (:func:`potential_classes`) into ``classes_{stage}.tif`` (uint8, 0 = no forest), counting forest pixels per
    (class, region), those deforested in ``period`` and, with ``cells`` (the benchmark's
    :class:`~reddplus.risk.vt0007.AssessmentGrid`), the counts per assessment cell.

    A map predicted from a fitted model should be cut with the fit map's ``max_potential``, so that each
    class is the same band of potential at every date, as the benchmark's classes are the same distance
    bands (UDef-ARP rescales each map by its own maximum [2], which moves the bands between dates).
    Counts are integers, so the totals do not depend on the block order; the rasters are written
    block by block. VT0007 v1.0 sections 5.4 (classes) and 5.1 step 4 (regions) [1].
    """
    fc = forest_change
    grid = fc.grid
    regions = regions or Regions(grid)
    out_dir = Path(out_dir)
    blocks = list(iter_blocks(grid.shape, memory_limit_bytes=memory_limit_bytes,
                              bytes_per_pixel=8 * (len(model.features) + 6), block_size=block_size))
    spec = _MapSpec(fc, int(date_index), regions, stack, model.predict, model.features)
    ppath = out_dir / f"potential_{stage}.tif"
    pmax = 0.0
    with BlockWriter(ppath, grid, dtype="float32", nodata=None, overwrite=overwrite, stage_compress=None,
                     **band_metadata("potential")) as w:
        for block, (arr, m) in map_blocks(functools.partial(_potential_task, spec=spec), blocks, scheduler=scheduler):
            w.write(block, arr)
            pmax = max(pmax, m)
    scale = pmax if max_potential is None else float(max_potential)
    spec2 = _MapSpec(fc, int(date_index), regions, potential_path=str(ppath), max_potential=scale,
                     period=tuple(period) if period is not None else None, cells=cells)
    nc, nr = v.N_CLASSES + 1, regions.n
    nf = np.zeros(nc * nr, np.int64)
    nd = np.zeros(nc * nr, np.int64) if period is not None else None
    parts = []
    cpath = out_dir / f"classes_{stage}.tif"
    with BlockWriter(cpath, grid, dtype="uint8", nodata=0, overwrite=overwrite, stage_compress=None,
                     **band_metadata("model_classes")) as w:
        for block, (cls, f, d, c) in map_blocks(functools.partial(_class_task, spec=spec2), blocks,
                                                scheduler=scheduler):
            w.write(block, cls)
            nf += f
            if nd is not None:
                nd += d
            if c is not None:
                parts.append(c)
    cc = None
    if cells is not None:
        def cat(i, dtype=np.int64):
            return np.concatenate([p[i] for p in parts]) if parts else np.zeros(0, dtype)

        u, inv = np.unique(cat(0), return_inverse=True)
        cf = np.bincount(inv, cat(1), minlength=u.size)
        cd = np.bincount(inv, cat(2), minlength=u.size)
        jur = np.bincount(cat(3), cat(4), minlength=cells.n_cells).astype(np.int64)
        cc = CellCounts(u, cf.astype(np.int64), cd.astype(np.int64), v.N_CLASSES, nr, int(cells.n_cells), jur)
    return PredictedMap(stage, int(date_index), int(stack.year), ppath, cpath, float(pmax), nf.reshape(nc, nr),
                        None if nd is None else nd.reshape(nc, nr), tuple(period) if period is not None else None,
                        cc)


@dataclass(frozen=True)
class _DensitySpec:
    class_path: str
    regions: Regions
    density: np.ndarray     # [class, region] [ha/pixel/yr]


def _density_task(block, spec: _DensitySpec):
    with open_raster(spec.class_path) as ds:
        c = read_block(ds, block, with_halo=False)
    z = spec.regions.index(block)
    return np.where(c > 0, spec.density[c, z], 0.0).astype(np.float32)


@bounded_gdal_cache
def write_density_raster(predicted: PredictedMap, density_ha_per_pixel_per_year: np.ndarray, out_path, *,
                         grid: Grid, regions: Regions | None = None, scheduler: str | None = None,
                         overwrite: bool = False, block_size: int | None = None) -> Path:
    """Density raster [ha/pixel/yr] of a class map: the fitted density of each pixel's (class, region).

    .. math:: \\delta_i = \\delta_{c(i), z(i)} / T_{fit}

    float32 COG, 0 off forest, like the benchmark's ``density_vp.tif`` (VT0007 v1.0 section 5.1 step 5 [1]).
    """
    regions = regions or Regions(grid)
    spec = _DensitySpec(str(predicted.class_path), regions, np.asarray(density_ha_per_pixel_per_year, np.float64))
    blocks = iter_blocks(grid.shape, memory_limit_bytes=64 * 2**20, bytes_per_pixel=24, block_size=block_size)
    with BlockWriter(out_path, grid, dtype="float32", nodata=None, overwrite=overwrite, stage_compress=None,
                     **band_metadata("model_density")) as w:
        for block, arr in map_blocks(functools.partial(_density_task, spec=spec), blocks, scheduler=scheduler):
            w.write(block, arr)
    return Path(out_path)


__all__ = ["AlternativeModel", "AlternativesTable", "CellCounts", "FittedAlternative", "FittedModel", "MODELS",
           "PredictedMap", "Regions", "TrainingSample", "check_sample_size", "fit_alternative", "fit_logistic",
           "fit_random_forest", "get_model", "parse_risk_model", "pixel_keys", "potential_classes", "predict_map",
           "resolve_risk_model", "sample_training_pixels", "stratified_allocation", "write_density_raster"]
