"""Net credits with reversals, loss events and per-deduction records: hand-worked vintages and properties."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reddplus.accounting import LossEvent, VintageInput, loss_event_report, net_credits
from reddplus.errors import ConfigError, InputDataError

D = dt.date
KW = dict(uncertainty_deduction_percent=0.0, buffer_percent=20.0, market_leakage_percent=0.0,
          crediting_start=D(2021, 1, 1), crediting_end=D(2023, 12, 31))
HAND = [VintageInput(2021, 10_000.0, 2_000.0), VintageInput(2022, 10_000.0, 13_500.4),
        VintageInput(2023, 10_000.0, 4_000.0)]


def test_reversal_hand_worked_one_monitoring_period():
    """2021: net 8,000 -> buffer ceil(20 % x 8,000) = 1,600, VCUs 6,400. 2022: net -3,500.4 -> nothing issued,
    reversal ceil(3,500.4) = 3,501. 2023: net 6,000 -> buffer 1,200, VCUs 4,800. One monitoring period: its
    buffer contribution 1,600 + 1,200 = 2,800 covers 2,800 of the reversal, the pooled buffer the other 701."""
    t = net_credits(HAND, **KW)
    r21, r22, r23 = t.rows
    assert (r21.buffer, r21.vcus, r21.reversal_tco2e) == (1_600, 6_400, 0)
    assert (r22.buffer, r22.vcus, r22.reversal_tco2e) == (0, 0, 3_501)
    assert r22.net_tco2e == pytest.approx(-3_500.4)
    assert (r23.buffer, r23.vcus) == (1_200, 4_800)
    (rv,) = t.reversals
    assert (rv.year, rv.reversal_tco2e, rv.from_period_buffer, rv.from_pooled_buffer) == (2022, 3_501, 2_800, 701)
    assert rv.monitoring_period == ("2021-01-01", "2023-12-31")
    assert "3.2.26" in rv.section and "could not be read" in rv.assumption
    assert t.reversals_by_vintage() == {2021: [], 2022: [rv.to_dict()], 2023: []}
    assert t.total_reversals == 3_501 and t.total_vcus == 11_200 and t.total_buffer == 2_800
    assert "reversal" in r22.formula and t.to_dict()["reversals_by_vintage"]["2021"] == []


def test_reversal_netted_only_against_its_own_period():
    """Periods 2021-2022 and 2023: the reversal of 2022 meets 2021's buffer (1,600) only; 1,901 from the pool."""
    t = net_credits(HAND, monitoring_periods=[(D(2021, 1, 1), D(2022, 12, 31)), (D(2023, 1, 1), D(2023, 12, 31))],
                    **KW)
    (rv,) = t.reversals
    assert (rv.from_period_buffer, rv.from_pooled_buffer) == (1_600, 1_901)
    assert rv.monitoring_period == ("2021-01-01", "2022-12-31")
    assert t.monitoring_periods == (("2021-01-01", "2022-12-31"), ("2023-01-01", "2023-12-31"))


def test_nothing_credited_nothing_reversed_and_the_deficit_is_made_good():
    """2021: net -3,000.5 with nothing credited before: no reversal, a deficit of 3,001. 2022: net 2,000 makes
    good 2,000 of it and issues nothing (deficit 1,001). 2023: net 8,000 makes good 1,001, then issues 6,999:
    buffer ceil(20 % x 6,999) = 1,400, VCUs 5,599. 2024: net -9,000 reverses 6,999 (all credited before) and
    carries 2,001 forward."""
    t = net_credits([VintageInput(2021, 1_000.0, 4_000.5), VintageInput(2022, 5_000.0, 3_000.0),
                     VintageInput(2023, 10_000.0, 2_000.0), VintageInput(2024, 1_000.0, 10_000.0)],
                    **{**KW, "crediting_end": D(2024, 12, 31)})
    got = [(r.year, r.issuance, r.buffer, r.vcus, r.reversal_tco2e, r.made_good_tco2e, r.deficit_tco2e)
           for r in t.rows]
    assert got == [(2021, 0, 0, 0, 0, 0, 3_001), (2022, 0, 0, 0, 0, 2_000, 1_001),
                   (2023, 6_999, 1_400, 5_599, 0, 1_001, 0), (2024, 0, 0, 0, 6_999, 0, 2_001)]
    (rv,) = t.reversals
    assert (rv.year, rv.reversal_tco2e, rv.from_period_buffer, rv.from_pooled_buffer) == (2024, 6_999, 1_400, 5_599)
    assert t.reversals_by_vintage()[2021] == []
    r21, r22, r23, r24 = t.rows
    assert "deficit" in r21.formula and "carried forward" in r21.formula["deficit"]
    assert r23.formula["vcus"] == "floor(8,000.00) - 1,001 - 1,400 = 5,599"
    assert "credited before" in r24.formula["reversal"]
    for r in t.rows:                                 # the deduction chain stays continuous
        for a, b in zip(r.deductions, r.deductions[1:]):
            assert a.after_tco2e == pytest.approx(b.before_tco2e)
    assert [d.name for d in r23.deductions][-2:] == ["deficit_made_good", "buffer"]


