"""Path-level VT0007 benchmark tool: streams the forest-change raster through the raster engine.

Exact bounded-halo distances
----------------------------
Distance to the edge only matters up to the search distance ``S`` (>= the NRT). Blocks are read
with a halo of ``H = ceil(S / p) + 1`` pixels. For a core pixel whose true distance is ``<= H``
pixels, its nearest non-forest pixel lies within ``H`` rows and columns, i.e. inside the read
window, so the windowed EDT equals the whole-raster EDT. The windowed EDT is never smaller than
the true one, so a core pixel whose true distance exceeds ``H`` pixels also has a windowed
distance ``> H``. Classes (thresholds <= S) and the NRT histogram (bins up to S, one overflow bin)
are therefore exact; ``tests/risk/test_tools.py`` checks it against a whole-array EDT.

Passes, each a named function with a typed, frozen result, composed by :func:`vt0007_benchmark`:
:func:`nrt_pass` -> :class:`NRTPass` (NRT histograms of the fit periods, CAL and HRP: distances of the
deforested pixels only); :func:`class_pass` -> :class:`ClassPass` (class rasters and region counts);
:func:`density_pass` -> :class:`DensityPass` (densities, assessment cells and the density raster, no
halo). :class:`BenchmarkSetup` holds what they share. GDAL's block cache is bounded so that peak RSS
stays flat as the raster grows.

Speed: blocks run on a thread pool and the per-pixel work is in compiled numba kernels that release
the GIL (edge pixels, the exact EDT of Felzenszwalb & Huttenlocher, classes, the local-rate running
sums), each checked bit for bit against the SciPy/numpy definition in ``tests/risk``. Output rasters
are staged uncompressed and compressed once, when rewritten as the COG.
"""

from __future__ import annotations

import logging
import math
import os
import re
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from reddplus.errors import ConfigError
from reddplus.raster import BlockWriter, Grid, burn_zones, iter_blocks, map_blocks, open_raster, read_block, \
    read_zones
from reddplus.risk import vt0007 as v

log = logging.getLogger(__name__)

CODES_NODATA = 255
#: GDAL block cache for the risk tools [bytes]; GDAL's default (5 % of the RAM) makes peak RSS grow
#: with the raster size, while streamed blocks need only a small cache
GDAL_CACHE_BYTES = 256 * 2**20


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
    """Everything the VT0007 benchmark produced (rasters by path, tables, diagnostics)."""

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

    @property
    def nrt_m(self) -> float:
        return self.nrt.nrt_m

    def class_table(self) -> list[dict]:
        """Per class: distance range [m] at the VP start, HRP forest/deforestation and fitted density."""
        b = v.class_breaks(self.nrt.nrt_m, self.nrt.pixel_size_m)
        rows = self.density_hrp.class_table()
        for r in rows:
            c = r["class"]
            if c == 1:
                r["distance_min_m"], r["distance_max_m"] = self.nrt.nrt_m, None
            else:
                i = v.N_CLASSES - c
                r["distance_min_m"], r["distance_max_m"] = (float(b[i - 1]) if i else 0.0), float(b[i])
        return rows

    def to_dict(self) -> dict:
        return {
            "nrt_m": self.nrt.nrt_m,
            "nrt_cumulative_share": self.nrt.cumulative_share,
            "nrt_cal_m": self.nrt_cal.nrt_m,
            "nrt_cal_cumulative_share": self.nrt_cal.cumulative_share,
            "periods": self.periods,
            "pixel_area_ha": self.pixel_area_ha,
            "class_table": self.class_table(),
            "assessment": [a.row() for a in self.assessment],
            "assessment_cell_side_pixels": self.cell_side_pixels,
            "class_raster": str(self.class_path),
            "density_raster": str(self.density_path),
        }


def _halo(max_distance_m: float, pixel: float) -> int:
    return int(math.ceil(max_distance_m / pixel)) + 1


def _forest(codes: np.ndarray, k: int) -> np.ndarray:
    return (codes > k) & (codes != CODES_NODATA)


def _defor(codes: np.ndarray, k0: int, k1: int) -> np.ndarray:
    return (codes > k0) & (codes <= k1) & (codes != CODES_NODATA)


