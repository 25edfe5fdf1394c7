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

Passes: (1) NRT histograms of the fit periods (CAL, HRP): distances of the deforested pixels only,
from a k-d tree of the edge pixels in the halo'd window (:func:`~reddplus.risk.vt0007.distance_to_edge_at`,
same bounded-halo argument); (2) class rasters (windowed EDT) and region counts; (3) densities,
assessment cells and the density raster (no halo). GDAL's block cache is bounded so that peak RSS
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from reddplus.errors import ConfigError
from reddplus.raster import Grid, copy_as_cog, iter_blocks, map_blocks, open_raster, read_block, read_zones, \
    burn_zones
from reddplus.raster.io import _check_overwrite
from reddplus.raster.windows import TILE
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


class _CogWriter:
    """Stream blocks into a raster that becomes a COG at ``path`` when the context exits cleanly.

    Same contract as :class:`reddplus.raster.BlockWriter`, tuned for the risk maps: the staging
    GeoTIFF (rewritten once as the COG, then deleted) is left uncompressed, which saves a deflate
    pass over the whole raster, and ``overview_resampling`` sets how the COG overviews are made
    (``"nearest"`` for coded rasters such as classes and local-rate codes, which must not be
    interpolated; ``None`` keeps the COG default).
    """

    def __init__(self, path, grid: Grid, *, dtype, nodata=None, overwrite: bool = False,
                 overview_resampling: str | None = None):
        self.path = Path(path)
        _check_overwrite(self.path, overwrite)
        self.profile = dict(driver="GTiff", tiled=True, blockxsize=TILE, blockysize=TILE, compress="none",
                            bigtiff="if_safer", width=grid.width, height=grid.height, count=1,
                            dtype=np.dtype(dtype).name, crs=grid.crs, transform=grid.transform, nodata=nodata)
        self.cog_options = {"overview_resampling": overview_resampling} if overview_resampling else {}
        self._tmpdir = None
        self._ds = None

    def __enter__(self) -> "_CogWriter":
        import tempfile

        import rasterio

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmpdir = tempfile.TemporaryDirectory(prefix=f".{self.path.name}.", dir=self.path.parent)
        self._ds = rasterio.open(Path(self._tmpdir.name) / "stage.tif", "w", **self.profile)
        return self

    def write(self, block, data: np.ndarray) -> None:
        """Write the core of ``block`` (``data`` has the core's shape)."""
        self._ds.write(np.asarray(data).astype(self.profile["dtype"], copy=False), 1, window=block.window)

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self._ds.close()
            if exc_type is None:
                copy_as_cog(self._ds.name, self.path, overwrite=True, **self.cog_options)
        finally:
            self._tmpdir.cleanup()


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
    """
    fc = forest_change
    grid: Grid = fc.grid
    dates = fc.dates
    periods = periods or default_periods(dates)
    pixel = _pixel_size(grid)
    area = grid.pixel_area_ha
    halo = _halo(max_distance_m, pixel)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    zones = read_zones(admin, grid, field=admin_field) if admin else None
    nz = (int(zones.ids.max()) + 1) if zones is not None else 1
    blocks = list(iter_blocks(grid.shape, halo=halo, memory_limit_bytes=memory_limit_bytes, bytes_per_pixel=48,
                              block_size=block_size))
    fits = {"cal": periods.cal, "hrp": periods.hrp}

    # ---- pass 1: NRT histograms (steps 1-2)
    hists = nrt_histograms(fc, fits, max_distance_m=max_distance_m, scheduler=scheduler, blocks=blocks, zones=zones)
    nrt_cal = v.negligible_risk_threshold(hists["cal"], pixel, nrt_share)
    nrt_hrp = v.negligible_risk_threshold(hists["hrp"], pixel, nrt_share)
    log.info("NRT: CAL %.0f m (%.4f), HRP %.0f m (%.4f)", nrt_cal.nrt_m, nrt_cal.cumulative_share, nrt_hrp.nrt_m,
             nrt_hrp.cumulative_share)

    # ---- pass 2: classes (step 3) and region counts (step 4)
    # one NRT, from the HRP deforestation, for every map (VT0007 v1.0 section 5.1 step 2: "99.5 % of the
    # deforestation experienced over the HRP"; UDef-ARP passes the HRP NRT to the CAL, CNF and VP maps);
    # the CAL-only NRT is kept as a diagnostic
    maps = {"cal": (periods.cal[0], nrt_hrp.nrt_m), "vp": (periods.vp_start, nrt_hrp.nrt_m)}
    if periods.cnf:
        maps["cnf"] = (periods.cnf[0], nrt_hrp.nrt_m)
    hrp_map = (periods.hrp[0], nrt_hrp.nrt_m)
    nc = v.N_CLASSES + 1

    def class_task(block):
        codes = fc.read_codes(block, with_halo=True)
        core = block.core_slices
        cc = codes[core]
        z = burn_zones(zones, grid, block) if zones is not None else np.zeros(cc.shape, np.int64)
        dist_cache: dict[int, np.ndarray] = {}

        def classes(k, nrt):
            if k not in dist_cache:
                dist_cache[k] = v.distance_to_edge_fast(_forest(codes, k), pixel)[core]
            return v.vulnerability_classes(dist_cache[k], _forest(cc, k), nrt, pixel)

        out = {name: classes(k, nrt) for name, (k, nrt) in maps.items()}
        c_hrp = classes(*hrp_map)
        if zones is not None:          # the jurisdiction is the union of the admin divisions
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
    writers = {name: _CogWriter(p, grid, dtype="uint8", nodata=0, overwrite=overwrite, overview_resampling="nearest")
               for name, p in paths.items()}
    for w in writers.values():
        w.__enter__()
    try:
        for block, (out, counts) in map_blocks(class_task, blocks, scheduler=scheduler):
            for name, arr in out.items():
                writers[name].write(block, arr)
            for name, (nf, nd) in counts.items():
                if name not in acc:
                    acc[name] = [nf.copy(), None if nd is None else nd.copy()]
                else:
                    acc[name][0] += nf
                    if nd is not None:
                        acc[name][1] += nd
    except BaseException as err:
        for w in writers.values():
            w.__exit__(type(err), err, None)
        raise
    for w in writers.values():
        w.__exit__(None, None, None)

    zone_ids = np.arange(nz, dtype=np.int64)
    y = lambda p: float(dates[p[1]] - dates[p[0]])  # noqa: E731
    dens_cal = v.fitted_density(acc["cal"][0], acc["cal"][1], area, y(periods.cal), zone_ids)
    dens_hrp = v.fitted_density(acc["hrp"][0], acc["hrp"][1], area, y(periods.hrp), zone_ids)

    # CNF prediction: CAL densities rescaled (annual) to the CNF length, adjusted to the observed CNF total (step 6)
    ar_cnf = None
    if periods.cnf:
        scale = y(periods.cnf) / y(periods.cal)
        d_cnf = dens_cal.density_ha_per_pixel * scale
        ar_cnf = d_cnf, acc["cnf"][0]

    # ---- pass 3: densities, assessment cells (step 7), density raster
    side = v.cell_side_pixels(area, cell_area_ha)
    ncr, ncc = -(-grid.height // side), -(-grid.width // side)
    ncell = ncr * ncc
    has_cnf = periods.cnf is not None

    def dens_task(block):
        cc = fc.read_codes(block, with_halo=False)
        z = burn_zones(zones, grid, block) if zones is not None else np.zeros(cc.shape, np.int64)
        if zones is not None:
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
            res["cnf_raw"] = np.bincount(cell, ar_cnf[0][c_cnf, z].ravel(), ncell)
            res["cnf_obs"] = np.bincount(cell, _defor(cc, *periods.cnf).ravel() * area, ncell)
            res["cnf_forest"] = np.bincount(cell, (c_cnf > 0).ravel(), ncell)
        with open_raster(paths["vp"]) as ds:
            c_vp = read_block(ds, block, with_halo=False)
        dens = (dens_hrp.density_ha_per_pixel[c_vp, z] / dens_hrp.years).astype(np.float32)
        return res, dens

    density_path = out_dir / "density_vp.tif"
    # float sums in block order, not in the threads' completion order, so that every run gives the
    # same bits; only the few results that arrive ahead of their turn wait (bounded by the tasks in flight)
    order = [(b.row_off, b.col_off) for b in blocks]
    waiting: dict[tuple[int, int], dict] = {}
    nxt = 0
    tot: dict[str, np.ndarray] = {}
    with _CogWriter(density_path, grid, dtype="float32", nodata=None, overwrite=overwrite) as w:
        for block, (res, dens) in map_blocks(dens_task, blocks, scheduler=scheduler):
            w.write(block, dens)
            waiting[(block.row_off, block.col_off)] = res
            while nxt < len(order) and order[nxt] in waiting:
                for k, a in waiting.pop(order[nxt]).items():
                    tot[k] = tot[k] + a if k in tot else a
                nxt += 1

    assessments = []
    sel = tot["cal_forest"] > 0
    assessments.append(v.assessment_metrics(tot["cal_pred"][sel], tot["cal_obs"][sel], "benchmark CAL fit"))
    if has_cnf:
        d_cnf, n_cnf = ar_cnf
        observed_total = float(tot["cnf_obs"].sum())
        adj = v.adjustment_ratio(d_cnf[1:].ravel(), n_cnf[1:].ravel(), observed_total, area)
        sel = tot["cnf_forest"] > 0
        pred = np.minimum(tot["cnf_raw"] * adj.ratio, tot["cnf_forest"] * area)
        assessments.append(v.assessment_metrics(pred[sel], tot["cnf_obs"][sel], "benchmark CNF prediction"))
    labels = zones.label_of() if zones is not None else {0: "jurisdiction"}
    return RiskResult(nrt_hrp, nrt_cal, periods.to_dict(dates), dens_cal, dens_hrp, assessments, paths["vp"],
                      density_path, area, side, labels)


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

    with _CogWriter(out_path, fc.grid, dtype="uint16", nodata=LDEFRATE_NODATA, overwrite=overwrite,
                     overview_resampling="nearest") as w:
        for block, arr in map_blocks(task, blocks, scheduler=scheduler):
            w.write(block, arr)
    return Path(out_path)
