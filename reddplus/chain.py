"""The end-to-end crediting run: plots and maps -> net credits per vintage, with a report.

:func:`run_project` is the path-level tool behind ``reddplus run PROJECT.toml``; :func:`run_demo`
generates the built-in GENERATED sample landscape and runs it (``reddplus demo``). Each step calls
the pure functions and path-level tools of its own package; this module only wires them, keeps
the intermediate results and writes the run directory:

======================  ======================================================================
step                    package (methodology)
======================  ======================================================================
1 carbon stocks         :mod:`reddplus.stocks` (Chave et al. 2014 eq. 4; IPCC 2006 vol. 4 ch. 4)
2 activity data         :mod:`reddplus.landcover` (annual loss per zone; Puyravaud 2003 rates)
3 baseline              :mod:`reddplus.baseline.rate` (jurisdictional rate, VMD0055),
                        :mod:`reddplus.risk` (VT0007 benchmark risk map, sections 5.1-5.2),
                        :mod:`reddplus.baseline.allocation` (VT0007 section 6),
                        :mod:`reddplus.baseline.scenario` (planned roads, VT0007 section 5.3)
4 credits               :mod:`reddplus.accounting` (VMD0055 emissions and leakage, VMD0017 and
                        the VCS uncertainty deduction, AFOLU Non-Permanence Risk Tool v4.0)
5 credibility           :mod:`reddplus.counterfactual` (pixel matching, over-crediting ratio)
6 report                :mod:`reddplus.report` (HTML + PDF, run manifest)
======================  ======================================================================

The run directory is written under a temporary name and renamed at the end, so a failed run
leaves nothing half-written behind.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from reddplus.errors import ConfigError, InputDataError, OutputExistsError, ZoneError
from reddplus.project import ProjectConfig
from reddplus.raster import Block, Grid, burn_zones, read_zones

log = logging.getLogger(__name__)

#: The seed project's published figures (the reference assessment of the 145,945 ha concession).
REFERENCE = {
    "project_area_ha": 145_945.0,
    "agb_stock_tco2": 79.4e6,
    "avoided_emissions_tco2e_per_year": (250_000.0, 595_000.0),
}

Progress = Callable[[str], None]


# --------------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class CreditingResults:
    """Everything a run produced: the summary numbers, the per-step results (as dicts) and the paths."""

    out_dir: Path
    project_name: str
    project_area_ha: float
    agb_stock_tco2: float
    agb_stock_tco2_ci90: tuple[float, float]
    baseline_emissions_tco2e_per_year: dict[int, float]
    ex_ante_avoided_tco2e_per_year: dict[int, float]
    net_vcus_by_vintage: dict[int, int]
    buffer_by_vintage: dict[int, int]
    buffer_percent: float
    uncertainty_deduction_percent: float
    overcrediting_ratio: dict | None
    report_html: Path
    report_pdf: Path | None
    steps: dict[str, Any] = field(default_factory=dict, repr=False)
    generated: bool = False
    seconds: float = 0.0

    def summary(self) -> dict:
        """The JSON summary of ``reddplus run/demo --json`` (the command-line contract)."""
        avoided = list(self.ex_ante_avoided_tco2e_per_year.values())
        return {
            "project": self.project_name,
            "generated_sample": self.generated,
            "project_area_ha": self.project_area_ha,
            "agb_stock_tco2": self.agb_stock_tco2,
            "agb_stock_tco2_ci90": list(self.agb_stock_tco2_ci90),
            "baseline_emissions_tco2e_per_year": {str(y): v for y, v in self.baseline_emissions_tco2e_per_year.items()},
            "ex_ante_avoided_tco2e_per_year": {str(y): v for y, v in self.ex_ante_avoided_tco2e_per_year.items()},
            "ex_ante_avoided_tco2e_per_year_range": [min(avoided), max(avoided)] if avoided else None,
            "net_vcus_by_vintage": {str(y): v for y, v in self.net_vcus_by_vintage.items()},
            "buffer_by_vintage": {str(y): v for y, v in self.buffer_by_vintage.items()},
            "buffer_percent": self.buffer_percent,
            "uncertainty_deduction_percent": self.uncertainty_deduction_percent,
            "overcrediting_ratio": self.overcrediting_ratio,
            "reference": {"project_area_ha": REFERENCE["project_area_ha"],
                          "agb_stock_tco2": REFERENCE["agb_stock_tco2"],
                          "avoided_emissions_tco2e_per_year": list(REFERENCE["avoided_emissions_tco2e_per_year"])},
            "report_html": str(self.report_html),
            "report_pdf": str(self.report_pdf) if self.report_pdf else None,
            "out_dir": str(self.out_dir),
            "seconds": round(self.seconds, 1),
        }

    def headline(self) -> list[dict]:
        """Headline figures; for the built-in sample, beside the seed project's reference figures."""
        lo, hi = REFERENCE["avoided_emissions_tco2e_per_year"]
        avoided = list(self.ex_ante_avoided_tco2e_per_year.values())
        mean_avoided = float(np.mean(avoided)) if avoided else float("nan")
        if lo <= mean_avoided <= hi:
            diff = "inside the reference range"
        else:
            edge = lo if mean_avoided < lo else hi
            diff = f"{(mean_avoided - edge) / edge:+.1%} from the range's nearest end"
        a_lo, a_hi = self.agb_stock_tco2_ci90
        rows = [
            {"label": "Project area [ha]", "value": f"{self.project_area_ha:,.0f}",
             "reference": f"{REFERENCE['project_area_ha']:,.0f}",
             "difference": f"{self.project_area_ha / REFERENCE['project_area_ha'] - 1:+.2%}"},
            {"label": "AGB stock [t CO2] (90% CI)",
             "value": f"{self.agb_stock_tco2 / 1e6:,.1f} M ({a_lo / 1e6:,.1f}–{a_hi / 1e6:,.1f} M)",
             "reference": f"{REFERENCE['agb_stock_tco2'] / 1e6:,.1f} M",
             "difference": f"{self.agb_stock_tco2 / REFERENCE['agb_stock_tco2'] - 1:+.1%}"},
            {"label": "Ex-ante avoided emissions [t CO2e/yr] (mean, min–max over the crediting period)",
             "value": f"{mean_avoided:,.0f} ({min(avoided):,.0f}–{max(avoided):,.0f})" if avoided else "—",
             "reference": f"{lo:,.0f}–{hi:,.0f}", "difference": diff},
            {"label": "Net VCUs by vintage (ex-post)",
             "value": ", ".join(f"{y}: {v:,}" for y, v in self.net_vcus_by_vintage.items()) or "—",
             "reference": "—", "difference": "—"},
            {"label": "Buffer [% / credits]",
             "value": f"{self.buffer_percent:g}% / {sum(self.buffer_by_vintage.values()):,}",
             "reference": "—", "difference": "—"},
        ]
        if not self.generated:  # the seed project's figures only make sense beside its sample
            rows = [r | {"reference": "—", "difference": "—"} for r in rows]
        if self.overcrediting_ratio:
            r = self.overcrediting_ratio
            rows.append({"label": "Over-crediting ratio (baseline / matched controls)",
                         "value": f"{r['overcrediting_ratio']:.2f} ({r['low']:.2f}–{r['high']:.2f})",
                         "reference": "1.00 = baseline agrees with the counterfactual", "difference": "—"})
        return rows

    def headline_lines(self) -> list[str]:
        """The headline as text lines (printed by ``reddplus demo`` without ``--json``)."""
        title = f"{self.project_name}" + ("  [GENERATED sample, not real project data]" if self.generated else "")
        lines = [title]
        for r in self.headline():
            ref = f"   (reference {r['reference']}; {r['difference']})" if r["reference"] != "—" else ""
            lines.append(f"  {r['label']}: {r['value']}{ref}")
        return lines


