"""VT0007 v1.0 benchmark deforestation-risk method, one pure function per step (arrays in, no file access).

Profiles
--------
VT0007 v1.0 states the steps; implementations read some of them differently. ``profile`` picks one
reading for every step of a run, and every result names it.

``"reddplus"`` (default): the exact rule.

* NRT (step 2): bins ``(i p, (i + 1) p]`` from 0, width = pixel size ``p``; the NRT is the upper
  edge of the first bin whose cumulative share reaches 99.5 %.
* Classes (step 3): breaks ``b_j = p (NRT / p)^(j / 29)``, upper-closed ranges: ``d = NRT`` is in
  class 2, class 1 is ``d > NRT``.
* Assessment grid (step 7): square cells of side ``round(sqrt(A / a))`` pixels from the raster's
  top-left corner; every cell with forest at the period start.
* R^2 = 1 - SS_res / SS_tot.
* Adjustment ratio (step 6): the exact fixed point of "rescale, cap at the pixel area, rescale"
  (:func:`adjustment_ratio`, no iteration limit). The CNF prediction rescales the CAL densities to
  the CNF length first.

``"udef-arp"``: Clark Labs' UDef-ARP (commit 14acdaf), Verra's reference implementation. With the
same exact distances it gives the same NRT, class rasters, densities, adjustment ratios and
assessment cells.

* NRT: bins ``arange(d_min, d_max + p, p)`` from the smallest HRP-deforested distance,
  left-closed; the NRT is ``int((start + end) / 2)``, the truncated midpoint of the first bin
  reaching 99.5 % (Martinique: 225 m where the exact rule gives 210 m).
* Classes: ``LL = int(p)``, ``UL = int(NRT)``, ``b_j = UL (LL / UL)^(j / 29)``, lower-closed
  ranges: class 1 is ``d >= NRT``, class ``k`` is ``b_(k-1) <= d < b_(k-2)``. The comparisons are
  made in float32 (the distance rasters' type) and in UDef-ARP's sequential in-place order, which
  for pixels under 30 m moves some pixels to a later class.
* Assessment grid: side ``int(sqrt(A 10^4)) // int(p)`` pixels (truncated), cells centred on
  multiples of the side from the raster's top-left corner (half a cell off a corner-anchored
  grid), and only the cells whose part inside the jurisdiction exceeds 99.9 % of the largest part:
  the full cells inside the jurisdiction. Per-cell totals are compared in float32.
* R^2 = squared Pearson r.
* Adjustment ratio: UDef-ARP's loop (:func:`adjustment_ratio_udef_arp`): ``AR = target / sum``;
  while ``AR > 1.00001`` and fewer than ``max_iterations + 1`` rounds, multiply, cap at the pixel
  area and recompute; then apply the last AR once more. Stopping at the limit is reported
  (``converged = False`` and a :class:`~reddplus.errors.ConvergenceWarning`). The CNF ratio
  rescales the CAL-period densities directly to the observed CNF total (same map).

Both profiles: a modelling region absent from the fit gets its class's area-weighted density (the
rule of both tools); a class absent from the fit in every division (UDef-ARP: 0/0 = NaN, the whole
map NaN; reddplus before: a silent 0) gets the pooled density of the nearest fitted class on each
side (:func:`fitted_density`), and the tool warns (:class:`~reddplus.errors.MissingClassWarning`)
when a prediction map has pixels in it.

References
----------
[1] Verra (2023) VT0007 Unplanned Deforestation Allocation (UDef-A), v1.0, section 5 ("Benchmark
    risk map"): steps 1-7 (distance to forest edge, negligible risk threshold, vulnerability
    classes, modelling regions, fitted density, adjustment ratio, model assessment).
[2] Clark Labs (2024) UDef-ARP (Unplanned Deforestation Allocation Risk Mapping Procedure),
    https://github.com/ClarkCGA/UDef-ARP, commit 14acdaf: NRT histogram, geometric class breaks,
    relative frequencies, adjustment-ratio loop, Thiessen assessment grid.
[3] Felzenszwalb P.F., Huttenlocher D.P. (2012) Distance transforms of sampled functions, Theory of
    Computing 8, 415-428, doi:10.4086/toc.2012.v008a019.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from reddplus.errors import InputDataError, ModelError, SearchDistanceError

log = logging.getLogger(__name__)

#: number of vulnerability classes prescribed by VT0007 (1 = beyond the NRT, 30 = nearest the edge)
N_CLASSES = 30
#: default cumulative share of deforestation at which the NRT is set (VT0007 v1.0 section 5.1 step 2)
NRT_SHARE = 0.995
from reddplus.risk import PROFILES, UDEF_ARP_MAX_ITERATIONS  # noqa: E402  (re-exported: the CLI reads them cheaply)


def check_profile(profile: str) -> str:
    """Return ``profile`` if it is one of :data:`PROFILES`, else raise an error naming the key."""
    if profile not in PROFILES:
        from reddplus.errors import ConfigError

        raise ConfigError(f"unknown VT0007 profile {profile!r}; choose one of {', '.join(PROFILES)}",
                          key="vt0007_profile")
    return profile


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
    :func:`scipy.ndimage.distance_transform_edt`: the whole-array reference of the streamed
    transform (:func:`squared_distance_to_edge`).
    """
    from scipy import ndimage

    forest = np.asarray(forest, dtype=bool)
    if not (~forest).any():
        return np.where(forest, np.float32(np.inf), np.float32(0))
    return ndimage.distance_transform_edt(forest, sampling=pixel_size_m).astype(np.float32)


