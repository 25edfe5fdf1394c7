"""Path-level tool: sample pixels by streaming raster blocks, match them, and summarise the outcomes.

:func:`sample_pixels` streams the forest-change raster block by block (declared halo = the larger of
the neighbourhood radius and the distance cap; memory bounded by :func:`reddplus.raster.iter_blocks`),
keeps only the systematic samples of the project, the leakage belt and the candidate pool with their
covariates, and returns small tables. :func:`run_counterfactual` then matches them
(:mod:`reddplus.counterfactual.matching`) and computes the outcomes
(:mod:`reddplus.counterfactual.outcomes`). Block tasks open their inputs by path, so they run on local
threads or on a Dask cluster (``scheduler``).
"""

from __future__ import annotations

import functools
import logging
import math
import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from reddplus.counterfactual.covariates import distance_to_features, integral_image, proportion_from_integrals
from reddplus.counterfactual.matching import (default_caliper, hard_match_keys, mahalanobis_whitener,
                                              repeated_matching, standardised_mean_difference)
from reddplus.counterfactual.outcomes import (Interval, OvercreditingRatio, annualise, avoided_deforestation_ha,
                                             avoided_emissions_tco2e, overcrediting_ratio,
                                             period_deforestation_fraction, repeat_interval)
from reddplus.counterfactual.sampling import lattice_positions, systematic_origin, systematic_step_px
from reddplus.errors import ConfigError, InputDataError, ToleranceWarning
from reddplus.raster import Zones, burn_zones, check_same_grid, iter_blocks, map_blocks, read_grid, read_zones
from reddplus.raster.io import open_raster

log = logging.getLogger(__name__)

NODATA = 255
#: years before the start at which forest-cover history is hard-matched (PACT: t0, t-5, t-10)
HISTORY_LAGS = (0, 5, 10)
#: SMD above which balance is poor after matching (Stuart 2010; Austin 2009)
SMD_TOLERANCE = 0.2


class InsufficientCandidatesError(InputDataError):
    """Too few candidate control pixels (forest at the start, outside project, buffer and protected areas)."""


@dataclass(frozen=True)
class SamplingSpec:
    """Everything a block task needs (picklable: inputs are paths and polygons)."""

    forest_change: Any
    start_index: int
    history_indices: tuple[int, ...]
    project: Zones
    exclusion: Zones
    belt: Zones | None
    jurisdiction: Zones | None
    protected: Zones | None
    covariates: Mapping[str, str]
    distance_layers: Mapping[str, str]
    categorical: Mapping[str, str]
    project_step: int
    project_origin: tuple[int, int]
    candidate_step: int
    candidate_origin: tuple[int, int]
    radius_px: int
    max_distance_m: float


def history_indices(dates: tuple[int, ...], start_year: int, lags=HISTORY_LAGS) -> tuple[int, ...]:
    """Date indices of the forest-cover history at ``start_year - lag`` (latest date not after it).

    Years before the first date map to index 0 (the history is then shorter than asked; logged).
    """
    out = []
    for lag in lags:
        y = start_year - lag
        idx = [k for k, d in enumerate(dates) if d <= y]
        if not idx:
            log.info("no forest-change date at or before %d: history at t-%d uses %d", y, lag, dates[0])
        out.append(idx[-1] if idx else 0)
    return tuple(sorted(set(out), reverse=True))


def start_index_of(dates: tuple[int, ...], start_year: int) -> int:
    """Index of the project start among the forest-change dates; clear error when outside the data."""
    if start_year not in dates:
        raise ConfigError(f"start year {start_year} is not one of the forest-change dates {list(dates)}; the "
                          "counterfactual needs the forest cover at the start", key="start_year")
    k = dates.index(start_year)
    if k == len(dates) - 1:
        raise ConfigError(f"start year {start_year} is the last forest-change date {list(dates)}: no period after "
                          "the start to compare", key="start_year")
    return k


def covariate_names(spec: SamplingSpec) -> list[str]:
    dates = spec.forest_change.dates
    names = [f"forest_prop_{dates[k]}" for k in spec.history_indices]
    names += [f"recent_defor_prop_{dates[k]}" for k in spec.history_indices if k >= 1]
    names += ["dist_forest_edge_m"]
    names += [f"dist_{n}_m" for n in spec.distance_layers]
    names += list(spec.covariates)
    return names


