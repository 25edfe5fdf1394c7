"""Path-level tools: the guts of ``reddplus stocks`` commands without argument parsing.

:func:`estimate_agb` works on an in-memory :class:`~reddplus.stocks.inventory.Inventory`;
:func:`agb_from_files` and :func:`height_models_from_file` take paths.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from reddplus.errors import InputDataError, ModelError
from reddplus.stocks.aggregate import (CARBON_FRACTION, CO2_PER_C, DEFAULT_ROOT_SHOOT, ROOT_SHOOT_RATIOS, ProjectStock,
                                       StratumStock, project_carbon_stock, stratum_carbon_stocks)
from reddplus.stocks.allometry import agb_chave2014_eq4, agb_chave2014_eq7
from reddplus.stocks.height import (HEIGHT_METHODS, HeightModel, HeightModelComparison, chave2014_eq6a_model,
                                    compare_height_models, feldpausch2012_model, fit_height_model)
from reddplus.stocks.inventory import Inventory, PlotAreas, read_inventory, read_plot_areas
from reddplus.stocks.montecarlo import MonteCarloResult, agb_monte_carlo
from reddplus.stocks.wood_density import (WoodDensityTable, default_wood_density_table, match_wood_density,
                                          read_wood_density_table)

log = logging.getLogger(__name__)

#: height sources a user may name: local fits, "best" (lowest RSE), feldpausch:REGION, chave2014_eq6a
HEIGHT_MODEL_CHOICES = (*HEIGHT_METHODS, "best", "feldpausch:<region>", "chave2014_eq6a")


@dataclass(frozen=True)
class PlotAgb:
    plot: str
    n_trees: int
    area_ha: float | None
    agb_mg: float
    bgb_mg: float
    stratum: str | None = None
    monte_carlo: dict | None = None  # Summary fields of the plot AGB [Mg]

    def to_dict(self, carbon_fraction: float) -> dict:
        per_ha = (lambda v: v / self.area_ha) if self.area_ha else (lambda v: None)
        out = {"plot": self.plot, "n_trees": self.n_trees, "area_ha": self.area_ha, "agb_mg": self.agb_mg,
               "agb_mg_per_ha": per_ha(self.agb_mg), "bgb_mg": self.bgb_mg, "bgb_mg_per_ha": per_ha(self.bgb_mg),
               "carbon_mg": (self.agb_mg + self.bgb_mg) * carbon_fraction,
               "co2e_t": (self.agb_mg + self.bgb_mg) * carbon_fraction * CO2_PER_C,
               "co2e_t_per_ha": per_ha((self.agb_mg + self.bgb_mg) * carbon_fraction * CO2_PER_C)}
        if self.stratum is not None:
            out["stratum"] = self.stratum
        if self.monte_carlo is not None:
            out.update(_mc_fields(self.monte_carlo, self.area_ha))
        return out


def _mc_fields(s, area_ha: float | None) -> dict:
    out = s.to_dict(prefix="agb_mg_")
    if area_ha:
        out.update(s.scaled(1.0 / area_ha).to_dict(prefix="agb_mg_per_ha_"))
    return out


@dataclass(frozen=True)
class AgbResult:
    """Plot and total AGB, with wood density levels, height sources and optional Monte Carlo."""

    plots: tuple[PlotAgb, ...]
    wood_density_levels: dict[str, int]
    height_sources: dict[str, int]
    allometry: str
    height_model: HeightModel | None
    root_shoot_ratio: float
    carbon_fraction: float
    monte_carlo: MonteCarloResult | None = None
    strata: tuple[StratumStock, ...] | None = None
    project: ProjectStock | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    trees: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    height_sd: float = 0.0

    @property
    def total_agb_mg(self) -> float:
        return float(sum(p.agb_mg for p in self.plots))

    def to_dict(self) -> dict:
        area = [p.area_ha for p in self.plots]
        total_area = float(sum(area)) if all(a for a in area) else None
        total = {"n_plots": len(self.plots), "n_trees": int(sum(p.n_trees for p in self.plots)),
                 "area_ha": total_area, "agb_mg": self.total_agb_mg,
                 "agb_mg_per_ha": self.total_agb_mg / total_area if total_area else None,
                 "bgb_mg": float(sum(p.bgb_mg for p in self.plots))}
        total["co2e_t"] = (total["agb_mg"] + total["bgb_mg"]) * self.carbon_fraction * CO2_PER_C
        if self.monte_carlo is not None:
            total.update(_mc_fields(self.monte_carlo.total, total_area))
        out = {"plots": [p.to_dict(self.carbon_fraction) for p in self.plots], "total": total,
               "wood_density_levels": dict(self.wood_density_levels), "height_sources": dict(self.height_sources),
               "allometry": self.allometry, "height_model": self.height_model.to_dict() if self.height_model else None,
               "root_shoot_ratio": self.root_shoot_ratio, "carbon_fraction": self.carbon_fraction,
               "notes": list(self.notes)}
        if self.monte_carlo is not None:
            out["monte_carlo"] = {"n_draws": self.monte_carlo.n_draws, "seed": self.monte_carlo.seed,
                                  "diameter_error": "chave2004", "height_sd_measured_m": self.height_sd}
        if self.strata is not None:
            out["strata"] = [s.to_dict() for s in self.strata]
        if self.project is not None:
            out["project"] = self.project.to_dict()
        return out


def resolve_height_model(choice: str | None, diameter, height, weighted: bool = True, e: float | None = None
                         ) -> HeightModel | None:
    """Build the height model named ``choice`` (explicit; never guessed).

    ``choice``: one of :data:`HEIGHT_METHODS` (fitted on ``diameter``/``height``), ``"best"`` (lowest
    RSE among them), ``"feldpausch:REGION"`` or ``"chave2014_eq6a"`` (needs ``e``); None for none.
    """
    if choice is None:
        return None
    if choice in HEIGHT_METHODS:
        return fit_height_model(diameter, height, choice, weighted=weighted)
    if choice == "best":
        return compare_height_models(diameter, height, weighted=weighted).best()
    if choice.lower().startswith("feldpausch:"):
        return feldpausch2012_model(choice.split(":", 1)[1])
    if choice == "chave2014_eq6a":
        if e is None:
            raise InputDataError("height model chave2014_eq6a needs E (--e)")
        return chave2014_eq6a_model(e)
    raise InputDataError(f"unknown height model {choice!r}; choose one of {', '.join(HEIGHT_MODEL_CHOICES)}")


def estimate_agb(inventory: Inventory, *, plot_area: float | None = None, plot_areas: PlotAreas | None = None,
                 wood_density_table: WoodDensityTable | None = None, height_model: HeightModel | None = None,
                 allometry: str = "chave2014_eq4", e: float | None = None, monte_carlo: int | None = None,
                 seed: int | None = None, root_shoot_ratio: float = ROOT_SHOOT_RATIOS[DEFAULT_ROOT_SHOOT],
                 carbon_fraction: float = CARBON_FRACTION, stratum_area_ha: dict[str, float] | None = None,
                 height_sd: float = 0.0, progress=None) -> AgbResult:
    """Tree AGB -> plot AGB, BGB and CO2e, with wood density fallback and optional Monte Carlo.

    Trees with a measured height keep it; the others take ``height_model``. With
    ``allometry="chave2014_eq7"`` heights are not used and ``e`` is required. Plot areas come from
    ``plot_areas`` (a plot absent from it is an error) or the scalar ``plot_area``; without either,
    per-hectare values are null and a note says so. When ``plot_areas`` carries strata, stratum
    means with 90 % CIs are returned, and the project total when ``stratum_area_ha`` is given.
    """
    trees = inventory.trees
    notes = list(inventory.notes)
    table = wood_density_table or default_wood_density_table()
    wd = match_wood_density(trees["genus"].tolist() if trees["genus"].notna().any() else [None] * len(trees),
                            trees["species"].tolist() if trees["species"].notna().any() else [None] * len(trees),
                            table, family=trees["family"].tolist() if trees["family"].notna().any() else None,
                            plot=trees["plot"].to_numpy())
    counts = wd.counts
    if counts["plot"] or counts["dataset"]:
        notes.append(f"{counts['plot'] + counts['dataset']} trees without a taxon match took the plot or dataset "
                     f"mean wood density")
    d = trees["diameter"].to_numpy()
    h = trees["height"].to_numpy(dtype=float)
    if allometry == "chave2014_eq4":
        missing = ~np.isfinite(h)
        if missing.any() and height_model is None:
            i = int(np.flatnonzero(missing)[0])
            raise ModelError(f"{int(missing.sum())} trees have no height (first: data row {i + 1}); choose a height "
                             f"model (--height-model) or the height-free allometry chave2014_eq7 with E")
        h_used = np.where(missing, height_model.predict(d) if missing.any() else np.nan, h)
        sources = {"measured": int((~missing).sum()), "model": int(missing.sum())}
        agb = agb_chave2014_eq4(wd.wood_density, d, h_used)
    elif allometry == "chave2014_eq7":
        if e is None:
            raise InputDataError("allometry chave2014_eq7 needs the environmental stress index E (--e)")
        sources = {"measured": 0, "model": 0}
        agb = agb_chave2014_eq7(wd.wood_density, d, e)
    else:
        raise InputDataError(f"unknown allometry {allometry!r}; choose chave2014_eq4 or chave2014_eq7")
    trees = trees.assign(wood_density=wd.wood_density, wood_density_sd=wd.wood_density_sd,
                         wood_density_level=wd.level, agb_mg=agb)
    if allometry == "chave2014_eq4":
        trees = trees.assign(height_used=h_used)
    mc = None
    if monte_carlo:
        mc = agb_monte_carlo(d, wd.wood_density, wd.wood_density_sd, allometry=allometry, height=h,
                             height_sd=height_sd, height_model=height_model, e=e, plot=trees["plot"].to_numpy(),
                             n_draws=monte_carlo, seed=seed, progress=progress)
        mc_plots = mc.plot_summaries()
    areas: dict[str, float | None]
    plots = list(pd.unique(trees["plot"]))
    if plot_areas is not None:
        lacking = [p for p in plots if p not in plot_areas.area_ha]
        if lacking:
            row = int(np.flatnonzero(trees["plot"].to_numpy() == lacking[0])[0]) + 1
            raise InputDataError(f"{len(lacking)} plots have no area in the plot table (first: {lacking[0]!r})",
                                 row=row, column=inventory.columns.get("plot", "plot"), path=inventory.path)
        areas = {p: plot_areas.area_ha[p] for p in plots}
    elif plot_area is not None:
        if not (np.isfinite(plot_area) and plot_area > 0):
            raise InputDataError(f"plot area must be positive, got {plot_area!r}", column="plot_area")
        areas = {p: float(plot_area) for p in plots}
    else:
        areas = {p: None for p in plots}
        notes.append("no plot area given (--plot-area or a plot table): per-hectare values are null")
    agb_by_plot = trees.groupby("plot", sort=False)["agb_mg"].agg(["sum", "size"])
    rows = []
    for p in plots:
        s = float(agb_by_plot.loc[p, "sum"])
        rows.append(PlotAgb(str(p), int(agb_by_plot.loc[p, "size"]), areas[p], s, s * root_shoot_ratio,
                            plot_areas.stratum.get(p) if plot_areas is not None and plot_areas.stratum else None,
                            mc_plots[p] if mc is not None else None))
    strata = project = None
    if plot_areas is not None and plot_areas.stratum:
        strata = stratum_carbon_stocks([r.agb_mg / r.area_ha for r in rows], [r.stratum for r in rows],
                                       root_shoot_ratio=root_shoot_ratio, carbon_fraction=carbon_fraction)
        if stratum_area_ha:
            project = project_carbon_stock(strata, stratum_area_ha)
    return AgbResult(tuple(rows), counts, sources, allometry, height_model, root_shoot_ratio, carbon_fraction, mc,
                     strata, project, tuple(notes), trees, float(height_sd))


def agb_from_files(trees_path: str | Path, *, columns: dict[str, str] | None = None, diameter_unit: str = "cm",
                   plot_area: float | None = None, plot_areas_path: str | Path | None = None,
                   plot_area_columns: dict[str, str] | None = None, height_model: str | None = None,
                   height_data_path: str | Path | None = None, height_columns: dict[str, str] | None = None,
                   weighted: bool = True, region: str | None = None, wood_density_path: str | Path | None = None,
                   allometry: str = "chave2014_eq4", e: float | None = None, monte_carlo: int | None = None,
                   seed: int | None = None, root_shoot_ratio: float = ROOT_SHOOT_RATIOS[DEFAULT_ROOT_SHOOT],
                   carbon_fraction: float = CARBON_FRACTION, min_diameter: float | None = None,
                   stratum_area_ha: dict[str, float] | None = None, height_sd: float = 0.0,
                   progress=None, single_plot: bool = False) -> AgbResult:
    """:func:`estimate_agb` from files: the tool behind ``reddplus stocks agb``.

    ``single_plot`` declares a tree file without a plot column one plot (otherwise an error: see
    :func:`~reddplus.stocks.inventory.read_inventory`).
    """
    inv = read_inventory(trees_path, columns, diameter_unit, min_diameter=min_diameter, single_plot=single_plot)
    if height_data_path is not None:   # trees to fit the height model on: plots do not matter
        hd = read_inventory(height_data_path, height_columns, diameter_unit, single_plot=True)
        hd_d, hd_h = hd.trees["diameter"].to_numpy(), hd.trees["height"].to_numpy()
    else:
        hd_d, hd_h = inv.trees["diameter"].to_numpy(), inv.trees["height"].to_numpy()
    model = resolve_height_model(height_model, hd_d, hd_h, weighted=weighted, e=e) if allometry == "chave2014_eq4" \
        else None
    if wood_density_path is not None:
        if region is not None:
            raise InputDataError("the region filter applies to the shipped GWDD table only")
        table = read_wood_density_table(wood_density_path)
    else:
        table = default_wood_density_table(region)
    areas = read_plot_areas(plot_areas_path, plot_area_columns) if plot_areas_path is not None else None
    return estimate_agb(inv, plot_area=plot_area, plot_areas=areas, wood_density_table=table, height_model=model,
                        allometry=allometry, e=e, monte_carlo=monte_carlo, seed=seed,
                        root_shoot_ratio=root_shoot_ratio, carbon_fraction=carbon_fraction,
                        stratum_area_ha=stratum_area_ha, height_sd=height_sd, progress=progress)


def height_models_from_file(path: str | Path, *, columns: dict[str, str] | None = None, diameter_unit: str = "cm",
                            weighted: bool = True, methods=tuple(HEIGHT_METHODS)) -> HeightModelComparison:
    """Fit and compare local height–diameter models on a tree file (the tool behind
    ``reddplus stocks height-models``)."""
    inv = read_inventory(path, columns, diameter_unit, single_plot=True)   # an H-D fit pools trees by design
    h = inv.trees["height"].to_numpy()
    if not np.isfinite(h).any():
        raise InputDataError("no measured height: map the height column with --column height=NAME",
                             path=str(path), column=inv.columns.get("height"))
    return compare_height_models(inv.trees["diameter"].to_numpy(), h, methods=methods, weighted=weighted)


def write_trees(result: AgbResult, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write the per-tree table (canonical columns, wood density, height used, AGB [Mg]) as CSV, atomically."""
    from reddplus.raster.io import atomic_path

    if result.trees is None:
        raise InputDataError("this result carries no per-tree table")
    with atomic_path(path, overwrite=overwrite, suffix=".csv") as tmp:
        result.trees.to_csv(tmp, index=False)
    return Path(path)
