"""Config models of the deductions, carbon pools and validity periods (embedded by ``ProjectConfig``).

Every field carries a ``description``. Where a methodology figure could not be read, the field
has no default (the project states it) or its default is the stated assumption of the module
that uses it; nothing defaults to a silent zero. Proposed placement in the project TOML::

    [deductions]
    uncertainty_rule = "vcs_halfwidth_excess"
    [deductions.uncertainty]
    confidence = 0.90
    allowable_halfwidth_percent = 10.0
    draws = 10000
    [deductions.leakage]
    belt_floor_at_zero = true
    beyond_belt = {method = "not_applicable", reason = "..."}
    market = {method = "not_applicable", reason = "..."}

    [stocks.pools]
    dead_wood = {include = false, reason = "not measured"}
    [[stocks.post_deforestation]]
    name = "annual cropland"
    share = 1.0
    ipcc_default = "annual_cropland"

    [periods.validity]
    period_years = 6
    hrp_years = 10
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    model_validator,
)

from reddplus.accounting.pools import POOLS, load_ipcc_defaults
from reddplus.accounting.uncertainty import UNCERTAINTY_RULES

UncertaintyRuleName = Literal["vcs_halfwidth_excess", "vm0007_x_unc", "lower_bound"]
assert set(UncertaintyRuleName.__args__) == set(UNCERTAINTY_RULES)  # noqa: S101  (kept in step)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UncertaintySettings(_Model):
    """``[deductions.uncertainty]``: the Monte Carlo and the threshold of the deduction rule."""

    confidence: StrictFloat = Field(0.90, gt=0.5, lt=1, description="two-sided confidence level of the interval whose "
                              "half-width is compared with the threshold [-] (VCS: 0.90)")
    allowable_halfwidth_percent: StrictFloat = Field(
        10.0, ge=0, le=100, description="half-width [% of the mean] up to which no deduction is made; 10 is the "
        "assumed VCS threshold (a 90 % interval no wider than 20 % of the estimate), stated as an assumption because "
        "the VM0048 / VMD0055 v1.1 text could not be read. Ignored by rules that fix their own (vm0007_x_unc: 15).")
    draws: StrictInt = Field(10_000, ge=1000, le=1_000_000, description="Monte Carlo draws per monitoring period")
    allocation_relative_se: StrictFloat | None = Field(
        None, ge=0, description="relative standard error of the project's share of the jurisdictional activity data "
        "[-], if the allocation provider gives one; omitted = not defined (reported, not read as zero)")


class BeyondBeltLeakage(_Model):
    """``[deductions.leakage.beyond_belt]``: leakage beyond the belt (geographically unconstrained agents)."""

    method: Literal["share_of_reductions", "not_applicable"] = Field(
        ..., description="share_of_reductions: a stated share of the gross reductions is displaced beyond the belt; "
        "not_applicable: no geographically unconstrained agents (reason required). No default: VMD0055 v1.1's "
        "procedure could not be read")
    share: StrictFloat | None = Field(None, ge=0, le=1, description="share of the gross reductions [-] (share_of_reductions)")
    reason: str | None = Field(None, min_length=1, description="why the value or the non-applicability holds; "
                               "printed in the report")

    @model_validator(mode="after")
    def _complete(self):
        if self.method == "share_of_reductions" and self.share is None:
            raise ValueError("method 'share_of_reductions' needs share")
        if self.method == "not_applicable" and not self.reason:
            raise ValueError("method 'not_applicable' needs a reason")
        return self


class MarketLeakage(_Model):
    """``[deductions.leakage.market]``: market leakage from the regional demand for wood products."""

    method: Literal["factor", "percent_of_reductions", "not_applicable"] = Field(
        ..., description="factor: leakage factor x carbon of the timber the baseline would have extracted; "
        "percent_of_reductions: a percentage of the gross reductions; not_applicable: no timber would have entered "
        "the market (reason required). No default: VMD0055 v1.1's factor table could not be read")
    factor: StrictFloat | None = Field(None, ge=0, le=1, description="market-leakage factor [-] (method factor)")
    timber_tco2e_per_ha: StrictFloat | None = Field(
        None, ge=0, description="carbon of the commercial timber extracted per hectare of baseline deforestation "
        "[t CO2e/ha] (method factor); times the avoided deforestation it gives the baseline harvest")
    percent: StrictFloat | None = Field(None, ge=0, le=100, description="percentage of the gross reductions [%] "
                                  "(method percent_of_reductions)")
    reason: str | None = Field(None, min_length=1, description="why the value or the non-applicability holds; "
                               "printed in the report")

    @model_validator(mode="after")
    def _complete(self):
        if self.method == "factor" and (self.factor is None or self.timber_tco2e_per_ha is None):
            raise ValueError("method 'factor' needs factor and timber_tco2e_per_ha")
        if self.method == "percent_of_reductions" and self.percent is None:
            raise ValueError("method 'percent_of_reductions' needs percent")
        if self.method == "not_applicable" and not self.reason:
            raise ValueError("method 'not_applicable' needs a reason")
        return self


class LeakageSettings(_Model):
    """``[deductions.leakage]``: all three VMD0055 leakage components, each explicit."""

    belt_floor_at_zero: StrictBool = Field(True, description="belt deforestation below its allocated baseline earns "
                                     "nothing (floored at zero per year); stated as an assumption in the results")
    beyond_belt: BeyondBeltLeakage = Field(..., description="leakage beyond the leakage belt (required: method and "
                                           "value, or not_applicable with a reason)")
    market: MarketLeakage = Field(..., description="market leakage, wood products (required: method and value, or "
                                  "not_applicable with a reason)")


class DeductionsAccounting(_Model):
    """The accounting keys of ``[deductions]`` (the lead embeds these beside ``nprt``)."""

    uncertainty_rule: UncertaintyRuleName = Field(
        "vcs_halfwidth_excess", description="named uncertainty-deduction rule (reddplus.accounting.uncertainty."
        "UNCERTAINTY_RULES); the default is the VCS excess rule, assumed because the VM0048 / VMD0055 v1.1 text "
        "could not be read")
    uncertainty: UncertaintySettings = Field(UncertaintySettings(), description="Monte Carlo and threshold")
    leakage: LeakageSettings = Field(..., description="leakage in the belt, beyond it and through markets")


class PoolChoice(_Model):
    """One carbon pool's inclusion and its reason."""

    include: StrictBool = Field(..., description="whether the pool enters the emission factor")
    reason: str | None = Field(None, min_length=1, description="why; required when departing from the default "
                               "of reddplus.accounting.pools.POOL_RULES")


