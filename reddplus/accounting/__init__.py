"""Credits accounting: emission factors and pools, leakage, uncertainty, non-permanence buffer, reversals, VCUs.

* :func:`emission_factor` -> :class:`EmissionFactor` [t CO2e/ha] (VMD0055 v1.1 section 5.3; IPCC 2006 vol. 4
  eq. 2.16); :func:`weighted_emission_factor`, :func:`emissions_tco2e`
* :mod:`~reddplus.accounting.pools`: :func:`decide_pools` (AGB, BGB, dead wood, litter, SOC, HWP; VM0048
  section 5.2), :func:`post_deforestation_stock` (IPCC defaults in ``ipcc_defaults.toml``),
  :func:`emission_factor_from_pools`, :func:`baseline_emission_factor` (weighted by the allocation used)
* :mod:`~reddplus.accounting.leakage` (VMD0055 v1.1): :func:`belt_activity_shifting_leakage`,
  :func:`beyond_belt_leakage`, :func:`market_leakage`, :func:`total_leakage`
* :mod:`~reddplus.accounting.uncertainty`: :func:`period_uncertainty` per monitoring period (activity
  data from a reference sample, emission factor draws or SE, allocation) with a named rule
  (:data:`UNCERTAINTY_RULES`); the older :func:`combined_uncertainty`, :func:`uncertainty_deduction`
* :func:`nprt_buffer` -> :class:`NPRTResult` (AFOLU Non-Permanence Risk Tool v4.2 by default, v4.0 where
  Verra allows it; questions and constants in ``nprt_v4_2.toml`` / ``nprt_v4_0.toml``);
  :func:`check_answers` (every problem at once), :func:`check_tool_version`, :func:`answers_reference`
* :func:`net_credits` (:class:`VintageInput` rows) -> :class:`CreditsTable`: whole-tonne VCUs, buffer,
  :class:`Reversal` records (VCS Standard v4.5 section 3.2.26), :class:`Deduction` records and
  :class:`LossEvent` reports
* config models: :mod:`reddplus.accounting.config`

The jurisdictional rate is :func:`reddplus.baseline.rate.jurisdictional_rate`; validity periods are
:func:`reddplus.baseline.validity.validity_periods`.
"""

from reddplus.accounting.credits import (CreditRow, CreditsTable, Deduction, LossEvent, LossEventReport, Reversal,
                                         VintageInput, loss_event_report, net_credits)
from reddplus.accounting.emissions import (EmissionFactor, activity_shifting_leakage_tco2e, emission_factor,
                                           emissions_tco2e, weighted_emission_factor)
from reddplus.accounting.leakage import (LeakageComponent, LeakageResult, belt_activity_shifting_leakage,
                                         beyond_belt_leakage, market_leakage, total_leakage)
from reddplus.accounting.nprt import (EXAMPLE_ANSWERS, NPRTAnswerError, NPRTConstant, NPRTFailedError, NPRTFailure,
                                      NPRTProblem, NPRTResult, NPRTVersionCheck, NPRTVersionError, answers_reference,
                                      check_answers, check_tool_version, load_tool, nprt_buffer)
from reddplus.accounting.pools import (POOL_RULES, POOLS, BaselineEmissionFactor, PoolsResult,
                                       PostDeforestationStock, baseline_emission_factor, decide_pools,
                                       emission_factor_from_pools, load_ipcc_defaults, post_deforestation_stock)
from reddplus.accounting.uncertainty import (UNCERTAINTY_RULES, ActivityData, EmissionFactorDistribution,
                                             PeriodUncertainty, UncertaintyResult, UncertaintyRule,
                                             activity_from_map_counts, activity_from_sample,
                                             approach1_halfwidth_percent, combined_uncertainty, ef_from_draws,
                                             ef_from_se, period_uncertainty, uncertainty_deduction, uncertainty_rule)

__all__ = ["EXAMPLE_ANSWERS", "POOLS", "POOL_RULES", "UNCERTAINTY_RULES", "ActivityData", "BaselineEmissionFactor",
           "CreditRow", "CreditsTable", "Deduction", "EmissionFactor", "EmissionFactorDistribution",
           "LeakageComponent", "LeakageResult", "LossEvent", "LossEventReport", "NPRTAnswerError", "NPRTConstant",
           "NPRTFailedError", "NPRTFailure", "NPRTProblem", "NPRTResult", "NPRTVersionCheck", "NPRTVersionError",
           "PeriodUncertainty",
           "PoolsResult", "PostDeforestationStock", "Reversal", "UncertaintyResult", "UncertaintyRule",
           "VintageInput", "activity_from_map_counts", "answers_reference", "check_answers", "check_tool_version", "activity_from_sample", "activity_shifting_leakage_tco2e",
           "approach1_halfwidth_percent", "baseline_emission_factor", "belt_activity_shifting_leakage",
           "beyond_belt_leakage", "combined_uncertainty", "decide_pools", "ef_from_draws", "ef_from_se",
           "emission_factor", "emission_factor_from_pools", "emissions_tco2e", "load_ipcc_defaults", "load_tool",
           "loss_event_report", "market_leakage", "net_credits", "nprt_buffer", "period_uncertainty",
           "post_deforestation_stock", "total_leakage", "uncertainty_deduction", "uncertainty_rule",
           "weighted_emission_factor"]