def _burn(zones: Zones | None, grid, block) -> np.ndarray | None:
    if zones is None:
        return None
    return burn_zones(zones, grid, block, with_halo=False, dtype="int32") > 0


def _sample_block(block, spec: SamplingSpec) -> dict:
    fc = spec.forest_change
    grid = fc.grid
    codes = np.asarray(fc.read_codes(block, with_halo=True))
    valid = codes != NODATA
    core = block.core_slices
    codes_c = codes[core]
    s = spec.start_index
    forest0 = (codes_c > s) & (codes_c != NODATA)
    project = _burn(spec.project, grid, block)
    excl = _burn(spec.exclusion, grid, block)
    belt = _burn(spec.belt, grid, block)
    if belt is not None:
        belt &= ~project
    counts = {"project_forest_px": int((project & forest0).sum()), "project_px": int(project.sum()),
              "belt_forest_px": int((belt & forest0).sum()) if belt is not None else 0}
    cand = forest0 & ~excl
    if belt is not None:
        cand &= ~belt
    if spec.jurisdiction is not None:
        cand &= _burn(spec.jurisdiction, grid, block)
    if spec.protected is not None:
        cand &= ~_burn(spec.protected, grid, block)
    sets = {}
    pr, pc = lattice_positions(block.row_off, block.col_off, block.height, block.width, spec.project_step,
                               spec.project_origin)
    lr, lc = pr - block.row_off, pc - block.col_off
    sets["project"] = (pr, pc, (project & forest0)[lr, lc])
    if belt is not None:
        sets["belt"] = (pr, pc, (belt & forest0)[lr, lc])
    cr, cc = lattice_positions(block.row_off, block.col_off, block.height, block.width, spec.candidate_step,
                               spec.candidate_origin)
    sets["candidates"] = (cr, cc, cand[cr - block.row_off, cc - block.col_off])
    sets = {k: (r[m], c[m]) for k, (r, c, m) in sets.items()}
    tables = {}
    if not any(len(r) for r, _ in sets.values()):
        return {"counts": counts, "tables": tables}
    # covariates on the read window (core + halo); points in read-window coordinates
    rw = block.read_window
    roff, coff = int(rw.row_off), int(rw.col_off)
    res = grid.res
    dates = fc.dates
    layers = {}  # summed-area tables of each class, once per block
    for k in spec.history_indices:
        layers[f"forest_prop_{dates[k]}"] = integral_image((codes > k) & valid)
    for k in spec.history_indices:
        if k >= 1:
            layers[f"recent_defor_prop_{dates[k]}"] = integral_image(codes == k)
    dists = {"dist_forest_edge_m": distance_to_features(~((codes > s) & valid), res, spec.max_distance_m)}
    for name, path in spec.distance_layers.items():
        with open_raster(path) as ds:
            a = ds.read(1, window=rw)
            feat = a != 0
            if ds.nodata is not None:
                feat &= a != ds.nodata
        dists[f"dist_{name}_m"] = distance_to_features(feat, res, spec.max_distance_m)
    values = {}
    for name, path in {**spec.covariates, **spec.categorical}.items():
        with open_raster(path) as ds:
            a = ds.read(1, window=block.window, masked=True)
            values[name] = a
    vint = integral_image(valid)
    for key, (r, c) in sets.items():
        if len(r) == 0:
            continue
        rr, cc = r - roff, c - coff
        t = {"row": r.astype(np.int32), "col": c.astype(np.int32), "code": codes[rr, cc].astype(np.uint8)}
        for k in spec.history_indices:
            t[f"forest_{dates[k]}"] = (codes[rr, cc] > k).astype(np.uint8)
        for name, lay in layers.items():
            t[name] = proportion_from_integrals(lay, vint, rr, cc, spec.radius_px)
        for name, d in dists.items():
            t[name] = d[rr, cc]
        for name, a in values.items():
            v = a[r - block.row_off, c - block.col_off]
            t[name] = np.ma.filled(v.astype(np.float64), np.nan).astype(
                np.float64 if name in spec.categorical else np.float32)
        tables[key] = t
    return {"counts": counts, "tables": tables}


@dataclass(frozen=True)
class PixelSample:
    """Sampled tables (one row per pixel) and full-population counts from :func:`sample_pixels`."""

    project: pd.DataFrame
    belt: pd.DataFrame
    candidates: pd.DataFrame
    covariates: tuple[str, ...]
    hard: tuple[str, ...]
    project_forest_start_ha: float
    belt_forest_start_ha: float
    project_area_ha: float
    pixel_area_ha: float
    project_step_px: int
    candidate_step_px: int


