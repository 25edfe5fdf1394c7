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
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from reddplus.accuracy.sample_size import (allocate_with_minimum, expected_overall_accuracy_se,
                                           sample_size_overall_accuracy)
from reddplus.errors import InputDataError

log = logging.getLogger(__name__)

__all__ = ["SampleDesign", "count_strata", "design_reference_sample", "design_reference_sample_arrays",
           "design_sample", "draw_ranks", "pick_ranks_in_block"]

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


def _count_pass(read: Callable, blocks: list, skip: set, progress: Callable[[int], None] | None = None
                ) -> tuple[list[int], np.ndarray]:
    """Pass 1: the stratum codes present and a (blocks x strata) table of pixel counts."""
    per_block: list[dict[int, int]] = []
    for block in blocks:
        vals, cnt = _value_counts(read(block))
        per_block.append({int(v): int(c) for v, c in zip(vals.tolist(), cnt.tolist()) if v not in skip})
        if progress is not None:
            progress(1)
    values = sorted(set().union(*per_block)) if per_block else []
    table = np.array([[d.get(v, 0) for v in values] for d in per_block], dtype=np.int64).reshape(len(blocks),
                                                                                                 len(values))
    return values, table


def _block_counts(path, exclude: Iterable[int], block_size: int | None, memory_limit_bytes: int,
                  progress: Callable[[int], None] | None = None) -> tuple[list, list[int], np.ndarray]:
    """Pass 1 over a class raster: the blocks, the class codes present and their pixel counts per block."""
    from reddplus.raster import read_block

    with _open_checked(path) as ds:
        nodata = ds.nodata
        blocks = list(_blocks(ds, block_size, memory_limit_bytes))
        skip = set(int(v) for v in exclude) | ({int(nodata)} if nodata is not None and np.isfinite(nodata) else set())
        values, table = _count_pass(lambda b: read_block(ds, b, with_halo=False), blocks, skip, progress)
    return blocks, values, table


def count_strata(path: str | os.PathLike, *, exclude: Iterable[int] = (), block_size: int | None = None,
                 memory_limit_bytes: int = 256 * 2**20) -> dict[int, int]:
    """Pixels per class code of a change-map raster [pixels], streamed by blocks.

    Nodata pixels and the codes in ``exclude`` are left out.
    """
    _, values, table = _block_counts(path, exclude, block_size, memory_limit_bytes)
    return {v: int(c) for v, c in zip(values, table.sum(axis=0))}


