"""The crediting run's report: maps, charts, tables (each number with its formula) and the run manifest.

:func:`write_report` renders a :class:`reddplus.chain.CreditingResults` and nothing else: it writes
``figures/*.png`` and ``report.html`` into the run folder (the chain prints the PDF from the HTML).
Sections: summary and choices, areas, carbon stocks, activity data, baseline (validity periods,
assessment, allocation), deductions and credits, non-permanence risk, counterfactual, CCB, registry.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from reddplus.report import figures as fg
from reddplus.report.render import Figure, ReportContent, Table, render_html

log = logging.getLogger(__name__)

GENERATED_BANNER = ("GENERATED sample landscape: every map, plot and number below comes from the built-in "
                    "generator (reddplus.sample), modelled on the reference project's situation. It is not real "
                    "project data.")

SECTIONS = ("Summary", "Areas and maps", "Carbon stocks", "Activity data", "Baseline", "Deductions and credits",
            "Non-permanence risk", "Counterfactual", "Registry", "Run manifest")


def _outlines(cfg) -> dict:
    import geopandas as gpd

    out = {}
    for label, path, colour in (("jurisdiction", cfg.areas.jurisdiction, "#444444"),
                                ("leakage belt", cfg.areas.leakage_belt, "#e08000"),
                                ("project", cfg.areas.project, "#0050c8")):
        if path is not None:
            out[label] = (gpd.read_file(path).geometry, colour)
    return out


def _reproject(outlines: dict, crs) -> dict:
    return {k: (g.to_crs(crs) if g.crs is not None and g.crs != crs else g, c) for k, (g, c) in outlines.items()}


def _history_map(codes: np.ndarray, dates: tuple[int, ...], hrp: tuple[int, int]) -> tuple[np.ndarray, dict]:
    """Forest-change classes for the map: non-forest, loss before/within the HRP, after it, forest today."""
    i0, i1 = dates.index(hrp[0]), dates.index(hrp[1])
    n = len(dates)
    out = np.zeros(codes.shape, np.uint8)
    out[(codes == 0)] = 1
    out[(codes >= 1) & (codes <= i0)] = 2
    out[(codes > i0) & (codes <= i1)] = 3
    out[(codes > i1) & (codes < n)] = 4
    out[codes == n] = 5
    cats = {1: ("non-forest at %d" % dates[0], "#d9c8a9"), 2: (f"lost {dates[0]}–{hrp[0]}", "#8c6d31"),
            3: (f"lost {hrp[0]}–{hrp[1]} (HRP)", "#d62728"), 4: (f"lost after {hrp[1]}", "#ff9896"),
            5: (f"forest in {dates[-1]}", "#2ca02c")}
    return out, cats


def _plain(v):
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


def _rows_of(dicts: list[dict]) -> tuple[list[str], list[list]]:
    cols = list(dicts[0].keys()) if dicts else []
    return cols, [[_plain(r.get(c)) for c in cols] for r in dicts]


# --------------------------------------------------------------------------------------------- the report
def write_report(results, root: Path) -> Path:
    """Write the figures and ``report.html`` of a crediting run (a :class:`~reddplus.chain.CreditingResults`)
    into its run folder ``root``. Maps are drawn from decimated overviews (memory does not grow with the raster).
    """
    from reddplus.landcover.overview import codes_overview

    cfg = results.config
    codes, grid = codes_overview(cfg.forest_change.open())
    outlines = _reproject(_outlines(cfg), grid.crs)
    figs: list[Figure] = []
    tables: list[Table] = [_choices_table(results)]
    if results.warnings:
        tables.append(Table("Summary", "Warnings", ["warning"], [[w.replace(str(root), ".")] for w in results.warnings],
                            "Every warning the run raised (diagnostics beyond a tolerance, projections, assumptions)."))
    fdir = root / "figures"
    _areas_section(results, fdir, codes, grid, outlines, figs)
    _stocks_section(results, fdir, figs, tables)
    _activity_section(results, tables)
    _baseline_section(results, root, grid, outlines, figs, tables)
    _credits_section(results, fdir, figs, tables)
    _nprt_section(results, fdir, figs, tables)
    _counterfactual_section(results, tables)
    _registry_section(results, tables)
    tables.append(_manifest_table(results))
    extra = (("CCB v3.1 (Climate, Community & Biodiversity)", results.ccb.fragment),) if results.ccb else ()
    content = ReportContent(
        title=f"Crediting report: {cfg.project.name}",
        subtitle=f"VCS / VM0048 (VMD0055 v1.1, VT0007 v1.0) · crediting {cfg.project.crediting_start}–"
                 f"{cfg.project.crediting_start + cfg.project.crediting_years - 1} · baseline source "
                 f"{results.baseline.source} · reddplus",
        banner=GENERATED_BANNER if results.generated else None,
        headline=results.headline(), figures=figs, tables=tables, manifest={}, sections=SECTIONS,
        extra_sections=extra)
    return render_html(content, root)


def _choices_table(results) -> Table:
    return Table("Summary", "Choices and assumptions", ["config key", "used", "set in the config", "meaning"],
                 [[("⚑ " if c.flag else "") + c.key, c.value, "yes" if c.set_in_config else "no (default)",
                   c.meaning] for c in results.choices],
                 "Every choice that changes the credits and every default the run assumed; ⚑ marks what needs a "
                 "reader's attention (a diagnostic beyond its tolerance, an assumption, an override).")


def _areas_section(results, fdir: Path, codes, grid, outlines, figs) -> None:
    from reddplus.raster import zone_mask

    cfg = results.config
    bounds = grid.bounds
    zones = np.zeros(grid.shape, np.uint8)
    zones[zone_mask(cfg.areas.jurisdiction, grid)] = 1
    if cfg.areas.leakage_belt is not None:
        zones[zone_mask(cfg.areas.leakage_belt, grid)] = 2
    zones[zone_mask(cfg.areas.project, grid)] = 3
    figs.append(Figure("Areas and maps", "Project, leakage belt and jurisdiction", fg.categorical_map(
        fdir / "areas.png", zones, bounds, title="Areas",
        categories={1: ("jurisdiction", "#e8e8e8"), 2: ("leakage belt", "#ffd59e"), 3: ("project", "#9ecae1")},
        outlines=outlines), "Polygons burned on the forest-change grid (pixel centres)."))
    hist, cats = _history_map(codes, results.dates, cfg.periods.historical_reference)
    figs.append(Figure("Activity data", "Historical deforestation", fg.categorical_map(
        fdir / "history.png", hist, bounds, title="Forest change", categories=cats, outlines=outlines),
        "Forest-change input in the canonical convention; HRP = historical reference period."))
    zoom = _zoom(zones, 3 if cfg.areas.leakage_belt is None else 2)
    if zoom is not None:
        r, c = zoom
        sub = bounds[0] + c.start * grid.res[0], bounds[3] - r.stop * grid.res[1], \
            bounds[0] + c.stop * grid.res[0], bounds[3] - r.start * grid.res[1]
        figs.append(Figure("Areas and maps", "The project and its leakage belt (zoomed)", fg.categorical_map(
            fdir / "history_project.png", hist[r, c], sub, title="Forest change around the project",
            categories=cats, outlines=outlines),
            "The same forest-change classes, zoomed on the project and its belt."))


def _zoom(zones: np.ndarray, inner: int):
    """Row and column slices of the zones >= ``inner``, with a margin of a tenth of their extent."""
    rows, cols = np.nonzero(zones >= inner)
    if rows.size == 0:
        return None
    mr, mc = max(2, (int(np.ptp(rows)) + 1) // 10), max(2, (int(np.ptp(cols)) + 1) // 10)
    return (slice(max(0, rows.min() - mr), min(zones.shape[0], rows.max() + mr + 1)),
            slice(max(0, cols.min() - mc), min(zones.shape[1], cols.max() + mc + 1)))


def _stocks_section(results, fdir: Path, figs, tables) -> None:
    st = results.stocks
    efs = results.emission_factors
    labels = [s.name for s in st.strata]
    figs.append(Figure("Carbon stocks", "Carbon stock per stratum (AGB + BGB) with its 90% CI", fg.bar_with_ci(
        fdir / "stocks.png", labels, [s.stock.total_tco2e_per_ha for s in st.strata],
        [s.stock.ci[0] for s in st.strata], [s.stock.ci[1] for s in st.strata],
        ylabel="t CO2e/ha", title="Stock per stratum (90% CI)"),
        "Plot means scaled by stratum (Chave et al. 2014 eq. 4; IPCC 2006 vol. 4 tables 4.3-4.4)."))
    tables.append(Table("Carbon stocks", "Strata", [
        "stratum", "plots", "AGB [Mg/ha]", "AGB [t CO2e/ha]", "BGB [t CO2e/ha]", "total [t CO2e/ha]",
        "90% CI half-width", "forest in project [ha]", "EF [t CO2e/ha]", "EF sd", "EF weight"],
        [[s.name, s.stock.n_plots, s.stock.agb_mg_per_ha, s.stock.agb_tco2e_per_ha, s.stock.bgb_tco2e_per_ha,
          s.stock.total_tco2e_per_ha, s.stock.ci90_half_width_tco2e_per_ha, s.forest_area_ha,
          efs.by_stratum[s.code].mean, efs.by_stratum[s.code].sd, efs.weights.get(s.code)] for s in st.strata],
        "EF = included pools' stock - post-deforestation stock (VMD0055 v1.1 section 5.3; IPCC 2006 vol. 4 eq. 2.16); "
        f"baseline EF = {efs.weighting.formula}, weighted by the deforestation the baseline ({results.baseline.model}) "
        "allocates to each stratum."))
    ps = st.project_stock.to_dict()
    tables.append(Table("Carbon stocks", "Project stock", ["quantity", "value", "90% CI low", "90% CI high"], [
        ["AGB + BGB [t CO2e]", ps["total_tco2e"], ps["ci90_tco2e"][0], ps["ci90_tco2e"][1]],
        ["AGB [t CO2e]", st.agb_stock_tco2, st.agb_stock_tco2_ci90[0], st.agb_stock_tco2_ci90[1]],
        ["forest area [ha]", ps["area_ha"], None, None]],
        "Y = sum_h A_h ybar_h; SE(Y) = sqrt(sum_h A_h^2 SE_h^2); Satterthwaite df (Cochran 1977 eqs. 5.2, 5.16)."))
    tables.append(Table("Carbon stocks", "Carbon pools", ["pool", "included", "reason", "source"],
                        [[d.rule.label, "yes" if d.included else "no", d.reason, f"{d.rule.source}"]
                         for d in efs.pools.decisions], " ".join(efs.pools.assumptions)))
    post = efs.post_deforestation
    tables.append(Table("Carbon stocks", "Post-deforestation land uses", ["land use", "share", "stock [t CO2e/ha]",
                                                                         "source"],
                        [[c["name"], c["share"], c["tco2e_per_ha"], c["source"] + (" (unverified)" if c.get(
                            "unverified") else "")] for c in post.classes],
                        f"C_post = {post.formula}. " + " ".join(post.assumptions)))


def _activity_section(results, tables) -> None:
    act = results.activity
    years = sorted(act.jurisdiction_ha_per_year)
    cols = ["year", "jurisdiction", "project"] + (["leakage belt"] if act.leakage_belt_ha_per_year else [])
    tables.append(Table("Activity data", "Deforestation per year from the map [ha/yr]", cols,
                        [[str(y), act.jurisdiction_ha_per_year[y], act.project_ha_per_year.get(y)]
                         + ([act.leakage_belt_ha_per_year.get(y)] if act.leakage_belt_ha_per_year else [])
                         for y in years],
                        "Pixel counts x pixel area; a period's loss is spread evenly over its years. Map counts "
                        "carry no sampling error."))
    ref = results.reference
    if ref is not None:
        rows = []
        for p in ref.sample.periods:
            for name, d in p.domains.items():
                rows.append([f"{p.start}-{p.end}", name, d.map_ha, d.estimate_ha, d.se_ha, d.ci_ha[0], d.ci_ha[1],
                             d.n_samples, p.method])
        tables.append(Table("Activity data", "Reference sample: stratified estimates beside the map counts [ha]",
                            ["period", "domain", "map count", "estimate", "SE", "CI low", "CI high", "samples",
                             "estimator"], rows,
                            f"Olofsson et al. 2014 (strata = map classes) or Stehman 2014; {ref.sample.confidence:.0%} "
                            "confidence intervals. The HRP and monitoring activity data come from these estimates, and "
                            "their sampling errors enter the uncertainty deduction."))


def _baseline_section(results, root: Path, grid, outlines, figs, tables) -> None:
    from reddplus.raster import read_overview

    b = results.baseline
    tables.append(Table("Baseline", "Validity periods", ["validity period", "HRP", "provisional", "fitted",
                                                         "model used", "why"],
                        [[f"{p.start}-{p.end}", f"{p.hrp[0]}-{p.hrp[1]}", "yes" if p.provisional else "no",
                          "yes" if p is f.periods[0] else f"reuses {f.periods[0].start}-{f.periods[0].end}",
                          f.model, p.reason] for f in b.fits for p in f.periods],
                        "VM0048 v1.0: the baseline is reassessed every validity period on the HRP before it; a "
                        "period whose HRP the data do not cover is a provisional ex-ante projection."))
    for i, fit in enumerate(b.fits):
        tag = "" if i == 0 else f" ({fit.periods[0].start}-{fit.periods[-1].end})"
        if fit.rate is not None:
            tables.append(Table("Baseline", "Jurisdictional rate" + tag, ["quantity", "value"], [
                ["method", fit.rate.rate.method], ["activity data", fit.rate.source],
                ["HRP years", f"{fit.rate.rate.historical_years[0]}-{fit.rate.rate.historical_years[-1]}"],
                ["expected deforestation, first year [ha/yr]", fit.rate.rate.per_year[fit.years[0]]],
                ["relative standard error", fit.rate.relative_standard_error
                 if fit.rate.relative_standard_error is not None else "not estimated (map counts)"]],
                fit.rate.note))
        if fit.risk is not None:
            _risk_figures(results, fit, root, grid, outlines, figs, tables, tag, read_overview)
        if fit.allocated is not None:
            a = fit.allocated
            tables.append(Table("Baseline", "Delivered allocation", ["quantity", "value"], [
                ["allocated risk map", Path(a.path).name], ["units", f"{a.units} ({a.units_source})"],
                ["project pixels", a.zone_pixels.get("project")], ["largest pixel value [ha/yr]",
                                                                   a.max_pixel_ha_per_year],
                ["map and CSV agree", "no" if a.disagrees else "yes" if a.comparison else "no CSV given"]],
                "VT0007 v1.0 section 5.6: the project's baseline is the sum of the allocated map over it (pixel "
                "centres)."))
    _baseline_table(results, tables)
    if b.allocated_outputs:
        tables.append(Table("Baseline", "Allocation written for project runs", ["file", "path"],
                            [[k, str(v)] for k, v in b.allocated_outputs.items()],
                            "The first validity period's allocated map [ha pixel-1 yr-1] and its activity data: the "
                            "input of a project proponent's run ([baseline] source = 'allocated')."))


def _risk_figures(results, fit, root, grid, outlines, figs, tables, tag, read_overview) -> None:
    risk_d = fit.risk.to_dict()
    classes = read_overview(root / fit.risk.class_path, grid)
    fdir = root / "figures"
    name = "risk_classes.png" if not tag else f"risk_classes_vp{fit.periods[0].index + 1}.png"
    figs.append(Figure("Baseline", "VT0007 benchmark risk classes (validity period)" + tag, fg.continuous_map(
        fdir / name, np.where(classes > 0, classes, np.nan), grid.bounds,
        title=f"Benchmark risk classes (NRT {risk_d['nrt_m']:,.0f} m, {fit.risk.profile} profile)",
        label="risk class (30 = highest)", cmap="magma_r", outlines=outlines),
        "VT0007 v1.0 section 5.3: distance to the forest edge in classes, density fitted on the HRP."))
    alt = fit.alternative
    if alt is not None:
        cols, rows = _rows_of(alt.assessment.table())
        tables.append(Table("Baseline", "Model assessment: benchmark vs alternative (VT0007 section 5.5)" + tag, cols,
                            rows, f"Same assessment cells for both models. Decision: {alt.assessment.selected}. "
                                  f"{alt.assessment.reason}"))
        if alt.baseline is not None:
            alt_classes = read_overview(alt.baseline.class_path, grid)
            figs.append(Figure("Baseline", f"Benchmark and {alt.assessment.selected} risk maps" + tag,
                               fg.side_by_side_maps(fdir / f"risk_benchmark_vs_alternative{tag and '_vp'}.png",
                                                    [classes, alt_classes], ["benchmark", alt.assessment.selected],
                                                    grid.bounds, label="risk class", cmap="magma_r",
                                                    outlines=outlines),
                               "The alternative refitted on the HRP with the drivers it was assessed with."))
    else:
        cols, rows = _rows_of(risk_d.get("assessment") or [])
        if rows:
            tables.append(Table("Baseline", "Model assessment of the benchmark (VT0007 section 5.5)" + tag, cols,
                                rows, "No alternative was named (risk_model = 'benchmark')."))
    sc = fit.scenario
    if sc is not None and sc.with_planned is not None:
        tables.append(Table("Baseline", "Baseline with and without the planned roads [ha/yr]" + tag,
                            ["year", "without planned roads", "with planned roads"],
                            [[str(y), w, p] for y, w, p in zip(sc.years, sc.without.zone_ha_per_year["project"],
                                                               sc.with_planned.zone_ha_per_year["project"])],
                            "With use_planned_roads_in_baseline the baseline uses the map with the roads open by each "
                            "year: an extrapolation of the road effect fitted on the roads open in the data periods."))


def _baseline_table(results, tables) -> None:
    b = results.baseline
    rows = []
    for y, p in b.project_ha_per_year.items():
        fit = b.fit_of(y)
        vp = b.validity.period_of(y)
        expected = fit.allocation.expected_ha_per_year[fit.allocation.years.index(y)] if fit.allocation else None
        bench = (dict(zip(fit.benchmark_allocation.years, fit.benchmark_allocation.zone_ha_per_year["project"]))[y]
                 if fit.benchmark_allocation is not None and fit.model != "benchmark" else None)
        row = [str(y), f"{vp.start}-{vp.end}" + (" (provisional)" if vp.provisional else ""), expected, p,
               b.leakage_belt_ha_per_year.get(y)]
        rows.append(row + ([bench] if any(f.model.startswith("alternative") for f in b.fits) else []))
    cols = ["year", "validity period", "jurisdiction expected", "project", "leakage belt"]
    if any(f.model.startswith("alternative") for f in b.fits):
        cols.append("project on the benchmark")
    tables.append(Table("Baseline", "Baseline deforestation [ha/yr]", cols, rows,
                        f"Allocated with the adjustment ratio (VT0007 v1.0 section 5.6) on the {b.label}; {b.reason}."))


def _credits_section(results, fdir: Path, figs, tables) -> None:
    c = results.credits
    be, sd = c.baseline_emissions_tco2e_per_year, c.baseline_emissions_sd_tco2e_per_year
    yrs = sorted(be)
    post = {r.year: r for r in c.ex_post.rows} if c.ex_post else {}
    ante = {r.year: r for r in c.ex_ante.rows}
    cf_vals = (results.counterfactual.control_emissions_per_year(yrs, results.emission_factors.baseline.mean)
               if results.counterfactual is not None else None)
    figs.append(Figure("Deductions and credits", "Baseline vs project emissions per year", fg.emissions_chart(
        fdir / "emissions.png", yrs, [be[y] for y in yrs], [be[y] - 1.6449 * sd[y] for y in yrs],
        [be[y] + 1.6449 * sd[y] for y in yrs], [post[y].project_tco2e if y in post else np.nan for y in yrs],
        projected=[ante[y].project_tco2e for y in yrs],
        leakage=[post[y].leakage_tco2e if y in post else np.nan for y in yrs] if post else None,
        counterfactual=[v[0] for v in cf_vals] if cf_vals else None,
        counterfactual_lo=[v[1] for v in cf_vals] if cf_vals else None,
        counterfactual_hi=[v[2] for v in cf_vals] if cf_vals else None),
        "Baseline = allocated project deforestation x emission factor; project = monitored (ex post) or projected "
        "at the project's HRP rate (ex ante) deforestation x EF."))
    if c.ex_post is not None:
        tables.extend(_credit_tables(results, c.ex_post, "ex post (monitoring)"))
        tables.extend(_deduction_tables(results))
    tables.extend(_credit_tables(results, c.ex_ante, "ex-ante projection", formulas=False))


#: column headers of the credits tables (CreditRow fields -> readable labels)
CREDIT_COLUMNS = {"year": "vintage", "baseline_tco2e": "baseline [t CO2e]", "project_tco2e": "project [t CO2e]",
                  "leakage_tco2e": "leakage [t CO2e]", "uncertainty_deduction_tco2e": "uncertainty deduction",
                  "net_tco2e": "net reductions [t CO2e]", "buffer": "buffer credits", "vcus": "VCUs",
                  "reversal_tco2e": "reversal [t CO2e]"}
#: shown when a vintage carries a deficit (a shortfall no earlier credit covered) or makes one good
DEFICIT_COLUMNS = {"made_good_tco2e": "deficit made good [t CO2e]", "deficit_tco2e": "deficit carried [t CO2e]"}


def _credit_tables(results, table, label: str, *, formulas: bool = True) -> list[Table]:
    validity = results.baseline.validity
    out = []
    for vp in validity.periods:
        rows = [r for r in table.rows if vp.start <= r.year <= vp.end]
        if not rows:
            continue
        title = f"Credits per vintage, {label}: validity period {vp.start}-{vp.end}" + (
            " (provisional)" if vp.provisional else "")
        d = [r.to_dict() for r in rows]
        columns = dict(CREDIT_COLUMNS)
        if any(r.made_good_tco2e or r.deficit_tco2e for r in table.rows):
            columns |= DEFICIT_COLUMNS
        out.append(Table("Deductions and credits", title, list(columns.values()),
                         [[str(r["year"]) if k == "year" else _plain(r[k]) for k in columns] for r in d],
                         "Annual quantities prorated by the days of each vintage inside the period; VCUs are whole "
                         "tonnes, never rounded up; buffer credits are the issued tonnes times the buffer share, "
                         "rounded up; a negative net reduction reverses at most what was credited before it, "
                         "compensated from the buffer; the rest is a deficit that later vintages make good before "
                         "they issue."))
        if formulas:
            lines = [[str(r["year"]), k.replace("_", " "), str(v)] for r in d for k, v in r["formula"].items()]
            out.append(Table("Deductions and credits", title + ": every number with its formula and inputs",
                             ["vintage", "quantity", "formula with inputs"], lines))
    return out


def _deduction_tables(results) -> list[Table]:
    """Each deduction of each ex-post vintage: formula, inputs, source document and section, before and after."""
    c = results.credits
    out = []
    rows = [[str(r.year), d.name.replace("_", " "), d.tco2e, d.before_tco2e, d.after_tco2e, d.formula,
             f"{d.source}, {d.section}"] for r in c.ex_post.rows for d in r.deductions]
    out.append(Table("Deductions and credits", "Deductions per vintage (ex post)",
                     ["vintage", "deduction", "t CO2e", "credits before", "credits after", "formula", "source"], rows,
                     "Every deduction with its formula, inputs and source; credits before and after each one."))
    for u in c.uncertainty_by_period:
        comp = [[x.get("component", "").replace("_", " "), x.get("source", ""),
                 x.get("relative_se") if x.get("relative_se") is not None else "not estimated",
                 x.get("sampling_error") or x.get("note", "")] for x in u.components]
        out.append(Table("Deductions and credits", f"Uncertainty, monitoring period {u.period[0]}-{u.period[1]}",
                         ["component", "source", "relative SE", "status"], comp,
                         f"{u.formula}. Half-width {u.halfwidth_percent:.2f} % of {u.mean_tco2e:,.0f} t CO2e at "
                         f"{u.confidence:.0%}; rule {u.rule}; deduction {u.deduction_percent:.2f} %. "
                         + " ".join(u.assumptions)))
    for k, lk in enumerate(c.leakage_by_period):
        a, b = results.config.periods.monitoring[k]
        rows = [[x.name.replace("_", " "), "yes" if x.applicable else "no", float(np.sum(x.tco2e)), x.formula,
                 f"{x.source}, {x.section}"] for x in lk.components]
        note = " ".join(lk.assumptions)
        if lk.counterfactual_check:
            ch = lk.counterfactual_check
            note += (f" Check: the counterfactual estimates {ch['counterfactual_belt_excess_ha']:,.0f} ha of belt "
                     f"deforestation beyond the matched controls, against {ch['monitored_minus_baseline_ha']:,.0f} ha "
                     "monitored above the belt's baseline" + (" (⚑ larger)" if ch[
                         "counterfactual_exceeds_monitored_excess"] else "") + ".")
        out.append(Table("Deductions and credits", f"Leakage, monitoring period {a}-{b}",
                         ["component", "applicable", "t CO2e", "formula", "source"], rows, note))
    if c.ex_post.reversals:
        out.append(Table("Deductions and credits", "Reversals", ["vintage", "net [t CO2e]", "reversal",
                                                                 "from the period's buffer", "from the pooled buffer",
                                                                 "formula"],
                         [[str(r.year), r.net_tco2e, r.reversal_tco2e, r.from_period_buffer, r.from_pooled_buffer,
                           r.formula] for r in c.ex_post.reversals],
                         f"{c.ex_post.reversals[0].source}, {c.ex_post.reversals[0].section}. "
                         f"{c.ex_post.reversals[0].assumption}"))
    events = c.ex_post.loss_event_report()
    if events.events:
        out.append(Table("Deductions and credits", "Loss events", ["event", "year", "area [ha]", "emissions [t CO2e]"],
                         [[e.event, str(e.year), e.area_ha, e.emissions_tco2e] for e in events.events]))
    return out


def _nprt_section(results, fdir: Path, figs, tables) -> None:
    nprt = results.credits.nprt.to_dict()
    factors = _nprt_factors(nprt)
    if factors:
        figs.append(Figure("Non-permanence risk", "Non-permanence risk ratings", fg.breakdown_chart(
            fdir / "nprt.png", [f[0] for f in factors], [f[1] for f in factors],
            title=f"AFOLU Non-Permanence Risk Tool: buffer {nprt.get('buffer_percent')}%", xlabel="risk rating"),
            "Each factor's rating; negative values are mitigation."))
    tables.append(Table("Non-permanence risk", "Ratings", ["factor", "rating"], [[f[0], f[1]] for f in factors],
                        f"AFOLU Non-Permanence Risk Tool v{nprt.get('tool_version')}: overall rating "
                        f"{nprt.get('overall_rating')}, buffer {nprt.get('buffer_percent')}%."
                        + (" The tool version is used by override outside its allowed scope "
                           "(deductions.nprt_override)." if nprt.get("version_override") else "")))
    unverified = nprt.get("unverified_constants") or []
    if unverified:
        tables.append(Table("Non-permanence risk", "Tool constants used that are not confirmed from the tool text",
                            ["constant", "value", "source", "looked for"],
                            [[c["name"], c["value"], c.get("source") or "—", c.get("looked_for") or "—"]
                             for c in unverified],
                            "Each is an assumption of this run; check it against the tool before a registration."))
    if nprt.get("assumptions"):
        tables.append(Table("Non-permanence risk", "Assumptions of the calculation", ["assumption"],
                            [[a] for a in nprt["assumptions"]]))


def _counterfactual_section(results, tables) -> None:
    if results.counterfactual is None:
        return
    c = results.counterfactual.to_dict()
    oc = results.overcrediting_ratio or {}
    ratio = oc.get("overcrediting_ratio")
    note = "> 1: the baseline expects more deforestation than matched comparable forest lost (West et al. 2023)."
    if ratio is None or ratio != ratio:
        note += (" The ratio is not defined: the matched controls lost no forest over these years, so there is "
                 "nothing to divide by.")
    elif oc.get("low", 0) > 1:
        note += " ⚑ The whole interval lies above 1: the baseline may overstate deforestation."
    tables.append(Table("Counterfactual", "Over-crediting ratio", ["quantity", "value"], [
        ["over-crediting ratio (baseline / matched controls)", ratio],
        ["interval low", oc.get("low")], ["interval high", oc.get("high")],
        ["baseline deforestation [ha]", oc.get("baseline_deforestation_ha")],
        ["years", ", ".join(str(y) for y in oc.get("years", []))]], note))
    bal = c.get("balance")
    if isinstance(bal, list) and bal:
        cols, rows = _rows_of(bal)
        poor = [r.get("covariate") for r in bal if abs(r.get("smd_after") or 0) > 0.2]
        tables.append(Table("Counterfactual", "Covariate balance (standardised mean differences)", cols, rows,
                            "|SMD| <= 0.2 after matching." + (f" ⚑ Beyond it: {', '.join(map(str, poor))}."
                                                              if poor else "")))


def _registry_section(results, tables) -> None:
    reg = results.issuance
    if reg is None:
        return
    tables.append(Table("Registry", "Issuances (serial-number blocks)",
                        ["vintage", "issued", "holder VCUs", "buffer credits", "holder serials", "buffer serials",
                         "labels"],
                        [[str(i.vintage), i.quantity, i.holder_vcus, i.buffer_credits, i.holder_serial or "—",
                          i.buffer_serial or "—", ", ".join(i.labels) or "—"] for i in reg.issuances],
                        "Each issuance is linked to this run's manifest hash; the registry journal is hash-chained "
                        f"(database {Path(reg.database).name})."))
    if reg.reversals:
        tables.append(Table("Registry", "Buffer credits cancelled for reversals",
                            ["vintage", "cancelled from the project's buffer", "beyond it (pooled buffer account)"],
                            [[str(r.vintage), r.quantity, r.beyond_project_buffer] for r in reg.reversals],
                            "A reversal cancels the project's own buffer credits first; what exceeds them falls on "
                            "the pooled AFOLU buffer account (VCS Standard v4.5 section 3.2.26)."))


def _manifest_table(results) -> Table:
    m = results.manifest
    rows = [["manifest SHA-256", m.get("manifest_sha256", "")], ["seed", m.get("seed")],
            ["created (UTC)", m.get("created_utc", "")], ["python", m.get("python", "")]]
    rows += [[f"version: {k}", v] for k, v in sorted((m.get("versions") or {}).items())]
    rows += [[f"input: {k}", f"{v.get('path')} (sha256 {str(v.get('sha256'))[:16]}…)"]
             for k, v in sorted((m.get("inputs") or {}).items())]
    return Table("Run manifest", "Inputs, versions and seed", ["item", "value"], rows,
                 "The same configuration with the same inputs and versions reproduces every number in this report; "
                 "the whole manifest (configuration included) is manifest.json beside this report.")


def _nprt_factors(nprt: dict) -> list[tuple[str, float]]:
    out = []
    for cat in nprt.get("categories", []):
        factors = cat.get("factors")
        if isinstance(factors, dict):
            for k, v in factors.items():
                val = v.get("rating") if isinstance(v, dict) else v
                if isinstance(val, (int, float)):
                    out.append((f"{cat.get('name', '')}: {k}", float(val)))
        elif isinstance(cat.get("rating"), (int, float)):
            out.append((str(cat.get("name")), float(cat["rating"])))
    return out