def _zones_from_geom(geoms, crs) -> Zones:
    gdf = gpd.GeoDataFrame(geometry=list(geoms), crs=crs)
    return Zones(gdf, np.arange(1, len(gdf) + 1, dtype=np.int64), [str(i) for i in range(1, len(gdf) + 1)], None)


def sample_pixels(forest_change, project_path: str | os.PathLike, *, start_year: int,
                  covariates: Mapping[str, str] | None = None, distance_layers: Mapping[str, str] | None = None,
                  categorical: Mapping[str, str] | None = None, jurisdiction_path=None, protected_path=None,
                  leakage_belt_path=None, buffer_m: float = 5000.0, leakage_ring_m: float | None = None,
                  density_per_ha: float = 0.25, candidate_density_per_ha: float | None = None,
                  neighbourhood_m: float = 1000.0, max_distance_m: float = 3000.0, seed: int | None = None,
                  scheduler: str | None = None, memory_limit_bytes: int = 64 * 2**20,
                  progress: Callable[[int], None] | None = None, block_size: int | None = None) -> PixelSample:
    """Stream the forest-change raster and return the sampled project, belt and candidate tables.

    Parameters
    ----------
    forest_change : reddplus.landcover.ForestChange
        Canonical forest-change codes (``read_codes(block)``), dates [year] and grid.
    project_path : path
        Project polygon(s) (any OGR format).
    start_year : int [year]
        Project start; must be one of the forest-change dates, not the last.
    covariates : {name: raster path}
        Continuous covariates sampled as they are (elevation [m], slope [deg], travel time ...).
    distance_layers : {name: raster path}
        Feature rasters (non-zero = road, river ...): the covariate is the distance to them [m].
    categorical : {name: raster path}
        Categorical layers hard-matched exactly (ecoregion, admin unit).
    jurisdiction_path, protected_path, leakage_belt_path : paths, optional
        Candidate pool limits (default: every pixel with data), protected areas excluded from it, and the
        leakage belt (default: the ring of ``leakage_ring_m`` (default ``buffer_m``) around the project).
    buffer_m : float [m]
        Candidates lie outside the project buffered by this distance (PACT: 5 km).
    density_per_ha, candidate_density_per_ha : float [samples/ha]
        Systematic sampling densities (PACT: 0.25/ha for projects < 250,000 ha; candidates default to the same).
    neighbourhood_m : float [m]
        Half side of the square neighbourhood of the proportion covariates.
    max_distance_m : float [m]
        Cap of the distance covariates (and the block halo).
    """
    fc = forest_change
    grid = fc.grid
    dates = tuple(int(d) for d in fc.dates)
    s = start_index_of(dates, start_year)
    covariates = dict(covariates or {})
    distance_layers = dict(distance_layers or {})
    categorical = dict(categorical or {})
    if buffer_m < 0:
        raise ConfigError(f"must be >= 0, got {buffer_m}", key="buffer_m")
    names = {**{f"covariate {k}": v for k, v in covariates.items()},
             **{f"distance layer {k}": v for k, v in distance_layers.items()},
             **{f"categorical layer {k}": v for k, v in categorical.items()}}
    if names:
        check_same_grid({"forest change": grid, **{f"{n} ({p})": read_grid(p, check_crs=False)
                                                   for n, p in names.items()}})
    project = read_zones(project_path, grid, dissolve=True)
    pgeom = project.gdf.geometry.union_all()
    exclusion = _zones_from_geom([pgeom.buffer(buffer_m)], grid.crs)
    if leakage_belt_path is not None:
        belt = read_zones(leakage_belt_path, grid, dissolve=True)
    else:
        ring = leakage_ring_m if leakage_ring_m is not None else buffer_m
        belt = _zones_from_geom([pgeom.buffer(ring).difference(pgeom)], grid.crs) if ring > 0 else None
    juris = read_zones(jurisdiction_path, grid, dissolve=True) if jurisdiction_path else None
    protected = read_zones(protected_path, grid, dissolve=True) if protected_path else None
    px_ha = grid.pixel_area_ha
    ss = np.random.SeedSequence(seed)
    s_proj, s_cand = (int(x.generate_state(1)[0]) for x in ss.spawn(2))
    pstep = systematic_step_px(density_per_ha, px_ha)
    cstep = systematic_step_px(candidate_density_per_ha or density_per_ha, px_ha)
    radius = max(1, int(round(neighbourhood_m / min(grid.res))))
    halo = max(radius, int(math.ceil(max_distance_m / min(grid.res))))
    spec = SamplingSpec(fc, s, history_indices(dates, start_year), project, exclusion, belt, juris, protected,
                        covariates, distance_layers, categorical, pstep, systematic_origin(pstep, s_proj), cstep,
                        systematic_origin(cstep, s_cand), radius, float(max_distance_m))
    blocks = iter_blocks(grid.shape, halo=halo, memory_limit_bytes=memory_limit_bytes, bytes_per_pixel=64,
                         block_size=block_size)
    counts = {"project_forest_px": 0, "project_px": 0, "belt_forest_px": 0}
    parts: dict[str, list] = {"project": [], "belt": [], "candidates": []}
    for _, out in map_blocks(functools.partial(_sample_block, spec=spec), blocks, scheduler=scheduler,
                             progress=progress):
        for k in counts:
            counts[k] += out["counts"][k]
        for k, t in out["tables"].items():
            parts[k].append(pd.DataFrame(t))
    cov = covariate_names(spec)
    hard = tuple(f"forest_{dates[k]}" for k in spec.history_indices) + tuple(categorical)
    empty = pd.DataFrame({c: pd.Series(dtype="float32") for c in ["row", "col", "code", *hard, *cov]})
    tabs = {k: (pd.concat(v, ignore_index=True) if v else empty.copy()) for k, v in parts.items()}
    for k, t in tabs.items():  # a deterministic order whatever the block completion order
        t = t.sort_values(["row", "col"], kind="stable").reset_index(drop=True)
        bad = t[list(cov) + list(categorical)].isna().any(axis=1)
        if bad.any():
            log.info("%s: dropped %d sampled pixels with missing covariates", k, int(bad.sum()))
            t = t[~bad].reset_index(drop=True)
        tabs[k] = t
    if counts["project_px"] == 0:
        raise InputDataError("the project polygon covers no pixel of the forest-change raster",
                             path=str(project_path))
    if counts["project_forest_px"] == 0:
        raise InputDataError(f"the project has no forest at the start year {start_year}: nothing to protect, no "
                             "counterfactual", path=str(project_path))
    return PixelSample(tabs["project"], tabs["belt"], tabs["candidates"], tuple(cov), hard,
                       counts["project_forest_px"] * px_ha, counts["belt_forest_px"] * px_ha,
                       counts["project_px"] * px_ha, px_ha, pstep, cstep)


