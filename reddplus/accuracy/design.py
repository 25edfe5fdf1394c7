"""Stratified random sample design on a change-map raster, streamed block by block.

Two passes over the raster (never loaded whole):

1. count the pixels of every stratum (map class) block by block;
2. draw, per stratum, ``n_h`` distinct *ranks* among its ``N_h`` pixels with a seeded
   generator (:func:`draw_ranks`), then stream the blocks again in the same order and pick
   the pixels whose running rank was drawn (:func:`pick_ranks_in_block`).

Every pixel of a stratum has the same inclusion probability ``n_h / N_h``, as stratified
random sampling requires (Olofsson et al. 2014, section 5.1; Stehman 2014, section 2).
The sample size comes from eq. 13 of Olofsson et al. (2014) and the allocation gives rare
strata a minimum (:mod:`reddplus.accuracy.sample_size`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from reddplus.accuracy.sample_size import (allocate_with_minimum, expected_overall_accuracy_se,
                                           sample_size_overall_accuracy)
from reddplus.errors import InputDataError

log = logging.getLogger(__name__)

__all__ = ["SampleDesign", "draw_ranks", "pick_ranks_in_block", "count_strata", "design_sample"]

#: working memory per pixel of a block (class codes, one boolean mask, positions)
_BYTES_PER_PIXEL = 24


@dataclass(frozen=True)
class SampleDesign:
    """A drawn stratified random sample.

    Attributes
    ----------
    strata : pandas.DataFrame
        One row per stratum: ``stratum`` (map class code), ``mapped_pixels`` [pixels],
        ``weight`` [-], ``expected_user_accuracy`` [-], ``n`` [samples].
    points : pandas.DataFrame
        ``point_id, row, col, x, y`` [raster CRS units], ``lon, lat`` [degrees, EPSG:4326],
        ``stratum``, ``map_class``; in random order (blind interpretation).
    n_required : int [samples]
        Sample size from eq. 13 (before the minimum per stratum).
    target_se : float [-]
        Target SE of the overall accuracy.
    expected_overall_accuracy_se : float [-]
        SE of the overall accuracy expected from the allocation (eq. 5 with conjectured UA).
    seed : int
        Seed of the generator (the same seed gives the same points).
    crs : str
        CRS of ``x, y`` (WKT or EPSG code).
    pixel_area_ha : float [ha]
    """

    strata: pd.DataFrame
    points: pd.DataFrame
    n_required: int
    target_se: float
    expected_overall_accuracy_se: float
    seed: int
    crs: str
    pixel_area_ha: float
    min_per_stratum: int

    def to_dict(self) -> dict:
        return {
            "n_required": self.n_required,
            "n_total": int(self.strata["n"].sum()),
            "target_se": self.target_se,
            "expected_overall_accuracy_se": self.expected_overall_accuracy_se,
            "min_per_stratum": self.min_per_stratum,
            "seed": self.seed,
            "crs": self.crs,
            "pixel_area_ha": self.pixel_area_ha,
            "strata": self.strata.to_dict(orient="records"),
        }


def draw_ranks(stratum_size, n_h, seed: int | np.random.Generator) -> list[np.ndarray]:
    """Draw, for every stratum, ``n_h`` distinct ranks in ``[0, N_h)`` (sorted).

    Parameters
    ----------
    stratum_size : int array [pixels]
        :math:`N_h`.
    n_h : int array [samples]
    seed : int or numpy Generator

    Returns
    -------
    list of int64 arrays
        Sorted ranks per stratum; each subset of size :math:`n_h` is equally likely
        (simple random sampling without replacement within each stratum).

    Notes
    -----
    .. math:: \\pi_u = \\frac{n_h}{N_h} \\quad \\text{for every pixel } u \\text{ of stratum } h

    References
    ----------
    1. Stehman 2014, section 2 (stratified random sampling); Olofsson et al. 2014, section 5.1.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    out = []
    for N, n in zip(np.asarray(stratum_size, dtype=np.int64), np.asarray(n_h, dtype=np.int64)):
        if n > N:
            raise InputDataError(f"cannot draw {n} samples from a stratum of {N} pixels")
        out.append(np.sort(rng.choice(int(N), size=int(n), replace=False)).astype(np.int64) if n > 0
                   else np.empty(0, np.int64))
    return out


