"""VMD0055 leakage components: belt, beyond the belt, market; explicit parameters, no silent zeros."""

from __future__ import annotations

import numpy as np
import pytest

from reddplus.accounting import (activity_shifting_leakage_tco2e, belt_activity_shifting_leakage,
                                 beyond_belt_leakage, market_leakage, total_leakage)
from reddplus.errors import ConfigError, InputDataError


def test_belt_leakage_by_hand_and_per_year():
    one = belt_activity_shifting_leakage(120.0, 100.0, 660.0)
    assert one.tco2e == pytest.approx(13_200.0) and one.applicable
    assert one.tco2e == activity_shifting_leakage_tco2e(120.0, 100.0, 660.0)     # the older helper agrees
    assert "13,200.00" in one.formula and one.source == "VMD0055 v1.1"
    per_year = belt_activity_shifting_leakage([120.0, 80.0, 100.0], [100.0, 100.0, 90.0], 500.0)
    np.testing.assert_allclose(per_year.tco2e, [10_000.0, 0.0, 5_000.0])         # floored per year
    assert any("floored at zero" in a for a in per_year.assumptions)
    netted = belt_activity_shifting_leakage([120.0, 80.0], [100.0, 100.0], 500.0, floor_at_zero=False)
    np.testing.assert_allclose(netted.tco2e, [10_000.0, -10_000.0])
    with pytest.raises(InputDataError):
        belt_activity_shifting_leakage(-1.0, 0.0, 1.0)


def test_beyond_belt_needs_a_share_or_a_reason():
    lk = beyond_belt_leakage([100_000.0, -5_000.0], method="share_of_reductions", share=0.1)
    np.testing.assert_allclose(lk.tco2e, [10_000.0, 0.0])
    assert any("could not be read" in a for a in lk.assumptions)
    na = beyond_belt_leakage(50_000.0, method="not_applicable", reason="all agents are local smallholders")
    assert na.tco2e == 0.0 and not na.applicable and "smallholders" in na.assumptions[0]
    with pytest.raises(ConfigError, match="deductions.leakage.beyond_belt.reason"):
        beyond_belt_leakage(1.0, method="not_applicable")
    with pytest.raises(ConfigError, match="deductions.leakage.beyond_belt.share"):
        beyond_belt_leakage(1.0, method="share_of_reductions")
    with pytest.raises(ConfigError, match="method"):
        beyond_belt_leakage(1.0, method="guess")


def test_market_leakage_methods():
    f = market_leakage(method="factor", factor=0.4, baseline_harvest_tco2e=[1_000.0, 2_000.0])
    np.testing.assert_allclose(f.tco2e, [400.0, 800.0])
    p = market_leakage(method="percent_of_reductions", percent=5.0, gross_reductions_tco2e=90_000.0)
    assert p.tco2e == pytest.approx(4_500.0)
    na = market_leakage(method="not_applicable", reason="no commercial timber extracted", gross_reductions_tco2e=[1, 2])
    np.testing.assert_allclose(na.tco2e, [0.0, 0.0])
    for kw, key in ((dict(method="factor", baseline_harvest_tco2e=1.0), "factor"),
                    (dict(method="factor", factor=0.3), "baseline_harvest"),
                    (dict(method="percent_of_reductions", gross_reductions_tco2e=1.0), "percent"),
                    (dict(method="not_applicable"), "reason"), (dict(method="nope"), "method")):
        with pytest.raises(ConfigError, match=f"deductions.leakage.market.{key}"):
            market_leakage(**kw)


def test_total_and_counterfactual_check():
    comps = [belt_activity_shifting_leakage(120.0, 100.0, 500.0),
             beyond_belt_leakage(90_000.0, method="share_of_reductions", share=0.05),
             market_leakage(method="not_applicable", reason="no timber")]
    t = total_leakage(comps, counterfactual_belt_excess_ha=1_700.0, belt_monitored_ha=120.0, belt_baseline_ha=100.0)
    assert t.total_tco2e == pytest.approx(10_000.0 + 4_500.0)
    assert t.counterfactual_check["counterfactual_exceeds_monitored_excess"] is True
    d = t.to_dict()
    assert [c["name"] for c in d["components"]] == ["activity_shifting_belt", "beyond_belt", "market"]
    assert len(d["assumptions"]) >= 3
    with pytest.raises(InputDataError, match="once"):
        total_leakage(comps + comps[:1])
    with pytest.raises(InputDataError, match="beside the counterfactual"):
        total_leakage(comps, counterfactual_belt_excess_ha=1.0)
