"""Baseline validity periods: the crediting period cut into periods, each with its historical reference period.

VM0048 reassesses the baseline every 6 years on the 10 years before (issue 12, section 4; the
lengths are configurable). Each validity period's rate and risk map are fitted on its own
historical reference period (HRP) where the data cover that HRP; a period whose HRP the data
do not yet cover is a *provisional* ex-ante projection, to be replaced when its data exist.

References
----------
1. Verra (2023) VM0048 v1.0: baseline validity period of 6 years, reassessed on the preceding
   10-year historical reference period (the section holding the rule could not be read in the
   reference store, whose copy shows only the title and the contents up to section 6: 5 project
   boundary, 6 baseline scenario).
2. Verra (2024) VT0007 v1.0, section 5.1 (risk map development sequence: historical reference
   period, calibration and confirmation periods, validity period).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from reddplus.errors import ConfigError

#: VM0048 defaults [yr]
DEFAULT_PERIOD_YEARS = 6
DEFAULT_HRP_YEARS = 10


@dataclass(frozen=True, slots=True)
class ValidityPeriod:
    """One baseline validity period [years, inclusive] and its historical reference period.

    Attributes
    ----------
    index : int
        0 for the first period of the crediting period.
    start, end : int [yr]
        First and last year of the period.
    hrp : (int, int) [yr]
        First and last year of its historical reference period.
    provisional : bool
        True when the data do not cover the HRP: the period's baseline is an ex-ante projection.
    reason : str
        Why it is (or is not) provisional, for the report.
    """

    index: int
    start: int
    end: int
    hrp: tuple[int, int]
    provisional: bool
    reason: str

    @property
    def years(self) -> range:
        return range(self.start, self.end + 1)

    def to_dict(self) -> dict:
        return {"index": self.index, "start": self.start, "end": self.end, "hrp": list(self.hrp),
                "provisional": self.provisional, "reason": self.reason}


@dataclass(frozen=True)
class ValidityPeriods:
    """The crediting period's validity periods, with the lengths and data span used."""

    periods: tuple[ValidityPeriod, ...]
    period_years: tuple[int, ...]
    hrp_years: int
    data_years: tuple[int, int]
    source: str = "VM0048 v1.0 (baseline validity period); VT0007 v1.0 section 5.1"

    def period_of(self, year: int) -> ValidityPeriod:
        """The validity period containing ``year``; ConfigError if none does."""
        for p in self.periods:
            if p.start <= year <= p.end:
                return p
        raise ConfigError(f"year {year} is outside the crediting period "
                          f"{self.periods[0].start}-{self.periods[-1].end}", key="project.crediting_years")

    def to_dict(self) -> dict:
        return {"periods": [p.to_dict() for p in self.periods], "period_years": list(self.period_years),
                "hrp_years": self.hrp_years, "data_years": list(self.data_years), "source": self.source}


def validity_periods(crediting_start: int, crediting_years: int, *, data_first_year: int, data_last_year: int,
                     period_years: int | Sequence[int] = DEFAULT_PERIOD_YEARS, hrp_years: int = DEFAULT_HRP_YEARS,
                     first_hrp: tuple[int, int] | None = None) -> ValidityPeriods:
    """Split a crediting period into baseline validity periods, each with its HRP.

    Parameters
    ----------
    crediting_start : int [yr]
        First year of the crediting period.
    crediting_years : int [yr]
        Its length.
    data_first_year, data_last_year : int [yr]
        First and last year whose deforestation the activity data observe.
    period_years : int or sequence of int [yr]
        Length of every validity period (VM0048: 6), or the lengths of the successive periods
        (the last one repeats). The final period is cut at the end of the crediting period.
    hrp_years : int [yr]
        Length of each HRP (VM0048: 10): the years just before the period starts.
    first_hrp : (int, int), optional
        The first period's HRP as configured (``periods.historical_reference``); it must end
        before the crediting start. The later periods use ``hrp_years``.

    Notes
    -----
    .. math:: VP_k = [s_k, \\min(s_k + L_k - 1, s_0 + N - 1)], \\quad s_{k+1} = s_k + L_k, \\quad
              HRP_k = [s_k - H, s_k - 1]

    :math:`VP_k` is provisional when :math:`HRP_k \\not\\subseteq [d_0, d_1]`, the data span.

    Returns
    -------
    ValidityPeriods

    Raises
    ------
    ConfigError
        Non-positive lengths, a first HRP that does not end before the crediting start, or a data
        span that ends before it starts.
    """
    if crediting_years < 1:
        raise ConfigError(f"crediting_years must be >= 1, got {crediting_years}", key="project.crediting_years")
    lengths = [period_years] if isinstance(period_years, int) else list(period_years)
    if not lengths or any((not isinstance(n, int)) or n < 1 for n in lengths):
        raise ConfigError(f"validity period lengths must be positive integers, got {period_years!r}",
                          key="periods.validity.period_years")
    if hrp_years < 1:
        raise ConfigError(f"hrp_years must be >= 1, got {hrp_years}", key="periods.validity.hrp_years")
    if data_last_year < data_first_year:
        raise ConfigError(f"the data span ends ({data_last_year}) before it starts ({data_first_year})",
                          key="forest_change.dates")
    if first_hrp is not None and not (first_hrp[0] <= first_hrp[1] < crediting_start):
        raise ConfigError(f"the first HRP {first_hrp[0]}-{first_hrp[1]} must end before the crediting start "
                          f"{crediting_start}", key="periods.historical_reference")
    last = crediting_start + crediting_years - 1
    out, s, k = [], crediting_start, 0
    while s <= last:
        n = lengths[min(k, len(lengths) - 1)]
        e = min(s + n - 1, last)
        hrp = tuple(first_hrp) if (k == 0 and first_hrp is not None) else (s - hrp_years, s - 1)
        covered = data_first_year <= hrp[0] and hrp[1] <= data_last_year
        if covered:
            reason = (f"HRP {hrp[0]}-{hrp[1]} lies within the data ({data_first_year}-{data_last_year}): the rate and "
                      "risk map are fitted on it")
        elif hrp[1] > data_last_year:
            reason = (f"HRP {hrp[0]}-{hrp[1]} ends after the last year of data ({data_last_year}): provisional ex-ante "
                      "projection until its data exist")
        else:
            reason = (f"HRP {hrp[0]}-{hrp[1]} starts before the first year of data ({data_first_year}): provisional, "
                      "the data do not cover the whole HRP")
        out.append(ValidityPeriod(k, s, e, (int(hrp[0]), int(hrp[1])), not covered, reason))
        s, k = e + 1, k + 1
    return ValidityPeriods(tuple(out), tuple(lengths), hrp_years, (data_first_year, data_last_year))