def _dedupe_periods(dates, s):
    return tuple((int(dates[k]), int(dates[k + 1])) for k in range(s, len(dates) - 1))


@dataclass(frozen=True)
class CounterfactualResult:
    """Matched counterfactual of a project (and its leakage belt) with balance diagnostics.

    Fractions are of the forest at the start, per period ``(y0, y1]`` (arrays repeats x periods).
    Intervals are central percentiles across matching repeats (each a random half of the project sample,
    whose spread approximates the sampling spread of the full-sample estimate; McCarthy P.J. 1969,
    Pseudo-replication: half samples, Rev. Int. Stat. Inst. 37:239-264).
    """

    start_year: int
    periods: tuple[tuple[int, int], ...]
    project_forest_start_ha: float
    belt_forest_start_ha: float
    n_project_sample: int
    n_belt_sample: int
    n_candidates: int
    repeats: int
    seed: int | None
    caliper: float
    covariates: tuple[str, ...]
    hard_match: tuple[str, ...]
    project_fraction: np.ndarray
    control_fraction: np.ndarray
    belt_fraction: np.ndarray
    belt_control_fraction: np.ndarray
    naive_project_fraction: np.ndarray
    naive_control_fraction: np.ndarray
    matched_fraction: Interval
    balance: pd.DataFrame
    belt_balance: pd.DataFrame
    emission_factor_tco2e_per_ha: float | None
    level: float = 0.95
    diagnostics: dict = field(default_factory=dict)

    # ---- derived estimates -------------------------------------------------------------------------
    @property
    def period_years(self) -> np.ndarray:
        return np.array([b - a for a, b in self.periods], dtype=float)

    def avoided_deforestation_per_repeat(self) -> np.ndarray:
        """Avoided deforestation [ha] over all periods after the start, one value per repeat."""
        return avoided_deforestation_ha(self.control_fraction.sum(axis=1), self.project_fraction.sum(axis=1),
                                        self.project_forest_start_ha)

    @property
    def avoided_deforestation_ha(self) -> Interval:
        return repeat_interval(self.avoided_deforestation_per_repeat(), self.level)

    @property
    def avoided_emissions_tco2e(self) -> Interval | None:
        if self.emission_factor_tco2e_per_ha is None:
            return None
        return repeat_interval(avoided_emissions_tco2e(self.avoided_deforestation_per_repeat(),
                                                       self.emission_factor_tco2e_per_ha), self.level)

    def leakage_per_repeat(self) -> np.ndarray:
        """Excess deforestation in the leakage belt over its matched controls [ha], per repeat (> 0: leakage)."""
        return -avoided_deforestation_ha(self.belt_control_fraction.sum(axis=1), self.belt_fraction.sum(axis=1),
                                         self.belt_forest_start_ha)

    @property
    def leakage_deforestation_ha(self) -> Interval:
        return repeat_interval(self.leakage_per_repeat(), self.level)

    @property
    def leakage_emissions_tco2e(self) -> Interval | None:
        if self.emission_factor_tco2e_per_ha is None:
            return None
        return repeat_interval(self.leakage_per_repeat() * self.emission_factor_tco2e_per_ha, self.level)

    def control_deforestation_per_year(self) -> tuple[np.ndarray, np.ndarray]:
        """Matched-control deforestation scaled to the project [ha/yr]: ``(years, repeats x years)``."""
        edges = np.array([self.periods[0][0]] + [b for _, b in self.periods])
        return annualise(edges, self.control_fraction * self.project_forest_start_ha)

    def project_deforestation_per_year(self) -> tuple[np.ndarray, np.ndarray]:
        """Observed project deforestation estimated from the matched project pixels [ha/yr] per repeat."""
        edges = np.array([self.periods[0][0]] + [b for _, b in self.periods])
        return annualise(edges, self.project_fraction * self.project_forest_start_ha)

    def overcrediting(self, baseline_years, baseline_deforestation_ha) -> OvercreditingRatio:
        """Over-crediting ratio of a VT0007 baseline series [ha/yr] (see :func:`overcrediting_ratio`)."""
        years, ctrl = self.control_deforestation_per_year()
        return overcrediting_ratio(baseline_years, baseline_deforestation_ha, years, ctrl, level=self.level)

    def to_dict(self, baseline: OvercreditingRatio | None = None) -> dict:
        def rate(a):
            return [repeat_interval(a[:, j] / self.period_years[j], self.level).to_dict()
                    for j in range(len(self.periods))]

        per = []
        for j, (a, b) in enumerate(self.periods):
            avoided = avoided_deforestation_ha(self.control_fraction[:, j], self.project_fraction[:, j],
                                               self.project_forest_start_ha)
            per.append({"start": a, "end": b,
                        "project_rate_per_yr": rate(self.project_fraction)[j],
                        "control_rate_per_yr": rate(self.control_fraction)[j],
                        "naive_project_rate_per_yr": float(self.naive_project_fraction[j] / self.period_years[j]),
                        "naive_jurisdiction_rate_per_yr": float(self.naive_control_fraction[j] / self.period_years[j]),
                        "avoided_deforestation_ha": repeat_interval(avoided, self.level).to_dict()})
        em = self.avoided_emissions_tco2e
        lem = self.leakage_emissions_tco2e
        out = {
            "start_year": self.start_year,
            "periods": per,
            "project_forest_start_ha": self.project_forest_start_ha,
            "belt_forest_start_ha": self.belt_forest_start_ha,
            "n_project_sample": self.n_project_sample, "n_belt_sample": self.n_belt_sample,
            "n_candidates": self.n_candidates, "repeats": self.repeats, "seed": self.seed,
            "caliper_mahalanobis": self.caliper, "matched_fraction": self.matched_fraction.to_dict(),
            "hard_match": list(self.hard_match), "covariates": list(self.covariates),
            "avoided_deforestation_ha": self.avoided_deforestation_ha.to_dict(),
            "avoided_emissions_tco2e": em.to_dict() if em else None,
            "emission_factor_tco2e_per_ha": self.emission_factor_tco2e_per_ha,
            "leakage_deforestation_ha": self.leakage_deforestation_ha.to_dict(),
            "leakage_emissions_tco2e": lem.to_dict() if lem else None,
            "balance": self.balance.to_dict(orient="records"),
            "belt_balance": self.belt_balance.to_dict(orient="records"),
            "diagnostics": self.diagnostics,
            "overcrediting_ratio": None,
        }
        if baseline is not None:
            out["overcrediting_ratio"] = baseline.ratio.estimate
            out["overcrediting"] = baseline.to_dict()
        return out


