"""Sample size (Olofsson et al. 2014 eq. 13) and allocation with a minimum per rare stratum."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from reddplus.accuracy.sample_size import (allocate_with_minimum, expected_overall_accuracy_se,
                                           sample_size_overall_accuracy)
from reddplus.errors import InputDataError

W_2014 = [0.02, 0.015, 0.32, 0.645]
UA_2014 = [0.70, 0.60, 0.90, 0.95]


def test_olofsson2014_section5_sample_size():
    """Olofsson et al. 2014, section 5.1.1: W = 0.02/0.015/0.32/0.645 (deforestation, gain, stable
    forest, stable non-forest), conjectured UA 0.70/0.60/0.90/0.95, target S(O) = 0.01 -> n = 641
    (also in pyeo's validation example, total_sample_size = 641); N = 10^7 pixels changes nothing."""
    assert sample_size_overall_accuracy(W_2014, UA_2014, 0.01) == 641
    assert sample_size_overall_accuracy(W_2014, UA_2014, 0.01, population_size=1e7) == 641
    # eq. 13 with the finite-population term: a small population needs fewer units
    assert sample_size_overall_accuracy(W_2014, UA_2014, 0.01, population_size=2000) < 641


def test_sample_size_inverts_eq5_at_neyman_allocation():
    """Eq. 13 is Cochran's (1977) eq. 5.25: it inverts eq. 5 for the optimal (Neyman) allocation
    n_h = n W_h S_h / sum(W S) (with n_h - 1 ~ n_h): the expected SE at the returned n is the target."""
    n = sample_size_overall_accuracy(W_2014, UA_2014, 0.02)
    w, u = np.array(W_2014), np.array(UA_2014)
    s = np.sqrt(u * (1 - u))
    n_h = n * w * s / (w * s).sum() * 1e3  # large n: n_h - 1 ~ n_h
    se = expected_overall_accuracy_se(W_2014, UA_2014, n_h) * np.sqrt(1e3)
    assert se == pytest.approx(0.02, rel=5e-3)  # n is rounded up: SE slightly below


def test_allocation_olofsson2014_minimum_75():
    """Olofsson et al. 2014 section 5.1.2: 75 units to each rare change stratum, the rest shared in
    proportion to the stable strata's weights."""
    n_h = allocate_with_minimum(641, W_2014, 75)
    assert n_h.tolist()[:2] == [75, 75]
    assert n_h.sum() == 641
    assert n_h[2] / n_h[3] == pytest.approx(0.32 / 0.645, rel=0.01)


def test_allocation_is_capped_by_stratum_size():
    n_h = allocate_with_minimum(641, W_2014, 75, stratum_size=[10, 10**6, 10**6, 10**6])
    assert n_h[0] == 10 and n_h.sum() == 641


def test_minimums_beyond_total_raise_the_total():
    n_h = allocate_with_minimum(10, [0.1, 0.1, 0.8], 5)
    assert n_h.tolist() == [5, 5, 5]


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 5000), st.lists(st.one_of(st.just(0.0), st.floats(1e-6, 1.0)), min_size=1, max_size=8),
       st.integers(0, 100))
def test_allocation_properties(n, weights, n_min):
    """Allocation sums to n whenever the minimums fit, every stratum with weight gets >= the minimum,
    and strata above the minimum keep the proportions of their weights (within rounding)."""
    w = np.array(weights)
    assume(w.sum() > 1e-6)
    n_h = allocate_with_minimum(n, w, n_min)
    used = w > 0
    assert np.all(n_h[~used] == 0)
    assert np.all(n_h[used] >= n_min)
    if n_min * used.sum() <= n:
        assert n_h.sum() == n
    big = used & (n_h > n_min + 1)
    if big.sum() >= 2:
        ratio = n_h[big] / w[big]
        assert ratio.max() - ratio.min() <= 2.0 / w[big].min() + 1e-6


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.01, 1.0), min_size=2, max_size=6), st.floats(0.5, 0.99), st.floats(0.005, 0.05))
def test_smaller_target_se_needs_more_samples(weights, ua, se):
    u = [ua] * len(weights)
    assert sample_size_overall_accuracy(weights, u, se / 2) >= 4 * sample_size_overall_accuracy(weights, u, se) - 4


@pytest.mark.parametrize("ua, se, match", [([0.7, 1.2], 0.01, r"\[0, 1\]"), ([0.7], 0.01, "one expected"),
                                           ([0.7, 0.8], 0.0, "positive")])
def test_bad_sample_size_inputs(ua, se, match):
    with pytest.raises(InputDataError, match=match):
        sample_size_overall_accuracy([0.5, 0.5], ua, se)
