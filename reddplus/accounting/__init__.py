"""Credits accounting: emission factors, emissions and leakage, uncertainty, non-permanence buffer, VCUs.

* :func:`emission_factor` -> :class:`EmissionFactor` [t CO2e/ha] (VMD0055 section 5; IPCC 2006 vol. 4 eq. 2.16)
* :func:`weighted_emission_factor`, :func:`emissions_tco2e`, :func:`activity_shifting_leakage_tco2e`
  (VMD0055 section 5)
* :func:`combined_uncertainty` -> :class:`UncertaintyResult`; :func:`uncertainty_deduction` (VMD0017; VM0007 X-UNC)
* :func:`nprt_buffer` -> :class:`NPRTResult` (AFOLU Non-Permanence Risk Tool v4.2 by default, v4.0 where
  Verra allows it; questions and constants in ``nprt_v4_2.toml`` / ``nprt_v4_0.toml``);
  :func:`check_answers` (every problem at once), :func:`check_tool_version`, :func:`answers_reference`;
  :data:`EXAMPLE_ANSWERS`
* :func:`net_credits` (:class:`VintageInput` rows) -> :class:`CreditsTable` (VM0048 section 8.5; whole-tonne VCUs)

The jurisdictional rate is :func:`reddplus.baseline.rate.jurisdictional_rate`.
"""

from reddplus.accounting.credits import CreditRow, CreditsTable, VintageInput, net_credits
from reddplus.accounting.emissions import (EmissionFactor, activity_shifting_leakage_tco2e, emission_factor,
                                           emissions_tco2e, weighted_emission_factor)
from reddplus.accounting.nprt import (EXAMPLE_ANSWERS, NPRTAnswerError, NPRTConstant, NPRTFailedError, NPRTFailure,
                                      NPRTProblem, NPRTResult, NPRTVersionCheck, NPRTVersionError, answers_reference,
                                      check_answers, check_tool_version, load_tool, nprt_buffer)
from reddplus.accounting.uncertainty import UncertaintyResult, combined_uncertainty, uncertainty_deduction

__all__ = ["EXAMPLE_ANSWERS", "CreditRow", "CreditsTable", "EmissionFactor", "NPRTAnswerError", "NPRTConstant",
           "NPRTFailedError", "NPRTFailure", "NPRTProblem", "NPRTResult", "NPRTVersionCheck", "NPRTVersionError",
           "UncertaintyResult", "VintageInput", "activity_shifting_leakage_tco2e", "answers_reference",
           "check_answers", "check_tool_version", "combined_uncertainty", "emission_factor", "emissions_tco2e",
           "load_tool", "net_credits", "nprt_buffer", "uncertainty_deduction", "weighted_emission_factor"]