def _match_outcomes(treated: pd.DataFrame, cands: pd.DataFrame, sample: PixelSample, s: int, n_dates: int, *,
                    repeats, subsample_fraction, control_ratio, caliper, seed, W):
    X = sample.covariates
    n_per = n_dates - 1 - s
    if len(treated) == 0:
        nan = np.full((repeats, n_per), np.nan)
        return nan, nan, [], pd.DataFrame({"covariate": list(X)})
    tk, ck = hard_match_keys(treated[list(sample.hard)].to_numpy(), cands[list(sample.hard)].to_numpy())
    tx = treated[list(X)].to_numpy(np.float64)
    cx = cands[list(X)].to_numpy(np.float64)
    rounds = repeated_matching(tx, cx, treated_keys=tk, control_keys=ck, repeats=repeats,
                               subsample_fraction=subsample_fraction, control_ratio=control_ratio, caliper=caliper,
                               seed=seed, whitener=W)
    tcode = treated["code"].to_numpy()
    ccode = cands["code"].to_numpy()
    pf = np.array([period_deforestation_fraction(tcode[r.treated], s, n_dates) for r in rounds])
    cf = np.array([period_deforestation_fraction(ccode[r.controls], s, n_dates) for r in rounds])
    after = np.array([standardised_mean_difference(tx[r.treated], cx[r.controls]) if len(r.treated) > 1
                      else np.full(len(X), np.nan) for r in rounds])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        bal = pd.DataFrame({"covariate": list(X), "smd_before": standardised_mean_difference(tx, cx),
                            "smd_after": np.nanmean(after, axis=0),
                            "smd_after_max_abs": np.nanmax(np.abs(after), axis=0)})
    return pf, cf, rounds, bal


