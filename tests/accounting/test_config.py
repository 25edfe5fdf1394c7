"""Config models of the deductions, pools and validity periods: explicit values, documented fields, clear errors."""

from __future__ import annotations

import tomllib

import pytest
from pydantic import ValidationError

from reddplus.accounting import decide_pools, post_deforestation_stock
from reddplus.accounting.config import (DeductionsAccounting, LeakageSettings, MarketLeakage, PoolsSettings,
                                        PostDeforestationClass, StocksAccounting, UncertaintySettings,
                                        ValiditySettings)

TOML = """
[deductions]
uncertainty_rule = "vcs_halfwidth_excess"
[deductions.uncertainty]
draws = 20000
[deductions.leakage]
beyond_belt = {method = "share_of_reductions", share = 0.05, reason = "road-linked migrants"}
market = {method = "not_applicable", reason = "no commercial timber in the baseline"}

[stocks]
pools = {dead_wood = {include = true, reason = "measured"}}
[[stocks.post_deforestation]]
name = "annual cropland"
share = 0.7
ipcc_default = "annual_cropland"
[[stocks.post_deforestation]]
name = "pasture"
share = 0.3
tco2e_per_ha = 25.0
source = "regional pasture survey"
"""


def test_a_project_toml_round_trip():
    raw = tomllib.loads(TOML)
    d = DeductionsAccounting.model_validate(raw["deductions"])
    s = StocksAccounting.model_validate(raw["stocks"])
    assert d.uncertainty.draws == 20000 and d.uncertainty.allowable_halfwidth_percent == 10.0
    assert d.leakage.belt_floor_at_zero and d.leakage.beyond_belt.share == 0.05
    assert decide_pools(s.pools.choices()).included("dead_wood")
    stock = post_deforestation_stock([c.model_dump() for c in s.post_deforestation])
    assert stock.tco2e_per_ha == pytest.approx(0.7 * 5.0 * 44 / 12 + 0.3 * 25.0)


def test_every_field_is_documented():
    for model in (DeductionsAccounting, UncertaintySettings, LeakageSettings, MarketLeakage, PoolsSettings,
                  PostDeforestationClass, StocksAccounting, ValiditySettings):
        for name, f in model.model_fields.items():
            assert f.description, f"{model.__name__}.{name} has no description"


def test_no_silent_zero_leakage_or_stock():
    with pytest.raises(ValidationError, match="leakage"):
        DeductionsAccounting.model_validate({})
    with pytest.raises(ValidationError, match="reason"):
        LeakageSettings.model_validate({"beyond_belt": {"method": "not_applicable"},
                                        "market": {"method": "not_applicable", "reason": "x"}})
    with pytest.raises(ValidationError, match="factor"):
        MarketLeakage.model_validate({"method": "factor", "factor": 0.4})
    with pytest.raises(ValidationError, match="post_deforestation"):
        StocksAccounting.model_validate({})
    with pytest.raises(ValidationError, match="sum to"):
        StocksAccounting.model_validate({"post_deforestation": [{"name": "a", "share": 0.5,
                                                                 "ipcc_default": "annual_cropland"}]})
    with pytest.raises(ValidationError, match="unknown ipcc_default"):
        PostDeforestationClass.model_validate({"name": "a", "share": 1, "ipcc_default": "x"})
    with pytest.raises(ValidationError, match="uncertainty_rule"):
        DeductionsAccounting.model_validate({"uncertainty_rule": "magic", "leakage": tomllib.loads(TOML)
                                             ["deductions"]["leakage"]})
    with pytest.raises(ValidationError, match="extra"):
        UncertaintySettings.model_validate({"draw": 10})
    with pytest.raises(ValidationError, match="positive"):
        ValiditySettings.model_validate({"period_years": [6, 0]})
