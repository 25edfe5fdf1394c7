"""Net emission reductions per vintage, the buffer and whole-tonne VCUs; each number with its formula.

Per vintage (calendar year ``y``, prorated by the days of the year inside the period):

.. math::
    ER_y &= f_y\\,(BE_y - PE_y) \\\\
    LK_y &= f_y\\,LK^{AS}_y + m\\,ER_y \\\\
    UD_y &= u\\,\\max(0, ER_y - LK_y) \\\\
    NER_y &= ER_y - LK_y - UD_y \\\\
    BUF_y &= \\lceil b\\,\\lfloor NER_y \\rfloor \\rceil,\\quad VCU_y = \\lfloor NER_y \\rfloor - BUF_y

with :math:`f_y` the share of the year's days in the crediting (or monitoring) period, :math:`m`
the market-leakage share, :math:`u` the uncertainty deduction share and :math:`b` the buffer share.

Rounding rule: VCUs are whole tonnes and are never rounded up. The issuance is the whole tonnes
of the net reductions; buffer credits are that issuance times the buffer share, rounded up (the
conservative side, and the registry's own rule: :func:`reddplus.registry.service.buffer_quantity`),
so the registry splits each issuance into exactly these holder and buffer blocks. The fractional
tonne left (:math:`NER_y - \\lfloor NER_y \\rfloor`) is not issued and not carried forward. A
vintage with negative net reductions issues nothing and is reported as such.

References
----------
1. Verra (2023) VM0048 v1.0, section 8.5 (net emission reductions) and VMD0055 v1.0.
2. Verra (2023) VCS Standard v4.5, section 3.7 (buffer credits from the non-permanence risk
   rating) and 3.2 (vintages; VCUs in whole tonnes of CO2e).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field
from typing import Sequence

import pandas as pd

from reddplus.errors import ConfigError, InputDataError


@dataclass(frozen=True)
class VintageInput:
    """Annual quantities of one vintage [t CO2e/yr] (before prorating)."""

    year: int
    baseline_tco2e: float
    project_tco2e: float
    leakage_tco2e: float = 0.0


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

    @property
    def issuance(self) -> int:
        """Whole tonnes issued for the vintage: the holder's VCUs plus the buffer credits [t CO2e]."""
        return self.vcus + self.buffer

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class CreditsTable:
    rows: tuple[CreditRow, ...]
    uncertainty_deduction_percent: float
    buffer_percent: float
    market_leakage_percent: float

    @property
    def total_vcus(self) -> int:
        return sum(r.vcus for r in self.rows)

    @property
    def total_buffer(self) -> int:
        return sum(r.buffer for r in self.rows)

    def to_dict(self) -> dict:
        return {"rows": [r.to_dict() for r in self.rows], "total_vcus": self.total_vcus,
                "total_buffer": self.total_buffer, "uncertainty_deduction_percent": self.uncertainty_deduction_percent,
                "buffer_percent": self.buffer_percent, "market_leakage_percent": self.market_leakage_percent}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{k: v for k, v in r.to_dict().items() if k != "formula"} for r in self.rows])


def _days(year: int, start: dt.date, end: dt.date) -> tuple[int, int]:
    y0, y1 = dt.date(year, 1, 1), dt.date(year, 12, 31)
    a, b = max(y0, start), min(y1, end)
    return max(0, (b - a).days + 1), (y1 - y0).days + 1


def net_credits(vintages: Sequence[VintageInput], *, uncertainty_deduction_percent: float, buffer_percent: float,
                market_leakage_percent: float, crediting_start: dt.date, crediting_end: dt.date) -> CreditsTable:
    """Net emission reductions, buffer credits and VCUs per vintage (see the module docstring).

    Parameters
    ----------
    vintages : sequence of VintageInput
        Annual baseline and project emissions and activity-shifting leakage [t CO2e/yr].
    uncertainty_deduction_percent, buffer_percent, market_leakage_percent : float [%]
    crediting_start, crediting_end : date
        Period credited (crediting period for ex-ante, monitoring period for ex-post); partial
        first/last years are prorated by days.

    Raises
    ------
    InputDataError
        Negative emissions or percentages outside 0..100; ConfigError: a period that ends before it starts.
    """
    if crediting_end < crediting_start:
        raise ConfigError("the crediting period ends before it starts", key="project.crediting_start")
    for name, p in (("uncertainty_deduction_percent", uncertainty_deduction_percent),
                    ("buffer_percent", buffer_percent), ("market_leakage_percent", market_leakage_percent)):
        if not 0 <= p <= 100:
            raise InputDataError(f"{name} must be 0..100, got {p}", column=name)
    u, b, m = uncertainty_deduction_percent / 100, buffer_percent / 100, market_leakage_percent / 100
    rows = []
    for v in sorted(vintages, key=lambda x: x.year):
        if v.baseline_tco2e < 0 or v.project_tco2e < 0 or v.leakage_tco2e < 0:
            raise InputDataError(f"vintage {v.year}: emissions and leakage must be >= 0 t CO2e", column="tco2e")
        days, ndays = _days(v.year, crediting_start, crediting_end)
        if days == 0:
            raise InputDataError(f"vintage {v.year} lies outside the period {crediting_start}..{crediting_end}",
                                 column="year")
        f = days / ndays
        be, pe, las = f * v.baseline_tco2e, f * v.project_tco2e, f * v.leakage_tco2e
        er = be - pe
        ml = m * max(0.0, er)
        lk = las + ml
        ud = u * max(0.0, er - lk)
        net = er - lk - ud
        whole = max(0, math.floor(net + 1e-9))
        buf = math.ceil(round(b * whole, 9))
        vcus = whole - buf
        formula = {
            "fraction": f"{days}/{ndays} days = {f:.6f}",
            "emission_reductions": f"{f:.6f} x ({v.baseline_tco2e:,.2f} - {v.project_tco2e:,.2f}) = {er:,.2f}",
            "leakage": f"{f:.6f} x {v.leakage_tco2e:,.2f} + {market_leakage_percent:g}% x {max(0.0, er):,.2f} "
                       f"= {lk:,.2f}",
            "uncertainty_deduction": f"{uncertainty_deduction_percent:.4g}% x {max(0.0, er - lk):,.2f} = {ud:,.2f}",
            "net": f"{er:,.2f} - {lk:,.2f} - {ud:,.2f} = {net:,.2f}",
            "buffer": f"ceil({buffer_percent:g}% x floor({net:,.2f})) = {buf:,}",
            "vcus": f"floor({net:,.2f}) - {buf:,} = {vcus:,}",
        }
        rows.append(CreditRow(v.year, days, f, be, pe, las, ml, lk, ud, net, int(buf), int(vcus), formula))
    return CreditsTable(tuple(rows), uncertainty_deduction_percent, buffer_percent, market_leakage_percent)
