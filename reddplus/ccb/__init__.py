"""Climate, Community & Biodiversity Standards v3.1: data model, map indicators, report section.

* :mod:`~reddplus.ccb.criteria`: the 20 criteria (17 required, GL1-GL3 optional) and the APPROVED / GOLD rule;
* :mod:`~reddplus.ccb.model`, :mod:`~reddplus.ccb.io`: the ``ccb/`` folder (TOML, CSV, GeoPackage),
  :func:`read_ccb` / :func:`validate_ccb` (every problem, naming file, row, column or key);
* :mod:`~reddplus.ccb.landscape`: habitat area, core area and fragmentation (FRAGSTATS class metrics),
  streamed by blocks with labels merged across seams;
* :mod:`~reddplus.ccb.hydrology`: catchments upstream of intakes (pyflwdir), riparian buffers;
* :mod:`~reddplus.ccb.scenario`: the without-project inputs (VCS baseline, counterfactual);
* :mod:`~reddplus.ccb.indicators`, :mod:`~reddplus.ccb.tool`: the map-based indicators per monitoring period;
* :mod:`~reddplus.ccb.results`: :class:`CcbResults` (``to_dict()`` = summary.json's ``ccb`` object);
* :mod:`~reddplus.ccb.report`: the CCB section of the report (HTML, PNG figures, PDF).
"""

from reddplus.ccb.criteria import CRITERIA, Criterion, outcome, parse_criterion
from reddplus.ccb.io import CcbDataset, CcbValidation, CcbValidationError, Problem, read_ccb, validate_ccb
from reddplus.ccb.results import CcbResults, ChecklistItem, IndicatorResult, PeriodValue, assemble
from reddplus.ccb.scenario import BaselineInputs, CounterfactualInputs
from reddplus.ccb.tool import ccb_results, ccb_step, ccb_zones

__all__ = ["CRITERIA", "BaselineInputs", "CcbDataset", "CcbResults", "CcbValidation", "CcbValidationError",
           "ChecklistItem", "Criterion", "CounterfactualInputs", "IndicatorResult", "PeriodValue", "Problem",
           "assemble", "ccb_results", "ccb_step", "ccb_zones", "outcome", "parse_criterion", "read_ccb",
           "validate_ccb"]