class PoolsSettings(_Model):
    """``[stocks.pools]``: AGB, BGB, dead wood, litter, soil organic carbon, harvested wood products."""

    agb: PoolChoice | None = Field(None, description="above-ground biomass (always included)")
    bgb: PoolChoice | None = Field(None, description="below-ground biomass (default included)")
    dead_wood: PoolChoice | None = Field(None, description="dead wood (default excluded: conservative; no IPCC "
                                         "Tier 1 forest default, must be measured)")
    litter: PoolChoice | None = Field(None, description="litter (default excluded: conservative)")
    soc: PoolChoice | None = Field(None, description="soil organic carbon (default excluded: conservative)")
    hwp: PoolChoice | None = Field(None, description="harvested wood products (default excluded; conservative only "
                                   "when the baseline extracts no commercial timber)")

    def choices(self) -> dict[str, dict]:
        """As :func:`reddplus.accounting.pools.decide_pools` takes them."""
        return {p: getattr(self, p).model_dump() for p in POOLS if getattr(self, p) is not None}


def _ipcc_keys() -> list[str]:
    return sorted(load_ipcc_defaults().get("post_deforestation", {}))


class PostDeforestationClass(_Model):
    """``[[stocks.post_deforestation]]``: one land-use class that replaces forest."""

    name: str = Field(..., min_length=1, description="land-use class (e.g. 'annual cropland', 'pasture')")
    share: StrictFloat = Field(..., gt=0, le=1, description="fraction of the deforested area that becomes this class [-]; "
                         "the shares sum to 1")
    tco2e_per_ha: StrictFloat | None = Field(None, ge=0, description="long-term biomass stock of the class [t CO2e/ha], "
                                       "given directly (then source is required)")
    ipcc_default: str | None = Field(None, description="key of an IPCC default in reddplus/accounting/"
                                     "ipcc_defaults.toml [post_deforestation] (e.g. annual_cropland: IPCC 2006 "
                                     "vol. 4 Table 5.9)")
    source: str | None = Field(None, min_length=1, description="where a directly given stock comes from")

    @model_validator(mode="after")
    def _one(self):
        if (self.tco2e_per_ha is None) == (self.ipcc_default is None):
            raise ValueError("give exactly one of tco2e_per_ha (with source) or ipcc_default")
        if self.tco2e_per_ha is not None and not self.source:
            raise ValueError("a stock given directly needs its source")
        if self.ipcc_default is not None and self.ipcc_default not in _ipcc_keys():
            raise ValueError(f"unknown ipcc_default {self.ipcc_default!r}; one of {_ipcc_keys()}")
        return self


class StocksAccounting(_Model):
    """The pool and post-deforestation keys of ``[stocks]`` (the lead embeds these)."""

    pools: PoolsSettings = Field(PoolsSettings(), description="carbon pools included or excluded, with reasons")
    post_deforestation: list[PostDeforestationClass] = Field(
        ..., min_length=1, description="land-use classes that replace forest, with their shares and stocks "
        "(required: no silent zero post-deforestation stock)")

    @model_validator(mode="after")
    def _shares(self):
        total = sum(c.share for c in self.post_deforestation)
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"the shares of post_deforestation sum to {total:g}, not 1")
        return self


class ValiditySettings(_Model):
    """``[periods.validity]``: baseline validity periods (reddplus.baseline.validity)."""

    period_years: StrictInt | list[StrictInt] = Field(6, description="length of each validity period [yr] (VM0048: 6), or the "
                                          "lengths of the successive periods (the last repeats)")
    hrp_years: StrictInt = Field(10, ge=1, le=30, description="length of the historical reference period before each "
                           "validity period [yr] (VM0048: 10)")

    @model_validator(mode="after")
    def _positive(self):
        lengths = [self.period_years] if isinstance(self.period_years, int) else self.period_years
        if not lengths or any(n < 1 for n in lengths):
            raise ValueError("period_years must be positive")
        return self
