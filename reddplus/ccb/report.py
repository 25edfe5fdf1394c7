"""The CCB v3.1 section of the report: HTML (Jinja2), PNG figures (matplotlib) and PDF, from a ``CcbResults``.

:func:`render_ccb_section` writes ``ccb.html`` and ``figures/ccb_*.png`` into an existing report
directory (the chain's run directory, or the folder of ``reddplus ccb report``) and returns the
paths and the HTML fragment (:attr:`CcbSection.fragment`) for embedding in the crediting report.
:func:`write_ccb_report` is the standalone tool: an atomic output folder with the section, its
PDF (WeasyPrint, :func:`reddplus.report.render.render_pdf`) and ``ccb.json`` (= ``to_dict()``).

The section follows the CCB Standards v3.1: G1-G5, CL1-CL4, CM1-CM4, B1-B4 and GL1-GL3, each
with its data, its indicators (without-project, counterfactual and with-project values per
monitoring period, with the reason whenever a value is not available) and charts; then the
monitoring plan, the flags (missing data, overdue indicators) and the checklist a
validation/verification body ticks.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reddplus.ccb.criteria import CRITERIA, SECTIONS, criterion_of
from reddplus.ccb.results import CcbResults

log = logging.getLogger(__name__)

__all__ = ["CcbSection", "render_ccb_section", "write_ccb_report"]

GENERATED_BANNER = ("GENERATED sample CCB dataset: every community, HCV and indicator value below comes from the "
                    "built-in generator (reddplus.sample.ccb). It is not real project data.")


@dataclass(frozen=True)
class CcbSection:
    """What :func:`render_ccb_section` wrote."""

    html: Path
    figures: tuple[Path, ...]
    fragment: str


def _fmt(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        if v != v:
            return "—"
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.4g}"
    return str(v)


def _table(title: str, columns: list[str], rows: list[list], note: str = "") -> dict:
    return {"title": title, "columns": columns, "rows": [[_fmt(x) for x in r] for r in rows], "note": note}


def _criterion_data(code: str, r: CcbResults) -> list[dict]:
    """The data tables of one criterion (from the CCB folder and the maps)."""
    ds = r.dataset
    out: list[dict] = []
    if ds is None:
        return out
    m = r.maps
    if code == "G1":
        if m is not None:
            last = max(m.dates)
            rows = [[z, m.metrics[(z, last)].landscape_area_ha, m.metrics[(z, last)].forest_area_ha]
                    for z in m.zones if (z, last) in m.metrics]
            out.append(_table(f"Project zone and its areas (forest at the end of {last})", ["zone", "area [ha]",
                              "forest [ha]"], rows))
        if ds.theory_of_change:
            out.append(_table("Theory of change", ["node", "level", "description", "leads to", "indicators"],
                              [[n.node_id, n.level, n.description, "; ".join(n.leads_to), "; ".join(n.indicators)]
                               for n in ds.theory_of_change]))
        out.append(_table("Community groups", ["group", "name", "kind", "population", "households", "part of",
                                               "values differ"],
                          [[g.group_id, g.name, g.kind, g.population, g.households, g.part_of or "",
                            "" if g.values_differ is None else g.values_differ] for g in ds.groups]))
    elif code == "G2":
        b = r.baseline
        out.append(_table("Without-project land use", ["source", "detail"],
                          [[b["source"], f"planned roads: {len(b['planned_roads'])}; zones allocated: "
                            f"{', '.join(b['zones_given']) or 'from the density raster'}"]] if b else
                          [["not given", "run the CCB step from the crediting chain"]]))
        if r.counterfactual:
            out.append(_table("Counterfactual beside the baseline", ["source", "start year"],
                              [[r.counterfactual["source"], r.counterfactual["start_year"]]]))
    elif code == "G3":
        out.append(_table("Engagement and FPIC log", ["date", "group", "topic", "outcome", "evidence", "FPIC"],
                          [[e.date.isoformat(), e.group_id, e.topic, e.outcome, e.evidence, e.fpic]
                           for e in ds.engagement]))
        out.append(_table("Grievances", ["id", "group", "received", "response", "closed", "description"],
                          [[g.grievance_id, g.group_id, g.received.isoformat(),
                            g.response.isoformat() if g.response else "open",
                            g.closed.isoformat() if g.closed else "open", g.description] for g in ds.grievances]))
    elif code == "G5":
        out.append(_table("Tenure and rights register", ["id", "holder", "kind", "right", "area", "dispute",
                                                         "status"],
                          [[t.right_id, t.holder, t.kind, t.right, t.area, t.dispute, t.dispute_status]
                           for t in ds.tenure]))
    elif code == "CM1":
        out.append(_table("Community HCVs (CCB v3.1 CM1.2)", ["HCV", "type", "name", "threats", "evidence"],
                          [[h.hcv_id, h.type, h.name, h.threats, h.evidence] for h in ds.hcvs
                           if h.section == "CM1.2"]))
    elif code == "CM3":
        out.append(_table("Offsite stakeholders", ["id", "name", "kind", "location", "interest"],
                          [[s.stakeholder_id, s.name, s.kind, s.location, s.interest] for s in ds.stakeholders]))
    elif code == "B1":
        out.append(_table("Biodiversity HCVs (CCB v3.1 B1.2)", ["HCV", "type", "name", "species", "IUCN", "threats",
                                                                "evidence"],
                          [[h.hcv_id, h.type, h.name, h.species, h.iucn_category, h.threats, h.evidence]
                           for h in ds.hcvs if h.section == "B1.2"]))
    elif code in ("B2", "CM2"):
        sec = "B1.2" if code == "B2" else "CM1.2"
        ids = {h.hcv_id for h in ds.hcvs if h.section == sec}
        out.append(_table("HCV status per monitoring period", ["HCV", "period", "status", "evidence"],
                          [[s.hcv_id, s.period, s.status, s.evidence] for s in ds.hcv_status if s.hcv_id in ids]))
        if code == "B2" and m is not None:
            rows = []
            for z in m.zones:
                for d in m.dates:
                    c = m.metrics.get((z, d))
                    if c is not None and c.landscape_area_ha > 0:
                        rows.append([z, d, c.forest_area_ha, c.core_area_ha, c.number_of_patches,
                                     c.edge_density_m_per_ha, c.mean_patch_area_ha, c.effective_mesh_size_ha])
            out.append(_table("Forest habitat and fragmentation per zone and date (FRAGSTATS class metrics)",
                              ["zone", "end of year", "forest [ha]", "core [ha]", "patches", "edge density [m/ha]",
                               "mean patch [ha]", "mesh [ha]"], rows,
                              f"8-cell patches; core edge depth {m.edge_depth_m:g} m; {m.pixel_m:g} m pixels."))
    elif code in ("CL1", "CL2", "CL3", "CL4") and ds.settings.climate_via_vcs:
        out.append(_table("Climate section", ["met through"], [["the VCS baseline, leakage and monitoring of this "
                                                                "run (VM0048 / VT0007; CCB Program Rules v3.1)"]]))
    return out


def _indicator_rows(r: CcbResults, code: str) -> list[list]:
    rows = []
    for ir in r.indicators:
        if criterion_of(ir.indicator.criterion).code != code:
            continue
        for v in ir.values:
            wo = _fmt(v.without_project) if v.without_project is not None else f"n/a ({v.without_project_reason})"
            cf = _fmt(v.counterfactual) if v.counterfactual is not None else "n/a"
            groups = "; ".join(f"{g}: {_fmt(x) if x is not None else 'not measured'}"
                               for g, x in v.with_project_by_group.items())
            rows.append([ir.indicator.indicator_id, ir.indicator.name, ir.indicator.unit,
                         f"{v.period[0]}-{v.period[1]}", wo, cf,
                         _fmt(v.with_project) if v.with_project is not None else "not measured", groups or "—",
                         "; ".join(ir.flags + (("OVERDUE",) if ir.overdue else ())) or "—"])
    return rows


def _chart(path: Path, r: CcbResults, code: str) -> Path | None:
    """Without-project, counterfactual and with-project bars per indicator of a criterion (last period)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from reddplus.report.figures import _save

    items = [ir for ir in r.indicators if criterion_of(ir.indicator.criterion).code == code and ir.values]
    items = [ir for ir in items if any(x is not None for x in (ir.values[-1].with_project,
                                                                 ir.values[-1].without_project,
                                                                 ir.values[-1].counterfactual))][:8]
    if not items:
        return None
    n = len(items)
    ncol = min(4, n)
    nrow = int(np.ceil(n / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.8 * nrow), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    for ax, ir in zip(axes.ravel(), items):
        v = ir.values[-1]
        labels, vals, cols = [], [], []
        for lab, x, c in (("without", v.without_project, "tab:red"), ("counterf.", v.counterfactual, "tab:purple"),
                          ("with", v.with_project, "tab:green")):
            labels.append(lab)
            vals.append(np.nan if x is None else float(x))
            cols.append(c)
        ax.bar(labels, np.nan_to_num(vals), color=cols, alpha=0.85)
        finite = [x for x in vals if not np.isnan(x)]
        top = max(finite) if finite else 0.0
        ax.set_ylim(min(0.0, min(finite, default=0.0)) * 1.15, (top * 1.15) if top > 0 else 1.0)
        for i, x in enumerate(vals):
            ax.text(i, 0, "n/a" if np.isnan(x) else "", ha="center", va="bottom", fontsize=7)
        ax.set_title(f"{ir.indicator.indicator_id} [{ir.indicator.unit}]\n{v.period[0]}-{v.period[1]}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"{code}: indicators without and with the project", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def _zone_map(path: Path, r: CcbResults) -> Path | None:
    ov = getattr(r, "overview", None)
    if not ov:
        return None
    from reddplus.report.figures import categorical_map

    return categorical_map(path, ov["classes"], ov["bounds"], categories=ov["categories"],
                           title="Project zone, HCV areas, reserve buffer and catchments", outlines=ov["outlines"])


def _fragmentation_chart(path: Path, r: CcbResults) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from reddplus.report.figures import _save

    m = r.maps
    if m is None or len(m.dates) < 2:
        return None
    zones = [z for z in m.zones if m.metrics[(z, m.dates[-1])].landscape_area_ha > 0][:16]
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.32 * len(zones) + 1.6))
    y = np.arange(len(zones))
    for ax, attr, lab in ((axes[0], "edge_density_m_per_ha", "edge density [m/ha]"),
                          (axes[1], "effective_mesh_size_ha", "effective mesh size [ha]")):
        for k, d in enumerate((m.dates[0], m.dates[-1])):
            vals = [getattr(m.metrics[(z, d)], attr) or 0.0 for z in zones]
            ax.barh(y + 0.4 * k, vals, height=0.4, label=f"end of {d}", color=("tab:gray", "tab:green")[k])
        ax.set_yticks(y + 0.2, zones, fontsize=7)
        ax.set_xlabel(lab)
        ax.invert_yaxis()
        ax.grid(axis="x", alpha=0.3)
    axes[1].set_xscale("log")
    axes[0].legend(fontsize=7)
    fig.suptitle("Forest fragmentation per zone (first and last date measured)", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def _content(r: CcbResults, figdir: Path, rel: str) -> dict:
    figs: list[Path] = []
    zone_map = _zone_map(figdir / "ccb_zone_map.png", r)
    frag = _fragmentation_chart(figdir / "ccb_fragmentation.png", r)
    sections = []
    for sec in SECTIONS:
        crits = []
        for c in (x for x in CRITERIA if x.section == sec):
            chart = _chart(figdir / f"ccb_{c.code}.png", r, c.code)
            cfigs = []
            if chart:
                figs.append(chart)
                cfigs.append({"path": f"{rel}/{chart.name}", "title": f"{c.code} indicators",
                              "caption": "Last monitoring period; n/a = not available (the table gives why)."})
            if c.code == "G1" and zone_map:
                cfigs.insert(0, {"path": f"{rel}/{zone_map.name}", "title": "Project zone",
                                 "caption": "Forest change with the project area, community areas, HCV areas, the "
                                            "reserve buffer and the catchments."})
            if c.code == "B2" and frag:
                cfigs.append({"path": f"{rel}/{frag.name}", "title": "Fragmentation",
                              "caption": "Edge density and effective mesh size (Jaeger 2000) per zone."})
            item = next(i for i in r.checklist if i.code == c.code)
            crits.append({"code": c.code, "title": c.title, "required": c.required, "claimed": item.claimed,
                          "data": _criterion_data(c.code, r), "indicators": _indicator_rows(r, c.code),
                          "figures": cfigs, "missing": list(item.missing), "evidence": list(item.evidence)})
        sections.append({"name": sec, "criteria": crits})
    figs += [p for p in (zone_map, frag) if p]
    plan = [[ir.indicator.indicator_id, ir.indicator.criterion, f"{ir.indicator.name} [{ir.indicator.unit}]",
             ir.indicator.method, ir.indicator.frequency, f"{ir.indicator.responsible}; {ir.indicator.source}",
             "; ".join(ir.indicator.disaggregation) or "—", "OVERDUE" if ir.overdue else "on time"]
            for ir in r.indicators]
    return {"r": r, "sections": sections, "plan": plan, "flags": r.flags(), "figures": figs,
            "banner": GENERATED_BANNER if r.generated else None}


def render_ccb_section(results: CcbResults, report_dir: str | os.PathLike, *, name: str = "ccb.html",
                       figures_subdir: str = "figures") -> CcbSection:
    """Write the CCB section (``name`` and ``figures_subdir/ccb_*.png``) into an existing report directory.

    Parameters
    ----------
    results : CcbResults
        From :func:`reddplus.ccb.ccb_step` / :func:`reddplus.ccb.ccb_results`.
    report_dir : path
        Must exist (the chain's run directory or staging folder); figures go in ``figures_subdir``.

    Returns
    -------
    CcbSection
        ``html`` (a standalone page), ``figures`` and ``fragment`` (the section's body, figure paths
        relative to ``report_dir``, to embed in the crediting report).
    """
    from jinja2 import Environment, PackageLoader, select_autoescape

    from reddplus.raster.io import atomic_path

    report_dir = Path(report_dir)
    if not report_dir.is_dir():
        raise FileNotFoundError(f"report directory {report_dir} does not exist")
    figdir = report_dir / figures_subdir
    figdir.mkdir(exist_ok=True)
    ctx = _content(results, figdir, figures_subdir)
    env = Environment(loader=PackageLoader("reddplus.report", "templates"), autoescape=select_autoescape(["html"]))
    tpl = env.get_template("ccb_section.html")
    fragment = tpl.render(standalone=False, **ctx)
    page = tpl.render(standalone=True, **ctx)
    path = report_dir / name
    with atomic_path(path, overwrite=True) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return CcbSection(path, tuple(ctx["figures"]), fragment)


def write_ccb_report(results: CcbResults, out_dir: str | os.PathLike, *, overwrite: bool = False,
                     pdf: bool = True) -> dict[str, Path]:
    """The CCB section alone in a new folder (atomic): ``ccb.html``, ``ccb.pdf``, ``figures/``, ``ccb.json``.

    Raises
    ------
    OutputExistsError
        ``out_dir`` exists and not ``overwrite``.
    """
    from reddplus.raster import atomic_dir
    from reddplus.report.render import render_pdf

    out_dir = Path(out_dir).absolute()
    with atomic_dir(out_dir, overwrite=overwrite) as stage:
        sec = render_ccb_section(results, stage)
        (stage / "ccb.json").write_text(json.dumps(results.to_dict(), indent=2, default=_json_default),
                                        encoding="utf-8")
        if pdf:
            render_pdf(sec.html, stage / "ccb.pdf")
    out = {"html": out_dir / "ccb.html", "json": out_dir / "ccb.json", "figures": out_dir / "figures"}
    if pdf:
        out["pdf"] = out_dir / "ccb.pdf"
    return out


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return None if o != o else float(o)
    if isinstance(o, Path):
        return str(o)
    return str(o)