def estimate_counterfactual(sample: PixelSample, *, dates, start_year: int, repeats: int = 100,
                            subsample_fraction: float = 0.5, control_ratio: float = 10.0,
                            caliper: float | None = None, seed: int | None = None,
                            emission_factor_tco2e_per_ha: float | None = None, level: float = 0.95,
                            min_candidates: int = 100, smd_tolerance: float = SMD_TOLERANCE) -> CounterfactualResult:
    """Match the sampled project (and belt) pixels to candidates and estimate the outcomes.

    Raises :class:`InsufficientCandidatesError` when the pool holds fewer than
    ``max(min_candidates, pixels matched per repeat)`` pixels; warns :class:`ToleranceWarning` when a
    covariate's mean |SMD| after matching exceeds ``smd_tolerance`` or fewer than half the pixels match.
    """
    dates = tuple(int(d) for d in dates)
    s = start_index_of(dates, start_year)
    proj, belt, cands = sample.project, sample.belt, sample.candidates
    if len(proj) == 0:
        raise InputDataError(f"no project pixel forested at {start_year} fell on the sampling lattice (step "
                             f"{sample.project_step_px} px); raise the sampling density")
    n_sub = max(1, int(math.ceil(subsample_fraction * len(proj))))
    need = max(min_candidates, n_sub)
    if len(cands) < need:
        raise InsufficientCandidatesError(
            f"only {len(cands)} candidate pixels (forest at {start_year}, inside the jurisdiction, outside the project, "
            f"its buffer, the leakage belt and protected areas) for {n_sub} project pixels per repeat; at least {need} "
            "are needed: enlarge the jurisdiction, reduce the buffer or raise the candidate density")
    ss = np.random.SeedSequence(seed)
    s_p, s_b = (int(x.generate_state(1)[0]) for x in ss.spawn(2))
    cx = cands[list(sample.covariates)].to_numpy(np.float64)
    W = mahalanobis_whitener(cx)
    cal = default_caliper(len(sample.covariates)) if caliper is None else float(caliper)
    kw = dict(repeats=repeats, subsample_fraction=subsample_fraction, control_ratio=control_ratio, caliper=cal, W=W)
    pf, cf, rounds, bal = _match_outcomes(proj, cands, sample, s, len(dates), seed=s_p, **kw)
    bpf, bcf, _, bbal = _match_outcomes(belt, cands, sample, s, len(dates), seed=s_b, **kw)
    mf = repeat_interval([r.matched_fraction for r in rounds], level)
    if (mf.estimate < 0.5) and rounds:
        warnings.warn(f"only {mf.estimate:.0%} of project pixels found a match within the caliper {cal:.2f}: the "
                      "estimate covers a subset of the project", ToleranceWarning, stacklevel=2)
    poor = bal[np.abs(bal["smd_after"]) > smd_tolerance]
    if len(poor):
        warnings.warn("covariate balance after matching beyond |SMD| " f"{smd_tolerance}: " + ", ".join(
            f"{r.covariate} {r.smd_after:+.2f}" for r in poor.itertuples()), ToleranceWarning, stacklevel=2)
    diag = {"unbalanced_covariates": poor["covariate"].tolist(), "project_step_px": sample.project_step_px,
            "candidate_step_px": sample.candidate_step_px, "pixel_area_ha": sample.pixel_area_ha,
            "subsample_fraction": subsample_fraction, "control_ratio": control_ratio}
    return CounterfactualResult(
        start_year, _dedupe_periods(dates, s), sample.project_forest_start_ha, sample.belt_forest_start_ha,
        len(proj), len(belt), len(cands), repeats, seed, cal, sample.covariates, sample.hard, pf, cf, bpf, bcf,
        period_deforestation_fraction(proj["code"].to_numpy(), s, len(dates)),
        period_deforestation_fraction(cands["code"].to_numpy(), s, len(dates)), mf, bal, bbal,
        emission_factor_tco2e_per_ha, level, diag)