def pick_ranks_in_block(block: np.ndarray, values, ranks: list[np.ndarray], offsets: np.ndarray
                        ) -> tuple[list[np.ndarray], np.ndarray]:
    """Flat positions in ``block`` of the drawn ranks of every stratum; advance the offsets.

    Parameters
    ----------
    block : 2-d array
        Class codes of one block (row-major order within the block).
    values : sequence
        Class code of every stratum.
    ranks : list of sorted int arrays
        Ranks drawn per stratum (:func:`draw_ranks`), counted over the whole raster in block
        order, then row-major within each block.
    offsets : int array
        Pixels of each stratum met in previous blocks (updated in place and returned).

    Returns
    -------
    positions : list of int arrays
        Flat indices into ``block`` per stratum.
    offsets : int array
    """
    positions = []
    for k, v in enumerate(values):
        eq = block == v
        c = int(np.count_nonzero(eq))
        r = ranks[k]
        lo, hi = np.searchsorted(r, [offsets[k], offsets[k] + c])
        if hi > lo:
            positions.append(np.flatnonzero(eq)[r[lo:hi] - offsets[k]])
        else:
            positions.append(np.empty(0, np.int64))
        offsets[k] += c
    return positions, offsets


def _open_checked(path):
    from reddplus.raster import check_projected_metres, open_raster

    ds = open_raster(path)
    try:
        check_projected_metres(ds.crs, source=str(path))
        if not np.issubdtype(np.dtype(ds.dtypes[0]), np.integer):
            raise InputDataError(f"a change map must hold integer class codes; band 1 is {ds.dtypes[0]}",
                                 path=str(path))
    except Exception:
        ds.close()
        raise
    return ds


def _blocks(ds, block_size: int | None, memory_limit_bytes: int):
    from reddplus.raster import iter_blocks

    return iter_blocks((ds.height, ds.width), memory_limit_bytes=memory_limit_bytes,
                       bytes_per_pixel=_BYTES_PER_PIXEL, block_size=block_size)


