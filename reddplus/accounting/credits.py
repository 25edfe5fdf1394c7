"""Net emission reductions per vintage, the buffer, reversals and whole-tonne VCUs; each number with its formula.

Per vintage (calendar year ``y``, prorated by the days of the year inside the period):

.. math::
    ER_y &= f_y\\,(BE_y - PE_y) \\\\
    LK_y &= f_y\\,(LK^{AS}_y + LK^{OLB}_y) + LK^{ME}_y,\\quad
            LK^{ME}_y = f_y\\,LK^{ME,given}_y \\text{ or } m\\,\\max(0, ER_y) \\\\
    UD_y &= u_y\\,\\max(0, ER_y - LK_y) \\\\
    NER_y &= ER_y - LK_y - UD_y \\\\
    BUF_y &= \\lceil b\\,\\lfloor NER_y \\rfloor \\rceil,\\quad VCU_y = \\lfloor NER_y \\rfloor - BUF_y
            \\quad (NER_y \\ge 0) \\\\
    REV_y &= \\lceil -NER_y \\rceil \\quad (NER_y < 0)

with :math:`f_y` the share of the year's days in the crediting (or monitoring) period, :math:`m`
the market-leakage share, :math:`u_y` the uncertainty deduction share of the vintage's
monitoring period and :math:`b` the buffer share.

Rounding rule: VCUs are whole tonnes and are never rounded up. The issuance is the whole tonnes
of the net reductions; buffer credits are that issuance times the buffer share, rounded up (the
conservative side, and the registry's own rule: :func:`reddplus.registry.service.buffer_quantity`),
so the registry splits each issuance into exactly these holder and buffer blocks. The fractional
tonne left (:math:`NER_y - \\lfloor NER_y \\rfloor`) is not issued and not carried forward.

Reversals. A vintage whose net reductions are negative issues nothing; its shortfall
:math:`S_y = \\lceil -NER_y \\rceil` whole tonnes (rounded up: never understated) reverses what was
credited before it, and only that: the *reversal* is :math:`REV_y = \\min(S_y, C_{y-1})`, with
:math:`C_{y-1}` the whole tonnes issued to earlier vintages (holder and buffer) less earlier reversals.
A reversal is netted against the buffer contribution of its own monitoring period first (the buffer
credits that the period's positive vintages deposit), and the rest is compensated from the pooled
buffer account. Each reversal is returned as a :class:`Reversal` with both parts, so the registry step
cancels exactly that many buffer credits. The part of the shortfall that no earlier credit covers,
:math:`S_y - REV_y`, reverses nothing: it is a *deficit* carried forward, and later vintages make it
good out of their net reductions before they issue (``CreditRow.made_good_tco2e``), so a project that
emitted more than its baseline is never credited for merely returning to it. Loss events
(:class:`LossEvent`) are recorded per vintage for the loss-event report; their emissions are part of
the monitored project emissions.

What could and could not be read
--------------------------------
The VCS Standard v4.5 clause on reversals and loss events (section 3.2.26 as the issue cites
it) could not be read in the reference store (only the standard's opening pages are there). The
netting above is the rule the issue states ("a negative net benefit in a monitoring period is a
reversal: it is compensated from the buffer", netted against the period's buffer contribution),
bounded by what was credited before (nothing issued, nothing to reverse). Whether later issuance must
also make good a reversal the buffer covered is not implemented (only the uncovered deficit is made
good), and every reversal carries that assumption as a string.

References
----------
1. Verra (2023) VM0048 v1.0, net emission reductions (section 8.5 in the earlier code; the
   section number could not be confirmed here) and VMD0055 v1.1 section 5.3.
2. Verra (2023) VCS Standard v4.5, section 3.2.26 (loss events and reversals; clause not read
   here), section 3.7 (buffer credits from the non-permanence risk rating), VCUs in whole tonnes
   of CO2e.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from reddplus.errors import ConfigError, InputDataError

#: where each deduction comes from (the caller may override with ``deduction_notes``)
DEDUCTION_SOURCES: dict[str, dict] = {
    "activity_shifting_leakage": {"source": "VMD0055 v1.1", "section": "section 5.3 (leakage belt; equation not "
                                  "readable in the reference store)"},
    "leakage_beyond_belt": {"source": "VMD0055 v1.1", "section": "section 5.3 (leakage beyond the belt; not readable "
                            "in the reference store)"},
    "market_leakage": {"source": "VMD0055 v1.1", "section": "section 5.3 (market leakage, wood products; not "
                       "readable in the reference store)"},
    "uncertainty": {"source": "VM0048 v1.0 / VMD0055 v1.1 (rule: deductions.uncertainty_rule)",
                    "section": "VM0048 v1.0 quantification section (not readable here); see "
                    "reddplus.accounting.uncertainty for the rule used"},
    "whole_tonnes": {"source": "VCS Standard v4.5", "section": "VCUs in whole tonnes of CO2e"},
    "deficit_made_good": {"source": "VCS Standard v4.5", "section": "section 3.2.26 (a negative net benefit not "
                          "covered by earlier credits is made good before further issuance; clause not read here)"},
    "buffer": {"source": "VCS Standard v4.5 and the AFOLU Non-Permanence Risk Tool",
               "section": "section 3.7 (buffer credits: the risk rating times the issuance)"},
}

REVERSAL_SOURCE = "VCS Standard v4.5"
REVERSAL_SECTION = "section 3.2.26 (loss events and reversals; as cited by the issue, clause not read here)"
REVERSAL_ASSUMPTION = ("The VCS Standard's reversal clause could not be read: a reversal reverses at most what was "
                       "credited before it; it is netted against its monitoring period's buffer contribution first "
                       "and the rest is cancelled from the pooled buffer; later issuance is not withheld to make it "
                       "good. A shortfall no earlier credit covers is a deficit that later vintages make good before "
                       "they issue.")


@dataclass(frozen=True)
class LossEvent:
    """A loss event in the project area: what happened, where, how much [ha, t CO2e].

    Attributes
    ----------
    event : str
        What happened (``fire``, ``illegal clearing``...).
    year : int
        Vintage in which it occurred.
    area_ha : float [ha]
        Area affected.
    emissions_tco2e : float [t CO2e]
        Emissions from it; they are part of the vintage's monitored project emissions.
    date : date, optional
    description : str
    """

    event: str
    year: int
    area_ha: float
    emissions_tco2e: float
    date: dt.date | None = None
    description: str = ""

    def __post_init__(self):
        if not self.event:
            raise InputDataError("a loss event needs a name", column="event")
        for name in ("area_ha", "emissions_tco2e"):
            v = getattr(self, name)
            if not np.isfinite(v) or v < 0:
                raise InputDataError(f"loss event {self.event!r} ({self.year}): {name} must be finite and >= 0, "
                                     f"got {v}", column=name)
        if self.date is not None and self.date.year != self.year:
            raise InputDataError(f"loss event {self.event!r}: date {self.date} is not in year {self.year}",
                                 column="date")

    def to_dict(self) -> dict:
        return {"event": self.event, "year": self.year, "area_ha": self.area_ha,
                "emissions_tco2e": self.emissions_tco2e, "date": None if self.date is None else self.date.isoformat(),
                "description": self.description}


@dataclass(frozen=True)
class VintageInput:
    """Annual quantities of one vintage [t CO2e/yr] (before prorating).

    ``leakage_tco2e`` is the activity-shifting leakage in the belt; ``leakage_beyond_belt_tco2e``
    the leakage beyond it; ``market_leakage_tco2e``, when given, replaces the table-wide market
    percentage for this vintage. ``uncertainty_deduction_percent``, when given, is this vintage's
    monitoring-period deduction (:func:`reddplus.accounting.uncertainty.period_uncertainty`).
    """

    year: int
    baseline_tco2e: float
    project_tco2e: float
    leakage_tco2e: float = 0.0
    leakage_beyond_belt_tco2e: float = 0.0
    market_leakage_tco2e: float | None = None
    uncertainty_deduction_percent: float | None = None
    loss_events: tuple[LossEvent, ...] = ()


@dataclass(frozen=True)
class Deduction:
    """One deduction of one vintage, as data: formula, inputs, source, and the credits before and after it."""

    name: str
    tco2e: float
    formula: str
    inputs: dict
    source: str
    section: str
    before_tco2e: float
    after_tco2e: float
    assumptions: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"name": self.name, "tco2e": self.tco2e, "formula": self.formula, "inputs": dict(self.inputs),
                "source": self.source, "section": self.section, "before_tco2e": self.before_tco2e,
                "after_tco2e": self.after_tco2e, "assumptions": list(self.assumptions)}


@dataclass(frozen=True)
class Reversal:
    """A reversal: a vintage's negative net reductions, and where the buffer credits that cover it come from.

    ``from_period_buffer`` buffer credits come out of the contribution of the same monitoring
    period's positive vintages; ``from_pooled_buffer`` out of the pooled buffer account. Their
    sum is ``reversal_tco2e`` [whole t CO2e], the buffer credits the registry cancels.
    """

    year: int
    monitoring_period: tuple[str, str]
    net_tco2e: float
    reversal_tco2e: int
    from_period_buffer: int
    from_pooled_buffer: int
    formula: str
    source: str = REVERSAL_SOURCE
    section: str = REVERSAL_SECTION
    assumption: str = REVERSAL_ASSUMPTION

    def to_dict(self) -> dict:
        return {"year": self.year, "monitoring_period": list(self.monitoring_period), "net_tco2e": self.net_tco2e,
                "reversal_tco2e": self.reversal_tco2e, "from_period_buffer": self.from_period_buffer,
                "from_pooled_buffer": self.from_pooled_buffer, "buffer_credits_to_cancel": self.reversal_tco2e,
                "formula": self.formula, "source": self.source, "section": self.section,
                "assumption": self.assumption}


@dataclass(frozen=True)
class CreditRow:
    year: int
    days: int
    fraction: float
    baseline_tco2e: float
    project_tco2e: float
    activity_shifting_leakage_tco2e: float
    market_leakage_tco2e: float
    leakage_tco2e: float
    uncertainty_deduction_tco2e: float
    net_tco2e: float
    buffer: int
    vcus: int
    formula: dict = field(default_factory=dict)
    leakage_beyond_belt_tco2e: float = 0.0
    uncertainty_deduction_percent: float = 0.0
    reversal_tco2e: int = 0
    deductions: tuple[Deduction, ...] = ()
    loss_events: tuple[LossEvent, ...] = ()
    made_good_tco2e: int = 0        # whole tonnes of this vintage withheld to make good an earlier deficit
    deficit_tco2e: int = 0          # the deficit carried forward after this vintage [whole t CO2e]

    @property
    def issuance(self) -> int:
        """Whole tonnes issued for the vintage: the holder's VCUs plus the buffer credits [t CO2e]."""
        return self.vcus + self.buffer

    def to_dict(self) -> dict:
        d = asdict(self)
        d["deductions"] = [x.to_dict() for x in self.deductions]
        d["loss_events"] = [x.to_dict() for x in self.loss_events]
        return d


