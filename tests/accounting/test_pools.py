"""Carbon pools with their rules, post-deforestation stocks from IPCC defaults, EF weighted by the allocation used."""

from __future__ import annotations

import pytest

from reddplus.accounting import (POOLS, baseline_emission_factor, decide_pools, emission_factor,
                                 emission_factor_from_pools, load_ipcc_defaults, post_deforestation_stock,
                                 weighted_emission_factor)
from reddplus.errors import ConfigError, InputDataError


def test_default_pools_and_reasons():
    p = decide_pools()
    assert [d.pool for d in p.decisions] == list(POOLS)
    assert p.included_pools == ("agb", "bgb")
    assert all(d.reason and d.defaulted for d in p.decisions)
    assert any("harvested wood products" in a and "conservative only if" in a for a in p.assumptions)
    assert any("could not be read" in a for a in p.assumptions)
    assert p.to_dict()["pools"][0]["rule"].startswith("Always included")


def test_pool_choices_need_reasons_and_agb_stays():
    p = decide_pools({"dead_wood": {"include": True, "reason": "measured on 40 transects"},
                      "bgb": {"include": False, "reason": "conservative: no root data"}})
    assert p.included("dead_wood") and not p.included("bgb")
    with pytest.raises(ConfigError, match="stocks.pools.agb.include"):
        decide_pools({"agb": {"include": False, "reason": "x"}})
    with pytest.raises(ConfigError, match="stocks.pools.litter.reason"):
        decide_pools({"litter": {"include": True}})
    with pytest.raises(ConfigError, match="stocks.pools.roots"):
        decide_pools({"roots": {"include": True}})


def test_post_deforestation_stock_from_ipcc_defaults_by_hand():
    """Annual cropland 5.0 t C/ha (IPCC 2006 vol. 4 Table 5.9) = 18.33 t CO2e/ha; tropical moist grassland
    16.1 t d.m./ha x 0.47 x 44/12 = 27.75 t CO2e/ha (Table 6.4). 60/40: 0.6 x 18.33 + 0.4 x 27.75 = 22.10."""
    s = post_deforestation_stock([{"name": "annual cropland", "share": 0.6, "ipcc_default": "annual_cropland"},
                                  {"name": "pasture", "share": 0.4, "ipcc_default": "grassland_tropical_moist_wet"}])
    crop, grass = 5.0 * 44 / 12, 16.1 * 0.47 * 44 / 12
    assert s.classes[0]["tco2e_per_ha"] == pytest.approx(crop) and s.classes[1]["tco2e_per_ha"] == pytest.approx(grass)
    assert s.tco2e_per_ha == pytest.approx(0.6 * crop + 0.4 * grass)
    assert s.classes[0]["source"].endswith("Table 5.9")
    assert len(s.unverified_constants) == 2 and any("without being re-read" in a for a in s.assumptions)
    direct = post_deforestation_stock([{"name": "oil palm", "share": 1.0, "tco2e_per_ha": 60.0,
                                        "source": "national inventory 2019, table 7"}])
    assert direct.tco2e_per_ha == 60.0 and direct.unverified_constants == ()


@pytest.mark.parametrize("classes, key", [
    ([], "stocks.post_deforestation"),
    ([{"name": "a", "share": 0.5, "ipcc_default": "annual_cropland"}], "stocks.post_deforestation"),
    ([{"name": "a", "share": 1.0}], "stocks.post_deforestation[0]"),
    ([{"name": "a", "share": 1.0, "tco2e_per_ha": 3.0}], "stocks.post_deforestation[0].source"),
    ([{"name": "a", "share": 1.0, "ipcc_default": "moon_rock"}], "stocks.post_deforestation.ipcc_default"),
])
def test_post_deforestation_errors_name_the_key(classes, key):
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        post_deforestation_stock(classes)


def test_every_default_names_its_table_and_flag():
    d = load_ipcc_defaults()
    for group in d.values():
        for e in group.values():
            assert "Table" in e["source"] or "section" in e["source"]
            assert isinstance(e["unverified"], bool)
            if not e["unverified"]:
                assert e.get("checked_against")


def test_emission_factor_from_pools_by_hand():
    """AGB 500 + BGB 185 - post 20 = 665; + dead wood 30 + litter 10 (post DOM 0) = 705; - HWP 15 = 690."""
    base = decide_pools()
    ef = emission_factor_from_pools(base, agb_tco2e_per_ha=500.0, bgb_tco2e_per_ha=185.0, post_biomass_tco2e_per_ha=20.0,
                                    agb_se_tco2e_per_ha=20.0)
    assert ef.mean == pytest.approx(665.0) and ef.sd == pytest.approx(20.0 * 685 / 500)
    assert ef.mean == pytest.approx(emission_factor(500.0, agb_sd=20.0, root_shoot_ratio=0.37,
                                                    post_tco2e_per_ha=20.0).mean)
    full = decide_pools({"dead_wood": {"include": True, "reason": "measured"},
                         "litter": {"include": True, "reason": "measured"},
                         "hwp": {"include": True, "reason": "baseline agents sell sawlogs"}})
    ef2 = emission_factor_from_pools(full, agb_tco2e_per_ha=500.0, bgb_tco2e_per_ha=185.0, dead_wood_tco2e_per_ha=30.0,
                                     litter_tco2e_per_ha=10.0, hwp_stored_tco2e_per_ha=15.0,
                                     post_biomass_tco2e_per_ha=20.0)
    assert ef2.mean == pytest.approx(690.0) and ef2.components["pools_included"] == ["agb", "bgb", "dead_wood",
                                                                                      "litter", "hwp"]
    with pytest.raises(InputDataError, match="dead_wood"):
        emission_factor_from_pools(full, agb_tco2e_per_ha=500.0, bgb_tco2e_per_ha=185.0, post_biomass_tco2e_per_ha=1.0)
    with pytest.raises(InputDataError, match="exceeds"):
        emission_factor_from_pools(base, agb_tco2e_per_ha=10.0, bgb_tco2e_per_ha=3.0, post_biomass_tco2e_per_ha=50.0)


def test_baseline_ef_weighted_by_the_allocation_used():
    """Two strata, EF 600 and 300. The benchmark allocates 300/100 ha (EF 525); an alternative 100/300 (EF 375)."""
    a, b = emission_factor(600.0 / 1.37, agb_sd=10.0), emission_factor(300.0 / 1.37, agb_sd=20.0)
    f = {1: a, 2: b}
    bench = baseline_emission_factor({1: 300.0, 2: 100.0}, f, allocation="benchmark")
    alt = baseline_emission_factor({1: 100.0, 2: 300.0}, f, allocation="alternative:roads")
    assert bench.emission_factor.mean == pytest.approx(525.0) and alt.emission_factor.mean == pytest.approx(375.0)
    assert alt.allocation == "alternative:roads" and alt.to_dict()["weights"] == {"1": 0.25, "2": 0.75}
    assert bench.emission_factor.sd == pytest.approx(weighted_emission_factor([3, 1], [a, b]).sd)
    with pytest.raises(InputDataError, match="no deforestation"):
        baseline_emission_factor({1: 0.0, 2: 0.0}, f, allocation="benchmark")
    with pytest.raises(InputDataError, match="differ"):
        baseline_emission_factor({1: 1.0}, f, allocation="benchmark")
