"""Path-level VT0007 benchmark tool: streams the forest-change raster through the raster engine.

Exact out-of-core distances
---------------------------
The distance to the forest edge is the separable exact transform of Felzenszwalb & Huttenlocher
(:func:`~reddplus.risk.vt0007.squared_distance_to_edge`), streamed by full-width strips of rows.
Its column pass only needs, beyond a strip, the nearest non-forest row above and below the strip in
each column; its row pass works on whole rows. Pass 0 (:func:`edge_pass`) reads each strip once
and keeps the first and last non-forest row of every column (two int32 per column and strip, per
date), chained into those distances (:class:`EdgeSummary`). Every later strip then gets the same
distances as a whole-array EDT, bit for bit and at any length (``tests/risk/test_edt.py``,
``tests/risk/test_tools.py``), in memory bounded by the strip. So the search distance no longer
sets a halo or the cost: it only bounds the NRT (beyond it, :class:`~reddplus.errors.SearchDistanceError`
says the distance needed).

Passes, each a named function with a typed, frozen result, composed by :func:`vt0007_benchmark`:
:func:`edge_pass` -> :class:`EdgeSummary`; :func:`nrt_pass` -> :class:`NRTPass` (exact distances of
the CAL and HRP deforestation, their NRTs); :func:`class_pass` -> :class:`ClassPass` (class rasters,
region counts and, per assessment cell, region and deforestation counts); :func:`density_pass` ->
:class:`DensityPass` (the VP density rasters and the allocation to zones). :class:`BenchmarkSetup`
holds what they share; ``profile`` picks the reading of the VT0007 steps (see
:mod:`reddplus.risk.vt0007`). GDAL's block cache is bounded so that peak RSS stays flat as the
raster grows.

Speed: strips and blocks run on a thread pool and the per-pixel work is in compiled numba kernels
that release the GIL (column bounds, the exact EDT, classes, region counts, the local-rate running
sums), each checked bit for bit against the SciPy/numpy definition in ``tests/risk``. Output rasters
are staged uncompressed and compressed once (Zstandard level 1), when rewritten as the COG.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from reddplus.errors import ConfigError, ConvergenceWarning, MissingClassWarning, ReddplusWarning
from reddplus.raster import BlockWriter, Grid, burn_zones, iter_blocks, iter_strips, map_blocks, open_raster, \
    read_block, read_zones
from reddplus.raster.io import FAST_COG_OPTIONS, band_metadata
from reddplus.risk import vt0007 as v

log = logging.getLogger(__name__)

CODES_NODATA = 255
#: GDAL block cache for the risk tools [bytes]; GDAL's default (5 % of the RAM) makes peak RSS grow
#: with the raster size, while streamed strips and blocks need only a small cache (a row of input tiles)
GDAL_CACHE_BYTES = 64 * 2**20


def bounded_gdal_cache(fn):
    """Decorator: run a streamed tool with GDAL's block cache bounded to :data:`GDAL_CACHE_BYTES`."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import rasterio

        with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES):
            return fn(*args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class Periods:
    """VT0007 periods as date indices into ``ForestChange.dates`` (VT0007 v1.0 section 4).

    cal, cnf, hrp : (start, end) date indices; cnf may be None (no confirmation possible).
    vp_start : date index at which the validity-period risk map is made (end of the HRP).
    """

    cal: tuple[int, int]
    cnf: tuple[int, int] | None
    hrp: tuple[int, int]
    vp_start: int

    def to_dict(self, dates: Sequence[int]) -> dict:
        f = lambda p: None if p is None else [dates[p[0]], dates[p[1]]]  # noqa: E731
        return {"CAL": f(self.cal), "CNF": f(self.cnf), "HRP": f(self.hrp), "VP_start": dates[self.vp_start]}


def default_periods(dates: Sequence[int]) -> Periods:
    """CAL = first to second-last date, CNF = second-last to last, HRP = first to last, VP from the last."""
    n = len(dates)
    if n < 2:
        raise ConfigError("the risk map needs at least two dates", key="dates")
    if n == 2:
        return Periods((0, 1), None, (0, 1), 1)
    return Periods((0, n - 2), (n - 2, n - 1), (0, n - 1), n - 1)


def parse_periods(text: str | None, dates: Sequence[int]) -> Periods:
    """Parse ``CAL=2000-2010,CNF=2010-2020[,HRP=2000-2020][,VP=2020]`` into date indices."""
    if not text:
        return default_periods(dates)
    idx = {int(d): i for i, d in enumerate(dates)}
    got: dict[str, tuple[int, int] | int] = {}
    for part in text.split(","):
        m = re.fullmatch(r"\s*(CAL|CNF|HRP|VP)\s*=\s*(\d{4})(?:\s*-\s*(\d{4}))?\s*", part, re.I)
        if not m:
            raise ConfigError(f"cannot parse period {part!r}; expected e.g. CAL=2000-2010", key="periods")
        name, a, b = m.group(1).upper(), int(m.group(2)), m.group(3)
        for y in (a, int(b)) if b else (a,):
            if y not in idx:
                raise ConfigError(f"period {name} uses year {y}, not one of the dates {tuple(dates)}", key="periods")
        if name == "VP":
            got[name] = idx[a]
        else:
            if not b or idx[int(b)] <= idx[a]:
                raise ConfigError(f"period {name} must be START-END with END after START", key="periods")
            got[name] = (idx[a], idx[int(b)])
    base = default_periods(dates)
    cal = got.get("CAL", base.cal)
    cnf = got.get("CNF", base.cnf)
    hrp = got.get("HRP", (min(cal[0], cnf[0] if cnf else cal[0]), max(cal[1], cnf[1] if cnf else cal[1])))
    vp = got.get("VP", hrp[1])
    return Periods(cal, cnf, hrp, vp)


@dataclass(frozen=True)
class RiskResult:
    """Everything the VT0007 benchmark produced (rasters by path, tables, diagnostics).

    ``profile`` names the reading of the VT0007 steps (:data:`reddplus.risk.vt0007.PROFILES`);
    ``cnf_adjustment`` is the adjustment of the CNF prediction to the observed CNF total;
    ``vp_adjustment``, ``adjusted_density_path`` and ``allocation_ha_per_year`` are set when an
    expected deforestation was given.
    """

    nrt: v.NRT                 # NRT of the HRP deforestation (used for the CAL, CNF and VP maps)
    nrt_cal: v.NRT             # diagnostic: the NRT of the CAL deforestation alone
    periods: dict
    density_cal: v.DensityTable
    density_hrp: v.DensityTable
    assessment: list[v.Assessment]
    class_path: Path
    density_path: Path
    pixel_area_ha: float
    cell_side_pixels: int
    zone_labels: dict = field(default_factory=dict)
    profile: str = "reddplus"
    class_paths: dict = field(default_factory=dict)
    assessment_grid: v.AssessmentGrid | None = None
    cnf_adjustment: v.Adjustment | None = None
    vp_adjustment: v.Adjustment | None = None
    adjusted_density_path: Path | None = None
    allocation_ha_per_year: dict = field(default_factory=dict)
    missing_classes: dict = field(default_factory=dict)
    assessment_cells: dict = field(default_factory=dict)     # "CAL"/"CNF" -> cell numbers of the assessment rows

    @property
    def nrt_m(self) -> float:
        return self.nrt.nrt_m

    def class_table(self) -> list[dict]:
        """Per class: distance range [m] at the VP start, HRP forest/deforestation and fitted density."""
        rows = self.density_hrp.class_table()
        if self.profile == "udef-arp":
            b = v.class_breaks_udef_arp(self.nrt.nrt_m, self.nrt.pixel_size_m)
            for r in rows:             # class 1: d >= b_0; class c: b_(c-1) <= d < b_(c-2)
                c = r["class"]
                r["distance_min_m"], r["distance_max_m"] = (float(b[0]), None) if c == 1 else \
                    (float(b[c - 1]), float(b[c - 2]))
            return rows
        b = v.class_breaks(self.nrt.nrt_m, self.nrt.pixel_size_m)
        for r in rows:
            c = r["class"]
            if c == 1:
                r["distance_min_m"], r["distance_max_m"] = self.nrt.nrt_m, None
            else:
                i = v.N_CLASSES - c
                r["distance_min_m"], r["distance_max_m"] = (float(b[i - 1]) if i else 0.0), float(b[i])
        return rows

    def to_dict(self) -> dict:
        g = self.assessment_grid
        out = {
            "profile": self.profile,
            "nrt_m": self.nrt.nrt_m,
            "nrt_cumulative_share": self.nrt.cumulative_share,
            "nrt_cal_m": self.nrt_cal.nrt_m,
            "nrt_cal_cumulative_share": self.nrt_cal.cumulative_share,
            "periods": self.periods,
            "pixel_area_ha": self.pixel_area_ha,
            "class_table": self.class_table(),
            "assessment": [a.row() for a in self.assessment],
            "assessment_cell_side_pixels": self.cell_side_pixels,
            "assessment_cell_offset_pixels": g.offset if g else 0,
            "assessment_full_cells_only": g.full_cells_only if g else False,
            "class_raster": str(self.class_path),
            "density_raster": str(self.density_path),
            "cnf_adjustment": self.cnf_adjustment.to_dict() if self.cnf_adjustment else None,
            "missing_classes": self.missing_classes,
        }
        if self.vp_adjustment is not None:
            out["vp_adjustment"] = self.vp_adjustment.to_dict()
            out["adjusted_density_raster"] = str(self.adjusted_density_path)
            out["allocation_ha_per_year"] = self.allocation_ha_per_year
        return out


def _forest(codes: np.ndarray, k: int) -> np.ndarray:
    return (codes > k) & (codes != CODES_NODATA)


def _defor(codes: np.ndarray, k0: int, k1: int) -> np.ndarray:
    return (codes > k0) & (codes <= k1) & (codes != CODES_NODATA)


def _pixel_size(grid: Grid) -> float:
    px, py = grid.res
    if abs(px - py) > 1e-6 * px:
        raise ConfigError(f"VT0007 distances need square pixels; got {px} x {py} m", key="grid")
    return float(px)


def check_search_distance(max_distance_m: float, pixel_size_m: float) -> float:
    """The NRT search distance must be at least one pixel (``--max-distance`` / ``max_distance_m``)."""
    if not (max_distance_m >= pixel_size_m):        # also refuses NaN
        raise ConfigError(f"the NRT search distance (--max-distance) must be at least one pixel "
                          f"({pixel_size_m:g} m), got {max_distance_m:g} m", key="max_distance_m")
    return float(max_distance_m)


# ------------------------------------------------------------------------------------------ the passes
@dataclass(frozen=True)
class BenchmarkSetup:
    """What every pass of the benchmark reads: the input, its grid, the periods, the jurisdiction, the tiling.

    ``zones`` are the admin divisions (their union is the jurisdiction; ``None``: the whole raster,
    one division numbered 0); ``n_zones`` is the size of the zone axis of the region counts.
    ``strips`` (full-width rows, for the exact distance transform) serve passes 0-2, ``blocks``
    (no halo) pass 3.
    """

    forest_change: object
    periods: Periods
    pixel_size_m: float
    pixel_area_ha: float
    zones: object | None
    n_zones: int
    strips: tuple
    blocks: tuple
    max_distance_m: float
    scheduler: str | None = None
    profile: str = "reddplus"

    @property
    def grid(self) -> Grid:
        return self.forest_change.grid

    def zone_codes(self, block) -> np.ndarray:
        """Admin division of each core pixel of ``block`` (0 = outside the jurisdiction, or the only one)."""
        if self.zones is None:
            return np.zeros((block.height, block.width), np.int32)
        return burn_zones(self.zones, self.grid, block, dtype="int32")

    def years(self, period: tuple[int, int]) -> float:
        d = self.forest_change.dates
        return float(d[period[1]] - d[period[0]])

    def nrt_start(self) -> int:
        """Date index of the distances the NRT reads: the HRP start; the CAL start for ``udef-arp``
        (UDef-ARP's NRT screen takes the CAL-start distance map with the HRP deforestation)."""
        return self.periods.cal[0] if self.profile == "udef-arp" else self.periods.hrp[0]


def make_setup(forest_change, periods: Periods, *, zones=None, max_distance_m: float = 6000.0,
               scheduler: str | None = None, profile: str = "reddplus", memory_limit_bytes: int = 64 * 2**20,
               block_size: int | None = None) -> BenchmarkSetup:
    """A :class:`BenchmarkSetup`: strips and blocks sized from ``memory_limit_bytes`` (``block_size``
    overrides both the strip height and the block side, mainly for tests)."""
    grid = forest_change.grid
    pixel = _pixel_size(grid)
    check_search_distance(max_distance_m, pixel)
    nz = (int(zones.ids.max()) + 1) if zones is not None else 1
    strips = tuple(iter_strips(grid.shape, memory_limit_bytes=memory_limit_bytes, bytes_per_pixel=STRIP_BYTES_PER_PIXEL,
                               strip_height=block_size))
    blocks = tuple(iter_blocks(grid.shape, memory_limit_bytes=memory_limit_bytes, bytes_per_pixel=40,
                               block_size=block_size))
    return BenchmarkSetup(forest_change, periods, pixel, grid.pixel_area_ha, zones, nz, strips, blocks,
                          float(max_distance_m), scheduler, v.check_profile(profile))


#: working memory of a strip task of passes 1-2 [bytes per pixel]: codes, masks, squared distances
#: (float64), float32 distances, classes, zone codes and the region index
STRIP_BYTES_PER_PIXEL = 48


@dataclass(frozen=True)
class EdgeSummary:
    """Pass 0: for each strip and date, the rows from the strip up and down to the nearest non-forest pixel.

    ``above[k][i, c]`` (``below[k][i, c]``): rows from strip ``i``'s first (last) row to the nearest
    non-forest pixel above (below) it in column ``c`` at date index ``k``; -1 where there is none.
    int32, ``n_strips x width`` per date: all the rest of the raster that a strip's exact distance
    transform needs (:func:`reddplus.risk.vt0007.squared_distance_to_edge`).
    """

    dates: tuple
    above: dict
    below: dict

    def items(self, strips, dates=None):
        """``(strip, {date: (above, below)})`` for each strip, the task items of passes 1-2."""
        dates = self.dates if dates is None else dates
        for i, s in enumerate(strips):
            yield s, {k: (self.above[k][i], self.below[k][i]) for k in dates}


def edge_pass(setup: BenchmarkSetup, dates) -> EdgeSummary:
    """Pass 0: per strip and date, the first and last non-forest row of each column, chained into the
    distances to the nearest non-forest row above and below every strip (VT0007 step 1 support)."""
    fc = setup.forest_change
    dates = tuple(sorted(set(dates)))

    def task(strip):
        codes = fc.read_codes(strip, with_halo=False)
        out = {}
        for k in dates:
            first, last = v.nonforest_row_bounds(_forest(codes, k))
            out[k] = (np.where(first >= 0, first + strip.row_off, -1), np.where(last >= 0, last + strip.row_off, -1))
        return out

    strips = setup.strips
    n, w = len(strips), setup.grid.width
    first = {k: np.empty((n, w), np.int64) for k in dates}
    last = {k: np.empty((n, w), np.int64) for k in dates}
    index = {s.row_off: i for i, s in enumerate(strips)}
    for strip, res in map_blocks(task, strips, scheduler=setup.scheduler):
        i = index[strip.row_off]
        for k, (f, l) in res.items():
            first[k][i], last[k][i] = f, l
    above, below = {}, {}
    for k in dates:
        a = np.full((n, w), -1, np.int32)
        b = np.full((n, w), -1, np.int32)
        seen = np.full(w, -1, np.int64)                     # last non-forest row above the strip
        for i, s in enumerate(strips):
            a[i] = np.where(seen >= 0, s.row_off - seen, -1)
            seen = np.where(last[k][i] >= 0, last[k][i], seen)
        seen = np.full(w, -1, np.int64)                     # first non-forest row below the strip
        for i in range(n - 1, -1, -1):
            s = strips[i]
            b[i] = np.where(seen >= 0, seen - (s.row_off + s.height - 1), -1)
            seen = np.where(first[k][i] >= 0, first[k][i], seen)
        above[k], below[k] = a, b
        del first[k], last[k]
    return EdgeSummary(dates, above, below)


def _merge_counts(parts: list) -> tuple[np.ndarray, np.ndarray]:
    """Merge (values, counts) pairs into one table of distinct values (sorted) and summed counts."""
    if not parts:
        return np.zeros(0), np.zeros(0, np.int64)
    vals = np.concatenate([p[0] for p in parts])
    cnt = np.concatenate([p[1] for p in parts])
    u, inv = np.unique(vals, return_inverse=True)
    return u, np.bincount(inv.ravel(), weights=cnt, minlength=u.size).astype(np.int64)


@dataclass(frozen=True)
class NRTPass:
    """Pass 1 (VT0007 steps 1-2): the NRT of the HRP deforestation (used for every map) and of the CAL alone.

    ``tables``: per fit (``cal``, ``hrp``), the exact squared distances [pixels^2] of its
    deforested pixels inside the jurisdiction and their pixel counts.
    """

    hrp: v.NRT
    cal: v.NRT
    tables: dict = field(default_factory=dict)


def squared_distance_tables(setup: BenchmarkSetup, edges: EdgeSummary, fits: dict) -> dict:
    """Exact squared distances to the edge at each fit's start (``fits``: name -> ((start, end), start date of
    the distances)) of the pixels deforested in it inside the jurisdiction: name -> (D, pixels)."""
    fc = setup.forest_change
    starts = sorted({k for _, k in fits.values()})

    def task(item):
        strip, gaps = item
        codes = fc.read_codes(strip, with_halo=False)
        inside = setup.zone_codes(strip) > 0 if setup.zones is not None else None
        out = {}
        for k in starts:
            names = [n for n, (_, kd) in fits.items() if kd == k]
            sels = {}
            for n in names:
                sel = _defor(codes, *fits[n][0]) & _forest(codes, k)
                sels[n] = sel & inside if inside is not None else sel
            if not any(x.any() for x in sels.values()):
                continue
            d2 = v.squared_distance_to_edge(_forest(codes, k), *gaps[k])
            for n in names:
                out[n] = np.unique(d2[sels[n]], return_counts=True)
        return out

    parts: dict = {n: [] for n in fits}
    for _, res in map_blocks(task, edges.items(setup.strips, starts), scheduler=setup.scheduler):
        for n, t in res.items():
            parts[n].append(t)
            if len(parts[n]) >= 64:
                parts[n] = [_merge_counts(parts[n])]
    return {n: _merge_counts(p) for n, p in parts.items()}


def nrt_pass(setup: BenchmarkSetup, edges: EdgeSummary, *, nrt_share: float = v.NRT_SHARE) -> NRTPass:
    """Pass 1: exact distances of the CAL and HRP deforestation, and their NRTs (steps 1-2).

    One NRT, from the HRP deforestation, serves every map (VT0007 v1.0 section 5.1 step 2: "99.5 % of
    the deforestation experienced over the HRP"; UDef-ARP passes the HRP NRT to the CAL, CNF and VP
    maps); the CAL-only NRT is a diagnostic. The distances are exact whatever their length (the
    strips' transform), so the cost does not depend on the search distance.

    Raises
    ------
    SearchDistanceError
        The NRT lies beyond the search distance; ``needed_m`` says how far it is.
    """
    p = setup.periods
    tables = squared_distance_tables(setup, edges, {"cal": (p.cal, p.cal[0]), "hrp": (p.hrp, setup.nrt_start())})
    nrts = {n: v.nrt_from_squared_distances(*tables[n], setup.pixel_size_m, setup.max_distance_m, nrt_share,
                                            setup.profile) for n in ("hrp", "cal")}
    log.info("NRT (%s): CAL %.0f m (%.4f), HRP %.0f m (%.4f)", setup.profile, nrts["cal"].nrt_m,
             nrts["cal"].cumulative_share, nrts["hrp"].nrt_m, nrts["hrp"].cumulative_share)
    return NRTPass(nrts["hrp"], nrts["cal"], tables)


@bounded_gdal_cache
def nrt_histograms(forest_change, fits: dict[str, tuple[int, int]], *, max_distance_m: float = 6000.0,
                   scheduler: str | None = None, memory_limit_bytes: int = 64 * 2**20, block_size: int | None = None,
                   zones=None) -> dict[str, np.ndarray]:
    """Streamed histograms of distance to edge of the pixels deforested in each fit period (VT0007 steps 1-2).

    ``fits`` maps a name to (start, end) date indices; distances are taken at the start, exactly
    (passes 0-1 of the benchmark). Bins ``(i p, (i + 1) p]`` up to ``max_distance_m`` plus one
    overflow bin (:func:`~reddplus.risk.vt0007.distance_histogram`). With ``zones`` (the admin
    divisions) only deforestation inside the jurisdiction counts (distances still see the forest
    beyond it).
    """
    setup = make_setup(forest_change, default_periods(forest_change.dates), zones=zones, max_distance_m=max_distance_m,
                       scheduler=scheduler, memory_limit_bytes=memory_limit_bytes, block_size=block_size)
    edges = edge_pass(setup, {k for k, _ in fits.values()})
    tables = squared_distance_tables(setup, edges, {n: (f, f[0]) for n, f in fits.items()})
    return {n: v.squared_distance_histogram(*tables[n], setup.pixel_size_m, max_distance_m) for n in fits}


@dataclass(frozen=True)
class RegionCounts:
    """Pixels per modelling region (VT0007 step 4): ``[class 0..30, zone]``; class 0 = not forest."""

    nforest: np.ndarray
    ndefor: np.ndarray | None = None     # deforested in the period that starts at the map's date


@dataclass(frozen=True)
class CellCounts:
    """Per assessment cell (VT0007 step 7), from pass 2.

    ``regions[name]``: sparse ``(keys, pixels)`` with ``key = cell * R + class * n_zones + zone``
    (``R = 31 n_zones``), forest pixels of the ``cal`` / ``cnf`` map; ``defor[name]``: pixels
    deforested in the period per cell; ``jurisdiction``: pixels inside the jurisdiction per cell.
    """

    n_regions: int
    regions: dict
    defor: dict
    jurisdiction: np.ndarray

    def sums(self, name: str, values: np.ndarray, n_cells: int) -> np.ndarray:
        """Per cell, the sum over its forest pixels of ``values[class, zone]`` (e.g. densities [ha/pixel])."""
        keys, cnt = self.regions[name]
        return np.bincount(keys // self.n_regions, weights=cnt * np.ravel(values)[keys % self.n_regions],
                           minlength=n_cells)

    def forest(self, name: str, n_cells: int) -> np.ndarray:
        """Per cell, the forest pixels at the map's date."""
        keys, cnt = self.regions[name]
        return np.bincount(keys // self.n_regions, weights=cnt, minlength=n_cells)


@dataclass(frozen=True)
class ClassPass:
    """Pass 2 (VT0007 steps 3-4, and the cell counts of step 7): class rasters, region and cell counts.

    ``class_paths``: ``vp`` and (``period_class_rasters``) ``cal``, ``cnf`` (with a CNF) and ``hrp``
    (when the HRP starts on another date than the CAL) -> COG path (uint8, 0 = no forest);
    ``counts``: ``cal`` and ``hrp`` (forest at the start, deforested in the period), ``cnf``
    (forest at the CNF start and deforested in the CNF) and ``vp`` (forest at the VP start).
    """

    class_paths: dict
    counts: dict
    cells: CellCounts


def class_pass(setup: BenchmarkSetup, edges: EdgeSummary, nrt_m: float, grid: v.AssessmentGrid, out_dir: Path, *,
               overwrite: bool = False, period_class_rasters: bool = True) -> ClassPass:
    """Pass 2: vulnerability classes at the CAL, CNF, VP and HRP starts, region and cell counts (steps 3-4, 7).

    Exact distances by strips (pass 0's summary), classes by the setup's profile, 0 outside the
    jurisdiction. Writes ``classes_vp.tif`` and, with ``period_class_rasters``,
    ``classes_cal.tif``, ``classes_cnf.tif`` (and ``classes_hrp.tif`` when the HRP starts on
    another date than the CAL). The assessment needs no class raster: pass 2 counts the forest
    pixels of each region in each cell, so pass 3 only writes the density rasters.
    """
    fc, periods, pixel, nz = setup.forest_change, setup.periods, setup.pixel_size_m, setup.n_zones
    maps = {"cal": (periods.cal[0], periods.cal), "hrp": (periods.hrp[0], periods.hrp),
            "vp": (periods.vp_start, None)}
    if periods.cnf:
        maps["cnf"] = (periods.cnf[0], periods.cnf)
    written = ["vp"] + ([m for m in ("cal", "cnf", "hrp") if m in maps and (m != "hrp" or periods.hrp[0] !=
                                                                              periods.cal[0])]
                        if period_class_rasters else [])
    nreg = (v.N_CLASSES + 1) * nz

    def task(item):
        strip, gaps = item
        codes = fc.read_codes(strip, with_halo=False)
        z = setup.zone_codes(strip)
        outside = z == 0 if setup.zones is not None else None
        cls: dict[int, np.ndarray] = {}
        for k in {k for k, _ in maps.values()}:
            forest = _forest(codes, k)
            d = v.distance_to_edge_strip(forest, pixel, *gaps[k])
            if outside is not None:
                forest &= ~outside
            cls[k] = v.vulnerability_classes(d, forest, nrt_m, pixel, profile=setup.profile)
        crow, ccol = grid.cell_rows_cols(strip.row_off, strip.col_off, strip.height, strip.width)
        base = int(crow[0])
        crow = crow - base
        nloc = int(crow[-1] + ccol[-1]) + 1
        zz = z if setup.zones is not None else None
        counts, cells = {}, {}
        for name, (k, per) in maps.items():
            sel = None
            if per is not None:
                sel = _defor(codes, *per)
                if outside is not None:
                    sel &= ~outside
            want = name in ("cal", "cnf")
            r = v.region_cell_counts(cls[k], zz, nz, sel, crow if want else None, ccol, nloc)
            counts[name] = (r["nforest"], r.get("ndefor"))
            if want:
                flat = r["cell_region"].ravel()
                idx = np.flatnonzero(flat)
                cells[name] = (idx + base * nreg, flat[idx], r["cell_defor"])
        inside = (z > 0).astype(np.int64) if outside is not None else np.ones(z.shape, np.int64)
        jur = np.bincount((crow[:, None] + ccol[None, :]).ravel(), inside.ravel(), nloc)
        return {m: cls[maps[m][0]] for m in written}, counts, cells, base, jur

    paths = {name: out_dir / f"classes_{name}.tif" for name in written}
    acc: dict[str, list] = {}
    regions: dict[str, list] = {}
    defor = {}
    jurisdiction = np.zeros(grid.n_cells)
    with ExitStack() as stack:
        writers = {name: stack.enter_context(_class_writer(p, setup.grid, overwrite)) for name, p in paths.items()}
        for (strip, _), (out, counts, cells, base, jur) in map_blocks(task, edges.items(setup.strips),
                                                                      scheduler=setup.scheduler):
            for name, arr in out.items():
                writers[name].write(strip, arr)
            for name, (nf, nd) in counts.items():
                if name not in acc:
                    acc[name] = [nf.copy(), None if nd is None else nd.copy()]
                else:
                    acc[name][0] += nf
                    if nd is not None:
                        acc[name][1] += nd
            for name, (keys, cnt, cd) in cells.items():
                regions.setdefault(name, []).append((keys, cnt))
                if len(regions[name]) >= 64:
                    regions[name] = [_merge_counts(regions[name])]
                d = defor.setdefault(name, np.zeros(grid.n_cells))
                d[base:base + cd.size] += cd
            jurisdiction[base:base + jur.size] += jur
    cc = CellCounts(nreg, {n: _merge_counts(p) for n, p in regions.items()}, defor, jurisdiction)
    return ClassPass(paths, {name: RegionCounts(nf, nd) for name, (nf, nd) in acc.items()}, cc)


def _class_writer(path: Path, grid: Grid, overwrite: bool) -> BlockWriter:
    """Class and code rasters: staged uncompressed (compressed once, as the COG), nearest-neighbour overviews."""
    return BlockWriter(path, grid, dtype="uint8", nodata=0, overwrite=overwrite, stage_compress=None,
                       overview_resampling="nearest", cog_options=FAST_COG_OPTIONS, **band_metadata("risk_classes"))


@dataclass(frozen=True)
class DensityPass:
    """Pass 3 (VT0007 steps 5-6): the VP density rasters.

    ``allocation`` [ha/yr]: the adjusted VP density summed over each allocation zone.
    """

    density_path: Path
    adjusted_density_path: Path | None = None
    allocation: dict = field(default_factory=dict)


def density_pass(setup: BenchmarkSetup, class_path: Path, vp_density: np.ndarray, out_dir: Path, *,
                 vp_adjusted: np.ndarray | None = None, allocation_zones: dict | None = None,
                 overwrite: bool = False) -> DensityPass:
    """Pass 3: the densities on the VP classes (``class_path``), written as rasters.

    Parameters
    ----------
    vp_density : array [ha/pixel/yr], ``[class, zone]``
        Written on the VP classes as ``density_vp.tif`` (float32).
    vp_adjusted : array [ha/pixel/yr], ``[class, zone]``, optional
        The VP densities adjusted to the expected deforestation: written as
        ``adjusted_density_vp.tif`` and summed over ``allocation_zones`` (name -> polygon path,
        pixel-centre rule), in block order (the same bits on every run).
    """
    azones = {name: read_zones(p, setup.grid, dissolve=True) for name, p in (allocation_zones or {}).items()} \
        if vp_adjusted is not None else {}
    lut = np.asarray(vp_density).astype(np.float32)           # float32 look-ups: no float64 block temporaries
    lut_adj = None if vp_adjusted is None else np.asarray(vp_adjusted).astype(np.float32)

    def task(block):
        z = setup.zone_codes(block)
        with open_raster(class_path) as ds:
            c_vp = read_block(ds, block, with_halo=False)
        dens = lut[c_vp, z]
        adj, sums = None, {}
        if lut_adj is not None:
            adj = lut_adj[c_vp, z]
            for name, zn in azones.items():
                sums[name] = float(adj[burn_zones(zn, setup.grid, block) > 0].astype(np.float64).sum())
        # not forest at the VP start, or outside the jurisdiction: no density (nodata NaN; readers fill it with 0)
        return np.where(c_vp == 0, np.float32(np.nan), dens), adj, sums

    density_path = out_dir / "density_vp.tif"
    adjusted_path = out_dir / "adjusted_density_vp.tif" if vp_adjusted is not None else None
    alloc = {name: 0.0 for name in azones}
    with ExitStack() as stack:
        # densities are constant per region: nearest-neighbour overviews keep them (and cost a fraction of cubic)
        opts = dict(overwrite=overwrite, stage_compress=None, overview_resampling="nearest",
                    cog_options=FAST_COG_OPTIONS)
        w = stack.enter_context(BlockWriter(density_path, setup.grid, dtype="float32", nodata=float("nan"), **opts,
                                            **band_metadata("density")))
        wa = stack.enter_context(BlockWriter(adjusted_path, setup.grid, dtype="float32", **opts,
                                             **band_metadata("density_adjusted"))) if adjusted_path else None
        for block, (dens, adj, sums) in map_blocks(task, setup.blocks, scheduler=setup.scheduler, ordered=True):
            w.write(block, dens)
            if wa is not None:
                wa.write(block, adj)
            for name, x in sums.items():
                alloc[name] += x
    return DensityPass(density_path, adjusted_path, alloc)


def vt0007_benchmark(forest_change, **kwargs) -> "RiskResult":
    """Run the VT0007 v1.0 benchmark method (section 5, steps 1-7) on a ``ForestChange``.

    See :func:`_vt0007_benchmark` for the parameters; runs with a bounded GDAL block cache.
    """
    import rasterio

    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES):
        return _vt0007_benchmark(forest_change, **kwargs)


def _vt0007_benchmark(
    forest_change,
    *,
    out_dir: str | os.PathLike,
    periods: Periods | None = None,
    admin: str | os.PathLike | None = None,
    admin_field: str | None = None,
    nrt_share: float = v.NRT_SHARE,
    max_distance_m: float = 6000.0,
    cell_area_ha: float = 100_000.0,
    overwrite: bool = False,
    scheduler: str | None = None,
    memory_limit_bytes: int = 64 * 2**20,
    block_size: int | None = None,
    profile: str = "reddplus",
    max_iterations: int = v.UDEF_ARP_MAX_ITERATIONS,
    expected_ha_per_year: float | None = None,
    allocation_zones: dict | None = None,
    period_class_rasters: bool = True,
) -> RiskResult:
    """Run the VT0007 v1.0 benchmark method (section 5, steps 1-7) on a ``ForestChange``.

    Parameters
    ----------
    forest_change : ForestChange
    out_dir : path
        Receives ``classes_vp.tif`` (uint8, 0 = no forest), ``density_vp.tif`` (float32
        [ha/pixel/yr], fitted on the HRP, applied to the forest at the VP start) and the CAL/CNF
        class rasters (COG, atomic).
    periods : Periods, optional
        Default: :func:`default_periods`.
    admin, admin_field : path, str, optional
        Admin divisions; their union is the jurisdiction.
    nrt_share : float [-]
        Cumulative share defining the NRT (VT0007: 0.995).
    max_distance_m : float [m]
        NRT search distance: a threshold beyond it raises
        :class:`~reddplus.errors.SearchDistanceError` (with the distance needed). At least one
        pixel. The distances are exact at any length, so it does not change the cost.
    cell_area_ha : float [ha]
        Assessment cell area (the median project area; VT0007 default 100,000 ha).
    profile : {"reddplus", "udef-arp"}
        The reading of the VT0007 steps (see :mod:`reddplus.risk.vt0007`).
    max_iterations : int
        UDef-ARP's adjustment-ratio iteration limit (``udef-arp`` profile).
    expected_ha_per_year : float [ha/yr], optional
        Expected jurisdictional deforestation: the VP densities are adjusted to it (the profile's
        adjustment rule) and written as ``adjusted_density_vp.tif`` [ha/pixel/yr], summed over
        ``allocation_zones`` (name -> polygon path, e.g. the project and the leakage belt).
    period_class_rasters : bool
        Also write the class rasters at the CAL and CNF starts (and the HRP start when it differs).
    memory_limit_bytes, block_size, scheduler
        Tiling and where the tasks run (see :mod:`reddplus.raster`).

    The passes: :func:`edge_pass` (column summaries), :func:`nrt_pass` (NRT), :func:`class_pass`
    (classes, region counts) and :func:`density_pass` (densities, assessment cells, density rasters).

    Warns
    -----
    MissingClassWarning
        A prediction map has pixels in a class with no forest in its fit
        (see :func:`~reddplus.risk.vt0007.fitted_density`).
    ConvergenceWarning
        UDef-ARP's adjustment loop stopped at ``max_iterations`` (``udef-arp``).
    """
    fc = forest_change
    grid: Grid = fc.grid
    dates = fc.dates
    periods = periods or default_periods(dates)
    v.check_profile(profile)
    if profile == "udef-arp" and periods.cal[0] != periods.hrp[0]:
        warnings.warn(f"the CAL starts in {dates[periods.cal[0]]} and the HRP in {dates[periods.hrp[0]]}: UDef-ARP "
                      "reads the NRT from the CAL-start distances with the HRP deforestation, which assumes they "
                      "start together", ReddplusWarning, stacklevel=3)
    zones = read_zones(admin, grid, field=admin_field) if admin else None
    setup = make_setup(fc, periods, zones=zones, max_distance_m=max_distance_m, scheduler=scheduler, profile=profile,
                       memory_limit_bytes=memory_limit_bytes, block_size=block_size)
    agrid = v.assessment_grid(grid.shape, setup.pixel_size_m, cell_area_ha, profile, setup.pixel_area_ha)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    area = setup.pixel_area_ha
    udef = profile == "udef-arp"

    starts = {periods.cal[0], periods.hrp[0], periods.vp_start, setup.nrt_start()}
    if periods.cnf:
        starts.add(periods.cnf[0])
    edges = edge_pass(setup, starts)
    nrt = nrt_pass(setup, edges, nrt_share=nrt_share)
    cls = class_pass(setup, edges, nrt.hrp.nrt_m, agrid, out_dir, overwrite=overwrite,
                     period_class_rasters=period_class_rasters)
    del edges

    zone_ids = np.arange(setup.n_zones, dtype=np.int64)
    cal, hrp = cls.counts["cal"], cls.counts["hrp"]
    dens_cal = v.fitted_density(cal.nforest, cal.ndefor, area, setup.years(periods.cal), zone_ids)
    dens_hrp = v.fitted_density(hrp.nforest, hrp.ndefor, area, setup.years(periods.hrp), zone_ids)
    missing = {}
    for name, table in (("cnf", dens_cal), ("vp", dens_hrp)):
        if name in cls.counts:
            m = table.missing_classes(cls.counts[name].nforest)
            if m:
                missing[name] = {c: float(table.density_ha_per_pixel[c, 0]) for c in m}
                warnings.warn(f"{name.upper()} map: classes {m} have no forest in the "
                              f"{'CAL' if name == 'cnf' else 'HRP'} fit; their densities are the pooled density of "
                              f"the nearest fitted classes either side ({missing[name]} ha/pixel)",
                              MissingClassWarning, stacklevel=3)

    vp_density = dens_hrp.density_ha_per_pixel / dens_hrp.years
    vp_adj, vp_adjusted = None, None
    if expected_ha_per_year is not None:
        vp = cls.counts["vp"]
        if udef:      # UDef-ARP adjusts the HRP-period densities to the expected annual rate
            vp_adj = v.adjustment_ratio_udef_arp(dens_hrp.density_ha_per_pixel[1:].ravel(), vp.nforest[1:].ravel(),
                                                 float(expected_ha_per_year), area, max_iterations)
            _warn_convergence(vp_adj, "VP")
            vp_adjusted = vp_adj.adjust(dens_hrp.density_ha_per_pixel, area)
        else:
            vp_adj = v.adjustment_ratio(vp_density[1:].ravel(), vp.nforest[1:].ravel(), float(expected_ha_per_year),
                                        area)
            vp_adjusted = vp_adj.adjust(vp_density, area)
        vp_adjusted[0] = 0
    dp = density_pass(setup, cls.class_paths["vp"], vp_density, out_dir, vp_adjusted=vp_adjusted,
                      allocation_zones=allocation_zones, overwrite=overwrite)

    # step 7: per-cell totals from pass 2's cell counts
    cells, ncell = cls.cells, agrid.n_cells
    assessments = []
    d_cal = dens_cal.density_ha_per_pixel.astype(np.float32) if udef else dens_cal.density_ha_per_pixel
    forest = cells.forest("cal", ncell)
    sel = agrid.select(cells.jurisdiction, forest)
    kept = {"CAL": np.nonzero(sel)[0]}
    assessments.append(v.assessment_metrics(cells.sums("cal", d_cal, ncell)[sel], cells.defor["cal"][sel] * area,
                                            "benchmark CAL fit", profile))
    cnf_adj = None
    if periods.cnf:
        cnf = cls.counts["cnf"]
        forest = cells.forest("cnf", ncell)
        obs = cells.defor["cnf"] * area
        if udef:      # CAL-period densities adjusted per pixel to the observed CNF total (UDef-ARP)
            cnf_adj = v.adjustment_ratio_udef_arp(dens_cal.density_ha_per_pixel[1:].ravel(), cnf.nforest[1:].ravel(),
                                                  float(cnf.ndefor.sum()) * area, area, max_iterations)
            _warn_convergence(cnf_adj, "CNF")
            pred = cells.sums("cnf", cnf_adj.adjust(dens_cal.density_ha_per_pixel, area).astype(np.float32), ncell)
        else:         # CAL densities rescaled (annual) to the CNF length, adjusted to the observed CNF total
            d_cnf = dens_cal.density_ha_per_pixel * (setup.years(periods.cnf) / setup.years(periods.cal))
            cnf_adj = v.adjustment_ratio(d_cnf[1:].ravel(), cnf.nforest[1:].ravel(), float(obs.sum()), area)
            pred = np.minimum(cells.sums("cnf", d_cnf, ncell) * cnf_adj.ratio, forest * area)
        sel = agrid.select(cells.jurisdiction, forest)
        kept["CNF"] = np.nonzero(sel)[0]
        assessments.append(v.assessment_metrics(pred[sel], obs[sel], "benchmark CNF prediction", profile))
    labels = zones.label_of() if zones is not None else {0: "jurisdiction"}
    return RiskResult(nrt.hrp, nrt.cal, periods.to_dict(dates), dens_cal, dens_hrp, assessments,
                      cls.class_paths["vp"], dp.density_path, area, agrid.side, labels, profile, dict(cls.class_paths),
                      agrid, cnf_adj, vp_adj, dp.adjusted_density_path, dp.allocation, missing, kept)


def _warn_convergence(adj: v.Adjustment, stage: str) -> None:
    if not adj.converged:
        warnings.warn(f"{stage} adjustment ratio: UDef-ARP's loop stopped at max_iterations = {adj.max_iterations} "
                      f"without converging (last AR {adj.ratios[-1]:.6f}); UDef-ARP writes no map then. Raise "
                      "max_iterations (--max-iterations)", ConvergenceWarning, stacklevel=4)


@bounded_gdal_cache
def local_rate_raster(forest_change, out_path: str | os.PathLike, *, period: tuple[int, int] = (0, 1),
                      win_size: int = 21, overwrite: bool = False, scheduler: str | None = None,
                      block_size: int | None = None) -> Path:
    """Stream riskmapjnr's moving-window local deforestation rate into a uint16 COG (nodata 65535).

    The halo is ``win_size // 2`` pixels, so every block sees the whole window of each core pixel
    (zero padding only at the raster edge, as riskmapjnr): the result equals the whole-array one.
    """
    from reddplus.risk.localrate import LDEFRATE_NODATA, local_rate_codes

    fc = forest_change
    k0, k1 = period
    years = float(fc.dates[k1] - fc.dates[k0])
    blocks = iter_blocks(fc.grid.shape, halo=win_size // 2, bytes_per_pixel=40, block_size=block_size)

    def task(block):
        codes = fc.read_codes(block, with_halo=True)
        rs, cs = block.core_slices
        return local_rate_codes(codes, k0, k1, win_size, years, (rs.start, rs.stop, cs.start, cs.stop))

    with BlockWriter(out_path, fc.grid, dtype="uint16", nodata=LDEFRATE_NODATA, overwrite=overwrite,
                     stage_compress=None, overview_resampling="nearest", cog_options=FAST_COG_OPTIONS,
                     **band_metadata("local_rate")) as w:
        for block, arr in map_blocks(task, blocks, scheduler=scheduler):
            w.write(block, arr)
    return Path(out_path)
