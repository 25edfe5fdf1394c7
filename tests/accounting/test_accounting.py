"""Accounting: worked numbers checked by hand, rounding and deduction rules as properties, bad input."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reddplus.accounting import (VintageInput, activity_shifting_leakage_tco2e, combined_uncertainty,
                                 emission_factor, net_credits, uncertainty_deduction)
from reddplus.baseline.rate import jurisdictional_rate
from reddplus.errors import ConfigError, InputDataError

D = dt.date


# ------------------------------------------------------------------------------------------ rate
def test_rate_methods_by_hand():
    hist = {2011: 100.0, 2012: 120.0, 2013: 140.0, 2014: 160.0}
    avg = jurisdictional_rate(hist, method="historical_average", years=[2021, 2022])
    assert avg.per_year == {2021: 130.0, 2022: 130.0}
    trend = jurisdictional_rate(hist, method="linear_trend", years=[2015, 2020])
    assert trend.per_year[2015] == pytest.approx(180.0) and trend.per_year[2020] == pytest.approx(280.0)
    assert trend.slope_ha_per_year2 == pytest.approx(20.0)
    falling = jurisdictional_rate({2011: 30.0, 2012: 20.0, 2013: 10.0}, method="linear_trend", years=[2020])
    assert falling.per_year[2020] == 0.0          # floored at zero
    given_ = jurisdictional_rate({}, method="expected", years=[2021], expected_ha_per_year=55.0)
    assert given_.per_year == {2021: 55.0}
    with pytest.raises(ConfigError, match="expected_ha_per_year"):
        jurisdictional_rate({}, method="expected", years=[2021])
    with pytest.raises(ConfigError, match="rate_method"):
        jurisdictional_rate(hist, method="magic", years=[2021])
    with pytest.raises(InputDataError):
        jurisdictional_rate({2011: -1.0}, method="historical_average", years=[2021])


# ------------------------------------------------------------------------------------------ EF, leakage
def test_emission_factor_by_hand():
    ef = emission_factor(500.0, agb_sd=20.0, root_shoot_ratio=0.37, post_tco2e_per_ha=25.0)
    assert ef.pre_tco2e_per_ha == pytest.approx(685.0)
    assert ef.mean == pytest.approx(660.0)
    assert ef.sd == pytest.approx(27.4)
    with pytest.raises(InputDataError, match="post"):
        emission_factor(10.0, post_tco2e_per_ha=50.0)
    with pytest.raises(InputDataError):
        emission_factor(-1.0)
    assert activity_shifting_leakage_tco2e(120.0, 100.0, 660.0) == pytest.approx(13_200.0)
    assert activity_shifting_leakage_tco2e(80.0, 100.0, 660.0) == 0.0


# ------------------------------------------------------------------------------------------ uncertainty
def test_deduction_rule():
    assert uncertainty_deduction(15.0) == 0.0
    assert uncertainty_deduction(12.0) == 0.0
    assert uncertainty_deduction(22.5) == pytest.approx(0.075)
    assert uncertainty_deduction(150.0) == 1.0


def test_monte_carlo_matches_the_analytic_interval_and_is_seeded():
    """One year, no activity error: the 90% half-width is 1.645 sd_EF / EF (a normal EF)."""
    r = combined_uncertainty([1000.0], [0.0], 600.0, 60.0, draws=200_000, seed=3)
    assert r.mean == pytest.approx(600_000.0, rel=0.002)
    assert r.halfwidth_percent == pytest.approx(100 * 1.6449 * 0.1, rel=0.02)   # 16.45 %
    assert r.deduction_fraction == pytest.approx((r.halfwidth_percent - 15) / 100)
    again = combined_uncertainty([1000.0], [0.0], 600.0, 60.0, draws=200_000, seed=3)
    assert again == r
    small = combined_uncertainty([1000.0, 1000.0], [10.0, 10.0], 600.0, 6.0, draws=20_000, seed=1)
    assert small.deduction_fraction == 0.0


# ------------------------------------------------------------------------------------------ credits
def test_credits_worked_vintage():
    t = net_credits([VintageInput(2021, 100_000.0, 10_000.0, 5_000.0)], uncertainty_deduction_percent=2.0,
                    buffer_percent=21.0, market_leakage_percent=5.0, crediting_start=D(2021, 1, 1),
                    crediting_end=D(2030, 12, 31))
    r = t.rows[0]
    # ER 90,000; leakage 5,000 + 5% x 90,000 = 9,500; UD 2% x 80,500 = 1,610; net 78,890
    assert r.leakage_tco2e == pytest.approx(9_500.0)
    assert r.uncertainty_deduction_tco2e == pytest.approx(1_610.0)
    assert r.net_tco2e == pytest.approx(78_890.0)
    assert r.buffer == math.ceil(0.21 * 78_890) == 16_567
    assert r.vcus == 78_890 - 16_567
    assert "78,890.00" in r.formula["net"]


def test_partial_first_year_prorated_by_days():
    t = net_credits([VintageInput(2021, 365.0, 0.0)], uncertainty_deduction_percent=0, buffer_percent=0,
                    market_leakage_percent=0, crediting_start=D(2021, 7, 1), crediting_end=D(2030, 6, 30))
    assert t.rows[0].days == 184 and t.rows[0].net_tco2e == pytest.approx(184.0)


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 1e7), st.floats(0, 1e7), st.floats(0, 1e6), st.floats(0, 60), st.floats(10, 60),
       st.floats(0, 40))
def test_credit_properties(be, pe, lk, ud, buf, ml):
    t = net_credits([VintageInput(2022, be, pe, lk)], uncertainty_deduction_percent=ud, buffer_percent=buf,
                    market_leakage_percent=ml, crediting_start=D(2021, 1, 1), crediting_end=D(2030, 12, 31))
    r = t.rows[0]
    assert isinstance(r.vcus, int) and r.vcus >= 0 and r.buffer >= 0
    assert r.vcus + r.buffer <= max(0.0, r.net_tco2e) + 1e-6      # never more than the unrounded net
    assert r.vcus <= max(0.0, r.net_tco2e)
    whole = max(0, math.floor(r.net_tco2e + 1e-9))
    assert r.buffer >= buf / 100 * whole - 1e-6                          # buffer rounded up
    if whole > 0:                                                        # the registry splits the same way
        from decimal import Decimal

        from reddplus.registry.service import buffer_quantity
        assert r.buffer == buffer_quantity(whole, Decimal(str(buf)))


@settings(max_examples=100, deadline=None)
@given(st.floats(0, 1e6), st.floats(0, 1e6))
def test_more_project_emissions_never_more_credits(pe1, extra):
    kw = dict(uncertainty_deduction_percent=3, buffer_percent=15, market_leakage_percent=0,
              crediting_start=D(2021, 1, 1), crediting_end=D(2030, 12, 31))
    a = net_credits([VintageInput(2021, 2e6, pe1)], **kw).rows[0].vcus
    b = net_credits([VintageInput(2021, 2e6, pe1 + extra)], **kw).rows[0].vcus
    assert b <= a


def test_credit_bad_input():
    kw = dict(uncertainty_deduction_percent=0, buffer_percent=10, market_leakage_percent=0)
    with pytest.raises(InputDataError):
        net_credits([VintageInput(2021, -1.0, 0.0)], crediting_start=D(2021, 1, 1), crediting_end=D(2022, 1, 1), **kw)
    with pytest.raises(InputDataError, match="outside"):
        net_credits([VintageInput(2019, 1.0, 0.0)], crediting_start=D(2021, 1, 1), crediting_end=D(2022, 1, 1), **kw)
    with pytest.raises(ConfigError):
        net_credits([], crediting_start=D(2021, 1, 1), crediting_end=D(2020, 1, 1), **kw)
    with pytest.raises(InputDataError, match="buffer_percent"):
        net_credits([], crediting_start=D(2021, 1, 1), crediting_end=D(2022, 1, 1), uncertainty_deduction_percent=0,
                    buffer_percent=120, market_leakage_percent=0)


def test_weighted_emission_factor():
    from reddplus.accounting import weighted_emission_factor

    a, b = emission_factor(500.0, agb_sd=10.0), emission_factor(300.0, agb_sd=20.0)
    ef = weighted_emission_factor([3, 1], [a, b])
    assert ef.mean == pytest.approx(0.75 * a.mean + 0.25 * b.mean)
    assert ef.sd == pytest.approx(np.hypot(0.75 * a.sd, 0.25 * b.sd))
    with pytest.raises(InputDataError):
        weighted_emission_factor([1.0], [a, b])
