"""Arithmetic properties of the error-matrix estimators (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reddplus.accuracy.olofsson import estimate_from_error_matrix


@st.composite
def error_matrices(draw, max_q=5):
    q = draw(st.integers(2, max_q))
    counts = np.array([[draw(st.integers(0, 50)) for _ in range(q)] for _ in range(q)])
    counts[np.arange(q), np.arange(q)] += 2  # >= 2 samples per row
    areas = np.array([draw(st.floats(1.0, 1e7)) for _ in range(q)])
    return counts, areas


@settings(max_examples=150, deadline=None)
@given(error_matrices())
def test_areas_sum_to_total_and_proportions_to_one(case):
    counts, areas = case
    e = estimate_from_error_matrix(counts, areas)
    assert e.area_proportion.sum() == pytest.approx(1.0, rel=1e-12)
    assert e.area.sum() == pytest.approx(areas.sum(), rel=1e-12)
    assert e.error_matrix.sum(axis=1) == pytest.approx(areas / areas.sum(), rel=1e-12)
    assert 0.0 <= e.overall_accuracy <= 1.0 + 1e-12
    for arr in (e.user_accuracy, e.producer_accuracy[~np.isnan(e.producer_accuracy)]):
        assert np.all((arr >= 0) & (arr <= 1 + 1e-12))
    assert np.all(e.area_se >= 0) and np.all(e.area_ci_halfwidth >= e.area_se)


@settings(max_examples=100, deadline=None)
@given(error_matrices(), st.integers(2, 20))
def test_intervals_shrink_with_sample_size(case, k):
    """Multiplying every count by k keeps the estimates and shrinks every SE (by ~sqrt(k))."""
    counts, areas = case
    a = estimate_from_error_matrix(counts, areas)
    b = estimate_from_error_matrix(counts * k, areas)
    np.testing.assert_allclose(b.area, a.area, rtol=1e-9)
    np.testing.assert_allclose(b.user_accuracy, a.user_accuracy, rtol=1e-9)
    assert np.all(b.area_ci_halfwidth <= a.area_ci_halfwidth + 1e-9)
    assert np.all(b.user_accuracy_ci_halfwidth <= a.user_accuracy_ci_halfwidth + 1e-12)
    assert b.overall_accuracy_ci_halfwidth <= a.overall_accuracy_ci_halfwidth + 1e-12


@settings(max_examples=100, deadline=None)
@given(error_matrices(), st.floats(1e-4, 1e4))
def test_area_unit_is_a_pure_scale(case, factor):
    """Pixels vs hectares: areas and SEs scale with the unit, accuracies do not change."""
    counts, areas = case
    a = estimate_from_error_matrix(counts, areas)
    b = estimate_from_error_matrix(counts, areas * factor)
    np.testing.assert_allclose(b.area, a.area * factor, rtol=1e-9)
    np.testing.assert_allclose(b.area_se, a.area_se * factor, rtol=1e-9)
    np.testing.assert_allclose(b.producer_accuracy_se, a.producer_accuracy_se, rtol=1e-9)
    assert b.overall_accuracy == pytest.approx(a.overall_accuracy, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(error_matrices(max_q=3))
def test_perfect_map_has_exact_areas(case):
    """A diagonal error matrix: areas equal the mapped areas, accuracies are 1 with zero SE."""
    counts, areas = case
    diag = np.diag(np.diag(counts))
    e = estimate_from_error_matrix(diag, areas)
    np.testing.assert_allclose(e.area, areas, rtol=1e-12)
    np.testing.assert_allclose(e.area_se, 0, atol=1e-9)
    assert e.overall_accuracy == pytest.approx(1.0)