@dataclass(frozen=True)
class CreditsTable:
    rows: tuple[CreditRow, ...]
    uncertainty_deduction_percent: float
    buffer_percent: float
    market_leakage_percent: float
    reversals: tuple[Reversal, ...] = ()
    monitoring_periods: tuple[tuple[str, str], ...] = ()
    uncertainty_rule: str | None = None

    @property
    def total_vcus(self) -> int:
        return sum(r.vcus for r in self.rows)

    @property
    def total_buffer(self) -> int:
        return sum(r.buffer for r in self.rows)

    @property
    def total_reversals(self) -> int:
        return sum(r.reversal_tco2e for r in self.reversals)

    def reversals_by_vintage(self) -> dict[int, list[dict]]:
        """Every vintage -> its reversals (an empty list when none), for ``summary.json``."""
        out: dict[int, list[dict]] = {r.year: [] for r in self.rows}
        for rv in self.reversals:
            out[rv.year].append(rv.to_dict())
        return out

    def leakage_by_vintage(self) -> dict[int, float]:
        """Every vintage -> total leakage [t CO2e], for ``summary.json``."""
        return {r.year: r.leakage_tco2e for r in self.rows}

    def loss_event_report(self) -> "LossEventReport":
        return loss_event_report([e for r in self.rows for e in r.loss_events])

    def to_dict(self) -> dict:
        return {"rows": [r.to_dict() for r in self.rows], "total_vcus": self.total_vcus,
                "total_buffer": self.total_buffer, "uncertainty_deduction_percent": self.uncertainty_deduction_percent,
                "buffer_percent": self.buffer_percent, "market_leakage_percent": self.market_leakage_percent,
                "uncertainty_rule": self.uncertainty_rule, "reversals": [r.to_dict() for r in self.reversals],
                "reversals_by_vintage": {str(k): v for k, v in self.reversals_by_vintage().items()},
                "total_reversals": self.total_reversals,
                "monitoring_periods": [list(p) for p in self.monitoring_periods],
                "loss_events": self.loss_event_report().to_dict()}

    def to_frame(self) -> pd.DataFrame:
        skip = {"formula", "deductions", "loss_events"}
        return pd.DataFrame([{k: v for k, v in r.to_dict().items() if k not in skip} for r in self.rows])


