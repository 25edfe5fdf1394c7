"""Accuracy assessment and sample-based area estimation.

* :mod:`~reddplus.accuracy.olofsson`: stratified estimators from an error matrix of sample counts
  and mapped areas (Olofsson et al. 2013, 2014);
* :mod:`~reddplus.accuracy.stehman`: estimators when the sampling strata differ from the map
  classes (Stehman 2014);
* :mod:`~reddplus.accuracy.sample_size`: sample size for a target SE of overall accuracy (Olofsson
  et al. 2014 eq. 13) and allocation with a minimum per rare stratum;
* :mod:`~reddplus.accuracy.design`: stratified random sampling of a change-map raster, streamed, and of a
  forest-change map for a period's activity data (map classes within project / leakage belt / rest);
* :mod:`~reddplus.accuracy.reference`: activity data (deforestation of the jurisdiction, project and
  belt, with sampling SEs) from an interpreted reference sample;
* :mod:`~reddplus.accuracy.io` / :mod:`~reddplus.accuracy.tools`: files in, files out.

Both estimators return one :class:`AreaAccuracyEstimate`. :data:`ESTIMATORS` names them; pick one
explicitly (an error matrix of counts -> ``olofsson2014``, a point sample with its own strata ->
``stehman2014``).
"""

from reddplus.accuracy.design import (SampleDesign, count_strata, design_reference_sample,
                                      design_reference_sample_arrays, design_sample, draw_ranks)
from reddplus.accuracy.olofsson import estimate_from_error_matrix
from reddplus.accuracy.reference import (ReferenceSampleActivity, ReferenceSampleConfig, estimate_period_activity,
                                         reference_sample_activity)
from reddplus.accuracy.result import AreaAccuracyEstimate, z_score
from reddplus.accuracy.sample_size import (allocate_with_minimum, expected_overall_accuracy_se,
                                           sample_size_overall_accuracy)
from reddplus.accuracy.stehman import estimate_from_samples

#: estimator name -> function (explicit model choice; never inferred from the inputs present)
ESTIMATORS = {
    "olofsson2014": estimate_from_error_matrix,
    "stehman2014": estimate_from_samples,
}

__all__ = ["ESTIMATORS", "AreaAccuracyEstimate", "ReferenceSampleActivity", "ReferenceSampleConfig", "SampleDesign",
           "allocate_with_minimum", "count_strata", "design_reference_sample", "design_reference_sample_arrays",
           "design_sample", "draw_ranks", "estimate_from_error_matrix", "estimate_from_samples",
           "estimate_period_activity", "expected_overall_accuracy_se", "reference_sample_activity",
           "sample_size_overall_accuracy", "z_score"]