def distance_to_edge_fast(forest: np.ndarray, pixel_size_m: float) -> np.ndarray:
    r""":func:`distance_to_edge` by the separable exact squared EDT of Felzenszwalb & Huttenlocher (compiled).

    Same result as :func:`distance_to_edge` (``sqrt(D p^2)`` in float64 from the exact integer
    squared distance ``D`` [pixels^2], cast to float32; identical to SciPy's whenever ``p^2 D`` is
    exact in float64, e.g. integer pixel sizes), several times faster and without SciPy's
    feature-transform arrays: :func:`squared_distance_to_edge` of the whole array as one strip.

    .. math:: D_{ij} = \min_{k} \left[(j - k)^2 + g_{ik}^2\right],\quad
              g_{ik} = \min_{l \notin F} |i - l| \text{ in column } k

    Felzenszwalb P.F., Huttenlocher D.P. (2012) [3], algorithm DT(f).
    """
    return distance_from_squared(squared_distance_to_edge(forest), pixel_size_m)


def nonforest_row_bounds(forest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last row holding a non-forest pixel, per column (-1 where the column is all forest).

    The summary of one strip that lets any other strip get its exact column distances
    (:func:`squared_distance_to_edge`) without reading the rest of the raster.
    """
    f = np.ascontiguousarray(forest, dtype=bool)
    first = np.empty(f.shape[1], np.int64)
    last = np.empty(f.shape[1], np.int64)
    _row_bounds_kernel(f, first, last)
    return first, last


@njit(nogil=True, cache=True)
def _row_bounds_kernel(forest, first, last):  # pragma: no cover - numba
    nr, nc = forest.shape
    first[:] = -1
    last[:] = -1
    for r in range(nr):
        for c in range(nc):
            if not forest[r, c]:
                if first[c] < 0:
                    first[c] = r
                last[c] = r


def squared_distance_to_edge(forest: np.ndarray, above: np.ndarray | None = None,
                             below: np.ndarray | None = None) -> np.ndarray:
    r"""Exact squared distance [pixels^2] of each pixel of a full-width strip to the nearest non-forest pixel.

    Parameters
    ----------
    forest : array of bool, (rows, columns)
        A strip of whole raster rows.
    above, below : array of int, (columns,), optional
        Per column, the number of rows from the strip's first (last) row up (down) to the nearest
        non-forest pixel above (below) the strip; -1 where there is none. ``None``: the strip is
        the top (bottom) of the raster.

    Returns
    -------
    d2 : array of float64 [pixels^2]
        Exact integers: 0 on non-forest pixels, ``inf`` where no non-forest pixel exists.

    Notes
    -----
    .. math:: D_{ij} = \min_{k} \left[(j - k)^2 + g_{ik}^2\right],\quad
              g_{ik} = \min_{l \notin F} |i - l| \text{ in column } k

    The separable transform of Felzenszwalb & Huttenlocher [3]: the column distances ``g`` only
    need, beyond the strip, the nearest non-forest row above and below it in each column
    (``above``, ``below``, from :func:`nonforest_row_bounds` of the other strips), and the row pass
    works on whole rows. So a raster streamed by strips gets the same distances as a whole-array
    EDT, whatever their size, in bounded memory. VT0007 v1.0 section 5.1 step 1 [1].
    """
    f, a, b = _strip_args(forest, above, below)
    out = np.empty(f.shape, np.float64)
    _sq_edt_strip_kernel(f, a, b, 0.0, out)
    return out


def distance_from_squared(d2: np.ndarray, pixel_size_m: float) -> np.ndarray:
    """Distance [m] as float32 from exact squared pixel distances: ``float32(sqrt(D p^2))``.

    The same bits as :func:`distance_to_edge_fast`, and as SciPy's EDT (and a float32 distance
    raster made from it) whenever ``p^2 D`` is exact in float64, e.g. integer pixel sizes.
    """
    return np.sqrt(np.asarray(d2, dtype=np.float64) * (float(pixel_size_m) ** 2)).astype(np.float32)


def distance_to_edge_strip(forest: np.ndarray, pixel_size_m: float, above: np.ndarray | None = None,
                           below: np.ndarray | None = None) -> np.ndarray:
    """:func:`squared_distance_to_edge` as float32 distances [m] in one compiled pass.

    Equals ``distance_from_squared(squared_distance_to_edge(forest, above, below), pixel_size_m)``
    bit for bit, without the float64 array (the column distances, whole rows, fit float32 exactly).
    """
    f, a, b = _strip_args(forest, above, below)
    out = np.empty(f.shape, np.float32)
    _sq_edt_strip_kernel(f, a, b, float(pixel_size_m) ** 2, out)
    return out


def _strip_args(forest, above, below):
    f = np.ascontiguousarray(forest, dtype=bool)
    nc = f.shape[1]
    if nc >= 2**24 or f.shape[0] >= 2**24:
        raise ValueError("strips of 2^24 rows or columns or more are not supported")
    none = np.full(nc, -1, np.int64)
    a = none if above is None else np.ascontiguousarray(above, dtype=np.int64)
    b = none if below is None else np.ascontiguousarray(below, dtype=np.int64)
    if a.shape != (nc,) or b.shape != (nc,):
        raise ValueError("above/below need one value per column")
    return f, a, b


@njit(nogil=True, cache=True)
def _sq_edt_strip_kernel(forest, above, below, p2, out):  # pragma: no cover - numba
    # out: float64 squared distances [pixels^2] (p2 = 0) or float32 distances sqrt(D p2) [m]
    nr, nc = forest.shape
    inf = np.inf
    # column pass, row by row (cache friendly): rows to the nearest non-forest pixel above, then below
    last = np.empty(nc, np.float64)
    for c in range(nc):
        last[c] = -above[c] if above[c] >= 0 else -inf
    for r in range(nr):
        for c in range(nc):
            if not forest[r, c]:
                last[c] = r
            out[r, c] = r - last[c]
    for c in range(nc):
        last[c] = (nr - 1) + below[c] if below[c] >= 0 else inf
    for r in range(nr - 1, -1, -1):
        for c in range(nc):
            if not forest[r, c]:
                last[c] = r
            g = last[c] - r
            if g < out[r, c]:
                out[r, c] = g
    # row pass: lower envelope of the parabolas (q - x)^2 + g_q^2 of the finite g
    f = np.empty(nc, np.float64)
    v = np.empty(nc, np.int64)
    z = np.empty(nc + 1, np.float64)
    for r in range(nr):
        for q in range(nc):
            g = out[r, q]
            f[q] = g * g
        k = -1
        for q in range(nc):
            fq = f[q]
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
                sx = ((fq + q * q) - (f[vk] + vk * vk)) / (2.0 * q - 2.0 * vk)
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
                out[r, c] = inf
            continue
        j = 0
        for c in range(nc):
            while z[j + 1] < c:
                j += 1
            vj = v[j]
            d2 = (c - vj) * (c - vj) + f[vj]
            out[r, c] = np.sqrt(d2 * p2) if p2 > 0.0 else d2


def squared_distance_histogram(d2: np.ndarray, npix: np.ndarray, pixel_size_m: float,
                               max_distance_m: float) -> np.ndarray:
    """:func:`distance_histogram` from exact squared distances [pixels^2] and their pixel counts.

    Bin ``i`` holds ``i < sqrt(D) <= i + 1`` pixels, i.e. ``i = isqrt(D - 1)``, in exact integer
    arithmetic (the same bins as :func:`distance_histogram` of the distances); the last element
    counts every distance beyond ``max_distance_m``.

    .. math:: n_i = \\sum_{D : \\lceil \\sqrt{D} \\rceil = i + 1} n_D
    """
    n = int(math.ceil(max_distance_m / pixel_size_m))
    d2 = np.asarray(d2, dtype=np.float64).ravel()
    w = np.asarray(npix, dtype=np.int64).ravel()
    finite = np.isfinite(d2)
    idx = np.full(d2.size, n, np.int64)
    di = d2[finite].astype(np.int64)
    root = np.sqrt(np.maximum(di - 1, 0).astype(np.float64)).astype(np.int64)
    root -= (root * root > di - 1)                 # exact isqrt(D - 1) for D >= 1
    root += ((root + 1) * (root + 1) <= di - 1)
    idx[finite] = np.clip(root, 0, n)
    return np.bincount(idx, weights=w, minlength=n + 1).astype(np.int64)



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
    idx = np.full(d.size, n, np.int64)                       # beyond (infinite: no edge anywhere)
    finite = np.isfinite(d)
    idx[finite] = np.clip(np.ceil(d[finite] / pixel_size_m - 1e-6).astype(np.int64) - 1, 0, n)
    return np.bincount(idx, minlength=n + 1).astype(np.int64)


@dataclass(frozen=True)
class NRT:
    """The negligible risk threshold and its diagnostics.

    ``counts`` is the histogram the rule read: bins of width ``pixel_size_m`` from
    ``first_edge_m`` (the last element counts the distances beyond the search distance; 0 for the
    ``udef-arp`` rule, whose bins reach the largest distance). ``rule`` names the profile.
    """

    nrt_m: float
    cumulative_share: float
    share_target: float
    counts: np.ndarray
    pixel_size_m: float
    rule: str = "reddplus"
    first_edge_m: float = 0.0

    def table(self) -> list[dict]:
        """Histogram rows: upper bin edge [m], pixels, cumulative share."""
        total = self.counts.sum()
        cum = np.cumsum(self.counts)
        return [{"distance_m": self.first_edge_m + (i + 1) * self.pixel_size_m, "npix": int(c),
                 "cumulative_share": float(cum[i] / total)}
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
        No deforestation in the fit period.
    SearchDistanceError
        The share is not reached within the search distance (a :class:`ModelError`).
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


def negligible_risk_threshold_udef_arp(distance_m: np.ndarray, npix: np.ndarray | None, pixel_size_m: float,
                                      share: float = NRT_SHARE) -> NRT:
    """Negligible risk threshold as UDef-ARP computes it (step 2, ``udef-arp`` profile).

    Parameters
    ----------
    distance_m : array [m]
        Distances to the edge (float32, as UDef-ARP reads them from its distance raster) of the
        pixels deforested in the HRP; zeros are dropped (UDef-ARP's mask).
    npix : array of int, optional
        Pixels having each distance (``None``: one each), so that a table of distinct distances
        gives the histogram of the pixels.
    pixel_size_m : float [m]
        Bin width.
    share : float [-]

    Returns
    -------
    NRT
        ``nrt_m`` [m] = ``int((e_k + e_(k+1)) / 2)``, the truncated midpoint of the first bin whose
        cumulative share is ``>= share``.

    Notes
    -----
    .. math:: e_i = d_{min} + i\\,p\\ (\\texttt{arange}(d_{min}, d_{max} + p, p)),\\quad
              n_i = \\#\\{e_i \\le d < e_{i+1}\\}\\ (\\text{last bin closed}),\\quad
              \\mathrm{NRT} = \\left\\lfloor \\tfrac{e_k + e_{k+1}}{2} \\right\\rfloor

    UDef-ARP ``nrt_calculation`` [2]; VT0007 v1.0 section 5.1 step 2 [1] ("that distance beyond
    which 0.5 % of deforestation has occurred during the HRP"; the midpoint is UDef-ARP's reading).
    """
    d = np.asarray(distance_m, dtype=np.float32).ravel()
    w = np.ones(d.size, np.int64) if npix is None else np.asarray(npix, dtype=np.int64).ravel()
    keep = (d != 0) & (w > 0)
    d, w = d[keep], w[keep]
    if d.size == 0:
        raise ModelError("no deforestation in the fit period: the NRT (VT0007 step 2) is undefined; check the "
                         "periods/dates and the forest-change raster")
    if not np.isfinite(d).all():
        raise ModelError("a deforested pixel has no non-forest pixel anywhere in the raster: its distance to "
                         "the edge is infinite and UDef-ARP's histogram is undefined")
    edges = np.arange(float(d.min()), float(d.max()) + pixel_size_m, pixel_size_m)
    hist, edges = np.histogram(d, bins=edges, weights=w)
    hist = hist.astype(np.int64)
    cum = np.cumsum(hist / hist.sum())
    k = int(np.argmax(cum >= share))
    nrt = int((edges[k] + edges[k + 1]) / 2)
    return NRT(float(nrt), float(cum[k]), float(share), np.append(hist, 0), float(pixel_size_m), "udef-arp",
               float(edges[0]))


def nrt_from_squared_distances(d2: np.ndarray, npix: np.ndarray, pixel_size_m: float, max_distance_m: float,
                               share: float = NRT_SHARE, profile: str = "reddplus") -> NRT:
    """The NRT of one fit from a table of exact squared distances [pixels^2] and pixel counts (step 2).

    ``profile`` picks :func:`negligible_risk_threshold` (bins up to ``max_distance_m``) or
    :func:`negligible_risk_threshold_udef_arp`. The distances being exact beyond the search
    distance too, a threshold beyond it raises :class:`~reddplus.errors.SearchDistanceError`
    carrying the distance that would reach it (``needed_m``).
    """
    check_profile(profile)
    d2 = np.asarray(d2, dtype=np.float64).ravel()
    npix = np.asarray(npix, dtype=np.int64).ravel()
    if profile == "udef-arp":
        nrt = negligible_risk_threshold_udef_arp(distance_from_squared(d2, pixel_size_m), npix, pixel_size_m, share)
        if nrt.nrt_m > max_distance_m:
            raise SearchDistanceError(f"the NRT ({nrt.nrt_m:g} m) is not reached within the search distance "
                                      f"{max_distance_m:g} m; increase the search distance (--max-distance) to at "
                                      f"least {nrt.nrt_m:g} m", searched_m=max_distance_m, needed_m=nrt.nrt_m)
        return nrt
    counts = squared_distance_histogram(d2, npix, pixel_size_m, max_distance_m)
    try:
        return negligible_risk_threshold(counts, pixel_size_m, share)
    except SearchDistanceError as err:
        finite = np.isfinite(d2)
        far = float(np.sqrt(d2[finite].max())) * pixel_size_m if finite.any() else max_distance_m
        whole = squared_distance_histogram(d2, npix, pixel_size_m, max(far, max_distance_m) + pixel_size_m)
        try:
            needed = negligible_risk_threshold(whole, pixel_size_m, share).nrt_m
        except SearchDistanceError:          # infinite distances (no edge anywhere) hold the share
            needed = None
        msg = str(err) + (f" to at least {needed:g} m" if needed is not None else "")
        raise SearchDistanceError(msg, searched_m=err.searched_m, needed_m=needed) from None


def class_breaks(nrt_m: float, pixel_size_m: float, n_classes: int = N_CLASSES,
                 profile: str = "reddplus") -> np.ndarray:
    """Geometrically spaced upper bounds of classes ``n_classes .. 2`` between the pixel size and the NRT (step 3).

    Returns
    -------
    breaks : array [m], length ``n_classes - 1``, increasing; ``breaks[-1] == nrt_m``.
        Class ``n - j`` (j = 0 .. n-2) lies below ``breaks[j]`` and at or above ``breaks[j - 1]``
        (``udef-arp``) or above it (``reddplus``); class 1 lies beyond ``breaks[-1]``.

    Notes
    -----
    .. math:: b_j = p \\, (\\mathrm{NRT}/p)^{j/(n-1)},\\ j = 1..n-1

    VT0007 v1.0 section 5.1 step 3 [1] (29 geometric classes within the NRT, class 1 beyond it).
    The ``udef-arp`` profile uses UDef-ARP's breaks (:func:`class_breaks_udef_arp`), reversed.
    """
    if check_profile(profile) == "udef-arp":
        return class_breaks_udef_arp(nrt_m, pixel_size_m, n_classes)[::-1][1:].copy()
    if nrt_m < pixel_size_m:
        raise ModelError(f"NRT {nrt_m} m is below the pixel size {pixel_size_m} m")
    j = np.arange(1, n_classes)
    b = pixel_size_m * (nrt_m / pixel_size_m) ** (j / (n_classes - 1))
    b[-1] = nrt_m
    return b


def class_breaks_udef_arp(nrt_m: float, pixel_size_m: float, n_classes: int = N_CLASSES) -> np.ndarray:
    """UDef-ARP's class limits ``b_0 = UL > b_1 > ... > b_(n-1) = LL`` [m] (step 3, ``udef-arp`` profile).

    .. math:: UL = \\lfloor \\mathrm{NRT} \\rfloor,\\ LL = \\lfloor p \\rfloor,\\ r = (LL/UL)^{1/(n-1)},\\
              b_j = UL\\, r^j

    Class 1 is ``d >= b_0``; class ``k`` (2..n) is ``b_(k-1) <= d < b_(k-2)``. UDef-ARP
    ``geometric_classification`` [2] (``n_classes = 29`` ranges below the NRT).
    """
    ul, ll = int(nrt_m), int(pixel_size_m)
    if ul < ll or ll < 1:
        raise ModelError(f"NRT {nrt_m} m is below the pixel size {pixel_size_m} m")
    m = n_classes - 1
    r = np.power(ll / ul, 1 / m)
    b = np.multiply(ul, np.power(r, np.arange(n_classes)))
    b[0], b[m] = ul, ll
    return b


def vulnerability_classes(distance_m: np.ndarray, forest: np.ndarray, nrt_m: float, pixel_size_m: float,
                          n_classes: int = N_CLASSES, profile: str = "reddplus") -> np.ndarray:
    """Vulnerability class of each forest pixel: 1 beyond the NRT, 30 nearest the edge (step 3).

    Parameters
    ----------
    distance_m : array [m]
    forest : array of bool
    nrt_m, pixel_size_m : float [m]
    profile : {"reddplus", "udef-arp"}
        ``reddplus``: upper-closed ranges (``d = NRT`` in class 2); ``udef-arp``: UDef-ARP's rule
        (:func:`vulnerability_classes_udef_arp`).

    Returns
    -------
    classes : array of uint8; 0 = not forest.

    Notes
    -----
    .. math:: c = n - \\#\\{j : b_j < d\\}\\ \\text{for}\\ d \\le \\mathrm{NRT};\\ c = 1\\ \\text{for}\\ d > \\mathrm{NRT}

    VT0007 v1.0 section 5.1 step 3 [1].
    """
    if check_profile(profile) == "udef-arp":
        return vulnerability_classes_udef_arp(distance_m, forest, nrt_m, pixel_size_m, n_classes)
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


def vulnerability_classes_udef_arp(distance_m: np.ndarray, forest: np.ndarray, nrt_m: float, pixel_size_m: float,
                                   n_classes: int = N_CLASSES) -> np.ndarray:
    """Vulnerability classes as UDef-ARP assigns them (step 3, ``udef-arp`` profile).

    Parameters
    ----------
    distance_m : array of float32 [m]
        Distance to the edge (UDef-ARP reads a float32 raster; other types are cast to float32).
    forest : array of bool
        Forest inside the jurisdiction (elsewhere 0).
    nrt_m, pixel_size_m : float [m]

    Returns
    -------
    classes : array of uint8; 0 = not forest.

    Notes
    -----
    .. math:: c = 1\\ \\text{if}\\ d \\ge UL;\\quad c = k\\ \\text{if}\\ b_{k-1} \\le d < b_{k-2}

    with the limits of :func:`class_breaks_udef_arp` rounded to float32, as UDef-ARP compares
    them with its float32 distances. UDef-ARP writes each class value into the distance array in
    turn (class 1, then 2, 3, ...), so a value already written can fall into a later range and
    move again; that sequence is replayed here exactly (it only moves pixels when
    ``int(p) < n_classes``). UDef-ARP ``geometric_classification`` [2].
    """
    b = class_breaks_udef_arp(nrt_m, pixel_size_m, n_classes).astype(np.float32).astype(np.float64)
    m = n_classes - 1
    # final value of a class value written at step t, after UDef-ARP's later steps t+1 .. m-1
    final = np.arange(n_classes + 1, dtype=np.float64)
    for start in range(1, n_classes + 1):
        x = float(start)
        for i in range(start - 1, m):             # class 1 is written before step 0, class k at step k - 2
            if b[i] > x >= b[i + 1]:
                x = float(i + 2)
        final[start] = x
    d, f = np.broadcast_arrays(np.asarray(distance_m, dtype=np.float32), np.asarray(forest, dtype=bool))
    out = np.empty(d.size, np.uint8)
    _udef_classes_kernel(np.ascontiguousarray(d).reshape(-1), np.ascontiguousarray(f).reshape(-1), b,
                         final.astype(np.uint8), out)
    return out.reshape(f.shape)


@njit(nogil=True, cache=True)
def _udef_classes_kernel(d, forest, b, final, out):  # pragma: no cover - numba
    nb = b.size                                 # b[0] = UL > ... > b[nb - 1] = LL
    for i in range(d.size):
        x = np.float64(d[i])
        if not forest[i] or not x > 0.0:
            out[i] = 0
            continue
        lo, hi = 0, nb                          # m = #{j : b[j] > x} (b decreasing)
        while lo < hi:
            mid = (lo + hi) >> 1
            if b[mid] > x:
                lo = mid + 1
            else:
                hi = mid
        if lo == 0:
            out[i] = final[1]
        elif lo < nb:
            out[i] = final[lo + 1]
        else:                                   # below LL: UDef-ARP leaves the distance (cast to int16)
            out[i] = np.uint8(min(int(x), 255))


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


def region_cell_counts(classes: np.ndarray, zones: np.ndarray | None, n_zones: int, select: np.ndarray | None = None,
                       cell_rows: np.ndarray | None = None, cell_cols: np.ndarray | None = None, n_cells: int = 0,
                       n_classes: int = N_CLASSES) -> dict:
    """Pixels per modelling region (class x admin division), in total and per assessment cell (steps 4 and 7).

    Parameters
    ----------
    classes : array of uint8, (rows, cols)
        Vulnerability classes (0 = not forest).
    zones : array of int, (rows, cols), optional
        Admin division of each pixel (``0 .. n_zones - 1``); ``None``: all 0.
    select : array of bool, optional
        Pixels deforested in the period (counted apart).
    cell_rows, cell_cols : array of int, optional
        The assessment cell of pixel ``(r, c)`` is ``cell_rows[r] + cell_cols[c]`` (``0 .. n_cells - 1``).

    Returns
    -------
    dict
        ``nforest``, ``ndefor``: ``[class, zone]`` pixel counts (``ndefor`` only with ``select``);
        with cells: ``cell_region`` ``[cell, class * n_zones + zone]`` forest pixels (class > 0),
        ``cell_defor`` ``[cell]`` selected pixels.

    Notes
    -----
    .. math:: F_{c,z} = \\#\\{i : c_i = c, z_i = z\\},\\quad F_{k,c,z} = \\#\\{i \\in k : c_i = c > 0, z_i = z\\}

    One compiled pass. VT0007 v1.0 section 5.1 step 4 (modelling regions) and 5.2 [1].
    """
    cl = np.ascontiguousarray(classes, dtype=np.uint8)
    if cl.ndim != 2:
        raise ValueError("classes must be 2-D")
    has_z = zones is not None
    z = np.ascontiguousarray(zones) if has_z else np.zeros((1, 1), np.int32)
    nreg = (n_classes + 1) * n_zones
    has_sel = select is not None
    sel = np.ascontiguousarray(select, dtype=bool) if has_sel else np.zeros((1, 1), bool)
    has_cells = cell_rows is not None
    crow = np.ascontiguousarray(cell_rows, dtype=np.int64) if has_cells else np.zeros(1, np.int64)
    ccol = np.ascontiguousarray(cell_cols, dtype=np.int64) if has_cells else np.zeros(1, np.int64)
    nf = np.zeros(nreg, np.int64)
    nd = np.zeros(nreg, np.int64)
    cr = np.zeros(n_cells * nreg if has_cells else 1, np.int64)
    cd = np.zeros(n_cells if has_cells else 1, np.int64)
    _region_counts_kernel(cl, has_z, z, n_zones, has_sel, sel, has_cells, crow, ccol, nreg, nf, nd, cr, cd)
    out = {"nforest": nf.reshape(n_classes + 1, n_zones)}
    if has_sel:
        out["ndefor"] = nd.reshape(n_classes + 1, n_zones)
    if has_cells:
        out["cell_region"] = cr.reshape(n_cells, nreg)
        out["cell_defor"] = cd
    return out


@njit(nogil=True, cache=True)
def _region_counts_kernel(cl, has_z, z, nz, has_sel, sel, has_cells, crow, ccol, nreg, nf, nd, cr,
                          cd):  # pragma: no cover - numba
    nr, nc = cl.shape
    for r in range(nr):
        for c in range(nc):
            k = cl[r, c]
            reg = k * nz + (z[r, c] if has_z else 0)
            nf[reg] += 1
            s = has_sel and sel[r, c]
            if s:
                nd[reg] += 1
            if has_cells:
                cell = crow[r] + ccol[c]
                if k > 0:
                    cr[cell * nreg + reg] += 1
                if s:
                    cd[cell] += 1


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
    class_filled: np.ndarray | None = None   # bool [class]: class absent from the fit everywhere (neighbour fill)

    def missing_classes(self, present: np.ndarray) -> list[int]:
        """Classes (1..n) with pixels in ``present`` (``[class, zone]`` counts of a prediction map) but no
        forest in this fit anywhere: their densities are the neighbour fill of :func:`fitted_density`."""
        present = np.asarray(present)
        used = present[1:].sum(axis=1) > 0
        cf = self.class_filled if self.class_filled is not None else np.zeros(self.n_classes + 1, bool)
        return [int(c) for c in np.nonzero(used & cf[1:])[0] + 1]

    def class_table(self) -> list[dict]:
        nf = self.nforest.sum(axis=1)
        nd = self.ndefor.sum(axis=1)
        cf = self.class_filled if self.class_filled is not None else np.zeros(self.n_classes + 1, bool)
        rows = []
        for c in range(1, self.n_classes + 1):
            if nf[c]:
                dens = nd[c] / nf[c] * self.pixel_area_ha
            else:
                dens = float(self.density_ha_per_pixel[c, 0]) if cf[c] else 0.0
            rows.append({"class": c, "nforest": int(nf[c]), "ndefor": int(nd[c]),
                         "forest_ha": nf[c] * self.pixel_area_ha, "defor_ha": nd[c] * self.pixel_area_ha,
                         "density_ha_per_pixel": float(dens),
                         "density_ha_per_pixel_per_year": float(dens / self.years),
                         "filled_from_neighbours": bool(cf[c])})
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
        A region with no forest in the fit gets its class's area-weighted density (the rule of
        UDef-ARP's ``calculate_missing_bins_rf``). A class with no forest in the fit in any
        division gets the pooled density of the nearest fitted class below and above it (one
        side at the ends of the class range), flagged in ``class_filled``; UDef-ARP gives NaN there
        (0/0) and the whole map becomes NaN, an earlier reddplus 0. The tools warn
        (:class:`~reddplus.errors.MissingClassWarning`) when a prediction map uses such a class.

    Notes
    -----
    .. math:: \\delta_{c,z} = \\frac{D_{c,z}}{F_{c,z}}\\, a_{pix};\\quad
              \\delta_{c,\\cdot} = \\frac{\\sum_z D_{c,z}}{\\sum_z F_{c,z}}\\, a_{pix};\\quad
              \\delta_{c} = \\frac{D_{c^-} + D_{c^+}}{F_{c^-} + F_{c^+}}\\, a_{pix}\\ (F_c = 0)

    with :math:`c^-`, :math:`c^+` the nearest classes with forest below and above :math:`c`.
    VT0007 v1.0 section 5.1 steps 4-5 [1]; UDef-ARP ``create_relative_frequency_table`` [2].
    """
    nforest = np.asarray(nforest, dtype=np.int64)
    ndefor = np.asarray(ndefor, dtype=np.int64)
    if ndefor[1:].sum() == 0:
        raise ModelError("no deforestation in the fit period: cannot fit the VT0007 density (step 5)")
    nf, nd = nforest.sum(axis=1), ndefor.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        dens = ndefor / nforest * pixel_area_ha
        cls = nd / nf * pixel_area_ha
    class_filled = nf == 0
    class_filled[0] = False
    fitted = np.nonzero(nf[1:] > 0)[0] + 1
    for c in np.nonzero(class_filled)[0]:
        lo, hi = fitted[fitted < c], fitted[fitted > c]
        pick = [x[i] for x, i in ((lo, -1), (hi, 0)) if x.size]
        cls[c] = sum(nd[k] for k in pick) / sum(nf[k] for k in pick) * pixel_area_ha
    filled = nforest == 0
    dens = np.where(filled, cls[:, None], dens)
    dens[0] = 0.0
    ids = np.arange(nforest.shape[1], dtype=np.int64) if zone_ids is None else np.asarray(zone_ids)
    return DensityTable(nforest.shape[0] - 1, ids, nforest, ndefor, dens, float(years), float(pixel_area_ha), filled,
                        class_filled)


@dataclass(frozen=True)
class Adjustment:
    """Result of the adjustment ratio (VT0007 step 6).

    ``ratio`` is the effective factor on the densities that stay below the cap (for the
    ``udef-arp`` loop the product of its ratios); ``ratios`` the sequence applied in turn, each
    followed by the cap (empty: ``(ratio,)``); ``converged`` is False when UDef-ARP's loop stopped
    at ``max_iterations``.
    """

    ratio: float
    iterations: int
    capped_share: float       # share of forest pixels at the cap
    allocated_ha: float
    expected_ha: float
    ratios: tuple = ()
    converged: bool = True
    max_iterations: int | None = None
    rule: str = "reddplus"

    @property
    def allocation_error(self) -> float:
        return (self.allocated_ha - self.expected_ha) / self.expected_ha if self.expected_ha else 0.0

    def adjust(self, density: np.ndarray, cap_ha: float) -> np.ndarray:
        """Adjusted densities: each ratio of ``ratios`` applied in turn, capped at ``cap_ha`` after each.

        .. math:: \\hat\\delta = \\min(AR_m \\cdots \\min(AR_1 \\delta, a) \\cdots, a)
        """
        out = np.asarray(density, dtype=np.float64)
        for ar in self.ratios or (self.ratio,):
            out = np.minimum(ar * out, cap_ha)
        return out

    def to_dict(self) -> dict:
        return {"ratio": self.ratio, "ratios": list(self.ratios or (self.ratio,)), "iterations": self.iterations,
                "converged": self.converged, "max_iterations": self.max_iterations, "capped_share": self.capped_share,
                "allocated_ha": self.allocated_ha, "expected_ha": self.expected_ha,
                "allocation_error": self.allocation_error, "rule": self.rule}


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


def adjustment_ratio_udef_arp(density_values: np.ndarray, pixel_counts: np.ndarray, target_ha: float,
                              cap_ha: float, max_iterations: int = UDEF_ARP_MAX_ITERATIONS) -> Adjustment:
    """UDef-ARP's iterative adjustment ratio (step 6, ``udef-arp`` profile).

    Parameters
    ----------
    density_values : array [ha/pixel]
        Distinct densities (per modelling region) of the prediction map.
    pixel_counts : array of int
        Pixels having each density.
    target_ha : float [ha]
        The total the adjusted map must reach (the observed CNF deforestation, or the expected
        VP deforestation [ha/yr]).
    cap_ha : float [ha]
        The pixel area.
    max_iterations : int
        UDef-ARP's "maximum number of iterations" (its GUI suggests 5).

    Returns
    -------
    Adjustment
        ``ratios`` every AR computed, ``ratio`` their product, ``iterations`` the loop count,
        ``converged`` False when the loop stopped at the limit (UDef-ARP then writes no map).

    Notes
    -----
    .. math:: AR_1 = \\frac{T}{\\sum_i \\delta_i};\\quad \\delta^{(k)} = \\min(AR_k\\,\\delta^{(k-1)}, a),\\
              AR_{k+1} = \\frac{T}{\\sum_i \\delta^{(k)}_i}\\ \\text{while}\\ AR_k > 1.00001,\\ k \\le K;\\quad
              \\hat\\delta = \\min(AR_{last}\\,\\delta^{(last)}, a)

    UDef-ARP ``execute_workflow_cnf`` / ``execute_workflow_vp`` [2]; VT0007 v1.0 section 5.1 step 6 [1].
    The sums run over the distinct values weighted by their pixel counts (same values, other order).
    """
    d = np.asarray(density_values, dtype=np.float64).ravel()
    n = np.asarray(pixel_counts, dtype=np.float64).ravel()
    keep = n > 0
    d, n = d[keep], n[keep]
    ar = target_ha / float((d * n).sum())
    ratios = [ar]
    it = 0
    cur = d
    while ar > 1.00001 and it <= max_iterations:
        cur = np.minimum(ar * cur, cap_ha)
        ar = target_ha / float((cur * n).sum())
        ratios.append(ar)
        it += 1
    final = np.minimum(ar * cur, cap_ha)
    total = n.sum()
    capped = float(n[final >= cap_ha].sum() / total) if total else 0.0
    return Adjustment(float(np.prod(ratios)), it, capped, float((final * n).sum()), float(target_ha),
                      tuple(float(x) for x in ratios), it <= max_iterations, int(max_iterations), "udef-arp")


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


def assessment_metrics(predicted_ha: np.ndarray, observed_ha: np.ndarray, name: str = "",
                       profile: str = "reddplus") -> Assessment:
    """MedAE (primary), MAE and R² of predicted vs observed deforestation over assessment cells (step 7).

    Parameters
    ----------
    predicted_ha, observed_ha : array [ha]
        Per assessment cell (cells with no forest at the start are excluded by the caller).
    profile : {"reddplus", "udef-arp"}
        ``reddplus``: in float64, R² = 1 - SS_res/SS_tot. ``udef-arp``: UDef-ARP's
        ``create_plot``: the cell totals cast to float32, absolute errors in float32, R² = the
        squared Pearson correlation.

    Notes
    -----
    .. math:: \\mathrm{MedAE} = \\operatorname{median}_k |\\hat y_k - y_k|,\\quad
              R^2 = 1 - \\frac{\\sum (\\hat y_k - y_k)^2}{\\sum (y_k - \\bar y)^2}\\quad
              (\\texttt{udef-arp}: R^2 = r_{\\hat y y}^2)

    VT0007 v1.0 section 5.2 (model assessment) [1]; UDef-ARP ``create_plot`` [2].
    """
    if check_profile(profile) == "udef-arp":
        o32 = np.asarray(observed_ha, dtype=np.float32)
        p32 = np.asarray(predicted_ha, dtype=np.float32)
        if p32.size == 0:
            raise ModelError("no full assessment cell lies inside the jurisdiction")
        err = np.abs(o32 - p32)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.corrcoef(o32, p32)[0, 1] if p32.size > 1 else float("nan")
        return Assessment(name, int(p32.size), float(np.median(err)), float(np.sum(err)) / len(err), float(r ** 2),
                          p32.astype(np.float64), o32.astype(np.float64))
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


@dataclass(frozen=True)
class AssessmentGrid:
    """Square assessment cells on the pixel grid (step 7).

    Pixel ``(r, c)`` is in cell ``((r + offset) // side, (c + offset) // side)``, numbered
    row-major over ``n_rows x n_cols`` cells. ``full_cells_only``: keep only the cells whose
    part inside the jurisdiction exceeds ``keep_share`` of the largest part (UDef-ARP);
    otherwise every cell with forest at the period start.
    """

    side: int
    offset: int
    n_rows: int
    n_cols: int
    full_cells_only: bool = False
    keep_share: float = 0.999

    @property
    def n_cells(self) -> int:
        return self.n_rows * self.n_cols

    @property
    def cell_area_px(self) -> int:
        return self.side * self.side

    def cell_rows_cols(self, row0: int, col0: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, cols)``: the cell number of pixel ``(r, c)`` of the window is ``rows[r] + cols[c]``."""
        rows = (np.arange(row0, row0 + height) + self.offset) // self.side
        cols = (np.arange(col0, col0 + width) + self.offset) // self.side
        return rows * self.n_cols, cols

    def cell_of(self, row0: int, col0: int, height: int, width: int) -> np.ndarray:
        """Cell number of each pixel of the window (row-major, int64)."""
        rows, cols = self.cell_rows_cols(row0, col0, height, width)
        return rows[:, None] + cols[None, :]

    def select(self, jurisdiction_px: np.ndarray, forest_px: np.ndarray) -> np.ndarray:
        """Cells kept for the assessment (bool per cell) from their jurisdiction and forest pixel counts.

        .. math:: \\texttt{udef-arp}:\\ n_k / \\max_j n_j > 0.999;\\quad \\texttt{reddplus}:\\ F_k > 0
        """
        if not self.full_cells_only:
            return np.asarray(forest_px) > 0
        n = np.asarray(jurisdiction_px, dtype=np.float64)
        if not n.any():
            return np.zeros(n.shape, bool)
        return n / n.max() > self.keep_share


def assessment_grid(shape: tuple[int, int], pixel_size_m: float, cell_area_ha: float = 100_000.0,
                    profile: str = "reddplus", pixel_area_ha: float | None = None) -> AssessmentGrid:
    """The assessment cells of a raster of ``shape`` (step 7), as each profile lays them.

    ``reddplus``: side ``round(sqrt(A / a))`` (:func:`cell_side_pixels`), anchored at the top-left
    corner, every cell with forest. ``udef-arp``: UDef-ARP's ``create_thiessen_polygon``: side
    ``int(sqrt(A 10^4)) // int(p)`` (truncated: 100,000 ha at 100 m gives 316 px = 99,856 ha), Thiessen
    squares centred on the points ``(k s, l s)`` from the raster's corner (offset ``s // 2``; for an
    odd side the cell edges fall on pixel centres, assigned here to the cell below/right), full
    cells inside the jurisdiction only. ``A`` must then be a whole number of hectares (UDef-ARP
    applies ``int()`` to the typed text).

    .. math:: s = \\left\\lfloor \\sqrt{A\\,10^4} \\right\\rfloor \\,//\\, \\lfloor p \\rfloor

    VT0007 v1.0 section 5.2 [1]; UDef-ARP ``create_thiessen_polygon`` [2].
    """
    h, w = shape
    if check_profile(profile) == "udef-arp":
        if cell_area_ha <= 0 or cell_area_ha != int(cell_area_ha):
            raise InputDataError(f"the udef-arp profile takes a whole number of hectares as the assessment cell "
                                 f"area (UDef-ARP reads it as an integer), got {cell_area_ha}", column="cell_area_ha")
        side = int(math.sqrt(int(cell_area_ha) * 10_000)) // int(pixel_size_m)
        if side < 1:
            raise InputDataError(f"assessment cells of {cell_area_ha} ha are smaller than a pixel",
                                 column="cell_area_ha")
        off = side // 2
        return AssessmentGrid(side, off, (h - 1 + off) // side + 1, (w - 1 + off) // side + 1, True)
    side = cell_side_pixels(pixel_area_ha or pixel_size_m * pixel_size_m / 10_000, cell_area_ha)
    return AssessmentGrid(side, 0, -(-h // side), -(-w // side), False)


def accept_alternative(benchmark_cal: Assessment, benchmark_cnf: Assessment, alt_cal: Assessment,
                       alt_cnf: Assessment) -> bool:
    """VT0007 acceptance rule: an alternative model replaces the benchmark only if its MedAE is lower in
    **both** the calibration fit and the confirmation prediction.

    .. math:: \\mathrm{MedAE}^{alt}_{CAL} < \\mathrm{MedAE}^{bm}_{CAL} \\wedge
              \\mathrm{MedAE}^{alt}_{CNF} < \\mathrm{MedAE}^{bm}_{CNF}

    VT0007 v1.0 section 5.3 [1].
    """
    return alt_cal.medae_ha < benchmark_cal.medae_ha and alt_cnf.medae_ha < benchmark_cnf.medae_ha