@dataclass(frozen=True)
class LossEventReport:
    """The loss-event report: every event with its area and emissions, and the totals."""

    events: tuple[LossEvent, ...]

    @property
    def total_area_ha(self) -> float:
        return float(sum(e.area_ha for e in self.events))

    @property
    def total_emissions_tco2e(self) -> float:
        return float(sum(e.emissions_tco2e for e in self.events))

    def to_dict(self) -> dict:
        return {"events": [e.to_dict() for e in self.events], "total_area_ha": self.total_area_ha,
                "total_emissions_tco2e": self.total_emissions_tco2e}


def loss_event_report(events: Sequence[LossEvent]) -> LossEventReport:
    """Loss events sorted by year and date (VCS Standard v4.5 section 3.2.26: loss-event report)."""
    return LossEventReport(tuple(sorted(events, key=lambda e: (e.year, e.date or dt.date(e.year, 1, 1), e.event))))


def _days(year: int, start: dt.date, end: dt.date) -> tuple[int, int]:
    y0, y1 = dt.date(year, 1, 1), dt.date(year, 12, 31)
    a, b = max(y0, start), min(y1, end)
    return max(0, (b - a).days + 1), (y1 - y0).days + 1


def _period_of(year: int, periods: Sequence[tuple[dt.date, dt.date]]) -> int:
    overlap = [_days(year, a, b)[0] for a, b in periods]
    best = int(np.argmax(overlap))
    if overlap[best] == 0:
        raise InputDataError(f"vintage {year} lies in no monitoring period", column="year")
    return best


