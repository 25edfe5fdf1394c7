"""VT0007 v1.0 benchmark deforestation-risk method, one pure function per step (arrays in, no file access).

References
----------
[1] Verra (2023) VT0007 Unplanned Deforestation Allocation (UDef-A), v1.0, section 5 ("Benchmark
    risk map"): steps 1-7 (distance to forest edge, negligible risk threshold, vulnerability
    classes, modelling regions, fitted density, adjustment ratio, model assessment).
[2] Clark Labs (2024) UDef-ARP (Unplanned Deforestation Allocation Risk Mapping Procedure),
    documented formulas for the NRT histogram, geometric class breaks and adjustment ratio.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy import ndimage

from reddplus.errors import InputDataError, ModelError, SearchDistanceError

log = logging.getLogger(__name__)

#: number of vulnerability classes prescribed by VT0007 (1 = beyond the NRT, 30 = nearest the edge)
N_CLASSES = 30
#: default cumulative share of deforestation at which the NRT is set (VT0007 v1.0 section 5.1 step 2)
NRT_SHARE = 0.995


def distance_to_edge(forest: np.ndarray, pixel_size_m: float) -> np.ndarray:
    """Euclidean distance of each forest pixel to the nearest non-forest pixel (step 1).

    Parameters
    ----------
    forest : array of bool
        Forest mask at the start of the period (no-data counts as non-forest).
    pixel_size_m : float [m]
        Pixel side (square pixels, projected metre CRS).

    Returns
    -------
    distance_m : array of float32 [m]
        0 on non-forest pixels; ``inf`` for forest pixels with no non-forest pixel in the array.

    Notes
    -----
    .. math:: d_i = \\min_{j \\notin F} \\lVert x_i - x_j \\rVert_2

    VT0007 v1.0 section 5.1 step 1 [1]; exact EDT (Maurer et al. 2003) via
    :func:`scipy.ndimage.distance_transform_edt`. On a window read with a halo of ``H`` pixels the
    result is exact for every core pixel whose true distance is ``<= H`` pixels, and ``> H`` pixels
    whenever the true distance is (see :func:`reddplus.risk.tools`).
    """
    forest = np.asarray(forest, dtype=bool)
    if not (~forest).any():
        return np.where(forest, np.float32(np.inf), np.float32(0))
    return ndimage.distance_transform_edt(forest, sampling=pixel_size_m).astype(np.float32)


def distance_to_edge_fast(forest: np.ndarray, pixel_size_m: float) -> np.ndarray:
    r""":func:`distance_to_edge` by the separable exact squared EDT of Felzenszwalb & Huttenlocher (compiled).

    Same result as :func:`distance_to_edge` (``sqrt(D p^2)`` in float64 from the exact integer
    squared distance ``D`` [pixels^2], cast to float32; identical to SciPy's whenever ``p^2 D`` is
    exact in float64, e.g. integer pixel sizes), several times faster and without SciPy's
    feature-transform arrays.

    .. math:: D_{ij} = \min_{k} \left[(j - k)^2 + g_{ik}^2\right],\quad
              g_{ik} = \min_{l \notin F} |i - l| \text{ in column } k

    Felzenszwalb P.F., Huttenlocher D.P. (2012) Distance transforms of sampled functions, Theory of
    Computing 8, 415-428, doi:10.4086/toc.2012.v008a019, algorithm DT(f).
    """
    f = np.ascontiguousarray(forest, dtype=bool)
    out = np.empty(f.shape, np.float32)
    _edt_kernel(f, float(pixel_size_m) ** 2, out)
    return out


@njit(nogil=True, cache=True)
def _edt_kernel(forest, p2, out):  # pragma: no cover - numba
    nr, nc = forest.shape
    inf = np.inf
    g = np.empty((nr, nc), np.float64)       # squared distance to the nearest non-forest pixel in the column
    for c in range(nc):
        last = -1
        for r in range(nr):
            if not forest[r, c]:
                last = r
            g[r, c] = (r - last) if last >= 0 else inf
        last = -1
        for r in range(nr - 1, -1, -1):
            if not forest[r, c]:
                last = r
            if last >= 0 and (last - r) < g[r, c]:
                g[r, c] = last - r
        for r in range(nr):
            g[r, c] = g[r, c] * g[r, c]
    v = np.empty(nc, np.int64)
    z = np.empty(nc + 1, np.float64)
    for r in range(nr):
        k = -1                                   # lower envelope of the parabolas of finite g
        for q in range(nc):
            fq = g[r, q]
            if fq == inf:
                continue
            while True:
                if k < 0:
                    k = 0
                    v[0] = q
                    z[0] = -inf
                    z[1] = inf
                    break
                vk = v[k]
                sx = ((fq + q * q) - (g[r, vk] + vk * vk)) / (2.0 * q - 2.0 * vk)
                if sx <= z[k]:
                    k -= 1
                    continue
                k += 1
                v[k] = q
                z[k] = sx
                z[k + 1] = inf
                break
        if k < 0:
            for c in range(nc):
                out[r, c] = 0.0 if not forest[r, c] else inf
            continue
        j = 0
        for c in range(nc):
            while z[j + 1] < c:
                j += 1
            vj = v[j]
            d2 = (c - vj) * (c - vj) + g[r, vj]
            out[r, c] = np.float32(np.sqrt(d2 * p2))


def distance_to_edge_at(forest: np.ndarray, query: np.ndarray, pixel_size_m: float,
                        max_distance_m: float) -> np.ndarray:
    """Exact distance to the forest edge for the ``query`` pixels only, up to a search distance (step 1).

    Parameters
    ----------
    forest : array of bool
        Forest mask at the start of the period.
    query : array of bool
        Forest pixels whose distance is wanted (e.g. deforested in the fit period).
    pixel_size_m, max_distance_m : float [m]

    Returns
    -------
    distance_m : array of float64 [m], one per ``query`` pixel (row-major order); ``inf`` beyond
        ``max_distance_m``.

    Notes
    -----
    .. math:: d_i = \\min_{j \\in E} \\lVert x_i - x_j \\rVert_2,\\quad
              E = \\{j \\notin F : j \\text{ 4-adjacent to } F\\}

    The nearest non-forest pixel ``q`` of a forest pixel ``p`` is 4-adjacent to the forest: its
    neighbour one step towards ``p`` is closer to ``p``, hence forest. So a k-d tree of those edge
    pixels gives the same distances as the full EDT (:func:`distance_to_edge`) at a fraction of the
    cost when few pixels are queried (the NRT histogram). VT0007 v1.0 section 5.1 step 1 [1].
    """
    forest = np.asarray(forest, dtype=bool)
    query = np.asarray(query, dtype=bool)
    q = np.argwhere(query)
    if q.size == 0:
        return np.zeros(0)
    from scipy.spatial import cKDTree

    forest = np.ascontiguousarray(forest)
    pts = _edge_pixels(forest)
    if pts.size == 0:
        return np.full(len(q), np.inf)
    bound = max_distance_m / pixel_size_m + 1.0
    # a forest pixel with a non-forest 4-neighbour is exactly 1 pixel from the edge (no edge pixel is
    # closer): only the others go to the tree
    d = np.ones(len(q))
    far = _not_on_edge(forest, q)
    if far.any():
        # unbalanced, non-compact tree: builds several times faster; nearest distances are the same
        d[far], _ = cKDTree(pts, balanced_tree=False, compact_nodes=False).query(q[far], k=1,
                                                                                   distance_upper_bound=bound)
    return d * pixel_size_m


@njit(nogil=True, cache=True)
def _not_on_edge(forest, q):  # pragma: no cover - numba
    """For each (row, col) in ``q``: False when it is forest with a non-forest 4-neighbour in the array."""
    nr, nc = forest.shape
    out = np.ones(len(q), np.bool_)
    for i in range(len(q)):
        r, c = q[i, 0], q[i, 1]
        if forest[r, c] and ((r > 0 and not forest[r - 1, c]) or (r + 1 < nr and not forest[r + 1, c])
                             or (c > 0 and not forest[r, c - 1]) or (c + 1 < nc and not forest[r, c + 1])):
            out[i] = False
    return out


@njit(nogil=True, cache=True)
def _edge_pixels(forest):  # pragma: no cover - numba
    """(row, col) of the non-forest pixels 4-adjacent to a forest pixel, row-major (one compiled pass)."""
    nr, nc = forest.shape
    flag = np.zeros((nr, nc), np.bool_)
    n = 0
    for r in range(nr):
        for c in range(nc):
            if not forest[r, c] and ((r > 0 and forest[r - 1, c]) or (r + 1 < nr and forest[r + 1, c])
                                     or (c > 0 and forest[r, c - 1]) or (c + 1 < nc and forest[r, c + 1])):
                flag[r, c] = True
                n += 1
    out = np.empty((n, 2), np.int64)
    i = 0
    for r in range(nr):
        for c in range(nc):
            if flag[r, c]:
                out[i, 0] = r
                out[i, 1] = c
                i += 1
    return out


def distance_histogram(distance_m: np.ndarray, pixel_size_m: float, max_distance_m: float) -> np.ndarray:
    """Counts of pixels per distance bin of width = pixel size (step 2 histogram).

    Parameters
    ----------
    distance_m : array [m]
        Distances to the edge of the pixels deforested in the fit period.
    pixel_size_m : float [m]
    max_distance_m : float [m]
        Search distance; the last bin collects every distance beyond it.

    Returns
    -------
    counts : array of int64
        ``counts[i]`` = pixels with distance in ((i) * p, (i + 1) * p], i < n; ``counts[n]`` = beyond.

    Notes
    -----
    .. math:: n_i = \\#\\{j : i\\,p < d_j \\le (i+1)\\,p\\}

    VT0007 v1.0 section 5.1 step 2 [1]: bin width = pixel size.
    """
    n = int(math.ceil(max_distance_m / pixel_size_m))
    d = np.asarray(distance_m, dtype=np.float64).ravel()
    # bins (i p, (i+1) p]; a small tolerance absorbs float32 rounding of multiples of p
    idx = np.ceil(d / pixel_size_m - 1e-6).astype(np.int64) - 1
    idx = np.clip(idx, 0, n)
    return np.bincount(idx, minlength=n + 1).astype(np.int64)


@dataclass(frozen=True)
class NRT:
    """The negligible risk threshold and its diagnostics."""

    nrt_m: float
    cumulative_share: float
    share_target: float
    counts: np.ndarray
    pixel_size_m: float

    def table(self) -> list[dict]:
        """Histogram rows: upper bin edge [m], pixels, cumulative share."""
        total = self.counts.sum()
        cum = np.cumsum(self.counts)
        return [{"distance_m": (i + 1) * self.pixel_size_m, "npix": int(c), "cumulative_share": float(cum[i] / total)}
                for i, c in enumerate(self.counts[:-1])]


def negligible_risk_threshold(counts: np.ndarray, pixel_size_m: float, share: float = NRT_SHARE) -> NRT:
    """Negligible risk threshold: first distance bin where the cumulative share reaches ``share`` (step 2).

    Parameters
    ----------
    counts : array of int
        Histogram from :func:`distance_histogram` (last element = beyond the search distance).
    pixel_size_m : float [m]
    share : float [-]
        Cumulative share of the fit-period deforestation (VT0007 default 0.995).

    Returns
    -------
    NRT
        ``nrt_m`` [m] = upper edge of the first bin whose cumulative share is ``>= share``.

    Notes
    -----
    .. math:: \\mathrm{NRT} = p \\cdot \\min\\{k : \\sum_{i<k} n_i / N \\ge s\\}

    VT0007 v1.0 section 5.1 step 2 [1]; UDef-ARP "NRT" tool [2].

    Raises
    ------
    ModelError
        No deforestation in the fit period, or the share is not reached within the search distance.
    """
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        raise ModelError("no deforestation in the fit period: the NRT (VT0007 step 2) is undefined; check the "
                         "periods/dates and the forest-change raster")
    cum = np.cumsum(counts[:-1]) / total
    hit = np.nonzero(cum >= share - 1e-12)[0]
    if hit.size == 0:
        searched = (counts.size - 1) * pixel_size_m
        raise SearchDistanceError(f"the NRT is not reached within the search distance {searched:g} m: "
                                  f"only {cum[-1]:.4%} of the deforestation lies within it (target {share:.2%}); "
                                  "increase the search distance (--max-distance)", searched_m=float(searched))
    k = int(hit[0])
    return NRT(float((k + 1) * pixel_size_m), float(cum[k]), float(share), counts, float(pixel_size_m))


def class_breaks(nrt_m: float, pixel_size_m: float, n_classes: int = N_CLASSES) -> np.ndarray:
    """Geometrically spaced upper bounds of classes ``n_classes .. 2`` between the pixel size and the NRT (step 3).

    Returns
    -------
    breaks : array [m], length ``n_classes - 1``, increasing; ``breaks[-1] == nrt_m``.

    Notes
    -----
    .. math:: b_j = p \\, (\\mathrm{NRT}/p)^{j/(n-1)},\\ j = 1..n-1

    VT0007 v1.0 section 5.1 step 3 [1] (29 geometric classes within the NRT, class 1 beyond it).
    """
    if nrt_m < pixel_size_m:
        raise ModelError(f"NRT {nrt_m} m is below the pixel size {pixel_size_m} m")
    j = np.arange(1, n_classes)
    b = pixel_size_m * (nrt_m / pixel_size_m) ** (j / (n_classes - 1))
    b[-1] = nrt_m
    return b


def vulnerability_classes(distance_m: np.ndarray, forest: np.ndarray, nrt_m: float, pixel_size_m: float,
                          n_classes: int = N_CLASSES) -> np.ndarray:
    """Vulnerability class of each forest pixel: 1 beyond the NRT, 30 nearest the edge (step 3).

    Parameters
    ----------
    distance_m : array [m]
    forest : array of bool
    nrt_m, pixel_size_m : float [m]

    Returns
    -------
    classes : array of uint8; 0 = not forest.

    Notes
    -----
    .. math:: c = n - \\#\\{j : b_j < d\\}\\ \\text{for}\\ d \\le \\mathrm{NRT};\\ c = 1\\ \\text{for}\\ d > \\mathrm{NRT}

    VT0007 v1.0 section 5.1 step 3 [1].
    """
    b = class_breaks(nrt_m, pixel_size_m, n_classes)
    tol = 1e-6 * pixel_size_m
    d, f = np.broadcast_arrays(np.asarray(distance_m), np.asarray(forest, dtype=bool))
    d = np.ascontiguousarray(d).reshape(-1)
    if d.dtype not in (np.float32, np.float64):
        d = d.astype(np.float64)
    out = np.empty(d.size, np.uint8)
    # one compiled pass: c = n - #{b_j + tol < d} (numpy's searchsorted 'left'), 1 beyond the NRT, 0 off forest
    _classes_kernel(d, np.ascontiguousarray(f).reshape(-1), np.ascontiguousarray(b + tol, dtype=np.float64),
                    float(nrt_m + tol), int(n_classes), out)
    return out.reshape(f.shape)


@njit(nogil=True, cache=True)
def _classes_kernel(d, forest, bt, nrt_tol, n, out):  # pragma: no cover - numba
    nb = bt.size
    for i in range(d.size):
        if not forest[i]:
            out[i] = 0
            continue
        x = np.float64(d[i])
        if x > nrt_tol:
            out[i] = 1
            continue
        lo, hi = 0, nb                  # first index with bt >= x (searchsorted side='left')
        while lo < hi:
            mid = (lo + hi) >> 1
            if bt[mid] < x:
                lo = mid + 1
            else:
                hi = mid
        out[i] = np.uint8((n - lo) & 255)


@dataclass(frozen=True)
class DensityTable:
    """Fitted deforestation density per modelling region (class x admin division), VT0007 step 5."""

    n_classes: int
    zone_ids: np.ndarray          # int64, 0 = the whole jurisdiction when no admin layer
    nforest: np.ndarray           # [class, zone] forest pixels at the start of the fit period
    ndefor: np.ndarray            # [class, zone] pixels deforested in the fit period
    density_ha_per_pixel: np.ndarray  # [class, zone] over the fit period [ha/pixel]
    years: float
    pixel_area_ha: float
    filled: np.ndarray            # bool [class, zone]: region absent from the fit, class value used

    def class_table(self) -> list[dict]:
        nf = self.nforest.sum(axis=1)
        nd = self.ndefor.sum(axis=1)
        rows = []
        for c in range(1, self.n_classes + 1):
            dens = nd[c] / nf[c] * self.pixel_area_ha if nf[c] else 0.0
            rows.append({"class": c, "nforest": int(nf[c]), "ndefor": int(nd[c]),
                         "forest_ha": nf[c] * self.pixel_area_ha, "defor_ha": nd[c] * self.pixel_area_ha,
                         "density_ha_per_pixel": float(dens),
                         "density_ha_per_pixel_per_year": float(dens / self.years)})
        return rows


def fitted_density(nforest: np.ndarray, ndefor: np.ndarray, pixel_area_ha: float, years: float,
                   zone_ids: np.ndarray | None = None) -> DensityTable:
    """Fitted density per modelling region = relative frequency of deforestation x pixel area (steps 4-5).

    Parameters
    ----------
    nforest, ndefor : array [class 0..n, zone]
        Forest pixels at the start of the fit period and pixels deforested in it, per region.
    pixel_area_ha : float [ha]
    years : float [yr]
        Length of the fit period.

    Returns
    -------
    DensityTable
        A region with no forest in the fit gets its class's area-weighted density.

    Notes
    -----
    .. math:: \\delta_{c,z} = \\frac{D_{c,z}}{F_{c,z}}\\, a_{pix};\\quad
              \\delta_{c,\\cdot} = \\frac{\\sum_z D_{c,z}}{\\sum_z F_{c,z}}\\, a_{pix}

    VT0007 v1.0 section 5.1 steps 4-5 [1].
    """
    nforest = np.asarray(nforest, dtype=np.int64)
    ndefor = np.asarray(ndefor, dtype=np.int64)
    if ndefor[1:].sum() == 0:
        raise ModelError("no deforestation in the fit period: cannot fit the VT0007 density (step 5)")
    with np.errstate(invalid="ignore", divide="ignore"):
        dens = ndefor / nforest * pixel_area_ha
        cls = ndefor.sum(axis=1) / nforest.sum(axis=1) * pixel_area_ha
    cls = np.nan_to_num(cls)
    filled = nforest == 0
    dens = np.where(filled, cls[:, None], dens)
    dens[0] = 0.0
    ids = np.arange(nforest.shape[1], dtype=np.int64) if zone_ids is None else np.asarray(zone_ids)
    return DensityTable(nforest.shape[0] - 1, ids, nforest, ndefor, dens, float(years), float(pixel_area_ha), filled)


@dataclass(frozen=True)
class Adjustment:
    """Result of the iterative adjustment ratio (VT0007 step 6)."""

    ratio: float
    iterations: int
    capped_share: float       # share of forest pixels at the cap
    allocated_ha: float
    expected_ha: float

    @property
    def allocation_error(self) -> float:
        return (self.allocated_ha - self.expected_ha) / self.expected_ha if self.expected_ha else 0.0


def adjustment_ratio(density_values: np.ndarray, pixel_counts: np.ndarray, expected_ha: float,
                     cap_ha: float) -> Adjustment:
    """Adjustment ratio so that the adjusted densities sum to the expected deforestation (step 6).

    Parameters
    ----------
    density_values : array [ha/pixel]
        Distinct fitted densities (e.g. per region).
    pixel_counts : array of int
        Forest pixels having each density.
    expected_ha : float [ha]
        Expected jurisdictional deforestation over the period to allocate.
    cap_ha : float [ha]
        The pixel area: no pixel can lose more than itself.

    Returns
    -------
    Adjustment

    Notes
    -----
    .. math:: AR = \\frac{E - a\\,N_{cap}}{\\sum_{i \\notin cap} \\delta_i},\\ \\text{iterated until no new pixel
              exceeds the cap}; \\ \\hat\\delta_i = \\min(AR\\,\\delta_i, a)

    The iteration's fixed point is found exactly by capping the densities in decreasing order;
    when the forest cannot lose ``E`` even fully capped, every pixel is capped and the shortfall is
    reported as the allocation error.

    VT0007 v1.0 section 5.1 step 6 [1]; UDef-ARP "adjusted prediction density" [2].
    """
    d = np.asarray(density_values, dtype=np.float64).ravel()
    n = np.asarray(pixel_counts, dtype=np.float64).ravel()
    total_px = n.sum()
    keep = (d > 0) & (n > 0)
    d, n = d[keep], n[keep]
    order = np.argsort(-d, kind="stable")
    d, n = d[order], n[order]
    # capping the k largest densities: AR_k = (E - a N_k) / S_k; the fixed point of the iteration is the k
    # for which the capped pixels reach the cap and the others stay below it
    ncap = np.concatenate([[0.0], np.cumsum(n)])
    srest = np.concatenate([np.cumsum((d * n)[::-1])[::-1], [0.0]])
    ar, k = 0.0, 0
    if expected_ha > 0 and d.size:
        for k in range(d.size + 1):
            if k == d.size:
                ar = cap_ha / d[-1]
                break
            ar = (expected_ha - cap_ha * ncap[k]) / srest[k]
            if ar * d[k] <= cap_ha * (1 + 1e-12):
                break
    adj = np.minimum(ar * d, cap_ha)
    allocated = float((adj * n).sum())
    share = float(n[ar * d >= cap_ha * (1 - 1e-12)].sum() / total_px) if total_px and ar > 0 else 0.0
    it = k + 1
    return Adjustment(float(ar), it, share, allocated, float(expected_ha))


# --------------------------------------------------------------------------- step 7: assessment
@dataclass(frozen=True)
class Assessment:
    """Per-cell predicted vs observed deforestation and the VT0007 metrics (step 7)."""

    name: str
    n_cells: int
    medae_ha: float
    mae_ha: float
    r2: float
    predicted_ha: np.ndarray
    observed_ha: np.ndarray

    def row(self) -> dict:
        return {"model": self.name, "n_cells": self.n_cells, "medae_ha": self.medae_ha, "mae_ha": self.mae_ha,
                "r2": self.r2, "predicted_ha": float(self.predicted_ha.sum()),
                "observed_ha": float(self.observed_ha.sum())}


def assessment_metrics(predicted_ha: np.ndarray, observed_ha: np.ndarray, name: str = "") -> Assessment:
    """MedAE (primary), MAE and R² of predicted vs observed deforestation over assessment cells (step 7).

    Parameters
    ----------
    predicted_ha, observed_ha : array [ha]
        Per assessment cell (cells with no forest at the start are excluded by the caller).

    Notes
    -----
    .. math:: \\mathrm{MedAE} = \\operatorname{median}_k |\\hat y_k - y_k|,\\quad
              R^2 = 1 - \\frac{\\sum (\\hat y_k - y_k)^2}{\\sum (y_k - \\bar y)^2}

    VT0007 v1.0 section 5.2 (model assessment) [1].
    """
    p = np.asarray(predicted_ha, dtype=np.float64)
    o = np.asarray(observed_ha, dtype=np.float64)
    if p.size == 0:
        raise ModelError("no assessment cell contains forest")
    err = np.abs(p - o)
    ss = ((o - o.mean()) ** 2).sum()
    r2 = 1.0 - ((p - o) ** 2).sum() / ss if ss > 0 else float("nan")
    return Assessment(name, int(p.size), float(np.median(err)), float(err.mean()), float(r2), p, o)


def cell_side_pixels(pixel_area_ha: float, cell_area_ha: float = 100_000.0) -> int:
    """Side [pixels] of the square assessment cells whose area is the median project area (step 7).

    .. math:: s = \\operatorname{round}(\\sqrt{A_{cell} / a_{pix}})

    VT0007 v1.0 section 5.2 [1]: default 100,000 ha.
    """
    if cell_area_ha <= 0:
        raise InputDataError("assessment cell area must be positive", column="cell_area_ha")
    return max(1, int(round(math.sqrt(cell_area_ha / pixel_area_ha))))


def accept_alternative(benchmark_cal: Assessment, benchmark_cnf: Assessment, alt_cal: Assessment,
                       alt_cnf: Assessment) -> bool:
    """VT0007 acceptance rule: an alternative model replaces the benchmark only if its MedAE is lower in
    **both** the calibration fit and the confirmation prediction.

    .. math:: \\mathrm{MedAE}^{alt}_{CAL} < \\mathrm{MedAE}^{bm}_{CAL} \\wedge
              \\mathrm{MedAE}^{alt}_{CNF} < \\mathrm{MedAE}^{bm}_{CNF}

    VT0007 v1.0 section 5.3 [1].
    """
    return alt_cal.medae_ha < benchmark_cal.medae_ha and alt_cnf.medae_ha < benchmark_cnf.medae_ha
