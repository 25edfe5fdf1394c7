"""Frozen results of the CCB step: indicator values per period, flags, the VVB checklist (pure assembly).

:func:`assemble` turns a validated :class:`~reddplus.ccb.io.CcbDataset`, the map measurements
(:class:`~reddplus.ccb.indicators.MapIndicators`) and the optional without-project inputs into a
:class:`CcbResults`, whose :meth:`CcbResults.to_dict` is the ``ccb`` object of ``summary.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reddplus.ccb.criteria import CRITERIA, criterion_of
from reddplus.ccb.indicators import (MapIndicators, baseline_loss, counterfactual_loss, forest_without_project)
from reddplus.ccb.io import ROAD_METRICS, CcbDataset, CcbValidation
from reddplus.ccb.model import Indicator
from reddplus.ccb.scenario import BaselineInputs, CounterfactualInputs

__all__ = ["CcbResults", "ChecklistItem", "IndicatorResult", "PeriodValue", "assemble"]

NO_BASELINE = "no baseline given: run the CCB step from the crediting chain (reddplus run) or pass BaselineInputs"
NO_COUNTERFACTUAL = "no counterfactual given (counterfactual disabled or not run)"
NO_MAP = ("needs a without-project forest map: the baseline and the counterfactual give amounts of deforestation, "
          "not their locations")


@dataclass(frozen=True)
class PeriodValue:
    """One indicator in one monitoring period: without-project (baseline), counterfactual, with-project."""

    period: tuple[int, int]
    with_project: float | None
    without_project: float | None
    counterfactual: float | None = None
    with_project_by_group: dict[str, float | None] = field(default_factory=dict)
    without_project_by_group: dict[str, float | None] = field(default_factory=dict)
    with_project_note: str = ""
    without_project_source: str = ""
    without_project_reason: str = ""
    counterfactual_reason: str = ""

    def to_dict(self) -> dict:
        return {"with_project": self.with_project, "without_project": self.without_project,
                "counterfactual": self.counterfactual, "with_project_by_group": dict(self.with_project_by_group),
                "without_project_by_group": dict(self.without_project_by_group),
                "with_project_note": self.with_project_note or None,
                "without_project_source": self.without_project_source or None,
                "without_project_reason": self.without_project_reason or None,
                "counterfactual_reason": self.counterfactual_reason or None}


@dataclass(frozen=True)
class IndicatorResult:
    indicator: Indicator
    values: tuple[PeriodValue, ...]
    overdue: bool
    flags: tuple[str, ...]

    def to_dict(self) -> dict:
        i = self.indicator
        return {"criterion": i.criterion, "name": i.name, "unit": i.unit, "source": i.source, "method": i.method,
                "frequency": i.frequency, "responsible": i.responsible, "disaggregation": list(i.disaggregation),
                "overdue": self.overdue, "flags": list(self.flags),
                "periods": {f"{v.period[0]}-{v.period[1]}": v.to_dict() for v in self.values}}


@dataclass(frozen=True)
class ChecklistItem:
    """One line a validation/verification body ticks: a criterion, where its evidence is, what is missing."""

    code: str
    title: str
    section: str
    required: bool
    claimed: bool
    evidence: tuple[str, ...]
    missing: tuple[str, ...]
    indicators: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.missing

    def to_dict(self) -> dict:
        return {"criterion": self.code, "title": self.title, "section": self.section, "required": self.required,
                "claimed": self.claimed, "evidence": list(self.evidence), "missing": list(self.missing),
                "indicators": list(self.indicators), "evidence_complete": self.complete}


@dataclass(frozen=True)
class CcbResults:
    """The CCB step's results (frozen); :meth:`to_dict` is summary.json's ``ccb`` object."""

    project_name: str
    generated: bool
    crediting: tuple[int, int]
    monitoring: tuple[tuple[int, int], ...]
    as_of: int
    validation: CcbValidation
    indicators: tuple[IndicatorResult, ...]
    checklist: tuple[ChecklistItem, ...]
    maps: MapIndicators | None
    baseline: dict | None
    counterfactual: dict | None
    gold_levels_claimed: tuple[str, ...]
    assumptions: tuple[str, ...]
    dataset: Any = field(repr=False, compare=False, default=None)
    overview: dict | None = field(repr=False, compare=False, default=None)   # decimated map for the report

    @property
    def claimed_level(self) -> str:
        """The level the proponent claims: GOLD (with levels) or APPROVED; the VVB decides."""
        return "GOLD" if self.gold_levels_claimed else "APPROVED"

    def flags(self) -> dict[str, list[str]]:
        missing = [f"{r.indicator.indicator_id}: {f}" for r in self.indicators for f in r.flags]
        overdue = [r.indicator.indicator_id for r in self.indicators if r.overdue]
        return {"missing_data": missing, "overdue_indicators": overdue,
                "criteria_with_gaps": [c.code for c in self.checklist if c.missing and (c.required or c.claimed)]}

    def to_dict(self) -> dict:
        return {
            "standard": "CCB v3.1",
            "project": self.project_name,
            "generated_sample": self.generated,
            "crediting_period": list(self.crediting),
            "monitoring_periods": [f"{a}-{b}" for a, b in self.monitoring],
            "as_of": self.as_of,
            "validation": self.validation.to_dict(),
            "claimed": {"level": self.claimed_level, "gold_levels": list(self.gold_levels_claimed)},
            "indicators": {r.indicator.indicator_id: r.to_dict() for r in self.indicators},
            "checklist": [c.to_dict() for c in self.checklist],
            "flags": self.flags(),
            "baseline": self.baseline,
            "counterfactual": self.counterfactual,
            "maps": self.maps.to_dict() if self.maps is not None else None,
            "assumptions": list(self.assumptions),
        }


# ------------------------------------------------------------------------------------------ assembly
def _computed_value(ind: Indicator, m: MapIndicators | None, a: int, b: int, crediting: tuple[int, int],
                    baseline: BaselineInputs | None, cf: CounterfactualInputs | None) -> PeriodValue:
    metric, zone = ind.computed
    if m is None:
        return PeriodValue((a, b), None, None, None, with_project_note="the maps were not measured",
                           without_project_reason=NO_BASELINE, counterfactual_reason=NO_COUNTERFACTUAL)
    bsrc = baseline.source if baseline else ""
    if metric in ROAD_METRICS:
        states = [r for r in m.roads if r.date <= b]
        wp = getattr(states[-1], metric) if states else None
        note = "" if states else f"no roads layer dated {b} or earlier"
        wop, reason = None, NO_BASELINE
        if baseline is not None:
            if b in m.planned_roads:
                wop, reason = float(getattr(m.planned_roads[b], metric)), ""
            else:
                reason = "the baseline names no planned roads"
        cf_roads = (cf.road_km_by_year if metric == "road_km" else cf.road_entries_by_year) if cf else {}
        cfv = float(cf_roads[b]) if b in cf_roads else None
        cfr = ("" if cfv is not None else NO_COUNTERFACTUAL if cf is None else
               "the pixel-matching counterfactual estimates deforestation, not road building (no road figures given)")
        return PeriodValue((a, b), None if wp is None else float(wp), wop, cfv, with_project_note=note,
                           without_project_source=bsrc if wop is not None else "", without_project_reason=reason,
                           counterfactual_reason=cfr)
    end = m.metrics.get((zone, b))
    start = m.metrics.get((zone, a - 1))
    if metric == "forest_loss_ha":
        wp = None if end is None or start is None else start.forest_area_ha - end.forest_area_ha
    else:
        wp = None if end is None else getattr(end, metric)
    wop, reason, cfv, cfr = None, NO_BASELINE, None, NO_COUNTERFACTUAL
    land = end.landscape_area_ha if end is not None else 0.0
    if metric in ("forest_area_ha", "forest_cover_percent", "forest_loss_ha"):
        if baseline is not None:
            if metric == "forest_loss_ha":
                wop, reason = baseline_loss(m, zone, a, b)
            else:
                wop, reason = forest_without_project(m, zone, a, b, crediting[0])
                if wop is not None and metric == "forest_cover_percent":
                    wop = 100.0 * wop / land if land > 0 else None
        if cf is not None:
            loss, cfr = counterfactual_loss(m, cf, zone, a, b)
            if loss is not None:
                if metric == "forest_loss_ha":
                    cfv = loss
                elif start is not None:
                    area = start.forest_area_ha - loss
                    cfv = area if metric == "forest_area_ha" else (100.0 * area / land if land > 0 else None)
    else:
        reason = NO_MAP if baseline is not None else NO_BASELINE
        cfr = NO_MAP if cf is not None else NO_COUNTERFACTUAL
    return PeriodValue((a, b), None if wp is None else float(wp), None if wop is None else float(wop),
                       None if cfv is None else float(cfv), without_project_source=bsrc if wop is not None else "",
                       without_project_reason="" if wop is not None else reason,
                       counterfactual_reason="" if cfv is not None else cfr)


def _reported_value(ind: Indicator, ds: CcbDataset, a: int, b: int) -> tuple[PeriodValue, list[str]]:
    key = f"{a}-{b}"
    rows = [v for v in ds.values if v.indicator_id == ind.indicator_id and _same(v.period, key)]
    flags = []

    def pick(scenario):
        total = [v for v in rows if v.scenario == scenario and not v.group]
        by_group = {v.group: v.value for v in rows if v.scenario == scenario and v.group}
        return (total[0] if total else None), by_group

    w, wg = pick("with_project")
    wo, wog = pick("without_project")
    if w is None and not wg:
        flags.append(f"no with-project value for {key}")
    elif w is not None and w.value is None:
        flags.append(f"not measured in {key} (with project)")
    for g in ind.disaggregation:
        if g not in wg:
            flags.append(f"no with-project value for group {g} in {key}")
        elif wg[g] is None:
            flags.append(f"group {g} not measured in {key}")
    if wo is None and not wog:
        flags.append(f"no without-project value for {key}")
    pv = PeriodValue((a, b), w.value if w else None, wo.value if wo else None, None, wg, wog,
                     with_project_note=w.note if w else "",
                     without_project_source="indicator_values.csv" if wo is not None and wo.value is not None else "",
                     without_project_reason="" if wo is not None and wo.value is not None else
                     ("not measured" if wo is not None else "not reported"),
                     counterfactual_reason="a reported indicator has no map-based counterfactual")
    return pv, flags


def _same(text: str, key: str) -> bool:
    return text.replace(" ", "") == key


def _overdue(ind: Indicator, values: tuple[PeriodValue, ...], as_of: int, crediting_start: int) -> bool:
    """Overdue: the last measurement is older than the frequency allows at ``as_of`` (CCB v3.1 CM4, B4).

    .. math:: \\text{overdue} \\iff as\\_of - t_{last} > N  \\quad (t_{last} = c_0 - 1 \\text{ if never measured})

    ``per monitoring period``: overdue when a period ended by ``as_of`` has no measured value.
    """
    measured = [v.period[1] for v in values if v.with_project is not None
                or any(x is not None for x in v.with_project_by_group.values())]
    n = ind.frequency_years
    if n is None:
        return any(v.period[1] <= as_of and v.period[1] not in measured for v in values)
    last = max(measured) if measured else crediting_start - 1
    return as_of - last > n


def _checklist(ds: CcbDataset, results: tuple[IndicatorResult, ...], baseline, cf) -> tuple[ChecklistItem, ...]:
    s = ds.settings
    by_crit: dict[str, list[IndicatorResult]] = {}
    for r in results:
        by_crit.setdefault(criterion_of(r.indicator.criterion).code, []).append(r)
    groups = {g.group_id: g for g in ds.groups}
    engaged = {e.group_id for e in ds.engagement}
    bio_hcv = [h for h in ds.hcvs if h.section == "B1.2"]
    com_hcv = [h for h in ds.hcvs if h.section == "CM1.2"]
    periods = [f"{a}-{b}" for a, b in ds.monitoring_periods if b <= s.as_of]
    status = {(h.hcv_id, h.period.replace(" ", "")): h.status for h in ds.hcv_status}
    items = []

    section_codes = {"CM1": ("CM1", "CM2", "CM3", "CM4", "GL2"), "CM2": ("CM1", "CM2", "CM3", "CM4", "GL2"),
                     "B1": ("B1", "B2", "B3", "B4", "GL3"), "B2": ("B1", "B2", "B3", "B4", "GL3")}

    def hcv_status_missing(hcvs) -> list[str]:
        """HCVs not reported maintained or enhanced in a monitoring period ended by as_of (CM2, B2)."""
        return [f"HCV {h.hcv_id} {p}: status {status.get((h.hcv_id, p), 'not reported')}"
                for h in hcvs for p in periods if status.get((h.hcv_id, p)) not in ("maintained", "enhanced")]

    def values_missing(code: str, scenario: str) -> list[str]:
        """Indicators of the section (CM or B) lacking a without- (CM1, B1) or with-project (CM2, B2) value."""
        out = []
        rs = [r for k in section_codes[code] for r in by_crit.get(k, [])]
        for r in rs:
            for v in r.values:
                val = v.with_project if scenario == "with" else v.without_project
                if val is None and v.period[1] <= s.as_of:
                    out.append(f"{r.indicator.indicator_id} {v.period[0]}-{v.period[1]}: no {scenario}-project value")
        return out

    for c in CRITERIA:
        ev = list(s.evidence.get(c.code, []))
        miss: list[str] = []
        code = c.code
        if code == "G1":
            ev.append(f"project zone: {s.zone}")
            if ds.theory_of_change:
                ev.append("theory_of_change.csv")
                unlinked = [n.node_id for n in ds.theory_of_change if not n.indicators]
                if unlinked:
                    miss.append(f"theory-of-change nodes without an indicator: {', '.join(unlinked)}")
                if not any(n.level == "impact" for n in ds.theory_of_change):
                    miss.append("the theory of change names no impact")
            else:
                miss.append("no theory of change (theory_of_change.csv)")
            if not ds.groups:
                miss.append("no community groups")
        elif code == "G2":
            if baseline is None:
                miss.append("without-project land use: no baseline given")
            else:
                ev.append(f"without-project land use: {baseline['source']}")
        elif code == "G3":
            if ds.engagement:
                ev.append(f"engagement.csv ({len(ds.engagement)} entries)")
            not_engaged = [g for g in groups if g not in engaged and groups[g].kind != "isolated_indigenous"]
            if not_engaged:
                miss.append(f"community groups never engaged: {', '.join(not_engaged)}")
            fpic_needed = [g for g, x in groups.items() if x.kind == "indigenous"]
            fpic_done = {e.group_id for e in ds.engagement if e.fpic}
            lacking = [g for g in fpic_needed if g not in fpic_done]
            if lacking:
                miss.append(f"no FPIC step recorded for indigenous groups: {', '.join(lacking)}")
            open_g = [g.grievance_id for g in ds.grievances if g.closed is None]
            if open_g:
                miss.append(f"open grievances: {', '.join(open_g)}")
            unanswered = [g.grievance_id for g in ds.grievances if g.response is None]
            if unanswered:
                miss.append(f"grievances without a response: {', '.join(unanswered)}")
            if ds.grievances:
                ev.append(f"grievances.csv ({len(ds.grievances)} entries)")
        elif code == "G5":
            if ds.tenure:
                ev.append(f"tenure.csv ({len(ds.tenure)} rights)")
                if not any(t.kind == "customary" for t in ds.tenure):
                    miss.append("no customary rights recorded")
                unresolved = [t.right_id for t in ds.tenure if t.dispute_status in ("unresolved", "in_mediation")]
                if unresolved:
                    miss.append(f"unresolved tenure disputes: {', '.join(unresolved)}")
            else:
                miss.append("no tenure and rights register (tenure.csv)")
        elif code in ("CL1", "CL2", "CL3", "CL4"):
            if s.climate_via_vcs:
                ev.append("VCS baseline, leakage and monitoring (reddplus run: VM0048 / VT0007)")
            elif not ev:
                miss.append("no evidence listed in ccb.toml [evidence]")
        elif code in ("CM1", "B1"):  # without-project scenarios: HCVs identified (CM1.2, B1.2) and baseline values
            hcvs, label = ((com_hcv, "community HCVs (ecosystem services, livelihood, cultural)") if code == "CM1"
                           else (bio_hcv, "biodiversity HCVs"))
            if hcvs:
                ev.append(f"{label}: {', '.join(h.hcv_id for h in hcvs)}")
            else:
                miss.append(f"no {label} assessed")
            miss += values_missing(code, "without")
        elif code == "CM2":
            miss += values_missing(code, "with")
            women = [g for g in ds.groups if g.kind == "women"]
            if not women:
                miss.append("no women's group: CCB v3.1 asks for one where women's values differ (or a statement "
                            "that they do not)")
            miss += hcv_status_missing(com_hcv)
        elif code == "CM3":
            if ds.stakeholders:
                ev.append(f"stakeholders.csv ({len(ds.stakeholders)} offsite stakeholders)")
            else:
                miss.append("no offsite stakeholders identified (stakeholders.csv)")
        elif code in ("CM4", "B4"):
            rs = [r for k in ((code[:-1] + "1"), (code[:-1] + "2"), (code[:-1] + "3"), code) for r in by_crit.get(k, [])]
            if rs:
                ev.append(f"monitoring plan: {len(rs)} indicators (indicators.csv)")
            else:
                miss.append("no indicators in the monitoring plan")
            over = [r.indicator.indicator_id for r in rs if r.overdue]
            if over:
                miss.append(f"overdue indicators: {', '.join(over)}")
        elif code == "B2":
            miss += values_missing(code, "with")
            miss += hcv_status_missing(bio_hcv)
        elif code == "GL3" and code in s.gold_levels_claimed:
            vul = [h.hcv_id for h in ds.hcvs if h.iucn_category in ("CR", "EN")]
            irr = [h.hcv_id for h in ds.hcvs if h.restricted_range]
            if vul:
                ev.append(f"vulnerability: CR/EN species in {', '.join(vul)}")
            if irr:
                ev.append(f"irreplaceability: restricted-range species in {', '.join(irr)}")
            if not vul and not irr:
                miss.append("no CR/EN species (vulnerability) nor restricted-range species (irreplaceability) in the "
                            "HCV register")
        elif code == "GL2" and code in s.gold_levels_claimed:
            if not any(g.kind == "women" for g in ds.groups):
                miss.append("no women's group whose well-being is monitored")
        if code in ("G4", "B3", "GL1") or (c.gold and code in s.gold_levels_claimed):
            if not s.evidence.get(code):
                miss.append("no evidence listed in ccb.toml [evidence]")
        if c.gold and code not in s.gold_levels_claimed:
            miss = []
        inds = tuple(r.indicator.indicator_id for r in by_crit.get(code, []))
        items.append(ChecklistItem(code, c.title, c.section, c.required, c.required or code in s.gold_levels_claimed,
                                   tuple(ev), tuple(miss), inds))
    return tuple(items)


def assemble(ds: CcbDataset, maps: MapIndicators | None, *, baseline: BaselineInputs | None = None,
             counterfactual: CounterfactualInputs | None = None, validation: CcbValidation | None = None,
             assumptions: tuple[str, ...] = ()) -> CcbResults:
    """Indicator values per monitoring period, flags and the checklist (pure: no file access)."""
    s = ds.settings
    crediting = tuple(s.periods.crediting)
    out = []
    for ind in ds.indicators:
        vals, flags = [], []
        for a, b in ds.monitoring_periods:
            if ind.computed is not None:
                v = _computed_value(ind, maps, a, b, crediting, baseline, counterfactual)
                if v.with_project is None and b <= s.as_of:
                    flags.append(f"no with-project value for {a}-{b}: {v.with_project_note or 'not measured'}")
            else:
                v, f = _reported_value(ind, ds, a, b)
                if b <= s.as_of:
                    flags += f
            vals.append(v)
        vals = tuple(vals)
        over = _overdue(ind, vals, s.as_of, crediting[0])
        out.append(IndicatorResult(ind, vals, over, tuple(flags)))
    out = tuple(out)
    bdict = baseline.to_dict() if baseline is not None else None
    cdict = counterfactual.to_dict() if counterfactual is not None else None
    checklist = _checklist(ds, out, bdict, cdict)
    notes = list(assumptions)
    if counterfactual is not None:
        notes.append("counterfactual values of zones other than the project apply the project's matched-control "
                     "deforestation share to the zone's forest (the zone is assumed to behave like the controls)")
    return CcbResults(s.project_name, s.generated, crediting, ds.monitoring_periods, s.as_of,
                      validation or ds.validation, out, checklist, maps, bdict, cdict, tuple(s.gold_levels_claimed),
                      tuple(notes), ds)