def _pct(name: str, p: float) -> None:
    if not np.isfinite(p) or not 0 <= p <= 100:
        raise InputDataError(f"{name} must be 0..100, got {p}", column=name)


def net_credits(vintages: Sequence[VintageInput], *, uncertainty_deduction_percent: float, buffer_percent: float,
                market_leakage_percent: float, crediting_start: dt.date, crediting_end: dt.date,
                monitoring_periods: Sequence[tuple[dt.date, dt.date]] | None = None,
                uncertainty_rule: str | None = None,
                deduction_notes: Mapping[str, Mapping] | None = None) -> CreditsTable:
    """Net emission reductions, buffer credits, reversals and VCUs per vintage (see the module docstring).

    Parameters
    ----------
    vintages : sequence of VintageInput
        Annual baseline and project emissions and leakage [t CO2e/yr].
    uncertainty_deduction_percent : float [%]
        Deduction of every vintage that does not carry its own (``VintageInput.uncertainty_deduction_percent``).
    buffer_percent, market_leakage_percent : float [%]
    crediting_start, crediting_end : date
        Period credited (crediting period for ex-ante, monitoring for ex-post); partial
        first/last years are prorated by days.
    monitoring_periods : sequence of (date, date), optional
        The monitoring periods (verification periods) the vintages fall in; a reversal is netted
        against the buffer contribution of its own period. Default: one period, the whole span.
    uncertainty_rule : str, optional
        Name of the rule that produced the percentages (echoed).
    deduction_notes : mapping name -> {"source", "section", "assumptions"}, optional
        Overrides :data:`DEDUCTION_SOURCES` per deduction (e.g. from a
        :class:`~reddplus.accounting.leakage.LeakageComponent` or
        :class:`~reddplus.accounting.uncertainty.PeriodUncertainty`).

    Raises
    ------
    InputDataError
        Negative emissions, percentages outside 0..100, a vintage outside the period, loss events
        with more emissions than the vintage's project emissions. ConfigError: a period that ends
        before it starts, overlapping monitoring periods.
    """
    if crediting_end < crediting_start:
        raise ConfigError("the crediting period ends before it starts", key="project.crediting_start")
    for name, p in (("uncertainty_deduction_percent", uncertainty_deduction_percent),
                    ("buffer_percent", buffer_percent), ("market_leakage_percent", market_leakage_percent)):
        _pct(name, p)
    periods = list(monitoring_periods) if monitoring_periods else [(crediting_start, crediting_end)]
    for a, b in periods:
        if b < a:
            raise ConfigError(f"monitoring period {a}..{b} ends before it starts", key="periods.monitoring")
    for (a0, b0), (a1, b1) in zip(sorted(periods), sorted(periods)[1:]):
        if a1 <= b0:
            raise ConfigError(f"monitoring periods {a0}..{b0} and {a1}..{b1} overlap", key="periods.monitoring")
    notes = {k: dict(v) for k, v in DEDUCTION_SOURCES.items()}
    for k, v in (deduction_notes or {}).items():
        if k not in notes:
            raise InputDataError(f"unknown deduction {k!r}; one of {sorted(notes)}", column="deduction_notes")
        notes[k] = {**notes[k], **dict(v)}
    b, m = buffer_percent / 100, market_leakage_percent / 100
    rows, period_of = [], {}
    credited, deficit = 0, 0      # whole tonnes issued so far less reversals; the uncovered shortfall
    for v in sorted(vintages, key=lambda x: x.year):
        for name in ("baseline_tco2e", "project_tco2e", "leakage_tco2e", "leakage_beyond_belt_tco2e"):
            val = getattr(v, name)
            if not np.isfinite(val) or val < 0:
                raise InputDataError(f"vintage {v.year}: emissions and leakage must be finite and >= 0 t CO2e "
                                     f"({name} = {val})", column="tco2e")
        if v.market_leakage_tco2e is not None and (not np.isfinite(v.market_leakage_tco2e)
                                                   or v.market_leakage_tco2e < 0):
            raise InputDataError(f"vintage {v.year}: market leakage must be >= 0", column="market_leakage_tco2e")
        udp = uncertainty_deduction_percent if v.uncertainty_deduction_percent is None \
            else v.uncertainty_deduction_percent
        _pct(f"vintage {v.year} uncertainty_deduction_percent", udp)
        u = udp / 100
        days, ndays = _days(v.year, crediting_start, crediting_end)
        if days == 0:
            raise InputDataError(f"vintage {v.year} lies outside the period {crediting_start}..{crediting_end}",
                                 column="year")
        period_of[v.year] = _period_of(v.year, periods)
        f = days / ndays
        be, pe, las, lob = f * v.baseline_tco2e, f * v.project_tco2e, f * v.leakage_tco2e, \
            f * v.leakage_beyond_belt_tco2e
        lost = sum(e.emissions_tco2e for e in v.loss_events)
        if any(e.year != v.year for e in v.loss_events):
            raise InputDataError(f"vintage {v.year}: a loss event of another year", column="loss_events")
        if lost > pe + 1e-6:
            raise InputDataError(f"vintage {v.year}: loss events emit {lost:,.2f} t CO2e, more than the vintage's "
                                 f"project emissions {pe:,.2f} (loss-event emissions are part of them)",
                                 column="loss_events")
        er = be - pe
        ml = f * v.market_leakage_tco2e if v.market_leakage_tco2e is not None else m * max(0.0, er)
        lk = las + lob + ml
        ud = u * max(0.0, er - lk)
        net = er - lk - ud
        floor_net = max(0, math.floor(net + 1e-9))
        made_good = min(floor_net, deficit)
        whole = floor_net - made_good
        buf = math.ceil(round(b * whole, 9))
        vcus = whole - buf
        shortfall = math.ceil(-net - 1e-9) if net < 0 else 0
        rev = min(shortfall, credited)
        deficit += shortfall - rev - made_good
        credited += whole - rev
        ml_text = (f"{f:.6f} x {v.market_leakage_tco2e:,.2f}" if v.market_leakage_tco2e is not None
                   else f"{market_leakage_percent:g}% x {max(0.0, er):,.2f}")
        formula = {
            "fraction": f"{days}/{ndays} days = {f:.6f}",
            "emission_reductions": f"{f:.6f} x ({v.baseline_tco2e:,.2f} - {v.project_tco2e:,.2f}) = {er:,.2f}",
            "leakage": f"{f:.6f} x ({v.leakage_tco2e:,.2f} + {v.leakage_beyond_belt_tco2e:,.2f}) + {ml_text} "
                       f"= {lk:,.2f}",
            "uncertainty_deduction": f"{udp:.4g}% x {max(0.0, er - lk):,.2f} = {ud:,.2f}",
            "net": f"{er:,.2f} - {lk:,.2f} - {ud:,.2f} = {net:,.2f}",
            "buffer": f"ceil({buffer_percent:g}% x {whole:,}) = {buf:,}" if made_good else
                      f"ceil({buffer_percent:g}% x floor({net:,.2f})) = {buf:,}",
            "vcus": f"floor({net:,.2f}) - {made_good:,} - {buf:,} = {vcus:,}" if made_good else
                    f"floor({net:,.2f}) - {buf:,} = {vcus:,}",
        }
        if rev:
            formula["reversal"] = (f"min(ceil(-({net:,.2f})), {credited + rev:,} credited before) = {rev:,}"
                                   if rev < shortfall else f"ceil(-({net:,.2f})) = {rev:,}")
        if shortfall > rev:
            formula["deficit"] = (f"{shortfall:,} - {rev:,} reversed = {shortfall - rev:,} carried forward "
                                  f"(deficit now {deficit:,})")
        if made_good:
            formula["deficit_made_good"] = f"min(floor({net:,.2f}), deficit {deficit + made_good:,}) = {made_good:,}"

        def ded(name, amount, text, inputs, before, after):
            n = notes[name]
            return Deduction(name, float(amount), text, inputs, n["source"], n["section"], float(before), float(after),
                             tuple(n.get("assumptions", ())))

        c1 = er - las
        c2 = c1 - lob
        c3 = c2 - ml
        if net >= 0:
            whole_text = f"floor({net:,.2f}) = {floor_net:,}"
        elif shortfall > rev:
            whole_text = (f"net {net:,.2f} < 0: nothing issued; reversal {rev:,} (what was credited before), "
                          f"{shortfall - rev:,} carried forward as a deficit")
        else:
            whole_text = f"net {net:,.2f} < 0: nothing issued; reversal ceil({-net:,.2f}) = {rev:,} (see reversals)"
        deds = (
            ded("activity_shifting_leakage", las, f"{f:.6f} x {v.leakage_tco2e:,.2f} = {las:,.2f}",
                {"annual_tco2e": v.leakage_tco2e, "fraction": f}, er, c1),
            ded("leakage_beyond_belt", lob, f"{f:.6f} x {v.leakage_beyond_belt_tco2e:,.2f} = {lob:,.2f}",
                {"annual_tco2e": v.leakage_beyond_belt_tco2e, "fraction": f}, c1, c2),
            ded("market_leakage", ml, f"{ml_text} = {ml:,.2f}",
                {"annual_tco2e": v.market_leakage_tco2e, "market_leakage_percent": market_leakage_percent,
                 "fraction": f}, c2, c3),
            ded("uncertainty", ud, formula["uncertainty_deduction"],
                {"uncertainty_deduction_percent": udp, "uncertainty_rule": uncertainty_rule}, c3, net),
            ded("whole_tonnes", net - floor_net, whole_text,
                {"reversal_tco2e": rev, "deficit_tco2e": shortfall - rev}, net, floor_net),
        ) + ((ded("deficit_made_good", made_good, formula["deficit_made_good"], {"deficit_tco2e": deficit + made_good},
                  floor_net, whole),) if made_good else ()) + (
            ded("buffer", buf, formula["buffer"], {"buffer_percent": buffer_percent}, whole, vcus),
        )
        rows.append(CreditRow(v.year, days, f, be, pe, las, ml, lk, ud, net, int(buf), int(vcus), formula,
                              lob, float(udp), int(rev), deds, tuple(v.loss_events), int(made_good), int(deficit)))
    # reversals: netted against the period's own buffer contribution first, then the pooled buffer
    reversals = []
    for i, (a, bnd) in enumerate(periods):
        in_p = [r for r in rows if period_of[r.year] == i]
        available = sum(r.buffer for r in in_p)
        for r in in_p:
            if r.reversal_tco2e:
                own = min(available, r.reversal_tco2e)
                available -= own
                pooled = r.reversal_tco2e - own
                reversals.append(Reversal(
                    r.year, (a.isoformat(), bnd.isoformat()), r.net_tco2e, r.reversal_tco2e, int(own), int(pooled),
                    f"reversal ceil(-({r.net_tco2e:,.2f})) = {r.reversal_tco2e:,}: {own:,} from the period's buffer "
                    f"contribution + {pooled:,} from the pooled buffer"))
    return CreditsTable(tuple(rows), uncertainty_deduction_percent, buffer_percent, market_leakage_percent,
                        tuple(reversals), tuple((a.isoformat(), bnd.isoformat()) for a, bnd in periods),
                        uncertainty_rule)
