"""Known answers for the error-matrix estimators (Olofsson et al. 2013, 2014)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reddplus.accuracy import olofsson as ol
from reddplus.accuracy.tools import estimate_counts_file
from reddplus.errors import InputDataError

#: Olofsson et al. 2014, section 5 (Table 8): sample counts, rows = map, cols = reference, in the
#: order deforestation, forest gain, stable forest, stable non-forest; mapped areas in 30 m pixels.
OLOFSSON2014_COUNTS = [[66, 0, 5, 4], [0, 55, 8, 12], [1, 0, 153, 11], [2, 1, 9, 313]]
OLOFSSON2014_PIXELS = [200_000, 150_000, 3_200_000, 6_450_000]


@pytest.mark.parametrize("example", [1, 2])
def test_olofsson2013_examples_shared_data(shared, example):
    """Olofsson et al. 2013 (RSE 129:122-131) examples 1 and 2, with the expected values in
    ../shared/data/accuracy_area_estimation (see its PROVENANCE.md: transcribed from mapaccuracy /
    PyMapAccuracy tests, re-computed independently). Ex. 1: class-1 area 45,112.4 px, SE 10,751.4 px,
    OA 0.9444168; ex. 2: OA 0.961 +- 0.012. 95 % intervals with z = 1.96."""
    counts = shared("accuracy_area_estimation", f"olofsson2013_example{example}_sample_counts.csv")
    expected = pd.read_csv(shared("accuracy_area_estimation", f"olofsson2013_example{example}_expected.csv"))
    est = estimate_counts_file(counts, confidence=0.95)
    assert est.classes == tuple(str(c) for c in expected["class"])
    np.testing.assert_allclose(est.user_accuracy, expected["UA"], rtol=1e-6)
    np.testing.assert_allclose(est.producer_accuracy, expected["PA"], rtol=1e-6)
    np.testing.assert_allclose(est.area_proportion, expected["area_proportion"], rtol=1e-6)
    np.testing.assert_allclose(est.area_proportion_se, expected["area_se_proportion"], rtol=1e-5)
    np.testing.assert_allclose(est.area, expected["area"], rtol=1e-6)
    np.testing.assert_allclose(est.area_se, expected["area_se"], rtol=1e-6)
    # the expected half-widths use z = 1.96; ours use the exact quantile 1.959964 (2e-5 relative)
    np.testing.assert_allclose(est.user_accuracy_ci_halfwidth, expected["UA_ci95_halfwidth"], rtol=5e-5)
    np.testing.assert_allclose(est.producer_accuracy_ci_halfwidth, expected["PA_ci95_halfwidth"], rtol=5e-5)
    assert est.overall_accuracy == pytest.approx(expected["OA"][0], rel=1e-6)
    assert est.overall_accuracy_ci_halfwidth == pytest.approx(expected["OA_ci95_halfwidth"][0], rel=5e-5)


def test_olofsson2014_section5_published_table():
    """Olofsson et al. 2014 (RSE 148:42-57), section 5, p. 54: published estimates (95 % CI) with
    30 m pixels (0.09 ha): deforestation 21,158 +- 6,158 ha, forest gain 11,686 +- 3,756 ha, stable
    forest 285,770 +- 15,510 ha, stable non-forest 581,386 +- 16,282 ha; UA 0.88 +- 0.07, 0.73 +- 0.10,
    0.93 +- 0.04, 0.96 +- 0.02; PA 0.75 +- 0.21, 0.85 +- 0.25, 0.93 +- 0.03, 0.96 +- 0.02;
    OA 0.95 +- 0.02."""
    est = ol.estimate_from_error_matrix(OLOFSSON2014_COUNTS, np.array(OLOFSSON2014_PIXELS) * 0.09,
                                        ["deforestation", "forest gain", "stable forest", "stable non-forest"],
                                        confidence=0.95, area_unit="ha")
    np.testing.assert_allclose(est.area, [21_158, 11_686, 285_770, 581_386], atol=0.5)
    # the paper rounds z to 1.96 (16,281.7 -> 16,282): half-widths within 1 ha
    np.testing.assert_allclose(est.area_ci_halfwidth, [6_158, 3_756, 15_510, 16_282], atol=1.0)
    np.testing.assert_allclose(est.user_accuracy, [0.88, 0.73, 0.93, 0.96], atol=0.005)
    np.testing.assert_allclose(est.user_accuracy_ci_halfwidth, [0.07, 0.10, 0.04, 0.02], atol=0.005)
    np.testing.assert_allclose(est.producer_accuracy, [0.75, 0.85, 0.93, 0.96], atol=0.005)
    np.testing.assert_allclose(est.producer_accuracy_ci_halfwidth, [0.21, 0.25, 0.03, 0.02], atol=0.005)
    assert est.overall_accuracy == pytest.approx(0.95, abs=0.005)
    assert est.overall_accuracy_ci_halfwidth == pytest.approx(0.02, abs=0.005)


def test_olofsson2014_unrounded_values():
    """Same example, unrounded values from the mapaccuracy R package example (hagc/mapaccuracy,
    man/olofsson.Rd) as reproduced in PyMapAccuracy tests/test_olofsson.py (test_olofsson_table8_2014):
    OA 0.9465119 +- 0.01848328; PA 0.7486614, 0.8471564, 0.9345089, 0.9616090."""
    est = ol.estimate_from_error_matrix(OLOFSSON2014_COUNTS, np.array(OLOFSSON2014_PIXELS) * 0.09,
                                        confidence=0.95)
    assert est.overall_accuracy == pytest.approx(0.9465119, abs=1e-7)
    assert est.overall_accuracy_ci_halfwidth == pytest.approx(0.01848328, abs=1e-7)
    np.testing.assert_allclose(est.producer_accuracy, [0.7486614, 0.8471564, 0.9345089, 0.9616090], atol=1e-7)
    np.testing.assert_allclose(est.producer_accuracy_ci_halfwidth, [0.21330593, 0.25440369, 0.03432379, 0.01836120],
                               atol=1e-7)


def test_confidence_level_scales_intervals():
    """90 % (VCS) vs 95 % intervals: same SEs, half-widths in the ratio 1.6449 / 1.9600."""
    e90 = ol.estimate_from_error_matrix(OLOFSSON2014_COUNTS, OLOFSSON2014_PIXELS)
    e95 = e90.with_confidence(0.95)
    assert e90.confidence == 0.90 and e90.z == pytest.approx(1.644854, abs=1e-6)
    np.testing.assert_allclose(e95.area_ci_halfwidth / e90.area_ci_halfwidth, 1.959964 / 1.644854, rtol=1e-6)
    np.testing.assert_array_equal(e95.area_se, e90.area_se)


def test_unsampled_reference_class_has_no_producer_accuracy():
    """A reference class never observed (all-zero column, e.g. a buffer stratum) has zero area and an
    undefined producer's accuracy (NaN, null in JSON), not an error."""
    est = ol.estimate_from_error_matrix([[10, 2, 0], [1, 20, 0], [3, 4, 0]], [100, 300, 50])
    assert est.area_proportion[2] == 0
    assert np.isnan(est.producer_accuracy[2]) and np.isnan(est.producer_accuracy_se[2])
    assert est.to_dict()["classes"][2]["producer_accuracy"] != est.to_dict()["classes"][2]["producer_accuracy"]


