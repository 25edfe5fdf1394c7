"""Figures of the crediting report (matplotlib, Agg backend): data in, PNG out.

Maps use the raster grid's extent in CRS metres with a km scale; vectors are drawn
as outlines. Every function returns the path it wrote.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402

from reddplus.raster.io import atomic_path  # noqa: E402

_DPI = 110


def _save(fig, path: str | os.PathLike) -> Path:
    with atomic_path(path, overwrite=True, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=_DPI, bbox_inches="tight", format="png")
    plt.close(fig)
    return Path(path)


def _extent_km(bounds: Sequence[float]) -> list[float]:
    w, s, e, n = bounds
    return [w / 1000, e / 1000, s / 1000, n / 1000]


def _outlines(ax, outlines: dict[str, tuple[object, str]] | None) -> None:
    """Draw GeoSeries outlines given as {label: (geoseries_in_raster_crs, colour)}, clipped to the map's extent
    (a zoomed map keeps its zoom: an outline larger than it does not widen the axes)."""
    if not outlines:
        return
    from shapely.affinity import scale

    xlim, ylim = ax.get_xlim(), ax.get_ylim()

    for label, (geoms, colour) in outlines.items():
        first = True
        for g in geoms:
            g_km = scale(g, xfact=1e-3, yfact=1e-3, origin=(0, 0))
            for part in getattr(g_km, "geoms", [g_km]):
                boundary = part.boundary if part.geom_type.endswith("Polygon") else part
                for line in getattr(boundary, "geoms", [boundary]):
                    x, y = line.xy
                    ax.plot(x, y, color=colour, lw=1.2, label=label if first else None)
                    first = False
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    ax.legend(loc="lower left", fontsize=7, framealpha=0.8)


def categorical_map(path, array: np.ndarray, bounds, *, categories: dict[int, tuple[str, str]], title: str,
                    outlines=None, max_pixels: int = 1_500_000) -> Path:
    """A categorical raster map; ``categories`` maps value -> (label, colour). Other values are blank."""
    step = max(1, int(np.ceil(np.sqrt(array.size / max_pixels))))
    arr = array[::step, ::step]
    values = sorted(categories)
    cmap = ListedColormap([categories[v][1] for v in values])
    norm = BoundaryNorm([v - 0.5 for v in values] + [values[-1] + 0.5], cmap.N)
    masked = np.ma.masked_where(~np.isin(arr, values), arr)
    fig, ax = plt.subplots(figsize=(7, 5.5))
    ax.imshow(masked, extent=_extent_km(bounds), cmap=cmap, norm=norm, interpolation="nearest")
    handles = [plt.Rectangle((0, 0), 1, 1, color=categories[v][1]) for v in values]
    ax.legend(handles, [categories[v][0] for v in values], loc="upper right", fontsize=7, framealpha=0.8)
    _outlines(ax, outlines)
    ax.set_title(title)
    ax.set_xlabel("easting [km]")
    ax.set_ylabel("northing [km]")
    return _save(fig, path)


def continuous_map(path, array: np.ndarray, bounds, *, title: str, label: str, cmap: str = "viridis",
                   outlines=None, vmin=None, vmax=None, max_pixels: int = 1_500_000) -> Path:
    step = max(1, int(np.ceil(np.sqrt(array.size / max_pixels))))
    arr = np.ma.masked_invalid(array[::step, ::step].astype(float))
    fig, ax = plt.subplots(figsize=(7, 5.5))
    im = ax.imshow(arr, extent=_extent_km(bounds), cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    fig.colorbar(im, ax=ax, label=label, shrink=0.8)
    _outlines(ax, outlines)
    ax.set_title(title)
    ax.set_xlabel("easting [km]")
    ax.set_ylabel("northing [km]")
    return _save(fig, path)


def side_by_side_maps(path, arrays: list[np.ndarray], titles: list[str], bounds, *, label: str, cmap="magma_r",
                      outlines=None, max_pixels: int = 800_000) -> Path:
    """Maps sharing one colour scale (e.g. risk classes without and with the highway)."""
    fig, axes = plt.subplots(1, len(arrays), figsize=(6 * len(arrays), 5), squeeze=False)
    vmin = min(np.nanmin(a) for a in arrays)
    vmax = max(np.nanmax(a) for a in arrays)
    for ax, arr, title in zip(axes[0], arrays, titles):
        step = max(1, int(np.ceil(np.sqrt(arr.size / max_pixels))))
        im = ax.imshow(np.ma.masked_invalid(arr[::step, ::step].astype(float)), extent=_extent_km(bounds), cmap=cmap,
                       vmin=vmin, vmax=vmax, interpolation="nearest")
        _outlines(ax, outlines)
        ax.set_title(title)
        ax.set_xlabel("easting [km]")
    axes[0][0].set_ylabel("northing [km]")
    fig.colorbar(im, ax=axes[0].tolist(), label=label, shrink=0.8)
    return _save(fig, path)


def emissions_chart(path, years, baseline, baseline_lo, baseline_hi, project, *, projected=None, leakage=None,
                    counterfactual=None, counterfactual_lo=None, counterfactual_hi=None) -> Path:
    """Baseline vs project emissions per year [t CO2e/yr] with the baseline's interval.

    ``project`` is the monitored (ex-post) series, ``projected`` the ex-ante projection; a series
    with no value (all NaN) is left out of the chart and of its legend.
    """
    years = np.asarray(years)
    fig, ax = plt.subplots(figsize=(8, 4.2))
    ax.fill_between(years, baseline_lo, baseline_hi, color="tab:red", alpha=0.2, label="baseline 90% CI")
    ax.plot(years, baseline, "o-", color="tab:red", label="baseline (VT0007 allocation)")
    if np.isfinite(np.asarray(project, float)).any():
        ax.plot(years, project, "s-", color="tab:green", label="project (monitored)")
    if projected is not None:
        ax.plot(years, projected, ":", color="tab:green", label="project (ex-ante projection)")
    if leakage is not None and np.isfinite(np.asarray(leakage, float)).any():
        ax.plot(years, leakage, "^-", color="tab:orange", label="leakage")
    if counterfactual is not None:
        ax.plot(years, counterfactual, "d--", color="tab:purple", label="matched counterfactual")
        if counterfactual_lo is not None:
            ax.fill_between(years, counterfactual_lo, counterfactual_hi, color="tab:purple", alpha=0.15)
    ax.set_xlabel("year")
    ax.set_ylabel("emissions [t CO2e/yr]")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Baseline vs project emissions")
    return _save(fig, path)


def bar_with_ci(path, labels, values, lo, hi, *, ylabel: str, title: str, color="tab:green") -> Path:
    """Bars with asymmetric interval whiskers (e.g. stock per stratum with its 90% CI)."""
    values = np.asarray(values, float)
    err = np.vstack([values - np.asarray(lo, float), np.asarray(hi, float) - values])
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(labels, values, yerr=err, capsize=6, color=color, alpha=0.8)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def breakdown_chart(path, labels, values, *, title: str, xlabel: str, threshold: float | None = None) -> Path:
    """Horizontal bars (e.g. the NPRT risk scores per factor)."""
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(labels) + 1.5))
    ax.barh(labels, values, color=["tab:red" if v > 0 else "tab:green" for v in values])
    if threshold is not None:
        ax.axvline(threshold, color="k", ls="--", lw=1)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)
