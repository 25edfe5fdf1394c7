"""Baseline validity periods (VM0048: 6-year periods, each on the 10 years before)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reddplus.baseline.validity import validity_periods
from reddplus.errors import ConfigError


def test_ten_year_crediting_period_by_hand():
    """Crediting 2021-2030, data 2001-2022: VP1 2021-2026 on HRP 2011-2020 (covered, fitted); VP2 2027-2030 on
    HRP 2017-2026 (ends after 2022: provisional)."""
    v = validity_periods(2021, 10, data_first_year=2001, data_last_year=2022)
    p1, p2 = v.periods
    assert (p1.start, p1.end, p1.hrp, p1.provisional) == (2021, 2026, (2011, 2020), False)
    assert (p2.start, p2.end, p2.hrp, p2.provisional) == (2027, 2030, (2017, 2026), True)
    assert "provisional" in p2.reason and "fitted" in p1.reason
    assert v.period_of(2027) is p2 and list(p1.years) == list(range(2021, 2027))
    assert v.to_dict()["periods"][1]["provisional"] is True
    with pytest.raises(ConfigError, match="outside"):
        v.period_of(2031)


def test_configured_lengths_and_first_hrp():
    v = validity_periods(2011, 30, data_first_year=1990, data_last_year=2040, period_years=[5, 10], hrp_years=8,
                         first_hrp=(2001, 2010))
    assert [(p.start, p.end) for p in v.periods] == [(2011, 2015), (2016, 2025), (2026, 2035), (2036, 2040)]
    assert [p.hrp for p in v.periods] == [(2001, 2010), (2008, 2015), (2018, 2025), (2028, 2035)]
    assert not any(p.provisional for p in v.periods)
    early = validity_periods(2011, 6, data_first_year=2005, data_last_year=2020)
    assert early.periods[0].provisional and "starts before" in early.periods[0].reason


@pytest.mark.parametrize("kw, key", [
    (dict(period_years=0), "periods.validity.period_years"),
    (dict(hrp_years=0), "periods.validity.hrp_years"),
    (dict(first_hrp=(2015, 2021)), "periods.historical_reference"),
    (dict(data_first_year=2030), "forest_change.dates"),
])
def test_bad_settings_name_the_key(kw, key):
    args = dict(data_first_year=2001, data_last_year=2022) | kw
    with pytest.raises(ConfigError, match=key):
        validity_periods(2021, 10, **args)


@given(st.integers(1990, 2040), st.integers(1, 60), st.integers(1, 12), st.integers(1, 15), st.integers(1980, 2050),
       st.integers(0, 40))
def test_periods_tile_the_crediting_period(start, years, length, hrp, d0, span):
    v = validity_periods(start, years, data_first_year=d0, data_last_year=d0 + span, period_years=length,
                         hrp_years=hrp)
    covered = [y for p in v.periods for y in p.years]
    assert covered == list(range(start, start + years))
    for p in v.periods:
        assert p.hrp == (p.start - hrp, p.start - 1) and p.end - p.start + 1 <= length
        assert p.provisional == (not (d0 <= p.hrp[0] and p.hrp[1] <= d0 + span))
