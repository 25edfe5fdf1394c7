"""The crediting run's report: maps, charts, tables (each number with its formula) and the run manifest.

:func:`write_report` renders a :class:`reddplus.chain.CreditingResults` and nothing else: it writes
``figures/*.png`` and ``report.html`` into the run folder (the chain prints the PDF from the HTML).
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


def _history_map(codes: np.ndarray, dates: tuple[int, ...], hrp: tuple[int, int], start: int) -> tuple[np.ndarray, dict]:
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


def _frame_table(section: str, title: str, frame, note: str = "") -> Table:
    cols = [str(c) for c in frame.columns]
    rows = [[_plain(v) for v in r] for r in frame.itertuples(index=False)]
    return Table(section, title, cols, rows, note)


def _plain(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v


def write_report(results, root: Path) -> Path:
    """Write the figures and ``report.html`` of a crediting run (a :class:`~reddplus.chain.CreditingResults`)
    into its run folder ``root``.

    Maps are drawn from decimated overviews, so the report's memory does not grow with the raster.
    """
    from reddplus.landcover.overview import codes_overview

    cfg = results.config
    codes, grid = codes_overview(cfg.forest_change.open())
    outlines = _reproject(_outlines(cfg), grid.crs)
    figs: list[Figure] = []
    tables: list[Table] = [Table("Summary", "Choices and assumptions", ["config key", "used", "set in the config",
                                                                       "meaning"],
                                 [[c.key, c.value, "yes" if c.set_in_config else "no (default)", c.meaning]
                                  for c in results.choices],
                                 "Every choice that changes the credits, and every default the run assumed.")]
    _areas_section(results, root / "figures", codes, grid, outlines, figs)
    _stocks_section(results, root / "figures", figs, tables)
    _activity_section(results, tables)
    _baseline_section(results, root, grid, outlines, figs, tables)
    _credits_section(results, root / "figures", figs, tables)
    _nprt_section(results, root / "figures", figs, tables)
    _counterfactual_section(results, tables)
    _registry_section(results, tables)
    content = ReportContent(
        title=f"Crediting report: {cfg.project.name}",
        subtitle=f"VCS / VM0048 (VMD0055, VT0007) · crediting {cfg.project.crediting_start}–"
                 f"{cfg.project.crediting_start + cfg.project.crediting_years - 1} · reddplus",
        banner=GENERATED_BANNER if results.generated else None,
        headline=results.headline(), figures=figs, tables=tables, manifest=results.manifest,
        sections=("Summary", "Areas and maps", "Carbon stocks", "Activity data", "Baseline", "Credits",
                  "Non-permanence risk", "Counterfactual", "Registry"))
    return render_html(content, root)


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
    hist, cats = _history_map(codes, results.dates, cfg.periods.historical_reference, cfg.project.crediting_start)
    figs.append(Figure("Activity data", "Historical deforestation", fg.categorical_map(
        fdir / "history.png", hist, bounds, title="Forest change", categories=cats, outlines=outlines),
        "Forest-change input in the canonical convention; HRP = historical reference period."))


def _stocks_section(results, fdir: Path, figs, tables) -> None:
    st = results.stocks
    efs = results.emission_factors.by_stratum
    labels = [s.name for s in st.strata]
    figs.append(Figure("Carbon stocks", "Carbon stock per stratum (AGB + BGB) with its 90% CI", fg.bar_with_ci(
        fdir / "stocks.png", labels, [s.stock.total_tco2e_per_ha for s in st.strata],
        [s.stock.ci[0] for s in st.strata], [s.stock.ci[1] for s in st.strata],
        ylabel="t CO2e/ha", title="Stock per stratum (90% CI)"),
        "Plot means scaled by stratum (Chave et al. 2014 eq. 4; IPCC 2006 vol. 4 tables 4.3-4.4)."))
    tables.append(Table("Carbon stocks", "Strata", [
        "stratum", "plots", "AGB [Mg/ha]", "AGB [t CO2e/ha]", "BGB [t CO2e/ha]", "total [t CO2e/ha]",
        "90% CI half-width", "forest in project [ha]", "EF [t CO2e/ha]", "EF sd"],
        [[s.name, s.stock.n_plots, s.stock.agb_mg_per_ha, s.stock.agb_tco2e_per_ha, s.stock.bgb_tco2e_per_ha,
          s.stock.total_tco2e_per_ha, s.stock.ci90_half_width_tco2e_per_ha, s.forest_area_ha, efs[s.code].mean,
          efs[s.code].sd] for s in st.strata],
        "EF = pre-deforestation stock (AGB + BGB) - post-deforestation stock (VMD0055; IPCC 2006 vol. 4 eq. 2.16)."))
    ps = st.project_stock.to_dict()
    tables.append(Table("Carbon stocks", "Project stock", ["quantity", "value", "90% CI low", "90% CI high"], [
        ["AGB + BGB [t CO2e]", ps["total_tco2e"], ps["ci90_tco2e"][0], ps["ci90_tco2e"][1]],
        ["AGB [t CO2]", st.agb_stock_tco2, st.agb_stock_tco2_ci90[0], st.agb_stock_tco2_ci90[1]],
        ["forest area [ha]", ps["area_ha"], None, None]],
        "Y = sum_h A_h ybar_h; SE(Y) = sqrt(sum_h A_h^2 SE_h^2); Satterthwaite df (Cochran 1977 eqs. 5.2, 5.16)."))


def _activity_section(results, tables) -> None:
    act = results.activity
    years = sorted(act.jurisdiction_ha_per_year)
    tables.append(Table("Activity data", "Deforestation per year [ha/yr]", ["year", "jurisdiction", "project",
                                                                           "leakage belt"],
                        [[str(y), act.jurisdiction_ha_per_year[y], act.project_ha_per_year.get(y),
                          act.leakage_belt_ha_per_year.get(y)] for y in years],
                        "Pixel counts x pixel area; a period's loss is spread evenly over its years."))


def _baseline_section(results, root: Path, grid, outlines, figs, tables) -> None:
    from reddplus.raster import read_overview

    fdir = root / "figures"
    bounds = grid.bounds
    risk_d = results.risk.to_dict()
    classes = read_overview(root / results.risk.class_path, grid)
    figs.append(Figure("Baseline", "VT0007 risk classes (validity period)", fg.continuous_map(
        fdir / "risk_classes.png", np.where(classes > 0, classes, np.nan), bounds,
        title=f"Risk classes (NRT {risk_d['nrt_m']:,.0f} m)", label="risk class (30 = highest)", cmap="magma_r",
        outlines=outlines),
        "VT0007 v1.0 section 5.1: distance to forest edge in classes, density fitted on the HRP."))
    sc = results.scenario
    if sc is not None:
        figs.append(Figure("Baseline", "Risk classes without and with the planned highway", fg.side_by_side_maps(
            fdir / "risk_with_without_highway.png",
            [read_overview(root / p, grid) for p in (sc.classes_without, sc.classes_with)],
            ["without planned roads", f"with planned roads (from {min(sc.opening_years)})"], bounds,
            label="risk class", cmap="magma_r", outlines=outlines),
            "The road driver of the risk model opens in the planned year (VT0007 section 5.3)."))
    assess = risk_d.get("assessment") or []
    if assess:
        cols = list(assess[0].keys())
        rows = [[_plain(r[c]) for c in cols] for r in assess]
        tables.append(Table("Baseline", "Model assessment (VT0007 section 5.2)", cols, rows))
        figs.append(Figure("Baseline", "Model assessment", fg.table_figure(
            fdir / "assessment.png", cols, rows, title="Model assessment (VT0007)"), ""))
    ma = results.assessment
    if ma.ran and ma.table:
        cols = list(ma.table[0].keys())
        tables.append(Table("Baseline", "Benchmark vs alternative models (VT0007 section 5.3)", cols,
                            [[_plain(r[c]) for c in cols] for r in ma.table],
                            f"An alternative replaces the benchmark only when its MedAE is lower in both the "
                            f"calibration fit and the confirmation prediction; selected: {ma.selected}."))
    alloc = results.baseline.allocation.to_dict()
    tables.append(Table("Baseline", "Baseline deforestation [ha/yr]", ["year", "jurisdiction expected",
                                                                       "project", "leakage belt"],
                        [[str(y), e, p, (alloc["zones"].get("leakage_belt") or [None] * len(alloc["years"]))[i]]
                         for i, (y, e, p) in enumerate(zip(alloc["years"], alloc["expected_ha_per_year"],
                                                           alloc["zones"]["project"]))],
                        f"Jurisdictional rate: {results.rate.rate.method}; allocated with the adjustment ratio "
                        f"(VT0007 section 6) on the {results.baseline.source}."))


def _credits_section(results, fdir: Path, figs, tables) -> None:
    c = results.credits
    be = c.baseline_emissions_tco2e_per_year
    sd = c.baseline_emissions_sd_tco2e_per_year
    yrs = sorted(be)
    proj_by_year, leak_by_year = {}, {}
    if c.ex_post is not None:
        for r in c.ex_post.rows:
            proj_by_year[r.year] = r.project_tco2e
            leak_by_year[r.year] = r.leakage_tco2e
    cf_vals = None
    if results.counterfactual is not None:
        cf_vals = results.counterfactual.control_emissions_per_year(yrs, results.emission_factors.baseline.mean)
    figs.append(Figure("Credits", "Baseline vs project emissions per year", fg.emissions_chart(
        fdir / "emissions.png", yrs, [be[y] for y in yrs], [be[y] - 1.6449 * sd[y] for y in yrs],
        [be[y] + 1.6449 * sd[y] for y in yrs], [proj_by_year.get(y, np.nan) for y in yrs],
        leakage=[leak_by_year.get(y, np.nan) for y in yrs] if leak_by_year else None,
        counterfactual=[v[0] for v in cf_vals] if cf_vals else None,
        counterfactual_lo=[v[1] for v in cf_vals] if cf_vals else None,
        counterfactual_hi=[v[2] for v in cf_vals] if cf_vals else None),
        "Baseline = allocated project deforestation x emission factor; project = monitored deforestation x EF."))
    if c.ex_post is not None:
        tables.extend(_credit_tables(c.ex_post.to_dict(), "Credits per vintage, ex-post (monitoring)"))
    tables.extend(_credit_tables(c.ex_ante.to_dict(), "Credits per vintage, ex-ante projection", formulas=False))
    unc = c.uncertainty.to_dict()
    tables.append(Table("Credits", "Uncertainty (Monte Carlo)", ["quantity", "value"],
                        [[k, _plain(v) if not isinstance(v, (list, tuple)) else ", ".join(f"{x:,.0f}" for x in v)]
                         for k, v in unc.items() if not isinstance(v, dict)],
                        "Activity data (SE of the HRP mean annual loss) and emission factor combined by Monte Carlo; "
                        "VCS deduction when the 90% CI half-width exceeds 15% of the mean."))


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
    tables.append(Table("Counterfactual", "Over-crediting ratio", ["quantity", "value"], [
        ["over-crediting ratio (baseline / matched controls)", oc.get("overcrediting_ratio")],
        ["interval low", oc.get("low")], ["interval high", oc.get("high")],
        ["baseline deforestation [ha]", oc.get("baseline_deforestation_ha")],
        ["years", ", ".join(str(y) for y in oc.get("years", []))]],
        "> 1: the baseline expects more deforestation than matched comparable forest lost (West et al. 2023)."))
    bal = c.get("balance")
    if isinstance(bal, list) and bal:
        cols = list(bal[0].keys())
        tables.append(Table("Counterfactual", "Covariate balance (standardised mean differences)", cols,
                            [[_plain(r[k]) for k in cols] for r in bal], "|SMD| <= 0.2 after matching."))


def _registry_section(results, tables) -> None:
    reg = results.issuance
    if reg is None:
        return
    tables.append(Table("Registry", "Issuances (serial-number blocks)",
                        ["vintage", "issued", "holder VCUs", "buffer credits", "holder serials", "buffer serials"],
                        [[str(i.vintage), i.quantity, i.holder_vcus, i.buffer_credits, i.holder_serial or "—",
                          i.buffer_serial or "—"] for i in reg.issuances],
                        "Each issuance is linked to this run's manifest hash; the registry journal is hash-chained "
                        f"(database {Path(reg.database).name})."))


#: column headers of the credits tables (CreditRow fields -> readable, wrappable labels)
CREDIT_COLUMNS = {"year": "vintage", "days": "days", "baseline_tco2e": "baseline [t CO2e]",
                  "project_tco2e": "project [t CO2e]", "activity_shifting_leakage_tco2e": "activity-shifting leakage",
                  "market_leakage_tco2e": "market leakage", "uncertainty_deduction_tco2e": "uncertainty deduction",
                  "net_tco2e": "net reductions [t CO2e]", "buffer": "buffer credits", "vcus": "VCUs"}


def _credit_tables(ct: dict, title: str, *, formulas: bool = True) -> list[Table]:
    rows = ct.get("rows", [])
    if not rows:
        return []
    cols = list(CREDIT_COLUMNS)
    out = [Table("Credits", title, [CREDIT_COLUMNS[k] for k in cols],
                 [[str(r[k]) if k == "year" else _plain(r[k]) for k in cols] for r in rows],
                 "Annual quantities prorated by the days of each vintage inside the period; VCUs are whole tonnes, "
                 "never rounded up; buffer credits are the issued tonnes times the buffer share, rounded up.")]
    if formulas:
        lines = [[str(r["year"]), k.replace("_", " "), str(v)] for r in rows for k, v in r["formula"].items()]
        out.append(Table("Credits", title + ": every number with its formula and inputs",
                         ["vintage", "quantity", "formula with inputs"], lines))
    return out


def _nprt_factors(nprt: dict) -> list[tuple[str, float]]:
    out = []
    for cat in nprt.get("categories", []) if isinstance(nprt.get("categories"), list) else \
            [{"name": k, **(v if isinstance(v, dict) else {"rating": v})} for k, v in
             (nprt.get("categories") or {}).items()]:
        factors = cat.get("factors")
        if isinstance(factors, dict):
            for k, v in factors.items():
                val = v.get("rating") if isinstance(v, dict) else v
                if isinstance(val, (int, float)):
                    out.append((f"{cat.get('name', '')}: {k}", float(val)))
        elif isinstance(factors, list):
            for f in factors:
                if isinstance(f.get("rating"), (int, float)):
                    out.append((f"{cat.get('name', '')}: {f.get('name', f.get('factor', ''))}", float(f["rating"])))
        elif isinstance(cat.get("rating"), (int, float)):
            out.append((str(cat.get("name")), float(cat["rating"])))
    return out