# --------------------------------------------------------------------------------------------- helpers
def _zone_mask(path: os.PathLike, grid: Grid, block: Block | None = None) -> np.ndarray:
    """Boolean mask of a polygon layer on the grid or one block of it (pixel centres, all_touched off)."""
    return burn_zones(read_zones(path, grid, dissolve=True), grid, block) > 0


def _polygon_area_ha(path: os.PathLike, crs) -> float:
    """Area of the (dissolved) polygons in the grid's CRS [ha] (the grid CRS is equal-area for the demo)."""
    import geopandas as gpd

    gdf = gpd.read_file(path)
    if gdf.crs is not None and crs is not None and gdf.crs != crs:
        gdf = gdf.to_crs(crs)
    return float(gdf.geometry.union_all().area) / 10_000.0


def _full_block(grid: Grid) -> Block:
    return Block(0, 0, grid.height, grid.width, 0, grid.height, grid.width)


def _local_block(grid: Grid, paths) -> Block:
    """The grid window around the given polygon layers (project, leakage belt), one pixel of margin."""
    import geopandas as gpd
    from rasterio.windows import from_bounds

    bounds = []
    for p in paths:
        g = gpd.read_file(p)
        if g.crs is not None and grid.crs is not None and g.crs != grid.crs:
            g = g.to_crs(grid.crs)
        bounds.append(g.total_bounds)
    b = np.array(bounds)
    w = from_bounds(b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max(), grid.transform)
    r0 = max(0, int(np.floor(w.row_off)) - 1)
    c0 = max(0, int(np.floor(w.col_off)) - 1)
    r1 = min(grid.height, int(np.ceil(w.row_off + w.height)) + 1)
    c1 = min(grid.width, int(np.ceil(w.col_off + w.width)) + 1)
    if r1 <= r0 or c1 <= c0:
        raise ZoneError("the project and leakage belt lie outside the forest-change raster", path=str(paths[0]))
    return Block(r0, c0, r1 - r0, c1 - c0, 0, grid.height, grid.width)


def _outside_share(inner_path, outer_path, crs) -> float:
    """Share of the (dissolved) inner polygons' area outside the outer polygons."""
    import geopandas as gpd

    def geom(p):
        g = gpd.read_file(p)
        return (g.to_crs(crs) if g.crs is not None and crs is not None and g.crs != crs else g).geometry.union_all()

    inner = geom(inner_path)
    return float(inner.difference(geom(outer_path)).area / inner.area) if inner.area > 0 else 1.0