def _pixel_size(grid: Grid) -> float:
    px, py = grid.res
    if abs(px - py) > 1e-6 * px:
        raise ConfigError(f"VT0007 distances need square pixels; got {px} x {py} m", key="grid")
    return float(px)


@bounded_gdal_cache
def nrt_histograms(forest_change, fits: dict[str, tuple[int, int]], *, max_distance_m: float = 6000.0,
                   scheduler: str | None = None, memory_limit_bytes: int = 128 * 2**20, block_size: int | None = None,
                   blocks=None, zones=None) -> dict[str, np.ndarray]:
    """Streamed histograms of distance to edge of the pixels deforested in each fit period (VT0007 steps 1-2).

    ``fits`` maps a name to (start, end) date indices; distances are taken at the start. One pass,
    bounded halo ``ceil(max_distance_m / p) + 1`` (exact, see the module notes). Bins of width
    ``p`` up to ``max_distance_m`` plus one overflow bin. With ``zones`` (the admin divisions) only
    deforestation inside the jurisdiction counts (distances still see the forest beyond it).
    """
    fc = forest_change
    pixel = _pixel_size(fc.grid)
    if blocks is None:
        blocks = iter_blocks(fc.grid.shape, halo=_halo(max_distance_m, pixel), memory_limit_bytes=memory_limit_bytes,
                             bytes_per_pixel=48, block_size=block_size)

    def hist_task(block):
        codes = fc.read_codes(block, with_halo=True)
        core = block.core_slices
        out = {}
        inside = burn_zones(zones, fc.grid, block) > 0 if zones is not None else None
        sels = {}
        for name, (k0, k1) in fits.items():
            sel = np.zeros(codes.shape, bool)
            sel[core] = _defor(codes[core], k0, k1)
            if inside is not None:
                sel[core] &= inside
            sels[name] = sel
        # fits starting at the same date share the forest, hence one k-d tree and one query of the union
        for k0 in {k for k, _ in fits.values()}:
            names = [n for n, (k, _) in fits.items() if k == k0]
            union = np.logical_or.reduce([sels[n] for n in names])
            # distances of the deforested core pixels only (k-d tree of edge pixels; exact, see docstring)
            d = v.distance_to_edge_at(_forest(codes, k0), union, pixel, max_distance_m)
            for n in names:
                out[n] = v.distance_histogram(d[sels[n][union]], pixel, max_distance_m)
        return out

    hists: dict = {k: 0 for k in fits}
    for _, h in map_blocks(hist_task, blocks, scheduler=scheduler):
        for k in fits:
            hists[k] = hists[k] + h[k]
    return hists


# ------------------------------------------------------------------------------------------ the three passes
@dataclass(frozen=True)
class BenchmarkSetup:
    """What every pass of the benchmark reads: the input, its grid, the periods, the jurisdiction, the blocks.

    ``zones`` are the admin divisions (their union is the jurisdiction; ``None``: the whole raster,
    one division numbered 0); ``n_zones`` is the size of the zone axis of the region counts.
    """

    forest_change: object
    periods: Periods
    pixel_size_m: float
    pixel_area_ha: float
    zones: object | None
    n_zones: int
    blocks: tuple
    max_distance_m: float
    scheduler: str | None = None

    @property
    def grid(self) -> Grid:
        return self.forest_change.grid

    def zone_codes(self, block) -> np.ndarray:
        """Admin division of each core pixel of ``block`` (0 = outside the jurisdiction, or the only one)."""
        if self.zones is None:
            return np.zeros((block.height, block.width), np.int64)
        return burn_zones(self.zones, self.grid, block)

    def years(self, period: tuple[int, int]) -> float:
        d = self.forest_change.dates
        return float(d[period[1]] - d[period[0]])


@dataclass(frozen=True)
class NRTPass:
    """Pass 1 (VT0007 steps 1-2): the NRT of the HRP deforestation (used for every map) and of the CAL alone."""

    hrp: v.NRT
    cal: v.NRT


