"""Model assessment of the benchmark and the alternative models on the same cells (VT0007 section 5.2-5.3).

Arrays in memory (the alternative models need the whole driver stack per pixel to fit and predict;
the benchmark itself streams, see :mod:`reddplus.risk.tools`). Drivers come from a callable
``drivers_at(k) -> {name: array}`` evaluated at the start of each period (date index ``k``), so a
planned road enters the drivers from its opening year on.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np
from scipy import ndimage

from reddplus.errors import ModelError
from reddplus.risk import models as m
from reddplus.risk import vt0007 as v

log = logging.getLogger(__name__)
NODATA = 255


def _forest(codes, k):
    return (codes > k) & (codes != NODATA)


def _defor(codes, k0, k1):
    return (codes > k0) & (codes <= k1) & (codes != NODATA)


def distance_to_features(features: np.ndarray, pixel_size_m: float, max_distance_m: float | None = None) -> np.ndarray:
    """Euclidean distance [m] of every pixel to the nearest feature pixel (road, river, settlement).

    .. math:: d_i = \\min_{j \\in R} \\lVert x_i - x_j \\rVert_2

    Used as a driver in the alternative models (VT0007 v1.0 section 5.3). With no feature pixel,
    every distance is ``max_distance_m`` (or the array diagonal).
    """
    f = np.asarray(features, dtype=bool)
    cap = max_distance_m if max_distance_m is not None else float(np.hypot(*f.shape)) * pixel_size_m
    if not f.any():
        return np.full(f.shape, cap, dtype=np.float32)
    d = ndimage.distance_transform_edt(~f, sampling=pixel_size_m)
    return np.minimum(d, cap).astype(np.float32)


def cell_sums(values: np.ndarray, cell_side: int) -> np.ndarray:
    """Sum of ``values`` over square cells of ``cell_side`` pixels (systematic assessment grid, step 7)."""
    h, w = values.shape
    rows = np.arange(h) // cell_side
    cols = np.arange(w) // cell_side
    ncc = -(-w // cell_side)
    cell = (rows[:, None] * ncc + cols[None, :]).ravel()
    return np.bincount(cell, np.asarray(values, dtype=np.float64).ravel(), (-(-h // cell_side)) * ncc)


@dataclass(frozen=True)
class ModelScore:
    """One model's CAL fit and CNF prediction assessments (and its acceptance vs the benchmark)."""

    name: str
    cal: v.Assessment
    cnf: v.Assessment | None
    accepted: bool | None = None
    summary: dict = field(default_factory=dict)

    def rows(self) -> list[dict]:
        out = [dict(self.cal.row(), model=self.name, stage="CAL fit")]
        if self.cnf is not None:
            out.append(dict(self.cnf.row(), model=self.name, stage="CNF prediction"))
        for r in out:
            r["accepted"] = self.accepted
        return out


def score_classes(classes_fit: np.ndarray, defor_fit: np.ndarray, years_fit: float, classes_pred: np.ndarray | None,
                  defor_pred: np.ndarray | None, years_pred: float | None, pixel_area_ha: float, cell_side: int,
                  name: str, n_classes: int = v.N_CLASSES) -> tuple[v.Assessment, v.Assessment | None]:
    """Assess a class map: density per class fitted on the fit period, per-cell predicted vs observed
    in the fit period and, adjusted to the observed total (step 6), in the prediction period (step 7).

    .. math:: \\hat y_k = \\sum_{i \\in k} \\delta_{c(i)},\\quad \\hat y^{CNF}_k = \\sum_{i \\in k}
              \\min(AR\\,\\delta_{c(i)} T_{CNF}/T_{CAL}, a)

    VT0007 v1.0 sections 5.1 steps 5-6 and 5.2 [vt0007].
    """
    nc = n_classes + 1
    nf = np.bincount(classes_fit.ravel(), minlength=nc)[:, None]
    nd = np.bincount(classes_fit[defor_fit].ravel(), minlength=nc)[:, None]
    dens = v.fitted_density(nf, nd, pixel_area_ha, years_fit).density_ha_per_pixel[:, 0]
    fc = cell_sums(classes_fit > 0, cell_side)
    cal = v.assessment_metrics(cell_sums(dens[classes_fit], cell_side)[fc > 0],
                               cell_sums(defor_fit * pixel_area_ha, cell_side)[fc > 0], f"{name} CAL fit")
    if classes_pred is None:
        return cal, None
    d_pred = dens * (years_pred / years_fit)
    npix = np.bincount(classes_pred.ravel(), minlength=nc)
    observed = float(defor_pred.sum()) * pixel_area_ha
    adj = v.adjustment_ratio(d_pred[1:], npix[1:], observed, pixel_area_ha)
    per_pixel = np.minimum(adj.ratio * d_pred, pixel_area_ha)[classes_pred]
    per_pixel[classes_pred == 0] = 0
    fp = cell_sums(classes_pred > 0, cell_side)
    cnf = v.assessment_metrics(cell_sums(per_pixel, cell_side)[fp > 0],
                               cell_sums(defor_pred * pixel_area_ha, cell_side)[fp > 0], f"{name} CNF prediction")
    return cal, cnf