def _overview(fc, max_pixels: int = 1_500_000):
    """Decimated forest-change codes for the report's maps, streamed by blocks (bounded memory).

    Returns the codes every ``step`` pixels and the matching overview :class:`Grid`.
    """
    from affine import Affine

    from reddplus.raster import iter_blocks

    grid = fc.grid
    step = max(1, int(np.ceil(np.sqrt(grid.height * grid.width / max_pixels))))
    oh, ow = -(-grid.height // step), -(-grid.width // step)
    out = np.full((oh, ow), 255, np.uint8)
    for b in iter_blocks(grid.shape, memory_limit_bytes=64 * 2**20, bytes_per_pixel=8, block_size=step * 256):
        c = fc.read_codes(b, with_halo=False)
        r0 = -(-b.row_off // step) * step - b.row_off   # first sampled row/col inside the block
        c0 = -(-b.col_off // step) * step - b.col_off
        sub = c[r0::step, c0::step]
        out[(b.row_off + r0) // step:(b.row_off + r0) // step + sub.shape[0],
            (b.col_off + c0) // step:(b.col_off + c0) // step + sub.shape[1]] = sub
    return out, Grid(grid.crs, grid.transform * Affine.scale(step), oh, ow)


def _date_index(dates: tuple[int, ...], year: int, key: str) -> int:
    if year not in dates:
        raise ConfigError(f"year {year} is not one of the forest-change dates {dates[0]}..{dates[-1]}", key=key)
    return dates.index(year)


def _annual_loss(codes: np.ndarray, mask: np.ndarray, dates: tuple[int, ...], pixel_area_ha: float,
                 strata: np.ndarray | None = None, codes_of_strata: tuple[int, ...] = ()) -> dict:
    """Deforestation per period of the forest change inside ``mask`` [ha], optionally per stratum.

    Returns ``{end_year: ha}`` or ``{end_year: {stratum: ha}}`` (canonical codes: code ``k`` is loss
    in ``(dates[k-1], dates[k]]``; counted with :func:`reddplus.landcover.code_counts`).
    """
    from reddplus.landcover import code_counts
    from reddplus.landcover.activity import deforestation_ha

    n = len(dates)
    if strata is None:
        d = deforestation_ha(code_counts(codes[mask], None, 0)[0], n, pixel_area_ha)
        return {dates[k]: float(d[k - 1]) for k in range(1, n)}
    counts = code_counts(codes[mask], strata[mask], int(max(codes_of_strata)))
    per = {h: deforestation_ha(counts[h], n, pixel_area_ha) for h in codes_of_strata}
    return {dates[k]: {h: float(per[h][k - 1]) for h in codes_of_strata} for k in range(1, n)}


def _per_year(loss_by_end: dict, dates: tuple[int, ...]) -> dict[int, float]:
    """Spread period losses evenly over the years of each period -> {year: ha/yr} (annual data unchanged)."""
    out = {}
    for k in range(1, len(dates)):
        a, b = dates[k - 1], dates[k]
        for y in range(a + 1, b + 1):
            out[y] = loss_by_end[b] / (b - a)
    return out


# --------------------------------------------------------------------------------------------- steps
def _step_stocks(cfg: ProjectConfig, seed: int) -> dict:
    """Per-stratum carbon stocks [t CO2e/ha] with intervals: from the tree inventory (Monte Carlo) or the config."""
    from reddplus.stocks import StratumStock as SS, stratum_carbon_stocks
    from reddplus.stocks.tools import agb_from_files

    st = cfg.stocks
    by_code: dict[int, dict] = {}
    plots = None
    if st.inventory is not None:
        res = agb_from_files(st.inventory, columns=st.columns or None,
                             height_model=None if (st.height_model or "none") == "none" else st.height_model,
                             plot_area=st.plot_area_ha, plot_areas_path=st.plot_areas,
                             plot_area_columns={"stratum": st.stratum_column} if st.plot_areas else None,
                             monte_carlo=st.monte_carlo, seed=seed, root_shoot_ratio=st.root_shoot_ratio,
                             carbon_fraction=st.carbon_fraction)
        plots = res.to_dict()
        labels = [p.stratum for p in res.plots]
        if any(lab is None for lab in labels):
            raise InputDataError("every plot needs a stratum to scale the stocks up", column=st.stratum_column,
                                 path=str(st.inventory))
        per_ha = np.array([p.agb_mg / p.area_ha for p in res.plots])
        stocks = stratum_carbon_stocks(per_ha, labels, root_shoot_ratio=st.root_shoot_ratio,
                                       carbon_fraction=st.carbon_fraction, confidence=0.90)
        names = {str(s.code): s for s in st.strata} | {s.name.lower(): s for s in st.strata}
        for s in stocks:
            spec = names.get(s.stratum.lower()) or names.get(s.stratum)
            if spec is None:
                try:
                    code = int(float(s.stratum))
                except ValueError:
                    raise ConfigError(f"inventory stratum {s.stratum!r} has no code: add it to stocks.strata "
                                      "(code, name)", key="stocks.strata") from None
                name = s.stratum
            else:
                code, name = spec.code, spec.name
            by_code[code] = {"code": code, "name": name, "stock": s}
    else:
        for spec in st.strata:
            agb = spec.agb_tco2e_per_ha
            bgb = spec.bgb_tco2e_per_ha if spec.bgb_tco2e_per_ha is not None else agb * st.root_shoot_ratio
            sd = spec.agb_tco2e_per_ha_sd * (agb + bgb) / agb if agb else 0.0
            # a previous assessment gives a mean and its standard error; treated as a large-sample interval
            half = 1.6448536 * sd
            stock = SS(spec.name, 0, agb / (st.carbon_fraction * 44.0 / 12.0), agb, bgb, agb + bgb, sd, sd, half, 0.90)
            by_code[spec.code] = {"code": spec.code, "name": spec.name, "stock": stock}
    return {"strata": by_code, "plots": plots}


def _stratum_areas(strata: np.ndarray | None, mask: np.ndarray, forest: np.ndarray, codes: tuple[int, ...],
                   pixel_area_ha: float) -> dict[int, float]:
    """Forest area per stratum inside ``mask`` [ha] (one stratum when no stratum raster is given)."""
    m = mask & forest
    if strata is None:
        return {codes[0]: float(np.count_nonzero(m)) * pixel_area_ha}
    return {h: float(np.count_nonzero(m & (strata == h))) * pixel_area_ha for h in codes}


def _read_strata(cfg: ProjectConfig, grid: Grid, block: Block) -> np.ndarray | None:
    from reddplus.raster import check_same_grid, open_raster, read_block, read_grid

    if cfg.areas.strata is None:
        return None
    check_same_grid({"forest change": grid, f"areas.strata ({cfg.areas.strata})": read_grid(cfg.areas.strata)})
    with open_raster(cfg.areas.strata) as ds:
        return read_block(ds, block, with_halo=False)


def run_project(cfg: ProjectConfig, out_dir: str | os.PathLike, *, overwrite: bool = False, quiet: bool = True,
                progress: Progress | None = None, generated: bool = False, report_pdf: bool = True,
                extra_manifest: dict | None = None, scheduler: str | None = None,
                _stage: Path | None = None) -> CreditingResults:
    """Run the whole crediting chain for a validated project configuration into ``out_dir``.

    Parameters
    ----------
    cfg : ProjectConfig
        From :func:`reddplus.project.load_project`.
    out_dir : path
        Run directory (refused when it exists unless ``overwrite``). Everything is written into a
        staging folder beside it and renamed at the end, so a failed run leaves nothing behind.
    progress : callable(str), optional
        Called with the name of each step as it starts (the CLI shows it on stderr).
    generated : bool
        Label the report and summary as a GENERATED sample.
    scheduler : str, optional
        Dask distributed scheduler address for the streamed raster steps (activity data, VT0007
        benchmark, allocation, counterfactual sampling); local threads otherwise.

    Returns
    -------
    CreditingResults
        Paths point into ``out_dir``.
    """
    from reddplus.raster import atomic_dir

    t0 = time.perf_counter()
    out_dir = Path(out_dir).absolute()
    note = progress or (lambda s: None)
    with atomic_dir(out_dir, overwrite=overwrite, stage=_stage) as stage:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = _run(cfg, stage, note, generated=generated, extra_manifest=extra_manifest or {},
                          scheduler=scheduler)
        from dataclasses import replace

        (stage / "summary.json").write_text(json.dumps(replace(result, seconds=time.perf_counter() - t0).summary(),
                                                       indent=2, default=_json_default))
        # every path written so far names the staging folder: point it at the final one
        for f in list(stage.glob("*.json")) + list(stage.glob("*.html")):
            f.write_text(f.read_text(encoding="utf-8").replace(str(stage), str(out_dir)), encoding="utf-8")
        if report_pdf:
            note("report: PDF")
            from reddplus.report.render import render_pdf

            render_pdf(stage / "report.html")
    from reddplus.errors import ReddplusWarning

    for w in caught:  # the run's own diagnostics are warnings; third-party noise goes to debug
        level = logging.WARNING if issubclass(w.category, ReddplusWarning) else logging.DEBUG
        log.log(level, "%s: %s", w.category.__name__, w.message)
    return replace(result, out_dir=out_dir, report_html=out_dir / "report.html",
                   report_pdf=(out_dir / "report.pdf") if report_pdf else None,
                   seconds=time.perf_counter() - t0)


def _run(cfg: ProjectConfig, out: Path, note: Progress, *, generated: bool, extra_manifest: dict,
         scheduler: str | None = None) -> CreditingResults:
    from reddplus import accounting as acc
    from reddplus.baseline.rate import jurisdictional_rate
    from reddplus.landcover import activity_data

    seed = cfg.project.seed
    steps: dict[str, Any] = {}
    (out / "figures").mkdir()
    (out / "rasters").mkdir()
    (out / "tables").mkdir()

    # ---------------------------------------------------------------- inputs and areas
    note("reading the forest change")
    fc = cfg.forest_change.open()
    grid: Grid = fc.grid
    dates = tuple(int(d) for d in fc.dates)
    px = grid.pixel_area_ha
    per = cfg.periods
    h0, h1 = per.historical_reference
    i_h0 = _date_index(dates, h0, "periods.historical_reference")
    i_h1 = _date_index(dates, h1, "periods.historical_reference")
    for i, (a, b) in enumerate(per.monitoring):
        if a - 1 not in dates or b not in dates:
            raise ConfigError(f"monitoring period {a}-{b} falls outside the forest-change data "
                              f"({dates[0]}-{dates[-1]})", key=f"periods.monitoring.{i}")
    # the project and its belt are read in their own window; the jurisdiction only ever streams
    outside = _outside_share(cfg.areas.project, cfg.areas.jurisdiction, grid.crs)
    if outside > 0.01:
        raise ZoneError(f"{outside:.1%} of the project lies outside the jurisdiction", path=str(cfg.areas.project))
    local = _local_block(grid, [p for p in (cfg.areas.project, cfg.areas.leakage_belt) if p is not None])
    codes = fc.read_codes(local, with_halo=False)
    project = _zone_mask(cfg.areas.project, grid, local)
    if not project.any():
        raise ZoneError("the project polygon covers no pixel of the forest-change raster", path=str(cfg.areas.project))
    belt = _zone_mask(cfg.areas.leakage_belt, grid, local) if cfg.areas.leakage_belt else None
    project_area_ha = _polygon_area_ha(cfg.areas.project, grid.crs)
    strata = _read_strata(cfg, grid, local)

    # ---------------------------------------------------------------- 1 carbon stocks
    note("carbon stocks (tree inventory, Monte Carlo)")
    s = _step_stocks(cfg, seed)
    strata_codes = tuple(sorted(s["strata"]))
    if strata is None and len(strata_codes) > 1:
        raise ConfigError("several strata need a stratum raster", key="areas.strata")
    forest_now = (codes > i_h1) & (codes != 255)
    areas = _stratum_areas(strata, project, forest_now, strata_codes, px)
    missing = [h for h, a in areas.items() if a <= 0]
    if missing:
        log.info("strata without forest in the project: %s", missing)
    from reddplus.stocks import project_carbon_stock

    present = tuple(s["strata"][h]["stock"] for h in strata_codes if areas[h] > 0)
    stock = project_carbon_stock(present, {s["strata"][h]["stock"].stratum: areas[h] for h in strata_codes
                                           if areas[h] > 0})
    if cfg.stocks.inventory is None:  # stocks from a previous assessment: mean +- SE, large-sample interval
        from dataclasses import replace as _replace

        half = 1.6448536 * stock.se_tco2e
        stock = _replace(stock, ci90_half_width_tco2e=half, relative_half_width=half / stock.total_tco2e,
                         df=float("inf"))
    r_s = cfg.stocks.root_shoot_ratio
    agb_share = 1.0 / (1.0 + r_s)
    agb_stock = stock.total_tco2e * agb_share
    agb_ci = ((stock.total_tco2e - stock.ci90_half_width_tco2e) * agb_share,
              (stock.total_tco2e + stock.ci90_half_width_tco2e) * agb_share)
    efs = {}
    for h in strata_codes:
        st = s["strata"][h]["stock"]
        efs[h] = acc.emission_factor(st.agb_tco2e_per_ha, agb_sd=st.se_tco2e_per_ha * agb_share,
                                     bgb_tco2e_per_ha=st.bgb_tco2e_per_ha, root_shoot_ratio=r_s,
                                     post_tco2e_per_ha=cfg.stocks.post_deforestation_tco2e_per_ha)
    steps["stocks"] = {"strata": [{"code": h, "name": s["strata"][h]["name"], "forest_area_ha": areas[h],
                                   **s["strata"][h]["stock"].to_dict(), "emission_factor": efs[h].to_dict()}
                                  for h in strata_codes],
                       "project_stock": stock.to_dict(), "agb_stock_tco2": agb_stock, "agb_stock_tco2_ci90": agb_ci,
                       "plots": s["plots"]}

    # ---------------------------------------------------------------- 2 activity data
    note("activity data (deforestation per zone and year)")
    act = activity_data(fc, zones=cfg.areas.jurisdiction, zone_field=cfg.areas.admin_field, scheduler=scheduler)
    act.table().to_csv(out / "tables" / "activity_by_admin.csv", index=False)
    jur_loss = {y: float(sum(act.annual_loss_ha(z)[y] for z in act.zones)) for y in act.annual_loss_ha(act.zones[0])}
    proj_loss_s = _annual_loss(codes, project, dates, px, strata, strata_codes) if strata is not None else None
    proj_loss = _per_year(_annual_loss(codes, project, dates, px), dates)
    belt_loss = _per_year(_annual_loss(codes, belt, dates, px), dates) if belt is not None else {}
    hrp_years = [y for y in jur_loss if h0 < y <= h1]
    steps["activity"] = {"jurisdiction_ha_per_year": jur_loss, "project_ha_per_year": proj_loss,
                         "leakage_belt_ha_per_year": belt_loss, "by_admin": act.to_dict()}

    # ---------------------------------------------------------------- 3 baseline
    note("baseline: jurisdictional rate")
    c0, n_years = cfg.project.crediting_start, cfg.project.crediting_years
    crediting_years = list(range(c0, c0 + n_years))
    rate = jurisdictional_rate({y: jur_loss[y] for y in hrp_years}, method=cfg.baseline.rate_method,
                               years=crediting_years, expected_ha_per_year=cfg.baseline.expected_ha_per_year)
    hrp_losses = np.array([jur_loss[y] for y in hrp_years])
    # activity-data uncertainty of the baseline: standard error of the HRP mean annual loss
    rate_rel_se = float(hrp_losses.std(ddof=1) / np.sqrt(len(hrp_losses)) / hrp_losses.mean()) \
        if len(hrp_losses) > 1 and hrp_losses.mean() > 0 else 0.0
    steps["rate"] = rate.to_dict() | {"relative_standard_error": rate_rel_se}

    note("baseline: VT0007 risk map")
    from reddplus.risk.tools import Periods

    cal = per.calibration or (h0, h1)
    cnf = per.confirmation
    periods = Periods(cal=(_date_index(dates, cal[0], "periods.calibration"),
                           _date_index(dates, cal[1], "periods.calibration")),
                      cnf=None if cnf is None else (_date_index(dates, cnf[0], "periods.confirmation"),
                                                    _date_index(dates, cnf[1], "periods.confirmation")),
                      hrp=(i_h0, i_h1), vp_start=i_h1)
    risk = _benchmark_with_search_distance(fc, out / "rasters", periods, cfg, scheduler=scheduler)
    steps["risk"] = risk.to_dict()

    if per.confirmation is not None and (cfg.baseline.roads or cfg.baseline.rivers or cfg.baseline.settlements):
        note("baseline: benchmark vs alternative models (VT0007 section 5.3)")
        from reddplus.risk.compare import compare_models_from_paths

        cmp = compare_models_from_paths(fc, periods=periods, roads=cfg.baseline.roads, rivers=cfg.baseline.rivers,
                                        settlements=cfg.baseline.settlements,
                                        planned_roads=cfg.baseline.planned_roads[0].path
                                        if cfg.baseline.planned_roads else None,
                                        models=("logistic",), seed=seed)
        steps["model_assessment"] = {"table": cmp.table(), "selected": cmp.best, "nrt_m": cmp.nrt_m}

    note("baseline: allocation to the project and leakage belt")
    from reddplus.baseline.allocation import allocate

    zones = {"project": cfg.areas.project}
    if cfg.areas.leakage_belt:
        zones["leakage_belt"] = cfg.areas.leakage_belt
    expected = [rate.per_year[y] for y in crediting_years]
    alloc = allocate(risk.density_path, expected, zones=zones, jurisdiction=cfg.areas.jurisdiction,
                     years=crediting_years, scheduler=scheduler)
    steps["allocation_benchmark"] = alloc.to_dict()
    baseline_project = dict(zip(crediting_years, alloc.zone_ha_per_year["project"]))
    baseline_belt = dict(zip(crediting_years, alloc.zone_ha_per_year.get("leakage_belt", [0.0] * n_years)))
    scenario = None
    steps["baseline_source"] = "VT0007 benchmark risk map"
    if cfg.baseline.planned_roads:
        note("baseline: planned-road scenario")
        scenario = _scenario(cfg, fc, grid, periods, rate, crediting_years, seed, out)
        steps["scenario"] = scenario.to_dict()
        # VT0007 section 5.3: the road-driven alternative replaces the benchmark only when it is accepted
        accepted = steps.get("model_assessment", {}).get("selected", "logistic") != "benchmark"
        if accepted:
            steps["baseline_source"] = f"{scenario.model_summary.get('model', 'alternative')} model with planned roads"
            baseline_project = dict(zip(crediting_years, scenario.allocation.zone_ha_per_year["project"]))
            if belt is not None:
                baseline_belt = dict(zip(crediting_years, scenario.allocation.zone_ha_per_year["leakage_belt"]))
        else:
            log.warning("the alternative model does not beat the VT0007 benchmark: the benchmark allocation is the "
                        "baseline and the planned-road scenario is reported only")

    # emission factor of the baseline deforestation: strata weighted by the allocated density in the project
    dens = _read_density(risk.density_path, local)
    if strata is not None:
        w = np.array([float(dens[project & (strata == h)].sum()) for h in strata_codes])
    else:
        w = np.ones(1)
    ef = acc.weighted_emission_factor(w, [efs[h] for h in strata_codes])
    ef_mean, ef_sd = ef.mean, ef.sd
    steps["baseline_emission_factor"] = {"weights": dict(zip(strata_codes, ef.components["weights"])),
                                         "mean_tco2e_per_ha": ef_mean, "sd_tco2e_per_ha": ef_sd}

    # ---------------------------------------------------------------- 4 credits
    note("credits: uncertainty, non-permanence buffer, net VCUs")
    nprt_answers = cfg.deductions.nprt
    if not nprt_answers:
        raise ConfigError("the non-permanence risk answers are required to compute the buffer",
                          key="deductions.nprt")
    nprt = acc.nprt_buffer(nprt_answers)
    if not nprt.passed:
        raise ConfigError(f"the project fails the AFOLU Non-Permanence Risk Tool (overall rating "
                          f"{nprt.overall_rating}); it is not eligible for crediting", key="deductions.nprt")
    steps["nprt"] = nprt.to_dict()

    def ef_of_loss(loss_by_stratum: dict[int, float]) -> float:
        return float(sum(loss_by_stratum[h] * efs[h].mean for h in strata_codes))

    # ex-ante: the whole crediting period; project deforestation continues at its own HRP rate
    proj_hrp = float(np.mean([proj_loss[y] for y in hrp_years]))
    baseline_e = {y: baseline_project[y] * ef_mean for y in crediting_years}
    baseline_sd = {y: baseline_project[y] * ef_mean * np.hypot(rate_rel_se, ef_sd / ef_mean if ef_mean else 0.0)
                   for y in crediting_years}
    unc = acc.combined_uncertainty(
        np.array([baseline_project[y] - min(proj_hrp, baseline_project[y]) for y in crediting_years]),
        np.array([baseline_project[y] * rate_rel_se for y in crediting_years]), ef_mean, ef_sd,
        draws=cfg.deductions.uncertainty.draws, seed=seed, confidence=cfg.deductions.uncertainty.confidence,
        allowable_halfwidth_percent=cfg.deductions.uncertainty.allowable_halfwidth_percent)
    udp = 100.0 * unc.deduction_fraction
    steps["uncertainty"] = unc.to_dict()
    start = dt.date(c0, 1, 1)
    end = dt.date(c0 + n_years - 1, 12, 31)
    ex_ante_in = [acc.VintageInput(y, baseline_e[y], min(proj_hrp, baseline_project[y]) * ef_mean,
                                   0.0) for y in crediting_years]
    ex_ante = acc.net_credits(ex_ante_in, uncertainty_deduction_percent=udp, buffer_percent=nprt.buffer_percent,
                              market_leakage_percent=cfg.deductions.market_leakage_percent,
                              crediting_start=start, crediting_end=end)
    ex_ante_avoided = {y: baseline_e[y] - min(proj_hrp, baseline_project[y]) * ef_mean for y in crediting_years}
    ex_ante.to_frame().to_csv(out / "tables" / "credits_ex_ante.csv", index=False)
    steps["credits_ex_ante"] = ex_ante.to_dict()

    # ex-post: each monitoring period from the monitored deforestation
    ex_post_in = []
    for a, b in per.monitoring:
        for y in range(a, b + 1):
            if y not in baseline_project:
                raise ConfigError(f"monitoring year {y} outside the crediting period", key="periods.monitoring")
            if proj_loss_s is not None and y in proj_loss_s:
                proj_e = ef_of_loss(proj_loss_s[y])
            else:
                proj_e = proj_loss.get(y, 0.0) * ef_mean
            shift = max(0.0, belt_loss.get(y, 0.0) - baseline_belt.get(y, 0.0)) * ef_mean if belt is not None else 0.0
            ex_post_in.append(acc.VintageInput(y, baseline_e[y], proj_e, shift))
    credits = None
    if ex_post_in:
        mon_end = max(b for _, b in per.monitoring)
        credits = acc.net_credits(ex_post_in, uncertainty_deduction_percent=udp, buffer_percent=nprt.buffer_percent,
                                  market_leakage_percent=cfg.deductions.market_leakage_percent,
                                  crediting_start=start, crediting_end=min(end, dt.date(mon_end, 12, 31)))
        credits.to_frame().to_csv(out / "tables" / "credits_ex_post.csv", index=False)
        steps["credits_ex_post"] = credits.to_dict()
    vcus = {r.year: int(r.vcus) for r in credits.rows} if credits else {}
    buffers = {r.year: int(r.buffer) for r in credits.rows} if credits else {}

    # ---------------------------------------------------------------- 5 counterfactual
    cf_ratio = None
    if cfg.counterfactual.enabled and per.monitoring:
        note("counterfactual: pixel matching")
        from reddplus.counterfactual.tool import run_counterfactual

        cf_start = _counterfactual_start(dates, c0)
        cf = run_counterfactual(fc, cfg.areas.project, start_year=cf_start, repeats=cfg.counterfactual.repeats,
                                seed=seed, emission_factor_tco2e_per_ha=ef_mean,
                                jurisdiction_path=cfg.areas.jurisdiction, protected_path=cfg.areas.protected_areas,
                                leakage_belt_path=cfg.areas.leakage_belt,
                                buffer_m=cfg.counterfactual.buffer_km * 1000.0,
                                density_per_ha=cfg.counterfactual.sample_density_per_ha, scheduler=scheduler)
        years = [y for y in crediting_years if y <= dates[-1]]
        oc = cf.overcrediting(years, [baseline_project[y] for y in years])
        cf_ratio = oc.to_dict()
        steps["counterfactual"] = cf.to_dict(oc)
        steps["_cf"] = cf

    # ---------------------------------------------------------------- 6 manifest and registry
    from reddplus.manifest import build_manifest

    manifest = build_manifest(cfg.input_files(), cfg.model_dump(mode="json"), seed, base_dir=cfg.base_dir)
    mdict = manifest.to_dict() | extra_manifest
    (out / "manifest.json").write_text(json.dumps(mdict, indent=2, sort_keys=True, default=str))
    if credits is not None and any(r.issuance > 0 for r in credits.rows):
        note("registry: issuing the ex-post vintages (serial blocks)")
        steps["registry"] = issue_credits(out / "registry.sqlite", cfg, credits, manifest.sha256)

    # ---------------------------------------------------------------- 7 report
    note("report (figures, HTML, PDF)")
    from reddplus.report.crediting import write_report

    results = CreditingResults(
        out_dir=out, project_name=cfg.project.name, project_area_ha=project_area_ha, agb_stock_tco2=agb_stock,
        agb_stock_tco2_ci90=agb_ci, baseline_emissions_tco2e_per_year=baseline_e,
        ex_ante_avoided_tco2e_per_year=ex_ante_avoided, net_vcus_by_vintage=vcus, buffer_by_vintage=buffers,
        buffer_percent=float(nprt.buffer_percent), uncertainty_deduction_percent=udp, overcrediting_ratio=cf_ratio,
        report_html=out / "report.html", report_pdf=out / "report.pdf", steps=steps, generated=generated)
    overview, ogrid = _overview(fc)
    write_report(results, cfg, out, overview=overview, overview_grid=ogrid, dates=dates, risk=risk,
                 scenario=scenario, baseline_sd=baseline_sd, manifest=mdict)
    steps.pop("_cf", None)
    (out / "results.json").write_text(json.dumps(steps, indent=2, default=_json_default))
    return results


def issue_credits(db_path: Path, cfg: ProjectConfig, credits, manifest_sha256: str) -> dict:
    """Issue each ex-post vintage into a registry (SQLite file) as serial-number blocks.

    One monitoring period per configured period, verified for the whole tonnes computed; each
    vintage is one issuance linked to the run's manifest hash, split by the registry into a holder
    block and a buffer-pool block at the run's buffer percentage (the same rounding as
    :func:`reddplus.accounting.net_credits`, so the blocks equal the credits table).
    """
    import secrets

    from reddplus.registry.db import connect, migrate
    from reddplus.registry.service import OPERATOR, RegistryService

    db = connect(f"sqlite:///{db_path}")
    migrate(db)
    svc = RegistryService(db, secret_key=secrets.token_hex(32))
    prj = svc.create_project(OPERATOR, cfg.project.name, cfg.project.country, external_id=cfg.project.id)
    acc = svc.create_account(OPERATOR, f"{cfg.project.name}: proponent")
    rows = {r.year: r for r in credits.rows}
    out = {"database": str(db_path), "project_id": prj["id"], "account_id": acc["id"], "issuances": []}
    for a, b in cfg.periods.monitoring:
        verified = sum(rows[y].issuance for y in range(a, b + 1) if y in rows)
        if verified <= 0:
            continue
        mp = svc.create_monitoring_period(OPERATOR, prj["id"], dt.date(a, 1, 1), dt.date(b, 12, 31), verified)
        for y in range(a, b + 1):
            r = rows.get(y)
            if r is None or r.issuance <= 0:
                continue
            iss = svc.issue(OPERATOR, prj["id"], dt.date(y, 1, 1), dt.date(y, 12, 31), r.issuance,
                            credits.buffer_percent, acc["id"], monitoring_period_id=mp["id"],
                            manifest_sha256=manifest_sha256)
            blocks = {("buffer" if bl["account_id"] != acc["id"] else "holder"): bl for bl in iss["blocks"]}
            out["issuances"].append({"vintage": y, "quantity": r.issuance,
                                     "holder_vcus": blocks.get("holder", {}).get("quantity", 0),
                                     "buffer_credits": blocks.get("buffer", {}).get("quantity", 0),
                                     "holder_serial": blocks.get("holder", {}).get("serial"),
                                     "buffer_serial": blocks.get("buffer", {}).get("serial")})
    db.write_engine.dispose()
    db.read_engine.dispose()
    return out


def _benchmark_with_search_distance(fc, out_dir: Path, periods, cfg, start_m: float = 6000.0, tries: int = 4,
                                    scheduler: str | None = None):
    """VT0007 benchmark; the NRT search distance (and block halo) doubles until 99.5 % of the HRP
    deforestation lies within it (VT0007 v1.0 section 5.1 step 2), up to 16x the start."""
    from reddplus.errors import ModelError
    from reddplus.risk.tools import vt0007_benchmark

    distance = start_m
    for i in range(tries + 1):
        try:
            return vt0007_benchmark(fc, out_dir=out_dir, periods=periods, admin=cfg.areas.jurisdiction,
                                    admin_field=cfg.areas.admin_field, overwrite=True, max_distance_m=distance,
                                    scheduler=scheduler)
        except ModelError as err:
            if "search distance" not in str(err) or i == tries:
                raise
            log.info("NRT beyond %.0f m: retrying with %.0f m", distance, 2 * distance)
            distance *= 2
    raise AssertionError("unreachable")


def _counterfactual_start(dates: tuple[int, ...], crediting_start: int) -> int:
    """Matching starts at the last date before the crediting start (the forest state when the project began)."""
    before = [d for d in dates if d < crediting_start]
    if not before:
        raise ConfigError("no forest-change date before the crediting start for the counterfactual",
                          key="project.crediting_start")
    return before[-1]


def _read_density(path, block: Block) -> np.ndarray:
    from reddplus.raster import open_raster, read_block

    with open_raster(path) as ds:
        return np.nan_to_num(read_block(ds, block, with_halo=False).astype(np.float64))


def _scenario(cfg, fc, grid, periods, rate, crediting_years, seed, out):
    """Planned-road scenario (VT0007 section 5.3 model with a road driver that opens in a given year).

    The alternative model needs every driver at every pixel: this step holds the jurisdiction's
    codes, distances and potentials in memory (the other steps stream by blocks).
    """
    from reddplus.baseline.scenario import planned_road_scenario, read_planned_roads
    from reddplus.raster import write_cog
    from reddplus.risk.compare import rasterize_lines

    existing = rasterize_lines(cfg.baseline.roads, grid) if cfg.baseline.roads else np.zeros(grid.shape, bool)
    planned = []
    for i, pr in enumerate(cfg.baseline.planned_roads):
        import geopandas as gpd

        gdf = gpd.read_file(pr.path)
        if "opening_year" in gdf.columns:
            planned.extend(read_planned_roads(pr.path, grid, "opening_year"))
        else:
            planned.append((rasterize_lines(pr.path, grid), pr.opening_year))
    codes = fc.read_codes(_full_block(grid), with_halo=False)
    zones = {"project": _zone_mask(cfg.areas.project, grid)}
    if cfg.areas.leakage_belt is not None:
        zones["leakage_belt"] = _zone_mask(cfg.areas.leakage_belt, grid)
    model = cfg.baseline.risk_model if cfg.baseline.risk_model != "vt0007" else "logistic"
    res = planned_road_scenario(codes, fc.dates, float(grid.res[0]), existing, planned,
                                {y: rate.per_year[y] for y in crediting_years}, zones,
                                fit=periods.hrp, vp_start=periods.vp_start, model=model, seed=seed)
    for name, arr, nodata in (("classes_without_planned_roads", res.classes_without, 0),
                              ("classes_with_planned_roads", res.classes_with, 0)):
        write_cog(out / "rasters" / f"{name}.tif", arr.astype(np.uint8), crs=grid.crs, transform=grid.transform,
                  nodata=nodata, overwrite=True)
    return res


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (Path, dt.date)):
        return str(o)
    if hasattr(o, "to_dict"):
        return o.to_dict()
    if isinstance(o, tuple):
        return list(o)
    return str(o)


# --------------------------------------------------------------------------------------------- demo
def run_demo(out_dir: str | os.PathLike = "reddplus-demo", *, seed: int | None = None, overwrite: bool = False,
             quiet: bool = True, progress: Progress | None = None, scale: float = 1.0,
             report_pdf: bool = True) -> CreditingResults:
    """Generate the built-in GENERATED sample landscape and run the whole chain on it.

    The landscape (:func:`reddplus.sample.generate_sample_landscape`, documented there) is written
    into ``OUT/sample`` with its ``project.toml``, so ``reddplus run OUT/sample/project.toml`` reruns
    it; the run's outputs go into ``OUT``.
    """
    from reddplus.project import load_project
    from reddplus.sample import generate_sample_landscape

    t0 = time.perf_counter()
    out_dir = Path(out_dir).absolute()
    if out_dir.exists() and not overwrite:
        raise OutputExistsError(f"{out_dir} exists; pass --overwrite to replace it")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    note = progress or (lambda s: None)
    stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        note("generating the sample landscape")
        kwargs: dict[str, Any] = {"scale": scale}
        if seed is not None:
            kwargs["seed"] = seed
        sample = generate_sample_landscape(stage / "sample", **kwargs)
        cfg = load_project(sample.project_toml)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    res = run_project(cfg, out_dir, overwrite=True, quiet=quiet, progress=note, generated=True,
                      report_pdf=report_pdf, extra_manifest={"sample_truth": sample.truth}, _stage=stage)
    from dataclasses import replace

    return replace(res, seconds=time.perf_counter() - t0)