def test_no_reversal_gives_empty_lists():
    t = net_credits([VintageInput(2021, 5.0, 1.0), VintageInput(2022, 5.0, 1.0)], **KW)
    assert t.reversals == () and t.reversals_by_vintage() == {2021: [], 2022: []}


def test_deductions_as_data_chain_before_and_after():
    """ER 90,000; belt leakage 5,000; beyond-belt 2,000; market 5 % x 90,000 = 4,500; uncertainty 3 % x 78,500
    = 2,355; net 76,145; buffer ceil(15 % x 76,145) = 11,422; VCUs 64,723."""
    t = net_credits([VintageInput(2021, 100_000.0, 10_000.0, 5_000.0, leakage_beyond_belt_tco2e=2_000.0,
                                  uncertainty_deduction_percent=3.0)],
                    uncertainty_deduction_percent=0.0, buffer_percent=15.0, market_leakage_percent=5.0,
                    crediting_start=D(2021, 1, 1), crediting_end=D(2021, 12, 31), uncertainty_rule="vcs_halfwidth_excess",
                    deduction_notes={"leakage_beyond_belt": {"assumptions": ("configured share",)}})
    r = t.rows[0]
    assert r.leakage_tco2e == pytest.approx(11_500.0) and r.leakage_beyond_belt_tco2e == 2_000.0
    assert r.uncertainty_deduction_tco2e == pytest.approx(2_355.0) and r.uncertainty_deduction_percent == 3.0
    assert r.net_tco2e == pytest.approx(76_145.0)
    assert (r.buffer, r.vcus) == (math.ceil(0.15 * 76_145), 76_145 - math.ceil(0.15 * 76_145))
    names = [d.name for d in r.deductions]
    assert names == ["activity_shifting_leakage", "leakage_beyond_belt", "market_leakage", "uncertainty",
                     "whole_tonnes", "buffer"]
    assert r.deductions[0].before_tco2e == pytest.approx(90_000.0)
    for a, b in zip(r.deductions, r.deductions[1:]):
        assert a.after_tco2e == pytest.approx(b.before_tco2e)
    assert r.deductions[-1].after_tco2e == r.vcus
    by = {d.name: d for d in r.deductions}
    assert by["market_leakage"].tco2e == pytest.approx(4_500.0)
    assert by["uncertainty"].inputs["uncertainty_rule"] == "vcs_halfwidth_excess"
    assert by["leakage_beyond_belt"].assumptions == ("configured share",)
    assert by["activity_shifting_leakage"].source == "VMD0055 v1.1"
    assert all(d.source and d.section and d.formula for d in r.deductions)
    d = t.to_dict()
    assert d["rows"][0]["deductions"][0]["name"] == "activity_shifting_leakage" and d["uncertainty_rule"]
    assert "deductions" not in t.to_frame().columns


def test_market_leakage_given_per_vintage_replaces_the_percentage():
    t = net_credits([VintageInput(2021, 1_000.0, 0.0, market_leakage_tco2e=50.0)], uncertainty_deduction_percent=0,
                    buffer_percent=0, market_leakage_percent=10.0, crediting_start=D(2021, 1, 1),
                    crediting_end=D(2021, 12, 31))
    assert t.rows[0].market_leakage_tco2e == 50.0 and t.rows[0].net_tco2e == pytest.approx(950.0)


def test_loss_events_recorded_and_checked():
    fire = LossEvent("fire", 2022, 120.0, 3_000.0, date=D(2022, 9, 1), description="escaped agricultural fire")
    clearing = LossEvent("illegal clearing", 2022, 15.0, 9_000.0, date=D(2022, 11, 5))
    t = net_credits([HAND[0], VintageInput(2022, 10_000.0, 13_500.4, loss_events=(fire, clearing)), HAND[2]], **KW)
    rep = t.loss_event_report()
    assert [e.event for e in rep.events] == ["fire", "illegal clearing"]
    assert rep.total_area_ha == 135.0 and rep.total_emissions_tco2e == 12_000.0
    assert t.to_dict()["loss_events"]["total_emissions_tco2e"] == 12_000.0
    assert loss_event_report([clearing, fire]).events[0].event == "fire"
    with pytest.raises(InputDataError, match="loss events emit"):
        net_credits([VintageInput(2021, 10.0, 1.0, loss_events=(LossEvent("fire", 2021, 1.0, 5.0),))], **KW)
    with pytest.raises(InputDataError, match="another year"):
        net_credits([VintageInput(2021, 10.0, 9.0, loss_events=(LossEvent("fire", 2022, 1.0, 5.0),))], **KW)
    with pytest.raises(InputDataError, match="area_ha"):
        LossEvent("fire", 2021, -1.0, 0.0)