@dataclass(frozen=True)
class ModelComparison:
    benchmark: ModelScore
    alternatives: tuple[ModelScore, ...]
    nrt_m: float

    @property
    def best(self) -> str:
        """The accepted alternative with the lowest CNF MedAE, else the benchmark (VT0007 section 5.3)."""
        ok = [a for a in self.alternatives if a.accepted]
        return min(ok, key=lambda a: a.cnf.medae_ha).name if ok else self.benchmark.name

    def table(self) -> list[dict]:
        return self.benchmark.rows() + [r for a in self.alternatives for r in a.rows()]


def compare_models(codes: np.ndarray, dates: Sequence[int], cal: tuple[int, int], cnf: tuple[int, int],
                   pixel_size_m: float, drivers_at: Callable[[int], Mapping[str, np.ndarray]], *,
                   models: Sequence[str] = ("logistic", "random_forest"), cell_side: int = 100,
                   sample_size: int = 20_000, seed: int | None = 0, nrt_share: float = v.NRT_SHARE,
                   max_distance_m: float = 10_000.0) -> ModelComparison:
    """Benchmark vs alternative models on the same assessment cells, with the VT0007 acceptance rule.

    Each alternative is fitted on a balanced sample of the CAL period (drivers at the CAL start),
    predicts the potential at the CAL start (fit) and at the CNF start (prediction), which is cut
    into 30 classes (:func:`reddplus.risk.models.potential_classes`) and scored like the benchmark.
    VT0007 v1.0 sections 5.1-5.3.
    """
    area = pixel_size_m ** 2 / 10_000.0
    k0, k1 = cal
    c0, c1 = cnf
    yc, yn = float(dates[k1] - dates[k0]), float(dates[c1] - dates[c0])
    f_cal, d_cal = _forest(codes, k0), _defor(codes, k0, k1)
    f_cnf, d_cnf = _forest(codes, c0), _defor(codes, c0, c1)
    dist_cal = v.distance_to_edge(f_cal, pixel_size_m)
    dist_cnf = v.distance_to_edge(f_cnf, pixel_size_m)
    # the NRT comes from the HRP deforestation (CAL start to CNF end), VT0007 v1.0 section 5.1 step 2
    counts = v.distance_histogram(dist_cal[_defor(codes, k0, max(k1, c1))], pixel_size_m, max_distance_m)
    nrt = v.negligible_risk_threshold(counts, pixel_size_m, nrt_share)
    cls_cal = v.vulnerability_classes(dist_cal, f_cal, nrt.nrt_m, pixel_size_m)
    cls_cnf = v.vulnerability_classes(dist_cnf, f_cnf, nrt.nrt_m, pixel_size_m)
    b_cal, b_cnf = score_classes(cls_cal, d_cal, yc, cls_cnf, d_cnf, yn, area, cell_side, "benchmark")
    bench = ModelScore("benchmark", b_cal, b_cnf, None, {"nrt_m": nrt.nrt_m})

    rng = np.random.default_rng(seed)
    drv_cal = dict(drivers_at(k0))
    drv_cal.setdefault("distance_to_edge", np.minimum(dist_cal, max_distance_m))
    drv_cnf = dict(drivers_at(c0))
    drv_cnf.setdefault("distance_to_edge", np.minimum(dist_cnf, max_distance_m))
    idx = m.sample_training(f_cal, d_cal, sample_size, rng)
    X, names = m.feature_matrix(drv_cal, idx)
    y = d_cal.ravel()[idx].astype(int)
    alts = []
    for name in models:
        model = m.get_model(name)(X, y, names, seed=seed)
        p_cal = m.predict_potential(model, drv_cal, f_cal)
        p_cnf = m.predict_potential(model, drv_cnf, f_cnf)
        a_cal, a_cnf = score_classes(m.potential_classes(p_cal, f_cal), d_cal, yc, m.potential_classes(p_cnf, f_cnf),
                                     d_cnf, yn, area, cell_side, name)
        alts.append(ModelScore(name, a_cal, a_cnf, v.accept_alternative(b_cal, b_cnf, a_cal, a_cnf), model.summary))
        log.info("%s: MedAE CAL %.3f (benchmark %.3f), CNF %.3f (benchmark %.3f)", name, a_cal.medae_ha,
                 b_cal.medae_ha, a_cnf.medae_ha, b_cnf.medae_ha)
    if not alts and models:
        raise ModelError("no alternative model was fitted")
    return ModelComparison(bench, tuple(alts), nrt.nrt_m)


