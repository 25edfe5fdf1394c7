"""Model-assisted above-ground biomass density (AGBD) map from plots and a covariate raster
(e.g. LiDAR canopy height): the "satellite + ground calibration" step.

Canonical names: ``agbd_mg_per_ha`` [Mg ha-1], ``canopy_height_m`` [m], ``cell_area_ha`` [ha].
Pure functions take arrays and geometries; :func:`agbd_map_from_files` is the path-level tool.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import curve_fit

from reddplus.errors import CRSError, InputDataError, ModelError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PowerModel:
    """AGBD = a * H^b fitted by non-linear least squares on plot values."""

    a: float
    b: float
    rse: float  # [Mg ha-1]
    r2: float
    n: int

    def predict(self, canopy_height_m) -> np.ndarray:
        """AGBD [Mg ha-1] from mean canopy height [m]."""
        return self.a * np.asarray(canopy_height_m, dtype=float) ** self.b

    def to_dict(self) -> dict:
        return {"form": "AGBD = a * H^b", "a": self.a, "b": self.b, "rse": self.rse, "r2": self.r2, "n": self.n}


def fit_power_model(canopy_height_m, agbd_mg_per_ha) -> PowerModel:
    """Fit AGBD = a H^b on plot-level values.

    Parameters
    ----------
    canopy_height_m : array [m] (mean canopy height of each plot)
    agbd_mg_per_ha : array [Mg ha-1] (field AGB density of each plot)

    Returns
    -------
    PowerModel

    Notes
    -----
    .. math:: AGBD = a \\, H^b

    Start values from the log-log OLS fit; then non-linear least squares on the original scale
    (no back-transformation bias).

    References
    ----------
    1. Asner, G. P. & Mascaro, J. (2014) Mapping tropical forest carbon: calibrating plot estimates to
       a simple LiDAR metric. Remote Sens. Environ. 140:614-624, doi:10.1016/j.rse.2013.09.023.
    """
    x = np.asarray(canopy_height_m, dtype=float)
    y = np.asarray(agbd_mg_per_ha, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    n = int(ok.sum())
    if n < 3:
        raise ModelError(f"AGBD = a H^b needs at least 3 plots with a covariate value, got {n}")
    x, y = x[ok], y[ok]
    b0, la0 = np.polyfit(np.log(x), np.log(y), 1)
    try:
        (a, b), _ = curve_fit(lambda h, a, b: a * h ** b, x, y, p0=(np.exp(la0), b0), maxfev=20000)
    except RuntimeError as err:
        raise ModelError(f"AGBD = a H^b did not converge: {err}") from err
    resid = y - a * x ** b
    rse = float(np.sqrt(np.sum(resid ** 2) / (n - 2))) if n > 2 else float("nan")
    r2 = float(1 - np.sum(resid ** 2) / np.sum((y - y.mean()) ** 2))
    return PowerModel(float(a), float(b), rse, r2, n)


def block_mean(array: np.ndarray, factor: int, min_coverage: float = 0.0) -> np.ndarray:
    """Mean of ``factor`` x ``factor`` blocks ignoring NaN, anchored at the top-left corner.

    Partial edge blocks are kept (padded with NaN). A block is NaN when it has no valid pixel or
    its share of valid pixels is below ``min_coverage`` (default 0: any valid pixel, as BIOMASS's
    50 m aggregation of the Nouragues canopy height model).
    """
    a = np.asarray(array, dtype=float)
    ny, nx = -(-a.shape[0] // factor), -(-a.shape[1] // factor)
    pad = np.full((ny * factor, nx * factor), np.nan)
    pad[:a.shape[0], :a.shape[1]] = a
    blocks = pad.reshape(ny, factor, nx, factor)
    valid = np.isfinite(blocks).sum(axis=(1, 3))
    with np.errstate(invalid="ignore"):
        mean = np.nansum(blocks, axis=(1, 3)) / valid
    mean[valid < min_coverage * factor * factor] = np.nan
    return mean


def zonal_means(array: np.ndarray, transform, geometries: dict) -> dict:
    """Mean of the valid pixels of ``array`` inside each geometry (pixel centres inside)."""
    from rasterio.features import geometry_mask

    out = {}
    for key, geom in geometries.items():
        inside = ~geometry_mask([geom], out_shape=array.shape, transform=transform)
        vals = array[inside & np.isfinite(array)]
        out[key] = float(vals.mean()) if vals.size else float("nan")
    return out


def plot_polygons(corners: pd.DataFrame) -> dict:
    """Polygons (convex hull of the corner points) of each plot; ``corners`` has plot, x, y."""
    from shapely.geometry import MultiPoint

    out = {}
    for plot, g in corners.groupby("plot", sort=False):
        hull = MultiPoint(list(zip(g["x"], g["y"]))).convex_hull
        if hull.geom_type != "Polygon" or hull.area <= 0:
            raise InputDataError(f"corners of plot {plot!r} do not enclose an area", column="plot")
        out[str(plot)] = hull
    return out


def local_to_projected(local_xy, projected_xy) -> np.ndarray:
    """Least-squares affine transform (2 x 3 matrix) from local plot coordinates [m] to projected [m].

    Parameters
    ----------
    local_xy : array (n, 2) [m] (field coordinates of the corners)
    projected_xy : array (n, 2) [m] (the same corners in the projected CRS), n >= 3

    Returns
    -------
    matrix : array (2, 3) such that projected = matrix @ [x, y, 1]

    Notes
    -----
    .. math:: (X, Y)^T = A \\, (x, y)^T + t

    References
    ----------
    1. Réjou-Méchain, M. et al. (2017) Methods Ecol. Evol. 8:1163-1167 (BIOMASS ``check_plot_coord``,
       which fits the same kind of transformation on plot corners).
    """
    local_xy = np.asarray(local_xy, dtype=float)
    projected_xy = np.asarray(projected_xy, dtype=float)
    if len(local_xy) < 3:
        raise InputDataError("at least 3 corners are needed to georeference a plot")
    X = np.column_stack([local_xy, np.ones(len(local_xy))])
    coef, *_ = np.linalg.lstsq(X, projected_xy, rcond=None)
    return coef.T


def subplot_grid(corners: pd.DataFrame, size_m: float) -> tuple[dict, dict]:
    """Square subplots of ``size_m`` [m] in each plot's local frame, georeferenced by its corners.

    ``corners`` has plot, x, y (projected) and x_local, y_local (field coordinates). Returns
    ``(polygons, frames)``: polygons keyed by "plot:i:j" and, per plot, its local origin and
    extent ``(x0, y0, nx, ny)``.
    """
    from shapely.geometry import Polygon

    polys, frames = {}, {}
    for plot, g in corners.groupby("plot", sort=False):
        m = local_to_projected(g[["x_local", "y_local"]], g[["x", "y"]])
        x0, y0 = g["x_local"].min(), g["y_local"].min()
        nx = int(round((g["x_local"].max() - x0) / size_m))
        ny = int(round((g["y_local"].max() - y0) / size_m))
        if nx < 1 or ny < 1:
            raise InputDataError(f"plot {plot!r} is smaller than one {size_m:g} m subplot", column="plot")
        frames[str(plot)] = (x0, y0, nx, ny)
        for i in range(nx):
            for j in range(ny):
                loc = np.array([[x0 + i * size_m, y0 + j * size_m], [x0 + (i + 1) * size_m, y0 + j * size_m],
                                [x0 + (i + 1) * size_m, y0 + (j + 1) * size_m], [x0 + i * size_m, y0 + (j + 1) * size_m]])
                xy = (m @ np.column_stack([loc, np.ones(4)]).T).T
                polys[f"{plot}:{i}:{j}"] = Polygon(xy)
    return polys, frames


def assign_subplots(plot, x_local, y_local, frames: dict, size_m: float, tolerance_m: float = 5.0) -> np.ndarray:
    """Subplot key of each tree ("plot:i:j"), or None for trees farther than ``tolerance_m`` [m]
    outside their plot (trees just outside are put in the nearest edge subplot)."""
    plot = np.asarray(plot).astype(str)
    x, y = np.asarray(x_local, dtype=float), np.asarray(y_local, dtype=float)
    out = np.empty(len(plot), dtype=object)
    for k, (p, xi, yi) in enumerate(zip(plot, x, y)):
        if p not in frames or not (np.isfinite(xi) and np.isfinite(yi)):
            out[k] = None
            continue
        x0, y0, nx, ny = frames[p]
        if not (x0 - tolerance_m <= xi <= x0 + nx * size_m + tolerance_m
                and y0 - tolerance_m <= yi <= y0 + ny * size_m + tolerance_m):
            out[k] = None
            continue
        i = min(max(int((xi - x0) // size_m), 0), nx - 1)
        j = min(max(int((yi - y0) // size_m), 0), ny - 1)
        out[k] = f"{p}:{i}:{j}"
    return out


@dataclass(frozen=True)
class ModelAssistedTotal:
    """Model-assisted (GREG) estimate of mean AGBD [Mg ha-1] and total AGB [Mg] over the mapped area."""

    mean_mg_per_ha: float
    se_mg_per_ha: float
    total_mg: float
    se_mg: float
    ci90_mg: tuple[float, float]
    area_ha: float
    n_plots: int
    mean_residual_mg_per_ha: float

    def to_dict(self) -> dict:
        return {"mean_mg_per_ha": self.mean_mg_per_ha, "se_mg_per_ha": self.se_mg_per_ha, "total_mg": self.total_mg,
                "se_mg": self.se_mg, "ci90_mg": list(self.ci90_mg), "area_ha": self.area_ha,
                "n_plots": self.n_plots, "mean_residual_mg_per_ha": self.mean_residual_mg_per_ha}


def model_assisted_total(predicted_cells, cell_area_ha: float, observed_plots, predicted_plots,
                         confidence: float = 0.90) -> ModelAssistedTotal:
    """Model-assisted (generalized regression) estimate of the mean and total over a map.

    Parameters
    ----------
    predicted_cells : array [Mg ha-1] (model predictions of every mapped cell; NaN ignored)
    cell_area_ha : float [ha]
    observed_plots : array [Mg ha-1] (field AGBD of the plots, a probability sample of the area)
    predicted_plots : array [Mg ha-1] (model predictions at the plots)
    confidence : float (default 0.90)

    Returns
    -------
    ModelAssistedTotal

    Notes
    -----
    .. math:: \\hat\\mu = \\frac{1}{N}\\sum_{i=1}^N \\hat y_i + \\frac{1}{n}\\sum_{j=1}^n (y_j - \\hat y_j),\\quad
              \\widehat{V}(\\hat\\mu) = \\frac{1}{n(n-1)} \\sum_j (\\varepsilon_j - \\bar\\varepsilon)^2

    Total = :math:`A \\hat\\mu` with :math:`A = N \\times` cell area; the interval uses
    :math:`t_{n-1}`. The finite-population correction is ignored (plots cover a small share).

    References
    ----------
    1. Särndal, C.-E., Swensson, B. & Wretman, J. (1992) Model Assisted Survey Sampling, Springer,
       ch. 6 (the regression estimator).
    2. McRoberts, R. E., Næsset, E. & Gobakken, T. (2013) Inference for lidar-assisted estimation
       of forest growing stock volume. Remote Sens. Environ. 128:268-275.
    """
    cells = np.asarray(predicted_cells, dtype=float)
    cells = cells[np.isfinite(cells)]
    y = np.asarray(observed_plots, dtype=float)
    yhat = np.asarray(predicted_plots, dtype=float)
    ok = np.isfinite(y) & np.isfinite(yhat)
    y, yhat = y[ok], yhat[ok]
    n = len(y)
    if n < 2 or cells.size == 0:
        raise ModelError("a model-assisted estimate needs at least 2 plots and one mapped cell")
    resid = y - yhat
    mean = float(cells.mean() + resid.mean())
    se = float(np.std(resid, ddof=1) / np.sqrt(n))
    area = float(cells.size * cell_area_ha)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * se * area
    return ModelAssistedTotal(mean, se, mean * area, se * area, (mean * area - half, mean * area + half), area, n,
                              float(resid.mean()))


@dataclass(frozen=True)
class AgbdMapResult:
    model: PowerModel
    total: ModelAssistedTotal
    plots: tuple[dict, ...]
    path: str
    cell_size_m: float
    crs: str
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"model": self.model.to_dict(), "total": self.total.to_dict(), "plots": list(self.plots),
                "map": self.path, "cell_size_m": self.cell_size_m, "crs": self.crs, "notes": list(self.notes)}


def read_plot_corners(path: str | Path, columns: dict[str, str] | None = None) -> pd.DataFrame:
    """Plot corner table with roles plot, x, y (projected coordinates in metres, raster CRS) and
    optionally x_local, y_local (field coordinates [m], needed for subplots)."""
    from reddplus.stocks.inventory import _numeric, _read_table

    path = Path(path)
    df = _read_table(path)
    cols = {"plot": "plot", "x": "x", "y": "y", **(columns or {})}
    for role in cols:
        if role not in ("plot", "x", "y", "x_local", "y_local"):
            raise InputDataError(f"unknown corner role {role!r} (plot, x, y, x_local, y_local)", path=str(path))
    for role, name in cols.items():
        if name not in df.columns:
            raise InputDataError(f"no column {name!r} (role {role}) in the corner table", column=name, path=str(path))
    out = pd.DataFrame({"plot": df[cols["plot"]].astype(str), "x": _numeric(df, cols["x"], str(path)),
                        "y": _numeric(df, cols["y"], str(path))})
    for role in ("x_local", "y_local"):
        if role in cols:
            out[role] = _numeric(df, cols[role], str(path))
    bad = ~(np.isfinite(out["x"]) & np.isfinite(out["y"]))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputDataError("missing corner coordinate", row=i + 1, column=cols["x"], path=str(path))
    return out


def agbd_map_from_files(trees_path, *, columns=None, corners_path, corner_columns=None, raster_path,
                        raster_crs: str | None = None, cell_size_m: float = 50.0, height_model: str = "log2",
                        height_data_path=None, height_columns=None, wood_density_path=None, subplot_size_m=None,
                        out_path, overwrite: bool = False) -> AgbdMapResult:
    """Plot (or subplot) AGBD from trees, covariate means in their polygons, AGBD = a H^b, COG map
    and model-assisted total.

    Plot areas are the corner polygons' areas [ha]. With ``subplot_size_m`` the plots are cut into
    square subplots in their local frame (tree roles x, y and corner roles x_local, y_local are
    then required); trees more than 5 m outside their plot are left out of the calibration and
    counted in ``notes``. Subplots of one plot are not independent: the interval then understates
    the sampling error (documented in the result notes). The covariate raster must be in a
    projected CRS in metres (give ``raster_crs`` when the file stores none).
    """
    import rasterio
    from affine import Affine
    from pyproj import CRS

    from reddplus.raster.io import band_metadata, write_cog
    from reddplus.stocks.tools import agb_from_files

    corners = read_plot_corners(corners_path, corner_columns)
    polygons = plot_polygons(corners)
    with rasterio.open(raster_path) as ds:
        arr = ds.read(1, masked=True).filled(np.nan).astype(float)
        transform = ds.transform
        crs = ds.crs
    if not (np.isfinite(arr) & (arr > 0)).any():
        raise InputDataError("the covariate raster has no positive value (all zero or nodata): AGBD = a H^b "
                             "cannot be fitted; wrong file or band?", path=str(raster_path))
    if crs is None:
        if raster_crs is None:
            raise CRSError("the covariate raster stores no CRS; give it (e.g. raster_crs='EPSG:32622')",
                           path=str(raster_path))
        crs = rasterio.crs.CRS.from_user_input(raster_crs)
    pcrs = CRS.from_user_input(crs.to_wkt())
    if not pcrs.is_projected or pcrs.axis_info[0].unit_name not in ("metre", "meter"):
        raise CRSError(f"the covariate raster CRS must be projected in metres, got {pcrs.name}", path=str(raster_path))
    res = abs(transform.a)
    factor = int(round(cell_size_m / res))
    if factor < 1 or abs(factor * res - cell_size_m) > 1e-6 * cell_size_m or abs(abs(transform.e) - res) > 1e-9:
        raise InputDataError(f"cell size {cell_size_m} m is not a multiple of the square pixel size {res} m",
                             path=str(raster_path))
    agb = agb_from_files(trees_path, columns=columns, plot_areas_path=None, height_model=height_model,
                         height_data_path=height_data_path, height_columns=height_columns,
                         wood_density_path=wood_density_path)
    trees = agb.trees
    missing = [p.plot for p in agb.plots if p.plot not in polygons]
    if missing:
        raise InputDataError(f"plots without corners: {', '.join(missing)}", column="plot", path=str(corners_path))
    notes = []
    if subplot_size_m:
        if not {"x_local", "y_local"} <= set(corners.columns):
            raise InputDataError("subplots need the corner roles x_local and y_local (--corner-column x_local=NAME)",
                                 path=str(corners_path))
        if not {"x", "y"} <= set(trees.columns):
            raise InputDataError("subplots need the tree roles x and y (local coordinates, --column x=NAME)",
                                 path=str(trees_path))
        units, frames = subplot_grid(corners, float(subplot_size_m))
        key = assign_subplots(trees["plot"], trees["x"], trees["y"], frames, float(subplot_size_m))
        outside = np.array([k is None for k in key])
        if outside.any():
            notes.append(f"{int(outside.sum())} trees more than 5 m outside their plot left out of the calibration")
        unit_agb = pd.Series(trees["agb_mg"].to_numpy()[~outside]).groupby(key[~outside]).sum()
        unit_agb = unit_agb.reindex(list(units), fill_value=0.0)
        notes.append(f"{len(units)} subplots of {subplot_size_m:g} m; subplots of a plot are not independent, so "
                     f"the interval understates the sampling error")
    else:
        units = polygons
        unit_agb = pd.Series({p.plot: p.agb_mg for p in agb.plots})
    keys = [k for k in unit_agb.index if k in units]
    area_ha = np.array([units[k].area / 1e4 for k in keys])
    agbd = unit_agb[keys].to_numpy() / area_ha
    chm = zonal_means(arr, transform, {k: units[k] for k in keys})
    h = np.array([chm[k] for k in keys])
    model = fit_power_model(h, agbd)
    coarse = block_mean(arr, factor)
    pred = model.predict(coarse).astype("float32")
    out_transform = Affine(transform.a * factor, transform.b, transform.c, transform.d, transform.e * factor,
                           transform.f)
    total = model_assisted_total(pred, (factor * res) ** 2 / 1e4, agbd, model.predict(h))
    write_cog(out_path, pred, crs=crs, transform=out_transform, nodata=float("nan"), overwrite=overwrite,
              **band_metadata("agbd"))
    plots = tuple({"plot": k, "area_ha": float(a_ha), "agb_mg": float(unit_agb[k]), "agbd_mg_per_ha": float(a),
                   "canopy_height_m": float(c), "predicted_agbd_mg_per_ha": float(model.predict(c))}
                  for k, a_ha, a, c in zip(keys, area_ha, agbd, h))
    log.info("AGBD map %s: %d x %d cells of %g m", out_path, pred.shape[1], pred.shape[0], cell_size_m)
    return AgbdMapResult(model, total, plots, str(out_path), float(cell_size_m), pcrs.to_string(), tuple(notes))
