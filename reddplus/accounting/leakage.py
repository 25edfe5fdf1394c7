"""Leakage of an avoided-unplanned-deforestation project (VMD0055 v1.1): in the belt, beyond it, market.

VMD0055 assesses three kinds of leakage (Verra's summary of the module, VMD0055 v1.0 page):
activity shifting by the agents who would have deforested the project, monitored in the
*leakage belt* around it; leakage *beyond the belt* caused by geographically unconstrained agents;
and *market leakage* from the regional demand for wood products. Each function here returns a
:class:`LeakageComponent` with its formula, inputs, source and the assumptions the report must
state.

What could and could not be read
--------------------------------
The reference store holds only the opening pages of VMD0055 v1.1 (title, contents: 5.1 project
boundary, 5.2 baseline scenario, 5.3 quantification of GHG emission reductions). The leakage
equations and the module's factor table could not be read. So:

* belt leakage uses the rule the issue and the module summary state (monitored belt
  deforestation against the belt's allocated baseline, times the emission factor), floored at
  zero as a named parameter;
* leakage beyond the belt and market leakage have no default value: the config must either give
  the share/factor or declare the component not applicable *with a reason*. Nothing defaults
  to zero silently.

References
----------
1. Verra (2024) VMD0055 v1.1, Estimation of emission reductions from avoiding unplanned
   deforestation, section 5.3 (leakage text not readable in the reference store).
2. Verra (2023) VMD0055 v1.0 methodology page: leakage "inside and beyond" the unplanned
   deforestation leakage belt, "caused by geographically unconstrained agents and by regional
   demand for wood products".
3. Verra (2023) VM0048 v1.0, net emission reductions: baseline minus project minus leakage
   (section number not confirmed in the reference store).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from reddplus.errors import ConfigError, InputDataError

_VMD = "VMD0055 v1.1"
_SEC = "section 5.3 (leakage; text not readable in the reference store)"


@dataclass(frozen=True)
class LeakageComponent:
    """One kind of leakage [t CO2e] for a period or per year, with how it was obtained.

    Attributes
    ----------
    name : str
        ``activity_shifting_belt``, ``beyond_belt`` or ``market``.
    tco2e : float or array [t CO2e]
        Leakage emissions (per year when the inputs were per year).
    applicable : bool
        False when the config declared the component not applicable (``reason`` says why).
    formula, inputs, source, section, assumptions, reason
        For the report's deductions section.
    """

    name: str
    tco2e: float | np.ndarray
    applicable: bool
    formula: str
    inputs: dict
    source: str
    section: str
    assumptions: tuple[str, ...] = ()
    reason: str | None = None

    def to_dict(self) -> dict:
        t = self.tco2e
        return {"name": self.name, "tco2e": t.tolist() if isinstance(t, np.ndarray) else float(t),
                "applicable": self.applicable, "formula": self.formula, "inputs": dict(self.inputs),
                "source": self.source, "section": self.section, "assumptions": list(self.assumptions),
                "reason": self.reason}


def _nonneg(name: str, v) -> np.ndarray:
    a = np.asarray(v, dtype=float)
    if not np.isfinite(a).all() or (a < 0).any():
        raise InputDataError(f"{name} must be finite and >= 0", column=name)
    return a


def _out(a: np.ndarray):
    return float(a) if a.ndim == 0 else a


def belt_activity_shifting_leakage(belt_monitored_ha, belt_baseline_ha, emission_factor_tco2e_per_ha, *,
                                   floor_at_zero: bool = True) -> LeakageComponent:
    """Activity-shifting leakage in the leakage belt [t CO2e] (VMD0055 v1.1 section 5.3).

    Parameters
    ----------
    belt_monitored_ha : float or array [ha]
        Deforestation monitored in the leakage belt (per year or per period).
    belt_baseline_ha : float or array [ha]
        The belt's allocated baseline deforestation over the same span (VT0007 allocation).
    emission_factor_tco2e_per_ha : float [t CO2e/ha]
        Emission factor of the displaced deforestation (the baseline's).
    floor_at_zero : bool
        Less deforestation in the belt than its baseline earns nothing (``True``, the assumption
        stated in the result); ``False`` lets a negative value net against the other leakage.

    Notes
    -----
    .. math:: LK_{AS,LB} = \\max\\left(0, A_{LB,monitored} - A_{LB,baseline}\\right) \\times EF

    The rule of the issue and of the module summary; the module's own equation number could not
    be read (see the module docstring).
    """
    m = _nonneg("belt_monitored_ha", belt_monitored_ha)
    b = _nonneg("belt_baseline_ha", belt_baseline_ha)
    ef = float(emission_factor_tco2e_per_ha)
    if not np.isfinite(ef) or ef < 0:
        raise InputDataError(f"emission factor must be finite and >= 0, got {ef}",
                             column="emission_factor_tco2e_per_ha")
    excess = m - b
    lk = (np.maximum(0.0, excess) if floor_at_zero else excess) * ef
    assumptions = ("Belt leakage is monitored belt deforestation above the belt's allocated baseline times the "
                   "baseline emission factor; VMD0055 v1.1's leakage equation could not be read.",)
    if floor_at_zero:
        assumptions += ("Belt deforestation below its baseline is not credited (floored at zero per year; "
                        "deductions.leakage.belt_floor_at_zero).",)
    tot_m, tot_b = float(m.sum()), float(b.sum())
    formula = (f"max(0, {tot_m:,.2f} - {tot_b:,.2f}) ha x {ef:,.2f} t CO2e/ha" if m.ndim == 0 else
               f"sum_y max(0, A_LB,m,y - A_LB,b,y) x {ef:,.2f} = {float(np.sum(lk)):,.2f} t CO2e")
    if m.ndim == 0:
        formula += f" = {float(lk):,.2f} t CO2e"
    return LeakageComponent("activity_shifting_belt", _out(lk), True, formula,
                            {"belt_monitored_ha": m.tolist(), "belt_baseline_ha": b.tolist(),
                             "emission_factor_tco2e_per_ha": ef, "floor_at_zero": floor_at_zero},
                            _VMD, _SEC, assumptions)


def beyond_belt_leakage(gross_reductions_tco2e, *, method: str, share: float | None = None,
                        reason: str | None = None) -> LeakageComponent:
    """Leakage beyond the leakage belt [t CO2e] (geographically unconstrained agents; VMD0055 v1.1).

    Parameters
    ----------
    gross_reductions_tco2e : float or array [t CO2e]
        Baseline minus project emissions of the project area (before leakage).
    method : {"share_of_reductions", "not_applicable"}
        ``share_of_reductions``: a configured share of the gross reductions is displaced beyond
        the belt. ``not_applicable``: the project declares no geographically unconstrained
        agents; ``reason`` is then required and printed.
    share : float [-]
        Required for ``share_of_reductions`` (0..1). No default: the module's factor could not be
        read, so the project states its value (``deductions.leakage.beyond_belt.share``).

    Notes
    -----
    .. math:: LK_{OLB} = s_{OLB} \\times \\max(0, BE - PE)
    """
    er = np.asarray(gross_reductions_tco2e, dtype=float)
    if not np.isfinite(er).all():
        raise InputDataError("gross reductions must be finite", column="gross_reductions_tco2e")
    key = "deductions.leakage.beyond_belt"
    if method == "not_applicable":
        if not reason:
            raise ConfigError("a reason is required when leakage beyond the belt is declared not applicable",
                              key=f"{key}.reason")
        return LeakageComponent("beyond_belt", _out(np.zeros_like(er)), False, "not applicable: 0 t CO2e",
                                {"method": method}, _VMD, _SEC,
                                (f"Leakage beyond the belt declared not applicable by the project: {reason}",), reason)
    if method != "share_of_reductions":
        raise ConfigError(f"unknown method {method!r}; one of 'share_of_reductions', 'not_applicable'",
                          key=f"{key}.method")
    if share is None or not np.isfinite(share) or not 0 <= share <= 1:
        raise ConfigError(f"share must be given, 0..1 (got {share})", key=f"{key}.share")
    lk = share * np.maximum(0.0, er)
    total = float(np.sum(lk))
    return LeakageComponent("beyond_belt", _out(lk), True,
                            f"{share:g} x max(0, BE - PE) = {total:,.2f} t CO2e",
                            {"method": method, "share": share, "gross_reductions_tco2e": er.tolist()}, _VMD, _SEC,
                            ("The VMD0055 v1.1 procedure for leakage beyond the belt could not be read; the project's "
                             f"configured share {share:g} of the gross reductions is used.",), reason)


def market_leakage(*, method: str, gross_reductions_tco2e=None, percent: float | None = None,
                   baseline_harvest_tco2e=None, factor: float | None = None,
                   reason: str | None = None) -> LeakageComponent:
    """Market leakage from the regional demand for wood products [t CO2e] (VMD0055 v1.1).

    Parameters
    ----------
    method : {"factor", "percent_of_reductions", "not_applicable"}
        ``factor``: a leakage factor times the carbon of the timber the baseline agents would
        have extracted (:math:`LK_{ME} = LF \\times C_{harvest}`); ``percent_of_reductions``: a
        share of the gross reductions (the earlier ``market_leakage_percent``);
        ``not_applicable``: no timber would have entered the market in the baseline (``reason``
        required).
    gross_reductions_tco2e : float or array [t CO2e]
        For ``percent_of_reductions``.
    percent : float [%]
        For ``percent_of_reductions``.
    baseline_harvest_tco2e : float or array [t CO2e]
        For ``factor``: carbon in the commercial timber the baseline deforestation would have
        extracted over the same span.
    factor : float [-]
        For ``factor``: the module's market-leakage factor. No default: the module's factor table
        could not be read (``deductions.leakage.market.factor``).

    Notes
    -----
    .. math:: LK_{ME} = LF_{ME} \\times C_{harvest,BSL} \\quad\\text{or}\\quad LK_{ME} = m \\times \\max(0, BE - PE)
    """
    key = "deductions.leakage.market"
    if method == "not_applicable":
        if not reason:
            raise ConfigError("a reason is required when market leakage is declared not applicable",
                              key=f"{key}.reason")
        shape = np.asarray(gross_reductions_tco2e if gross_reductions_tco2e is not None else 0.0, dtype=float)
        return LeakageComponent("market", _out(np.zeros_like(shape)), False, "not applicable: 0 t CO2e",
                                {"method": method}, _VMD, _SEC,
                                (f"Market leakage declared not applicable by the project: {reason}",), reason)
    if method == "percent_of_reductions":
        if percent is None or not 0 <= percent <= 100:
            raise ConfigError(f"percent must be given, 0..100 (got {percent})", key=f"{key}.percent")
        if gross_reductions_tco2e is None:
            raise InputDataError("gross reductions are needed for a percentage", column="gross_reductions_tco2e")
        er = np.asarray(gross_reductions_tco2e, dtype=float)
        lk = percent / 100.0 * np.maximum(0.0, er)
        return LeakageComponent("market", _out(lk), True,
                                f"{percent:g}% x max(0, BE - PE) = {float(np.sum(lk)):,.2f} t CO2e",
                                {"method": method, "percent": percent}, _VMD, _SEC,
                                ("Market leakage as a configured percentage of the gross reductions; the module's "
                                 "factor table could not be read.",), reason)
    if method == "factor":
        if factor is None or not np.isfinite(factor) or not 0 <= factor <= 1:
            raise ConfigError(f"factor must be given, 0..1 (got {factor})", key=f"{key}.factor")
        if baseline_harvest_tco2e is None:
            raise ConfigError("baseline_harvest_tco2e is needed with method 'factor'", key=f"{key}.baseline_harvest")
        h = _nonneg("baseline_harvest_tco2e", baseline_harvest_tco2e)
        lk = factor * h
        return LeakageComponent("market", _out(lk), True,
                                f"{factor:g} x {float(h.sum()):,.2f} t CO2e = {float(lk.sum()):,.2f} t CO2e",
                                {"method": method, "factor": factor, "baseline_harvest_tco2e": h.tolist()}, _VMD, _SEC,
                                (f"Market-leakage factor {factor:g} is the project's configured value; VMD0055 v1.1's "
                                 "factor table could not be read.",), reason)
    raise ConfigError(f"unknown method {method!r}; one of 'factor', 'percent_of_reductions', 'not_applicable'",
                      key=f"{key}.method")


@dataclass(frozen=True)
class LeakageResult:
    """All leakage components and their total [t CO2e]."""

    components: tuple[LeakageComponent, ...]
    counterfactual_check: dict | None = field(default=None)

    @property
    def total_tco2e(self) -> float:
        return float(sum(float(np.sum(c.tco2e)) for c in self.components))

    @property
    def assumptions(self) -> tuple[str, ...]:
        return tuple(a for c in self.components for a in c.assumptions)

    def to_dict(self) -> dict:
        return {"total_tco2e": self.total_tco2e, "components": [c.to_dict() for c in self.components],
                "assumptions": list(self.assumptions), "counterfactual_check": self.counterfactual_check}


def total_leakage(components: Sequence[LeakageComponent], *, counterfactual_belt_excess_ha: float | None = None,
                  belt_monitored_ha: float | None = None, belt_baseline_ha: float | None = None) -> LeakageResult:
    """Collect the leakage components; optionally set the counterfactual's belt estimate beside them.

    The counterfactual (matched controls) estimates how much belt deforestation exceeds what
    controls saw [ha]. It is a check only, never a deduction: it is shown beside the monitored
    belt excess :math:`A_{LB,m} - A_{LB,b}` so the report can flag a belt baseline that hides
    displacement.
    """
    names = [c.name for c in components]
    if len(set(names)) != len(names):
        raise InputDataError(f"each leakage component once, got {names}", column="leakage")
    check = None
    if counterfactual_belt_excess_ha is not None:
        if belt_monitored_ha is None or belt_baseline_ha is None:
            raise InputDataError("the belt's monitored and baseline areas are needed beside the counterfactual",
                                 column="leakage_belt_ha")
        excess = float(belt_monitored_ha) - float(belt_baseline_ha)
        check = {"counterfactual_belt_excess_ha": float(counterfactual_belt_excess_ha),
                 "monitored_minus_baseline_ha": excess,
                 "counterfactual_exceeds_monitored_excess": float(counterfactual_belt_excess_ha) > max(0.0, excess)}
    return LeakageResult(tuple(components), check)