def test_bad_periods_and_notes():
    with pytest.raises(ConfigError, match="overlap"):
        net_credits(HAND, monitoring_periods=[(D(2021, 1, 1), D(2022, 6, 30)), (D(2022, 1, 1), D(2023, 12, 31))], **KW)
    with pytest.raises(InputDataError, match="no monitoring period"):
        net_credits(HAND, monitoring_periods=[(D(2021, 1, 1), D(2021, 12, 31))], **KW)
    with pytest.raises(InputDataError, match="unknown deduction"):
        net_credits(HAND, deduction_notes={"magic": {}}, **KW)
    with pytest.raises(InputDataError, match="uncertainty_deduction_percent"):
        net_credits([VintageInput(2021, 1.0, 0.0, uncertainty_deduction_percent=150.0)], **KW)


vintage = st.tuples(st.floats(0, 1e6), st.floats(0, 1e6), st.floats(0, 1e5))


@settings(max_examples=150, deadline=None)
@given(st.lists(vintage, min_size=1, max_size=6), st.floats(10, 60), st.integers(1, 3))
def test_reversal_properties(rows, buf, n_periods):
    """Whole tonnes, never negative; a negative vintage issues nothing and its reversal covers it; the period's
    buffer covers at most what the period deposited; both parts add up to the reversal."""
    years = list(range(2021, 2021 + len(rows)))
    vints = [VintageInput(y, be, pe, lk) for y, (be, pe, lk) in zip(years, rows)]
    bounds = sorted({years[0], *years[:: max(1, len(years) // n_periods)][1:]})
    periods = [(D(a, 1, 1), D(b - 1, 12, 31)) for a, b in zip(bounds, bounds[1:] + [years[-1] + 1])]
    t = net_credits(vints, uncertainty_deduction_percent=2.0, buffer_percent=buf, market_leakage_percent=0.0,
                    crediting_start=D(years[0], 1, 1), crediting_end=D(years[-1], 12, 31), monitoring_periods=periods)
    assert set(t.reversals_by_vintage()) == set(years)
    credited, deficit = 0, 0
    for r in t.rows:
        assert isinstance(r.vcus, int) and r.vcus >= 0 and r.buffer >= 0
        assert r.vcus + r.buffer + r.made_good_tco2e <= max(0.0, r.net_tco2e) + 1e-6
        if r.net_tco2e < -1e-9:
            shortfall = r.deficit_tco2e - deficit + r.reversal_tco2e
            assert r.issuance == 0 and r.made_good_tco2e == 0 and shortfall >= -r.net_tco2e - 1e-6
            assert shortfall < -r.net_tco2e + 1
            assert r.reversal_tco2e == min(shortfall, credited)    # nothing credited, nothing reversed
        else:
            assert r.reversal_tco2e == 0
            assert r.made_good_tco2e == min(deficit, math.floor(r.net_tco2e + 1e-9))
            assert r.deficit_tco2e == deficit - r.made_good_tco2e
        credited += r.issuance - r.reversal_tco2e
        deficit = r.deficit_tco2e
        assert credited >= 0 and deficit >= 0
    for p in t.monitoring_periods:
        in_p = [rv for rv in t.reversals if rv.monitoring_period == p]
        deposited = sum(r.buffer for r in t.rows
                        if D.fromisoformat(p[0]).year <= r.year <= D.fromisoformat(p[1]).year)
        assert sum(rv.from_period_buffer for rv in in_p) <= deposited
    for rv in t.reversals:
        assert rv.from_period_buffer + rv.from_pooled_buffer == rv.reversal_tco2e
        assert rv.from_period_buffer >= 0 and rv.from_pooled_buffer >= 0


def test_negative_vintage_deduction_chain_is_continuous():
    r = net_credits(HAND, **KW).rows[1]
    for a, b in zip(r.deductions, r.deductions[1:]):
        assert a.after_tco2e == pytest.approx(b.before_tco2e)
    wt = next(d for d in r.deductions if d.name == "whole_tonnes")
    assert wt.before_tco2e == pytest.approx(-3_500.4) and wt.after_tco2e == 0 and "reversal" in wt.formula
    assert r.deductions[-1].after_tco2e == 0
