"""Ex-post counterfactual by pixel matching, additionality, leakage and the over-crediting ratio.

Steps (each a pure function, cited in its docstring):

1. :mod:`~reddplus.counterfactual.sampling`: systematic, seeded samples of project / belt / candidate pixels;
2. candidate pool: jurisdiction pixels outside the project, a buffer and protected areas
   (:func:`~reddplus.counterfactual.tool.sample_pixels`);
3-5. :mod:`~reddplus.counterfactual.matching`: hard matching on forest-cover history and categories,
   Mahalanobis soft matching with a caliper, greedy nearest neighbour without replacement, repeats, SMD;
6-7. :mod:`~reddplus.counterfactual.outcomes`: deforestation rates, avoided deforestation/emissions,
   leakage, and :func:`~reddplus.counterfactual.outcomes.overcrediting_ratio`.

The path-level tool :func:`run_counterfactual` streams the rasters through :mod:`reddplus.raster`.
"""

import logging

from reddplus.counterfactual.matching import (default_caliper, greedy_match, hard_match_keys, mahalanobis_whitener,
                                              repeated_matching, standardised_mean_difference)
from reddplus.counterfactual.outcomes import (Interval, OvercreditingRatio, annualise, annual_deforestation_rate,
                                              avoided_deforestation_ha, avoided_emissions_tco2e, overcrediting_ratio,
                                              period_deforestation_fraction, repeat_interval)
from reddplus.counterfactual.sampling import lattice_positions, systematic_origin, systematic_step_px
from reddplus.counterfactual.tool import (CounterfactualResult, InsufficientCandidatesError, PixelSample,
                                          estimate_counterfactual, read_baseline_series, run_counterfactual,
                                          sample_pixels)

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["CounterfactualResult", "InsufficientCandidatesError", "Interval", "OvercreditingRatio", "PixelSample",
           "annual_deforestation_rate", "annualise", "avoided_deforestation_ha", "avoided_emissions_tco2e",
           "default_caliper", "estimate_counterfactual", "greedy_match", "hard_match_keys", "lattice_positions",
           "mahalanobis_whitener", "overcrediting_ratio", "period_deforestation_fraction", "read_baseline_series", "repeat_interval",
           "repeated_matching", "run_counterfactual", "sample_pixels", "standardised_mean_difference",
           "systematic_origin", "systematic_step_px"]
