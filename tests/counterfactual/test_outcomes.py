"""Outcomes and the over-crediting ratio (pure functions, hand-computed answers)."""

from __future__ import annotations

import numpy as np
import pytest

from reddplus.counterfactual import (annual_deforestation_rate, annualise, avoided_deforestation_ha,
                                     avoided_emissions_tco2e, overcrediting_ratio, period_deforestation_fraction,
                                     repeat_interval)
from reddplus.errors import ConfigError, InputDataError


def test_period_fractions_follow_the_canonical_codes():
    # dates (2000, 2005, 2010, 2015), start index 1 (2005): forest at start means code >= 2
    codes = np.array([2, 3, 3, 4, 4, 4, 4, 4], dtype=np.uint8)
    f = period_deforestation_fraction(codes, 1, 4)
    np.testing.assert_allclose(f, [1 / 8, 2 / 8])  # lost in (2005, 2010] and (2010, 2015]
    np.testing.assert_allclose(annual_deforestation_rate(f, [5, 5]), [0.025, 0.05])


def test_avoided_deforestation_and_emissions():
    # controls lose 10 %, project 4 % of 1,000 ha -> 60 ha avoided; x 500 t CO2e/ha = 30,000 t CO2e
    a = avoided_deforestation_ha(0.10, 0.04, 1000.0)
    assert float(a) == pytest.approx(60.0)
    assert float(avoided_emissions_tco2e(a, 500.0)) == pytest.approx(30_000.0)
    with pytest.raises(ConfigError, match="emission_factor"):
        avoided_emissions_tco2e(a, -1.0)


def test_annualise_spreads_periods_evenly():
    years, v = annualise(np.array([2010, 2015, 2017]), np.array([[50.0, 10.0]]))
    np.testing.assert_array_equal(years, [2011, 2012, 2013, 2014, 2015, 2016, 2017])
    np.testing.assert_allclose(v[0], [10, 10, 10, 10, 10, 5, 5])
    assert v.sum() == pytest.approx(60.0)


def test_repeat_interval_percentiles():
    iv = repeat_interval(np.arange(101.0), 0.9)
    assert (iv.estimate, iv.low, iv.high) == pytest.approx((50.0, 5.0, 95.0))


def test_overcrediting_ratio_over_common_years():
    # baseline 100 ha/yr 2011-2015; controls 20 or 25 ha/yr over 2011-2020; common years 2011-2015
    years = np.arange(2011, 2021)
    ctrl = np.vstack([np.full(10, 20.0), np.full(10, 25.0), np.full(10, 40.0)])
    r = overcrediting_ratio(np.arange(2011, 2016), np.full(5, 100.0), years, ctrl, level=0.5)
    np.testing.assert_allclose(r.per_repeat, [5.0, 4.0, 2.5])
    assert r.ratio.estimate == pytest.approx(4.0)
    assert r.years == (2011, 2012, 2013, 2014, 2015)
    assert r.baseline_ha == pytest.approx(500.0)
    assert r.to_dict()["overcrediting_ratio"] == pytest.approx(4.0)


def test_overcrediting_ratio_errors():
    with pytest.raises(InputDataError, match="overlap"):
        overcrediting_ratio([2000], [1.0], [2011], [1.0])
    with pytest.raises(InputDataError, match="baseline"):
        overcrediting_ratio([2011, 2012], [1.0], [2011], [1.0])
    with pytest.raises(InputDataError, match=">= 0"):
        overcrediting_ratio([2011], [-1.0], [2011], [1.0])


def test_zero_control_deforestation_gives_infinite_ratio():
    r = overcrediting_ratio([2011], [5.0], [2011], [[0.0]])
    assert np.isinf(r.per_repeat[0])


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=50, deadline=None)
@given(k=st.floats(0.01, 100), b=st.lists(st.floats(0, 1e4), min_size=3, max_size=3),
       c=st.lists(st.floats(1, 1e4), min_size=3, max_size=3))
def test_ratio_is_unit_free(k, b, c):
    """Scaling baseline and controls alike (e.g. ha -> m2) leaves the ratio unchanged."""
    years = [2011, 2012, 2013]
    r1 = overcrediting_ratio(years, b, years, [c]).ratio.estimate
    r2 = overcrediting_ratio(years, np.array(b) * k, years, [np.array(c) * k]).ratio.estimate
    assert r2 == pytest.approx(r1, rel=1e-9, abs=1e-12)


def test_read_baseline_series(tmp_path):
    from reddplus.counterfactual import read_baseline_series

    p = tmp_path / "b.csv"
    p.write_text("year,baseline_deforestation_ha\n2011,10.5\n2012,x\n")
    with pytest.raises(InputDataError, match="row 2"):
        read_baseline_series(p)
    p.write_text("year,baseline_deforestation_ha\n2011,10.5\n2012,11\n")
    years, vals = read_baseline_series(p)
    assert list(years) == [2011, 2012] and list(vals) == [10.5, 11.0]
