"""Plot -> stratum -> project carbon stocks."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from reddplus.errors import InputDataError
from reddplus.stocks.aggregate import (CO2_PER_C, ROOT_SHOOT_RATIOS, bgb_from_agb, co2e_from_biomass,
                                       project_carbon_stock, root_shoot_ratio, stratum_carbon_stocks)


def test_constants_are_the_cited_ones():
    assert CO2_PER_C == pytest.approx(3.6667, abs=1e-4)
    assert ROOT_SHOOT_RATIOS["ipcc2006_tropical_rainforest"] == 0.37
    assert root_shoot_ratio("ipcc2006_tropical_dry_gt20") == 0.28
    with pytest.raises(InputDataError):
        root_shoot_ratio("boreal")


def test_stratum_means_and_t_interval():
    """Against scipy's t interval on the per-plot CO2e values (IPCC CF 0.47, R 0.37)."""
    agb = np.array([380.0, 410.0, 350.0, 220.0, 150.0])
    strata = ["tf", "tf", "tf", "sw", "sw"]
    out = {s.stratum: s for s in stratum_carbon_stocks(agb, strata)}
    v = agb[:3] * 1.37 * 0.47 * 44 / 12
    lo, hi = stats.t.interval(0.90, 2, loc=v.mean(), scale=stats.sem(v))
    assert out["tf"].total_tco2e_per_ha == pytest.approx(v.mean())
    assert out["tf"].ci == pytest.approx((lo, hi))
    assert out["tf"].agb_tco2e_per_ha + out["tf"].bgb_tco2e_per_ha == pytest.approx(v.mean())
    assert out["sw"].n_plots == 2


def test_project_total_and_combined_interval():
    s = stratum_carbon_stocks([380.0, 410.0, 350.0, 220.0, 150.0, 180.0], ["tf"] * 3 + ["sw"] * 3)
    areas = {"tf": 1000.0, "sw": 250.0}
    p = project_carbon_stock(s, areas)
    by = {x.stratum: x for x in s}
    assert p.total_tco2e == pytest.approx(1000 * by["tf"].total_tco2e_per_ha + 250 * by["sw"].total_tco2e_per_ha)
    se = np.sqrt((1000 * by["tf"].se_tco2e_per_ha) ** 2 + (250 * by["sw"].se_tco2e_per_ha) ** 2)
    assert p.se_tco2e == pytest.approx(se)
    assert 2 <= p.df <= 4  # Satterthwaite between min(n_h - 1) and sum(n_h - 1)
    assert p.ci90_half_width_tco2e == pytest.approx(stats.t.ppf(0.95, p.df) * se)
    with pytest.raises(InputDataError, match="no area"):
        project_carbon_stock(s, {"tf": 1000.0})


def test_non_finite_plot_values_rejected():
    with pytest.raises(InputDataError, match="area"):
        stratum_carbon_stocks([300.0, np.nan], ["a", "a"])


@given(st.floats(0, 1e4), st.floats(0, 1), st.floats(0.3, 0.55))
def test_co2e_is_linear(agb, r, cf):
    total = co2e_from_biomass(agb + bgb_from_agb(agb, r), cf)
    assert total == pytest.approx(agb * (1 + r) * cf * 44 / 12, rel=1e-12, abs=1e-12)
