"""Pure VT0007 functions: hand-computed answers and Hypothesis properties."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from reddplus.errors import ModelError
from reddplus.risk import vt0007 as v


def test_distance_to_edge_hand():
    f = np.ones((5, 5), bool)
    f[0, 0] = False
    d = v.distance_to_edge(f, 30.0)
    assert d[0, 0] == 0 and d[0, 1] == 30 and d[1, 1] == pytest.approx(30 * 2 ** 0.5)
    assert d[4, 4] == pytest.approx(30 * 32 ** 0.5)
    assert np.isinf(v.distance_to_edge(np.ones((3, 3), bool), 30.0)).all()


def test_histogram_and_nrt_hand():
    d = np.array([30, 30, 30, 60, 60, 90, 90.0001, 400])
    c = v.distance_histogram(d, 30.0, 300)
    assert c.tolist() == [3, 2, 1, 1, 0, 0, 0, 0, 0, 0, 1]
    nrt = v.negligible_risk_threshold(c, 30.0, 0.75)
    assert nrt.nrt_m == 90 and nrt.cumulative_share == pytest.approx(6 / 8)
    with pytest.raises(ModelError, match="not reached within the search distance"):
        v.negligible_risk_threshold(c, 30.0, 0.95)
    with pytest.raises(ModelError, match="no deforestation"):
        v.negligible_risk_threshold(np.zeros(11, int), 30.0)


def test_classes_geometric():
    b = v.class_breaks(3000.0, 30.0)
    assert len(b) == 29 and b[-1] == 3000 and np.allclose(np.diff(np.log(b)), np.log(100) / 29)
    d = np.array([30.0, b[0] + 1, 2999, 3000, 3001, 0])
    f = np.array([1, 1, 1, 1, 1, 0], bool)
    assert v.vulnerability_classes(d, f, 3000, 30).tolist() == [30, 29, 2, 2, 1, 0]


@given(arrays(np.float64, 50, elements=st.floats(30, 5000)), st.floats(60, 4000))
def test_classes_monotone(d, nrt):
    c = v.vulnerability_classes(d, np.ones(d.shape, bool), nrt, 30.0).astype(int)
    order = np.argsort(d, kind="stable")
    assert (np.diff(c[order]) <= 0).all() and c.min() >= 1 and c.max() <= 30


def test_fitted_density_fills_missing_region():
    nf = np.array([[0, 0], [100, 0], [50, 50]])   # class 1 has no forest in zone 1
    nd = np.array([[0, 0], [10, 0], [5, 10]])
    t = v.fitted_density(nf, nd, 0.09, 10)
    assert t.density_ha_per_pixel[1, 0] == pytest.approx(0.1 * 0.09)
    assert t.filled[1, 1] and t.density_ha_per_pixel[1, 1] == pytest.approx(10 / 100 * 0.09)
    assert t.density_ha_per_pixel[2, 1] == pytest.approx(0.2 * 0.09)
    with pytest.raises(ModelError):
        v.fitted_density(nf, np.zeros_like(nd), 0.09, 10)


@settings(max_examples=60)
@given(arrays(np.float64, st.integers(1, 30), elements=st.floats(1e-4, 1.0)), st.floats(0.01, 0.99))
def test_adjustment_ratio_matches_expected_with_cap(d, frac):
    n = np.full(d.shape, 10.0)
    cap = 1.0
    expected = frac * cap * n.sum()           # always feasible
    a = v.adjustment_ratio(d, n, expected, cap)
    assert a.allocated_ha == pytest.approx(expected, rel=1e-9)
    assert abs(a.allocation_error) < 1e-9
    assert (np.minimum(a.ratio * d, cap) <= cap).all()


def test_adjustment_ratio_infeasible_reports_error():
    a = v.adjustment_ratio(np.array([0.1, 0.2]), np.array([10, 10]), 50.0, 1.0)
    assert a.capped_share == 1.0 and a.allocated_ha == pytest.approx(20.0)
    assert a.allocation_error == pytest.approx(-0.6)


def test_assessment_and_acceptance():
    a = v.assessment_metrics([1, 2, 3, 10], [1, 3, 5, 10])
    assert a.medae_ha == 0.5 and a.mae_ha == 0.75
    assert a.r2 == pytest.approx(1 - 5 / np.var([1, 3, 5, 10]) / 4)
    worse = v.assessment_metrics([0, 0, 0, 0], [1, 3, 5, 10])
    assert v.accept_alternative(worse, worse, a, a)
    assert not v.accept_alternative(worse, a, a, a)      # must beat in both CAL and CNF
    assert v.cell_side_pixels(0.09, 100_000) == 1054


@settings(max_examples=50, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 40), st.integers(1, 40))), st.sampled_from([1, 3, 5, 21]))
def test_window_counts_equal_zero_padded_convolution(mask, w):
    from scipy import ndimage

    from reddplus.risk.localrate import window_counts

    ref = ndimage.convolve(mask.astype(np.int64), np.ones((w, w), np.int64), mode="constant", cval=0)
    np.testing.assert_array_equal(window_counts(mask, w), ref)


