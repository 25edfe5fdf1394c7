"""Known answers for the Stehman (2014) estimators (strata different from the map classes)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reddplus.accuracy.olofsson import estimate_from_error_matrix
from reddplus.accuracy.stehman import estimate_from_samples, stratified_proportion, stratified_ratio
from reddplus.errors import InputDataError

# Stehman 2014 (IJRS 35:4923-4939), section 3 numerical example: 40 points, 10 per stratum 1-4
# (here labelled A-D as in the mapaccuracy R package), stratum sizes N_h = 40,000 / 30,000 /
# 20,000 / 10,000 pixels; map and reference classes A-D (Table 2 of the paper).
STRATUM = ["A"] * 10 + ["B"] * 10 + ["C"] * 10 + ["D"] * 10
MAP = list("AAAAAAABBB") + list("ABBBBBBBBB") + list("BBCCCCCCBB") + ["D"] * 10
REF = list("AAAAACBABC") + list("ABBBBBAABB") + list("CCCCCDDBBA") + list("DDDDDDDCCB")
SIZES = {"A": 40_000, "B": 30_000, "C": 20_000, "D": 10_000}


def test_stehman2014_published_estimates():
    """Stehman 2014, pp. 4932-4936 (values printed to 2-3 decimals): p_A = 0.35, p_C = 0.20,
    OA = 0.63, UA_B = 0.574, PA_B = 0.794, p_BC = 0.08 (error matrix cell, map B / reference C);
    SE(p_A) = 0.082, SE(p_C) = 0.064, SE(OA) = 0.085, SE(UA_B) = 0.125, SE(PA_B) = 0.117."""
    e = estimate_from_samples(STRATUM, MAP, REF, SIZES)
    i = {c: k for k, c in enumerate(e.classes)}
    assert e.classes == ("A", "B", "C", "D")
    assert e.area_proportion[i["A"]] == pytest.approx(0.35, abs=1e-12)
    assert e.area_proportion[i["C"]] == pytest.approx(0.20, abs=1e-12)
    assert e.overall_accuracy == pytest.approx(0.63, abs=1e-12)
    assert e.user_accuracy[i["B"]] == pytest.approx(0.574, abs=5e-4)
    assert e.producer_accuracy[i["B"]] == pytest.approx(0.794, abs=5e-4)
    assert e.error_matrix[i["B"], i["C"]] == pytest.approx(0.08, abs=1e-12)
    assert e.area_proportion_se[i["A"]] == pytest.approx(0.082, abs=5e-4)
    assert e.area_proportion_se[i["C"]] == pytest.approx(0.064, abs=5e-4)
    assert e.overall_accuracy_se == pytest.approx(0.085, abs=5e-4)
    assert e.user_accuracy_se[i["B"]] == pytest.approx(0.125, abs=5e-4)
    assert e.producer_accuracy_se[i["B"]] == pytest.approx(0.117, abs=5e-4)


def test_stehman2014_unrounded_with_fpc():
    """Unrounded values of the same example with the finite population correction, from the
    mapaccuracy R package (hagc/mapaccuracy man/stehman2014.Rd example, values quoted in
    PyMapAccuracy tests/test_stehman2014.py::test_stehman2014_paper_example): SE(p_A) 0.0822478,
    SE(p_C) 0.06427977, SE(OA) 0.08464219, SE(UA_B) 0.1247822, SE(PA_B) 0.1165479; UA_B 0.5744681,
    PA_B 0.7941176."""
    e = estimate_from_samples(STRATUM, MAP, REF, SIZES, finite_population_correction=True)
    assert e.area_proportion_se[0] == pytest.approx(0.0822478, abs=1e-7)
    assert e.area_proportion_se[2] == pytest.approx(0.06427977, abs=1e-8)
    assert e.overall_accuracy_se == pytest.approx(0.08464219, abs=1e-8)
    assert e.user_accuracy[1] == pytest.approx(0.5744681, abs=1e-7)
    assert e.producer_accuracy[1] == pytest.approx(0.7941176, abs=1e-7)
    assert e.user_accuracy_se[1] == pytest.approx(0.1247822, abs=1e-7)
    assert e.producer_accuracy_se[1] == pytest.approx(0.1165479, abs=1e-7)


def test_stehman2014_unrounded_without_fpc():
    """Same example without the finite population correction, from EnMAP-Box
    (enmapboxprocessing/test/algorithm/test_ClassificationPerformanceStratifiedAlgorithm.py,
    test_stehmanData): error matrix of proportions [[.23,.04,.04,0],[.12,.27,.08,0],[0,.02,.06,.04],
    [0,.01,.02,.07]]; UA .7419355/.5744681/.5/.7 (SE .1645627/.1248023/.2151657/.1527525);
    PA .6571429/.7941176/.3/.6363636 (SE .1477318/.1165671/.1504438/.1623242); OA .63 (SE .08465617);
    area proportions .35/.34/.20/.11 (SE .08225975/.07586538/.06429101/.03073181)."""
    e = estimate_from_samples(STRATUM, MAP, REF, SIZES, finite_population_correction=False)
    np.testing.assert_allclose(e.error_matrix, [[.23, .04, .04, 0], [.12, .27, .08, 0], [0, .02, .06, .04],
                                                [0, .01, .02, .07]], atol=1e-12)
    np.testing.assert_allclose(e.user_accuracy, [.7419355, .5744681, .5, .7], atol=1e-7)
    np.testing.assert_allclose(e.user_accuracy_se, [.1645627, .1248023, .2151657, .1527525], atol=1e-7)
    np.testing.assert_allclose(e.producer_accuracy, [.6571429, .7941176, .3, .6363636], atol=1e-7)
    np.testing.assert_allclose(e.producer_accuracy_se, [.1477318, .1165671, .1504438, .1623242], atol=1e-7)
    assert e.overall_accuracy_se == pytest.approx(.08465617, abs=1e-8)
    np.testing.assert_allclose(e.area_proportion, [.35, .34, .20, .11], atol=1e-12)
    np.testing.assert_allclose(e.area_proportion_se, [.08225975, .07586538, .06429101, .03073181], atol=1e-8)
    np.testing.assert_allclose(e.sample_counts.sum(), 40)


@st.composite
def _sample_with_map_strata(draw):
    """Random error matrices (>= 2 samples per row) and mapped areas."""
    q = draw(st.integers(2, 4))
    counts = np.array([[draw(st.integers(0, 12)) for _ in range(q)] for _ in range(q)])
    counts[np.arange(q), np.arange(q)] += 2
    sizes = [draw(st.integers(1_000, 10**7)) for _ in range(q)]
    return counts, sizes


@settings(max_examples=60, deadline=None)
@given(_sample_with_map_strata())
def test_stehman_reduces_to_olofsson_when_strata_are_map_classes(case):
    """Stehman 2014 (section 2): with strata = map classes and no finite population correction the
    ratio/stratified estimators equal Olofsson et al. 2014 eqs. 2-10."""
    counts, sizes = case
    q = len(sizes)
    labels = [f"c{k}" for k in range(q)]
    s, m, r = [], [], []
    for i in range(q):
        for j in range(q):
            s += [labels[i]] * counts[i, j]
            m += [labels[i]] * counts[i, j]
            r += [labels[j]] * counts[i, j]
    a = estimate_from_samples(s, m, r, dict(zip(labels, sizes)), classes=labels, finite_population_correction=False)
    b = estimate_from_error_matrix(counts, sizes, labels)
    for name in ("area_proportion", "area_proportion_se", "user_accuracy", "user_accuracy_se", "producer_accuracy",
                 "producer_accuracy_se", "error_matrix"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-9, atol=1e-12, err_msg=name)
    assert a.overall_accuracy == pytest.approx(b.overall_accuracy, rel=1e-12)
    assert a.overall_accuracy_se == pytest.approx(b.overall_accuracy_se, rel=1e-9, abs=1e-15)


def test_stratified_proportion_single_stratum_is_srs():
    """One stratum: the estimator is the sample mean with variance (1 - n/N) s^2 / n (Cochran 1977
    eq. 2.18 / Stehman 2014 eq. 25 with H = 1)."""
    y = np.array([1, 0, 1, 1, 0, 0, 0, 1, 1, 1], float)
    est, se = stratified_proportion(np.zeros(10, int), y, [200])
    assert est == pytest.approx(0.6)
    assert se == pytest.approx(np.sqrt((1 - 10 / 200) * y.var(ddof=1) / 10))


def test_ratio_with_empty_denominator_is_nan():
    est, se = stratified_ratio([0, 0, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0], [10, 10])
    assert np.isnan(est) and np.isnan(se)


@pytest.mark.parametrize("strata, sizes, match", [
    (["A", "A", "X", "X"], {"A": 10, "B": 10}, "not in the strata table"),
    (["A", "A", "A", "A"], {"A": 10, "B": 10}, "has no sample"),
    (["A", "A", "A", "B"], {"A": 10, "B": 10}, "single sample"),
    (["A", "A", "B", "B"], {"A": 10, "B": 1}, "more samples"),
    (["A", "A", "B", "B"], {"A": 10, "B": 0}, "positive size"),
])
def test_bad_point_samples(strata, sizes, match):
    with pytest.raises(InputDataError, match=match):
        estimate_from_samples(strata, ["f", "n", "f", "n"], ["f", "f", "n", "n"], sizes)


def test_mismatched_lengths():
    with pytest.raises(InputDataError, match="one entry per sample"):
        estimate_from_samples(["A", "A"], ["f"], ["f", "n"], {"A": 5})