def run_counterfactual(forest_change, project_path, *, start_year: int, repeats: int = 100, seed: int | None = None,
                       subsample_fraction: float = 0.5, control_ratio: float = 10.0, caliper: float | None = None,
                       emission_factor_tco2e_per_ha: float | None = None, level: float = 0.95,
                       min_candidates: int = 100, **sampling) -> CounterfactualResult:
    """Sample (:func:`sample_pixels`), match and estimate (:func:`estimate_counterfactual`) in one call.

    ``seed`` drives both the sampling lattices and the matching repeats; when ``None`` a fresh seed is
    drawn and recorded in the result (``result.seed``) so that the run can be repeated.
    """
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    ss = np.random.SeedSequence(seed)
    s_sample, s_match = (int(x.generate_state(1)[0]) for x in ss.spawn(2))
    sample = sample_pixels(forest_change, project_path, start_year=start_year, seed=s_sample, **sampling)
    res = estimate_counterfactual(sample, dates=forest_change.dates, start_year=start_year, repeats=repeats,
                                  subsample_fraction=subsample_fraction, control_ratio=control_ratio, caliper=caliper,
                                  seed=s_match, emission_factor_tco2e_per_ha=emission_factor_tco2e_per_ha,
                                  level=level, min_candidates=min_candidates)
    return _replace_seed(res, seed)


def _replace_seed(res: CounterfactualResult, seed: int) -> CounterfactualResult:
    from dataclasses import replace

    return replace(res, seed=seed)


def read_baseline_series(path: str | os.PathLike, *, year_column: str = "year",
                         value_column: str = "baseline_deforestation_ha") -> tuple[np.ndarray, np.ndarray]:
    """Read a VT0007 baseline series (one row per year: ``year``, ``baseline_deforestation_ha`` [ha/yr]) from CSV."""
    try:
        df = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise InputDataError(f"cannot read the baseline CSV: {err}", path=str(path)) from err
    for col in (year_column, value_column):
        if col not in df.columns:
            raise InputDataError(f"column not found; available: {list(df.columns)}", column=col, path=str(path))
    years = pd.to_numeric(df[year_column], errors="coerce")
    vals = pd.to_numeric(df[value_column], errors="coerce")
    for col, s in ((year_column, years), (value_column, vals)):
        bad = np.flatnonzero(s.isna().to_numpy())
        if len(bad):
            raise InputDataError("not a number", row=int(bad[0]) + 1, column=col, path=str(path))
    return years.to_numpy(int), vals.to_numpy(float)
