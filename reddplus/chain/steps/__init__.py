"""The steps of a crediting run: one function per step, typed inputs, a frozen typed result.

Each step calls the pure functions and path-level tools of its own package; nothing here does
science of its own. Steps that write rasters take the run directory ``root`` and return paths
relative to it.

=======================  ==================================================================
step                     package (methodology)
=======================  ==================================================================
carbon_stocks            :mod:`reddplus.stocks` (Chave et al. 2014 eq. 4; IPCC 2006 vol. 4 ch. 4)
activity                 :mod:`reddplus.landcover` (map counts per zone and year)
reference_activity       :mod:`reddplus.accuracy.reference` (Olofsson et al. 2014; Stehman 2014)
baseline                 :mod:`reddplus.baseline` and :mod:`reddplus.risk` (VT0007 v1.0: validity
                         periods, rate, benchmark, tested alternative, allocation; or the delivered
                         allocation)
emission_factors         :mod:`reddplus.accounting.pools` (VMD0055 v1.1 section 5.3)
non_permanence           :mod:`reddplus.accounting.nprt` (AFOLU Non-Permanence Risk Tool v4.2)
counterfactual           :mod:`reddplus.counterfactual` (pixel matching, over-crediting ratio)
credits                  :mod:`reddplus.accounting` (leakage, uncertainty, buffer, reversals, VCUs)
ccb                      :mod:`reddplus.ccb` (CCB v3.1 monitoring and section)
issuance                 :mod:`reddplus.registry.issuance` (serial-number blocks, reversals, labels)
=======================  ==================================================================
"""

from reddplus.chain.steps.activity import activity, reference_activity
from reddplus.chain.steps.baseline import allocate_years, baseline, jurisdictional_rate, risk_map, validity
from reddplus.chain.steps.credibility import ccb, counterfactual
from reddplus.chain.steps.credits import credits, non_permanence
from reddplus.chain.steps.issuance import issuance
from reddplus.chain.steps.stocks import (carbon_stocks, emission_factors, project_stocks, stratum_stocks_from_inventory,
                                         stratum_stocks_from_table)

__all__ = ["activity", "allocate_years", "baseline", "carbon_stocks", "ccb", "counterfactual", "credits",
           "emission_factors", "issuance", "jurisdictional_rate", "non_permanence", "project_stocks",
           "reference_activity", "risk_map", "stratum_stocks_from_inventory", "stratum_stocks_from_table",
           "validity"]