def _value_counts(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of an integer block and their counts (bincount for 8/16-bit codes)."""
    if data.dtype.itemsize <= 2:
        lo = int(data.min()) if data.dtype.kind == "i" else 0
        cnt = np.bincount((data.ravel().astype(np.int64) - lo) if lo else data.ravel())
        vals = np.flatnonzero(cnt)
        return vals + lo, cnt[vals]
    return np.unique(data, return_counts=True)


def _block_counts(path, exclude: Iterable[int], block_size: int | None, memory_limit_bytes: int,
                  progress: Callable[[int], None] | None = None) -> tuple[list, list[int], np.ndarray]:
    """Pass 1: the blocks, the class codes present and a (blocks x classes) table of pixel counts."""
    from reddplus.raster import read_block

    excluded = set(int(v) for v in exclude)
    per_block: list[dict[int, int]] = []
    with _open_checked(path) as ds:
        nodata = ds.nodata
        blocks = list(_blocks(ds, block_size, memory_limit_bytes))
        for block in blocks:
            vals, cnt = _value_counts(read_block(ds, block, with_halo=False))
            per_block.append({int(v): int(c) for v, c in zip(vals.tolist(), cnt.tolist())
                              if not ((nodata is not None and v == nodata) or v in excluded)})
            if progress is not None:
                progress(1)
    values = sorted(set().union(*per_block)) if per_block else []
    table = np.array([[d.get(v, 0) for v in values] for d in per_block], dtype=np.int64).reshape(len(blocks),
                                                                                                 len(values))
    return blocks, values, table


def count_strata(path: str | os.PathLike, *, exclude: Iterable[int] = (), block_size: int | None = None,
                 memory_limit_bytes: int = 256 * 2**20) -> dict[int, int]:
    """Pixels per class code of a change-map raster [pixels], streamed by blocks.

    Nodata pixels and the codes in ``exclude`` are left out.
    """
    _, values, table = _block_counts(path, exclude, block_size, memory_limit_bytes)
    return {v: int(c) for v, c in zip(values, table.sum(axis=0))}


def design_sample(path: str | os.PathLike, expected_ua: Mapping[int, float], *, target_se: float = 0.01,
                  min_per_stratum: int = 50, seed: int | None = None, n_total: int | None = None,
                  exclude: Iterable[int] = (), default_ua: float | None = None, block_size: int | None = None,
                  memory_limit_bytes: int = 256 * 2**20,
                  progress: Callable[[int], None] | None = None) -> SampleDesign:
    """Stratified random sample of a change map: size (eq. 13), allocation, points.

    Parameters
    ----------
    path : path to a single-band integer GeoTIFF (projected CRS in metres)
        The strata are its class codes (nodata and ``exclude`` left out).
    expected_ua : mapping {class code: user's accuracy [-]}
        Conjectured user's accuracy of every stratum (``default_ua`` fills the others).
    target_se : float [-]
        Target SE of the overall accuracy (Olofsson et al. 2014 use 0.01).
    min_per_stratum : int [samples]
        Minimum for rare strata (50-100 in Olofsson et al. 2014, section 5.1.2).
    seed : int, optional
        Seed; drawn from OS entropy and recorded in the result when omitted.
    n_total : int [samples], optional
        Overrides the sample size from eq. 13.
    progress : callable, optional
        Called with 1 after every block of each pass (e.g. a progress bar's ``advance``).

    Returns
    -------
    SampleDesign
    """
    from pyproj import Transformer
    from rasterio.transform import xy

    from reddplus.raster import read_block

    blocks, values, table = _block_counts(path, exclude, block_size, memory_limit_bytes, progress)
    if not values:
        raise InputDataError("the map has no valid pixel to sample (all nodata or excluded)", path=str(path))
    counts = dict(zip(values, table.sum(axis=0).tolist()))
    ua_by_class = {int(k): float(v) for k, v in expected_ua.items()}
    unknown = sorted(set(ua_by_class) - set(values))
    if unknown:
        raise InputDataError(f"expected user's accuracy given for class(es) {unknown} absent from the map "
                             f"(classes present: {values})", path=str(path), column="expected_ua")
    missing = [v for v in values if v not in ua_by_class]
    if missing and default_ua is None:
        raise InputDataError(f"no expected user's accuracy for class(es) {missing}; give --expected-ua CLASS=UA for "
                             "each, a --default-ua, or --exclude them", path=str(path), column="expected_ua")
    ua = np.array([ua_by_class.get(v, default_ua) for v in values], dtype=float)
    N_h = np.array([counts[v] for v in values], dtype=np.int64)
    w = N_h / N_h.sum()
    n_req = sample_size_overall_accuracy(w, ua, target_se, population_size=float(N_h.sum()))
    n = n_req if n_total is None else int(n_total)
    n_h = allocate_with_minimum(n, w, min_per_stratum, stratum_size=N_h)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
    rng = np.random.default_rng(seed)
    ranks = draw_ranks(N_h, n_h, rng)
    log.info("sampling %d points in %d strata (seed %d)", int(n_h.sum()), len(values), seed)

    rows, cols, strata = [], [], []
    starts = np.vstack([np.zeros((1, len(values)), np.int64), np.cumsum(table, axis=0)])
    with _open_checked(path) as ds:
        crs, transform = ds.crs, ds.transform
        pixel_area_ha = abs(transform.a * transform.e - transform.b * transform.d) / 10_000.0
        for b, block in enumerate(blocks):
            if progress is not None:
                progress(1)
            # pass 2 reads only the blocks that hold a drawn rank (counts known from pass 1)
            if not any(np.searchsorted(r, starts[b, k]) < np.searchsorted(r, starts[b + 1, k])
                       for k, r in enumerate(ranks)):
                continue
            data = read_block(ds, block, with_halo=False)
            positions, _ = pick_ranks_in_block(data, values, ranks, starts[b].copy())
            for k, pos in enumerate(positions):
                if len(pos):
                    r, c = np.divmod(pos, data.shape[1])
                    rows.append(r + block.row_off)
                    cols.append(c + block.col_off)
                    strata.append(np.full(len(pos), values[k]))
    row = np.concatenate(rows) if rows else np.empty(0, np.int64)
    col = np.concatenate(cols) if cols else np.empty(0, np.int64)
    stratum = np.concatenate(strata) if strata else np.empty(0, np.int64)
    if len(row) != int(n_h.sum()):  # the raster changed between the passes, or a bug
        raise InputDataError(f"drew {len(row)} points instead of {int(n_h.sum())}: was the raster modified?",
                             path=str(path))
    order = rng.permutation(len(row))
    row, col, stratum = row[order], col[order], stratum[order]
    x, y = xy(transform, row, col, offset="center")
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    points = pd.DataFrame({
        "point_id": np.arange(1, len(row) + 1), "row": row, "col": col, "x": x, "y": y,
        "lon": np.asarray(lon), "lat": np.asarray(lat), "stratum": stratum, "map_class": stratum,
    })
    table = pd.DataFrame({"stratum": values, "mapped_pixels": N_h, "mapped_area_ha": N_h * pixel_area_ha,
                          "weight": w, "expected_user_accuracy": ua, "n": n_h})
    return SampleDesign(
        strata=table, points=points, n_required=n_req, target_se=float(target_se),
        expected_overall_accuracy_se=expected_overall_accuracy_se(w, ua, n_h), seed=int(seed),
        crs=crs.to_string(), pixel_area_ha=pixel_area_ha, min_per_stratum=int(min_per_stratum),
    )