@pytest.mark.parametrize("counts, areas, match", [
    ([[5, 1], [0, 0]], [10, 10], "zero row total"),
    ([[5, 1], [1, 0]], [10, 10], "single sample"),
    ([[5, -1], [1, 3]], [10, 10], "non-negative integers"),
    ([[5, 1.5], [1, 3]], [10, 10], "non-negative integers"),
    ([[5, 1, 0], [1, 3, 0]], [10, 10], "square"),
    ([[5, 1], [1, 3]], [10, -1], "non-negative"),
    ([[5, 1], [1, 3]], [0, 0], "sum to zero"),
])
def test_bad_error_matrix(counts, areas, match):
    with pytest.raises(InputDataError, match=match):
        ol.estimate_from_error_matrix(counts, areas)


def test_zero_row_total_names_the_class():
    with pytest.raises(InputDataError) as info:
        ol.estimate_from_error_matrix([[5, 1, 0], [0, 0, 0], [1, 1, 4]], [1, 2, 3], ["loss", "forest", "other"])
    assert "'forest'" in str(info.value) and info.value.row == 2


def test_reference_only_class_zero_row_with_zero_mapped_area():
    """A class seen only in the reference data (never mapped): a zero row with mapped area 0 is
    accepted. Olofsson 2013 ex. 1 with 2 samples of map class 3 relabelled as reference class 4
    (the 'extra reference class' case of PyMapAccuracy tests/test_olofsson.py, from the mapaccuracy
    R package): area proportion of class 4 = 0.006953674, SE 0.004892094, PA 0 with SE 0."""
    counts = [[97, 0, 3, 0], [3, 279, 18, 0], [2, 1, 95, 2], [0, 0, 0, 0]]
    e = ol.estimate_from_error_matrix(counts, [22353, 1122543, 610228, 0], ["1", "2", "3", "4"])
    assert e.area_proportion[3] == pytest.approx(0.006953674, abs=1e-9)
    assert e.area_proportion_se[3] == pytest.approx(0.004892094, abs=1e-9)
    assert e.producer_accuracy[3] == 0 and e.producer_accuracy_se[3] == 0
    assert np.isnan(e.user_accuracy[3]) and np.isnan(e.user_accuracy_se[3])
    assert e.area_proportion.sum() == pytest.approx(1.0)
    assert np.isfinite(e.overall_accuracy_se) and np.all(np.isfinite(e.producer_accuracy_se))
