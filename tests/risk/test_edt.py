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


def _classes_numpy(distance_m, forest, nrt_m, pixel_size_m, n_classes=v.N_CLASSES):
    """The plain numpy definition (searchsorted) the compiled class kernel must reproduce."""
    b = v.class_breaks(nrt_m, pixel_size_m, n_classes)
    d = np.asarray(distance_m, dtype=np.float64)
    tol = 1e-6 * pixel_size_m
    c = n_classes - np.searchsorted(b + tol, d, side="left")
    c = np.where(d > nrt_m + tol, 1, c)
    return np.where(forest, c, 0).astype(np.uint8)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 60), st.sampled_from([30.0, 10.0, 28.5]), st.integers(0, 2**31))
def test_classes_kernel_equals_searchsorted(nrt_px, pixel, seed):
    rng = np.random.default_rng(seed)
    nrt = nrt_px * pixel
    forest = rng.random((17, 23)) < 0.8
    # exact EDT values (ties with the breaks), random reals, inf
    d = v.distance_to_edge_fast(rng.random((17, 23)) < 0.9, pixel)
    d = np.where(rng.random(d.shape) < 0.3, rng.uniform(0, 2 * nrt, d.shape), d).astype(np.float32)
    d.flat[0] = np.inf
    b = v.class_breaks(nrt, pixel).astype(np.float32)
    d.flat[1:1 + min(b.size, d.size - 1)] = b[: d.size - 1]
    for arr in (d, d.astype(np.float64)):
        np.testing.assert_array_equal(v.vulnerability_classes(arr, forest, nrt, pixel),
                                      _classes_numpy(arr, forest, nrt, pixel))