def nrt_pass(setup: BenchmarkSetup, *, nrt_share: float = v.NRT_SHARE) -> NRTPass:
    """Pass 1: streamed distance histograms of the CAL and HRP deforestation, and their NRTs (steps 1-2).

    One NRT, from the HRP deforestation, serves every map (VT0007 v1.0 section 5.1 step 2: "99.5 % of
    the deforestation experienced over the HRP"; UDef-ARP passes the HRP NRT to the CAL, CNF and VP
    maps); the CAL-only NRT is a diagnostic.

    Raises
    ------
    SearchDistanceError
        The NRT lies beyond the search distance.
    """
    p = setup.periods
    hists = nrt_histograms(setup.forest_change, {"cal": p.cal, "hrp": p.hrp}, max_distance_m=setup.max_distance_m,
                           scheduler=setup.scheduler, blocks=setup.blocks, zones=setup.zones)
    nrt_cal = v.negligible_risk_threshold(hists["cal"], setup.pixel_size_m, nrt_share)
    nrt_hrp = v.negligible_risk_threshold(hists["hrp"], setup.pixel_size_m, nrt_share)
    log.info("NRT: CAL %.0f m (%.4f), HRP %.0f m (%.4f)", nrt_cal.nrt_m, nrt_cal.cumulative_share, nrt_hrp.nrt_m,
             nrt_hrp.cumulative_share)
    return NRTPass(nrt_hrp, nrt_cal)


@dataclass(frozen=True)
class RegionCounts:
    """Pixels per modelling region (VT0007 step 4): ``[class 0..30, zone]``; class 0 = not forest."""

    nforest: np.ndarray
    ndefor: np.ndarray | None = None     # deforested in the fit period (fits only)


@dataclass(frozen=True)
class ClassPass:
    """Pass 2 (VT0007 steps 3-4): the class rasters written and the region counts.

    ``class_paths``: ``cal``, ``vp`` and (with a CNF) ``cnf`` -> COG path (uint8, 0 = no forest);
    ``counts``: ``cal`` and ``hrp`` (forest at the start, deforested in the period) and ``cnf``
    (forest at the CNF start).
    """

    class_paths: dict
    counts: dict


def class_pass(setup: BenchmarkSetup, nrt_m: float, out_dir: Path, *, overwrite: bool = False) -> ClassPass:
    """Pass 2: vulnerability classes at the CAL, CNF, VP and HRP starts and the region counts (steps 3-4).

    Windowed exact EDT with the bounded halo (see the module notes); classes outside the
    jurisdiction are 0. Writes ``classes_cal.tif``, ``classes_vp.tif`` and ``classes_cnf.tif``.
    """
    fc, periods, pixel, nz = setup.forest_change, setup.periods, setup.pixel_size_m, setup.n_zones
    maps = {"cal": periods.cal[0], "vp": periods.vp_start}
    if periods.cnf:
        maps["cnf"] = periods.cnf[0]
    nc = v.N_CLASSES + 1

    def class_task(block):
        codes = fc.read_codes(block, with_halo=True)
        core = block.core_slices
        cc = codes[core]
        z = setup.zone_codes(block)
        dist_cache: dict[int, np.ndarray] = {}

        def classes(k):
            if k not in dist_cache:
                dist_cache[k] = v.distance_to_edge_fast(_forest(codes, k), pixel)[core]
            return v.vulnerability_classes(dist_cache[k], _forest(cc, k), nrt_m, pixel)

        out = {name: classes(k) for name, k in maps.items()}
        c_hrp = classes(periods.hrp[0])
        if setup.zones is not None:          # the jurisdiction is the union of the admin divisions
            outside = z == 0
            for arr in (*out.values(), c_hrp):
                arr[outside] = 0
            cc = np.where(outside, CODES_NODATA, cc)
        counts = {}
        for name, cl, (k0, k1) in (("cal", out["cal"], periods.cal), ("hrp", c_hrp, periods.hrp)):
            idx = cl.astype(np.int64) * nz + z
            counts[name] = (np.bincount(idx.ravel(), minlength=nc * nz).reshape(nc, nz),
                            np.bincount(idx[_defor(cc, k0, k1)], minlength=nc * nz).reshape(nc, nz))
        if "cnf" in out:
            idx = out["cnf"].astype(np.int64) * nz + z
            counts["cnf"] = (np.bincount(idx.ravel(), minlength=nc * nz).reshape(nc, nz), None)
        return out, counts

    paths = {name: out_dir / f"classes_{name}.tif" for name in maps}
    acc: dict[str, list] = {}
    with ExitStack() as stack:
        writers = {name: stack.enter_context(_class_writer(p, setup.grid, overwrite)) for name, p in paths.items()}
        for block, (out, counts) in map_blocks(class_task, setup.blocks, scheduler=setup.scheduler):
            for name, arr in out.items():
                writers[name].write(block, arr)
            for name, (nf, nd) in counts.items():
                if name not in acc:
                    acc[name] = [nf.copy(), None if nd is None else nd.copy()]
                else:
                    acc[name][0] += nf
                    if nd is not None:
                        acc[name][1] += nd
    return ClassPass(paths, {name: RegionCounts(nf, nd) for name, (nf, nd) in acc.items()})