def _allocate(values: list[int], counts: np.ndarray, ua_by_code: Mapping[int, float], default_ua: float | None,
              target_se: float, min_per_stratum: int, n_total: int | None, *, path: str, names=None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Expected UA per stratum, weights, allocation (eq. 13 + minimum) and the eq. 13 size."""
    names = names or (lambda v: v)
    unknown = sorted(set(ua_by_code) - set(values))
    if unknown:
        raise InputDataError(f"expected user's accuracy given for class(es) {[names(v) for v in unknown]} absent from "
                             f"the map (classes present: {[names(v) for v in values]})", path=path, column="expected_ua")
    missing = [v for v in values if v not in ua_by_code]
    if missing and default_ua is None:
        raise InputDataError(f"no expected user's accuracy for class(es) {[names(v) for v in missing]}; give "
                             "--expected-ua CLASS=UA for each, a --default-ua, or --exclude them", path=path,
                             column="expected_ua")
    ua = np.array([ua_by_code.get(v, default_ua) for v in values], dtype=float)
    N_h = np.asarray(counts, dtype=np.int64)
    w = N_h / N_h.sum()
    n_req = sample_size_overall_accuracy(w, ua, target_se, population_size=float(N_h.sum()))
    n = n_req if n_total is None else int(n_total)
    n_h = allocate_with_minimum(n, w, min_per_stratum, stratum_size=N_h)
    if n_total is None:
        # eq. 13 sizes a proportional allocation; the minimum for rare strata moves units away from it and
        # raises SE(O), so the total grows until the allocation as drawn meets the target
        for _ in range(60):
            se = expected_overall_accuracy_se(w, ua, n_h)
            if se <= target_se or n_h.sum() >= N_h.sum():
                break
            n = min(int(N_h.sum()), int(np.ceil(n * max(1.01, (se / target_se) ** 2))))
            n_h = allocate_with_minimum(n, w, min_per_stratum, stratum_size=N_h)
        if n_h.sum() > n_req:
            log.info("the minimum of %d per stratum raises SE(O) above %.4f at eq. 13's n = %d: %d units drawn",
                     min_per_stratum, target_se, n_req, int(n_h.sum()))
    return ua, w, n_h, n_req


def _pick_pass(read: Callable, blocks: list, values: list[int], table: np.ndarray, ranks: list[np.ndarray],
               progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pass 2: rows, columns and stratum codes of the drawn ranks (only blocks holding a drawn rank are read)."""
    rows, cols, strata = [], [], []
    starts = np.vstack([np.zeros((1, len(values)), np.int64), np.cumsum(table, axis=0)])
    for b, block in enumerate(blocks):
        if progress is not None:
            progress(1)
        if not any(np.searchsorted(r, starts[b, k]) < np.searchsorted(r, starts[b + 1, k])
                   for k, r in enumerate(ranks)):
            continue
        data = read(block)
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
    return row, col, stratum


def _points(row, col, stratum, map_class, rng, crs, transform) -> pd.DataFrame:
    """Points in random order (blind interpretation), pixel centres in the raster CRS and in lon/lat."""
    from pyproj import Transformer
    from rasterio.transform import xy

    order = rng.permutation(len(row))
    row, col, stratum, map_class = row[order], col[order], stratum[order], map_class[order]
    x, y = xy(transform, row, col, offset="center")
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    return pd.DataFrame({"point_id": np.arange(1, len(row) + 1), "row": row, "col": col, "x": x, "y": y,
                         "lon": np.asarray(lon), "lat": np.asarray(lat), "stratum": stratum, "map_class": map_class})


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
    from reddplus.raster import read_block

    blocks, values, table = _block_counts(path, exclude, block_size, memory_limit_bytes, progress)
    if not values:
        raise InputDataError("the map has no valid pixel to sample (all nodata or excluded)", path=str(path))
    N_h = table.sum(axis=0)
    ua, w, n_h, n_req = _allocate(values, N_h, {int(k): float(v) for k, v in expected_ua.items()}, default_ua,
                                  target_se, min_per_stratum, n_total, path=str(path))
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
    rng = np.random.default_rng(seed)
    ranks = draw_ranks(N_h, n_h, rng)
    log.info("sampling %d points in %d strata (seed %d)", int(n_h.sum()), len(values), seed)
    with _open_checked(path) as ds:
        crs, transform = ds.crs, ds.transform
        pixel_area_ha = abs(transform.a * transform.e - transform.b * transform.d) / 10_000.0
        row, col, stratum = _pick_pass(lambda b: read_block(ds, b, with_halo=False), blocks, values, table, ranks,
                                       progress)
    if len(row) != int(n_h.sum()):  # the raster changed between the passes, or a bug
        raise InputDataError(f"drew {len(row)} points instead of {int(n_h.sum())}: was the raster modified?",
                             path=str(path))
    points = _points(row, col, stratum, stratum, rng, crs, transform)
    strata = pd.DataFrame({"stratum": values, "mapped_pixels": N_h, "mapped_area_ha": N_h * pixel_area_ha,
                           "weight": w, "expected_user_accuracy": ua, "n": n_h})
    return SampleDesign(
        strata=strata, points=points, n_required=n_req, target_se=float(target_se),
        expected_overall_accuracy_se=expected_overall_accuracy_se(w, ua, n_h), seed=int(seed),
        crs=crs.to_string(), pixel_area_ha=pixel_area_ha, min_per_stratum=int(min_per_stratum),
    )


def design_reference_sample(forest_change, period: tuple[int, int], *, jurisdiction: str | os.PathLike,
                            project: str | os.PathLike | None = None, leakage_belt: str | os.PathLike | None = None,
                            expected_ua: Mapping[str, float], default_ua: float | None = None,
                            target_se: float = 0.01, min_per_stratum: int = 50, n_total: int | None = None,
                            date_buffers: bool = False, seed: int | None = None, block_size: int | None = None,
                            memory_limit_bytes: int = 64 * 2**20,
                            progress: Callable[[int], None] | None = None) -> SampleDesign:
    """Stratified random sample of a forest-change map for a period's activity data, to be interpreted.

    The strata are the period's map classes (:data:`reddplus.accuracy.reference.CLASSES`) inside the
    jurisdiction, split by zone (``project``, ``leakage_belt``, ``other``) when a project or belt
    layer is given (strata differ from the map classes: estimate with Stehman 2014). The size gives a
    target SE of the overall accuracy (Olofsson et al. 2014 eq. 13); rare strata get at least
    ``min_per_stratum`` points, the rest is proportional (section 5.1.2). Every pixel of a stratum
    is equally likely (two passes over blocks, :func:`draw_ranks`).

    Parameters
    ----------
    forest_change : ForestChange
    period : (start, end) [year]
        Two forest-change dates: the map classes are those of ``(start, end]``.
    jurisdiction, project, leakage_belt : path
        Zone layers (pixel-centre rule); pixels outside the jurisdiction are not sampled.
    expected_ua : mapping {class name: user's accuracy [-]}
        Conjectured user's accuracy of each map class (applies to that class in every zone and to
        its date-buffer stratum).
    default_ua : float, optional
        For the classes not in ``expected_ua``.
    date_buffers : bool
        Also stratify the non-forest lost in the interval before the period (``non_forest_recent``)
        and the forest lost in the interval after it (``forest_next``), where interpreters most often
        misdate a loss (the temporal analogue of Olofsson et al. 2020's buffer stratum).
    seed : int, optional
        Drawn from OS entropy and recorded in the result when omitted.

    Returns
    -------
    SampleDesign
        ``strata`` and ``points`` with text labels (``project/deforestation``, ...), a ``period``
        column ``START-END`` in the points; an empty ``reference`` is added when written.
    """
    from reddplus.accuracy.reference import _burn_domains, _zone_layers

    fc = forest_change
    layers = _zone_layers(fc.grid, jurisdiction, project, leakage_belt)
    zoned = project is not None or leakage_belt is not None
    return _design_reference(lambda b: fc.read_codes(b, with_halo=False), lambda b: _burn_domains(layers, fc.grid, b),
                             fc.grid, tuple(int(d) for d in fc.dates), period, zoned=zoned,
                             where=",".join(str(p) for p in fc.paths), expected_ua=expected_ua, default_ua=default_ua,
                             target_se=target_se, min_per_stratum=min_per_stratum, n_total=n_total,
                             date_buffers=date_buffers, seed=seed, block_size=block_size,
                             memory_limit_bytes=memory_limit_bytes, progress=progress)


def design_reference_sample_arrays(codes: np.ndarray, zones: np.ndarray, grid, dates: Sequence[int],
                                   period: tuple[int, int], *, zoned: bool = True, **kwargs) -> SampleDesign:
    """:func:`design_reference_sample` on in-memory arrays (the same blocks, hence the same points for a seed).

    Parameters
    ----------
    codes : 2-d uint8 array
        Canonical forest-change codes (:mod:`reddplus.landcover.forest_change`).
    zones : 2-d int array
        1 project, 2 leakage belt, 3 rest of the jurisdiction, 0 outside (the pixel-centre burn).
    grid : Grid
    dates : sequence of int [year]
    zoned : bool
        Split the strata by zone (else only the jurisdiction, ``zones > 0``, is the population).
    **kwargs
        ``expected_ua``, ``default_ua``, ``target_se``, ``min_per_stratum``, ``n_total``,
        ``date_buffers``, ``seed``, ``block_size``, ``memory_limit_bytes``, ``progress``.
    """
    def cut(a):
        return lambda b: a[b.row_off:b.row_off + b.height, b.col_off:b.col_off + b.width]

    return _design_reference(cut(np.asarray(codes)), cut(np.asarray(zones)), grid, tuple(int(d) for d in dates),
                             period, zoned=zoned, where="in-memory arrays", **kwargs)


def _design_reference(read_codes: Callable, read_zones: Callable, grid, dates: tuple[int, ...],
                      period: tuple[int, int], *, zoned: bool, where: str, expected_ua: Mapping[str, float],
                      default_ua: float | None = None, target_se: float = 0.01, min_per_stratum: int = 50,
                      n_total: int | None = None, date_buffers: bool = False, seed: int | None = None,
                      block_size: int | None = None, memory_limit_bytes: int = 64 * 2**20,
                      progress: Callable[[int], None] | None = None) -> SampleDesign:
    from reddplus.accuracy.reference import (_ZONE_STEP, CLASSES, MAP_CLASS_OF, STRATUM_CLASSES,
                                             period_stratum_classes, stratum_codes, stratum_label)
    from reddplus.raster import iter_blocks

    for y in period:
        if int(y) not in dates:
            raise InputDataError(f"period {period[0]}-{period[1]}: {y} is not a forest-change date "
                                 f"({dates[0]}..{dates[-1]})", column="period")
    k0, k1 = dates.index(int(period[0])), dates.index(int(period[1]))
    if k1 <= k0:
        raise InputDataError(f"period {period[0]}-{period[1]} must end after it starts", column="period")
    unknown = sorted(set(expected_ua) - set(CLASSES))
    if unknown:
        raise InputDataError(f"unknown class(es) {unknown} in the expected user's accuracies; classes are "
                             f"{list(CLASSES)}", column="expected_ua")
    blocks = list(iter_blocks(grid.shape, memory_limit_bytes=memory_limit_bytes, bytes_per_pixel=40,
                              block_size=block_size))
    n_dates = len(dates)

    def read(block):
        classes = period_stratum_classes(read_codes(block), k0, k1, n_dates, date_buffers)
        zones = read_zones(block)
        if not zoned:
            return np.where(zones > 0, classes, 0).astype(np.uint8)
        return stratum_codes(classes, zones).astype(np.uint8)   # <= 29: small codes count by bincount

    def map_class(code: int) -> str:
        return MAP_CLASS_OF[STRATUM_CLASSES[code % _ZONE_STEP - 1]]

    values, table = _count_pass(read, blocks, {0}, progress)
    if not values:
        raise InputDataError("no pixel of the jurisdiction to sample", path=where)
    N_h = table.sum(axis=0)
    ua_by_code = {v: float(expected_ua[map_class(v)]) for v in values if map_class(v) in expected_ua}
    if default_ua is None:
        missing = sorted({map_class(v) for v in values} - set(expected_ua))
        if missing:
            raise InputDataError(f"no expected user's accuracy for class(es) {missing}; give --expected-ua CLASS=UA "
                                 "for each, or a --default-ua", path=where, column="expected_ua")
    ua, w, n_h, n_req = _allocate(values, N_h, ua_by_code, default_ua, target_se, min_per_stratum, n_total,
                                  path=where, names=stratum_label)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
    rng = np.random.default_rng(seed)
    ranks = draw_ranks(N_h, n_h, rng)
    log.info("reference sample %s-%s: %d points in %d strata", period[0], period[1], int(n_h.sum()), len(values))
    row, col, stratum = _pick_pass(read, blocks, values, table, ranks, progress)
    if len(row) != int(n_h.sum()):
        raise InputDataError(f"drew {len(row)} points instead of {int(n_h.sum())}: was the map modified?", path=where)
    labels = np.array([stratum_label(v) for v in stratum], dtype=object)
    classes = np.array([map_class(v) for v in stratum], dtype=object)
    points = _points(row, col, labels, classes, rng, grid.crs, grid.transform)
    points.insert(1, "period", f"{int(period[0])}-{int(period[1])}")
    area = grid.pixel_area_ha
    strata = pd.DataFrame({"stratum": [stratum_label(v) for v in values], "mapped_pixels": N_h,
                           "mapped_area_ha": N_h * area, "weight": w, "expected_user_accuracy": ua, "n": n_h})
    crs = grid.crs.to_string() if hasattr(grid.crs, "to_string") else str(grid.crs)
    return SampleDesign(strata=strata, points=points, n_required=n_req, target_se=float(target_se),
                        expected_overall_accuracy_se=expected_overall_accuracy_se(w, ua, n_h), seed=int(seed),
                        crs=crs, pixel_area_ha=area, min_per_stratum=int(min_per_stratum))
