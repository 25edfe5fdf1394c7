"""The compiled exact EDT (Felzenszwalb & Huttenlocher) and the NRT edge-pixel shortcut against SciPy."""

import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from reddplus.risk import vt0007 as v


@settings(max_examples=150, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 45), st.integers(1, 45))),
       st.sampled_from([30.0, 10.0, 1.0, 28.5, 0.5]))
def test_fast_edt_equals_scipy_bit_for_bit(forest, pixel):
    np.testing.assert_array_equal(v.distance_to_edge_fast(forest, pixel), v.distance_to_edge(forest, pixel))


@settings(max_examples=60, deadline=None)
@given(st.integers(5, 60), st.floats(0.3, 0.995), st.integers(0, 2**31))
def test_fast_edt_on_mostly_forest(n, share, seed):
    """Sparse non-forest (long distances, rows without any non-forest pixel)."""
    rng = np.random.default_rng(seed)
    forest = rng.random((n, n + 3)) < share
    np.testing.assert_array_equal(v.distance_to_edge_fast(forest, 30.0), v.distance_to_edge(forest, 30.0))


def test_fast_edt_all_forest_and_no_forest():
    for forest in (np.ones((4, 7), bool), np.zeros((4, 7), bool)):
        np.testing.assert_array_equal(v.distance_to_edge_fast(forest, 30.0), v.distance_to_edge(forest, 30.0))


@settings(max_examples=80, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 30), st.integers(1, 30))), st.data())
def test_distance_at_queries_equals_edt_including_non_forest_queries(forest, data):
    query = data.draw(arrays(np.bool_, forest.shape))
    at = v.distance_to_edge_at(forest, query, 30.0, 10_000.0)
    if (~forest).any() and forest.any():
        full = v.distance_to_edge(forest, 30.0)[query & forest]
        np.testing.assert_array_equal(at[forest[query]].astype(np.float32), full)