def _class_writer(path: Path, grid: Grid, overwrite: bool) -> BlockWriter:
    """Class and code rasters: staged uncompressed (compressed once, as the COG), nearest-neighbour overviews."""
    return BlockWriter(path, grid, dtype="uint8", nodata=0, overwrite=overwrite, stage_compress=None,
                       overview_resampling="nearest")


@dataclass(frozen=True)
class DensityPass:
    """Pass 3 (VT0007 steps 5-7): per-assessment-cell totals and the VP density raster.

    ``cells`` [ha or pixels, one value per cell of the ``cell_side`` grid, row-major]:
    ``cal_pred``, ``cal_obs``, ``cal_forest`` and (with a CNF) ``cnf_raw`` (CNF-length densities
    before the adjustment), ``cnf_obs``, ``cnf_forest``.
    """

    cells: dict
    cell_side: int
    density_path: Path


def density_pass(setup: BenchmarkSetup, classes: ClassPass, dens_cal: v.DensityTable, dens_hrp: v.DensityTable,
                 cnf_density: np.ndarray | None, cell_side: int, out_dir: Path, *,
                 overwrite: bool = False) -> DensityPass:
    """Pass 3: densities on the class rasters, summed over the assessment cells, and the VP density raster.

    ``cnf_density`` [ha/pixel over the CNF, ``[class, zone]``] predicts the CNF on its start classes.
    Writes ``density_vp.tif`` (float32 [ha/pixel/yr]: HRP density / HRP years on the VP classes).
    The cell sums are reduced in block order, so every run gives the same bits.
    """
    fc, periods, grid, area = setup.forest_change, setup.periods, setup.grid, setup.pixel_area_ha
    side = cell_side
    ncr, ncc = -(-grid.height // side), -(-grid.width // side)
    ncell = ncr * ncc
    paths = classes.class_paths
    has_cnf = periods.cnf is not None

    def dens_task(block):
        cc = fc.read_codes(block, with_halo=False)
        z = setup.zone_codes(block)
        if setup.zones is not None:
            cc = np.where(z == 0, CODES_NODATA, cc)
        rows = np.arange(block.row_off, block.row_off + block.height) // side
        cols = np.arange(block.col_off, block.col_off + block.width) // side
        cell = (rows[:, None] * ncc + cols[None, :]).ravel()
        res = {}
        with open_raster(paths["cal"]) as ds:
            c_cal = read_block(ds, block, with_halo=False)
        res["cal_pred"] = np.bincount(cell, dens_cal.density_ha_per_pixel[c_cal, z].ravel(), ncell)
        res["cal_obs"] = np.bincount(cell, _defor(cc, *periods.cal).ravel() * area, ncell)
        res["cal_forest"] = np.bincount(cell, (c_cal > 0).ravel(), ncell)
        if has_cnf:
            with open_raster(paths["cnf"]) as ds:
                c_cnf = read_block(ds, block, with_halo=False)
            res["cnf_raw"] = np.bincount(cell, cnf_density[c_cnf, z].ravel(), ncell)
            res["cnf_obs"] = np.bincount(cell, _defor(cc, *periods.cnf).ravel() * area, ncell)
            res["cnf_forest"] = np.bincount(cell, (c_cnf > 0).ravel(), ncell)
        with open_raster(paths["vp"]) as ds:
            c_vp = read_block(ds, block, with_halo=False)
        dens = (dens_hrp.density_ha_per_pixel[c_vp, z] / dens_hrp.years).astype(np.float32)
        return res, dens

    density_path = out_dir / "density_vp.tif"
    tot: dict[str, np.ndarray] = {}
    with BlockWriter(density_path, grid, dtype="float32", nodata=None, overwrite=overwrite, stage_compress=None) as w:
        for block, (res, dens) in map_blocks(dens_task, setup.blocks, scheduler=setup.scheduler, ordered=True):
            w.write(block, dens)
            for k, a in res.items():
                tot[k] = tot[k] + a if k in tot else a
    return DensityPass(tot, side, density_path)


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
    memory_limit_bytes: int = 128 * 2**20,
    block_size: int | None = None,
) -> RiskResult:
    """Run the VT0007 v1.0 benchmark method (section 5, steps 1-7) on a ``ForestChange``.

    Writes ``classes_vp.tif`` (uint8, 0 = no forest) and ``density_vp.tif`` (float32 [ha/pixel/yr],
    fitted on the HRP, applied to the forest at the VP start) into ``out_dir`` (COG, atomic), plus
    the CAL/CNF class rasters used by the assessment.

    The three passes: :func:`nrt_pass` (NRT), :func:`class_pass` (classes, region counts) and
    :func:`density_pass` (densities, assessment cells, density raster).
    """
    fc = forest_change
    grid: Grid = fc.grid
    dates = fc.dates
    periods = periods or default_periods(dates)
    pixel = _pixel_size(grid)
    area = grid.pixel_area_ha
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    zones = read_zones(admin, grid, field=admin_field) if admin else None
    nz = (int(zones.ids.max()) + 1) if zones is not None else 1
    blocks = tuple(iter_blocks(grid.shape, halo=_halo(max_distance_m, pixel), memory_limit_bytes=memory_limit_bytes,
                               bytes_per_pixel=48, block_size=block_size))
    setup = BenchmarkSetup(fc, periods, pixel, area, zones, nz, blocks, float(max_distance_m), scheduler)

    nrt = nrt_pass(setup, nrt_share=nrt_share)
    cls = class_pass(setup, nrt.hrp.nrt_m, out_dir, overwrite=overwrite)

    zone_ids = np.arange(nz, dtype=np.int64)
    cal, hrp = cls.counts["cal"], cls.counts["hrp"]
    dens_cal = v.fitted_density(cal.nforest, cal.ndefor, area, setup.years(periods.cal), zone_ids)
    dens_hrp = v.fitted_density(hrp.nforest, hrp.ndefor, area, setup.years(periods.hrp), zone_ids)
    # CNF prediction: CAL densities rescaled (annual) to the CNF length, adjusted to the observed CNF total (step 6)
    d_cnf = dens_cal.density_ha_per_pixel * (setup.years(periods.cnf) / setup.years(periods.cal)) \
        if periods.cnf else None

    side = v.cell_side_pixels(area, cell_area_ha)
    dp = density_pass(setup, cls, dens_cal, dens_hrp, d_cnf, side, out_dir, overwrite=overwrite)

    tot = dp.cells
    assessments = []
    sel = tot["cal_forest"] > 0
    assessments.append(v.assessment_metrics(tot["cal_pred"][sel], tot["cal_obs"][sel], "benchmark CAL fit"))
    if periods.cnf:
        observed_total = float(tot["cnf_obs"].sum())
        adj = v.adjustment_ratio(d_cnf[1:].ravel(), cls.counts["cnf"].nforest[1:].ravel(), observed_total, area)
        sel = tot["cnf_forest"] > 0
        pred = np.minimum(tot["cnf_raw"] * adj.ratio, tot["cnf_forest"] * area)
        assessments.append(v.assessment_metrics(pred[sel], tot["cnf_obs"][sel], "benchmark CNF prediction"))
    labels = zones.label_of() if zones is not None else {0: "jurisdiction"}
    return RiskResult(nrt.hrp, nrt.cal, periods.to_dict(dates), dens_cal, dens_hrp, assessments,
                      cls.class_paths["vp"], dp.density_path, area, side, labels)


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
                     stage_compress=None, overview_resampling="nearest") as w:
        for block, arr in map_blocks(task, blocks, scheduler=scheduler):
            w.write(block, arr)
    return Path(out_path)