def rasterize_lines(path: str | os.PathLike, grid, *, where: Callable | None = None) -> np.ndarray:
    """Burn a line/point/polygon layer onto ``grid`` (all_touched, so 1-pixel roads stay connected)."""
    import geopandas as gpd
    from rasterio.features import rasterize

    gdf = gpd.read_file(path).to_crs(grid.crs)
    if where is not None:
        gdf = gdf[where(gdf)]
    if gdf.empty:
        return np.zeros(grid.shape, bool)
    return rasterize(((g, 1) for g in gdf.geometry), out_shape=grid.shape, transform=grid.transform, fill=0,
                     all_touched=True, dtype="uint8").astype(bool)


def compare_models_from_paths(forest_change, *, periods=None, roads: str | os.PathLike | None = None,
                              rivers: str | os.PathLike | None = None,
                              settlements: str | os.PathLike | None = None,
                              planned_roads: str | os.PathLike | None = None, opening_year_field: str = "opening_year",
                              rasters: Mapping[str, str | os.PathLike] | None = None,
                              models: Sequence[str] = ("logistic", "random_forest"), cell_area_ha: float = 100_000.0,
                              sample_size: int = 20_000, seed: int | None = 0, nrt_share: float = v.NRT_SHARE,
                              max_distance_m: float = 10_000.0) -> ModelComparison:
    """Path-level :func:`compare_models`: vector drivers (roads, rivers, settlements, planned roads with an
    opening-year field) become distances [m]; ``rasters`` (elevation, slope...) must share the grid.

    Reads the whole forest-change raster in memory (the alternative models need every driver per pixel).
    """
    from reddplus.raster import Block, check_same_grid, open_raster, read_grid
    from reddplus.risk.tools import default_periods

    grid = forest_change.grid
    pixel = float(grid.res[0])
    per = periods or default_periods(forest_change.dates)
    if per.cnf is None:
        raise ModelError("model assessment needs a confirmation period (three or more dates)")
    full = Block(0, 0, grid.height, grid.width, 0, grid.height, grid.width)
    codes = forest_change.read_codes(full, with_halo=False)
    static: dict[str, np.ndarray] = {}
    for name, path in (("distance_to_river", rivers), ("distance_to_settlement", settlements)):
        if path is not None:
            static[name] = distance_to_features(rasterize_lines(path, grid), pixel, max_distance_m)
    for name, path in (rasters or {}).items():
        check_same_grid({"forest change": grid, name: read_grid(path)})
        with open_raster(path) as ds:
            static[name] = ds.read(1).astype(np.float64)
    existing = rasterize_lines(roads, grid) if roads is not None else None
    planned = []
    if planned_roads is not None:
        from reddplus.baseline.scenario import read_planned_roads

        planned = read_planned_roads(planned_roads, grid, opening_year_field)
    dates = forest_change.dates

    def drivers_at(k):
        d = dict(static)
        if existing is not None or planned:
            from reddplus.baseline.scenario import roads_open_in

            base = existing if existing is not None else np.zeros(grid.shape, bool)
            d["distance_to_road"] = distance_to_features(roads_open_in(base, planned, dates[k]), pixel,
                                                         max_distance_m)
        return d

    return compare_models(codes, dates, per.cal, per.cnf, pixel, drivers_at, models=models,
                          cell_side=v.cell_side_pixels(grid.pixel_area_ha, cell_area_ha), sample_size=sample_size,
                          seed=seed, nrt_share=nrt_share, max_distance_m=max_distance_m)
