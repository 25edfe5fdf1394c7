"""The compiled exact EDT (Felzenszwalb & Huttenlocher), whole-array and streamed by strips, against SciPy."""

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


def _streamed(forest, heights):
    """The strip-streamed transform: each strip sees only itself and the column bounds of the others."""
    nr = forest.shape[0]
    cuts = np.cumsum([0] + list(heights))
    cuts = [int(c) for c in cuts if c < nr] + [nr]
    bounds = [v.nonforest_row_bounds(forest[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
    out = []
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:])):
        above = np.full(forest.shape[1], -1)
        below = np.full(forest.shape[1], -1)
        for j in range(i - 1, -1, -1):                      # nearest non-forest row above the strip
            last = bounds[j][1]
            hit = (above < 0) & (last >= 0)
            above[hit] = a - (cuts[j] + last[hit])
        for j in range(i + 1, len(bounds)):
            first = bounds[j][0]
            hit = (below < 0) & (first >= 0)
            below[hit] = (cuts[j] + first[hit]) - (b - 1)
        out.append(v.squared_distance_to_edge(forest[a:b], above, below))
    return np.vstack(out)


@settings(max_examples=200, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 60), st.integers(1, 40))),
       st.lists(st.integers(1, 12), min_size=1, max_size=30), st.sampled_from([30.0, 10.0, 1.0, 100.0]))
def test_strip_streamed_edt_is_bit_identical_to_whole_array(forest, heights, pixel):
    """Any cut into strips gives SciPy's whole-array EDT bit for bit (distances of any length)."""
    d2 = _streamed(forest, heights)
    np.testing.assert_array_equal(v.distance_from_squared(d2, pixel), v.distance_to_edge(forest, pixel))
    finite = np.isfinite(d2)
    assert (d2[finite] == np.round(d2[finite])).all()              # exact integers


@settings(max_examples=80, deadline=None)
@given(st.integers(20, 90), st.floats(0.9, 0.9995), st.integers(0, 2**31), st.integers(1, 9))
def test_strip_streamed_edt_on_sparse_edges(n, share, seed, h):
    """Mostly forest: long distances that cross many strips, rows and strips without any edge."""
    forest = np.random.default_rng(seed).random((n, n // 2 + 1)) < share
    np.testing.assert_array_equal(v.distance_from_squared(_streamed(forest, [h] * n), 30.0),
                                  v.distance_to_edge(forest, 30.0))


def test_squared_histogram_equals_distance_histogram():
    """Bins from exact squared distances (integer isqrt) = the bins of the float distances."""
    rng = np.random.default_rng(5)
    d2 = rng.integers(1, 200_000, 5000).astype(np.float64)
    d2[:50] = np.arange(1, 51) ** 2                                  # ties with the bin edges
    d2[50] = np.inf
    n = rng.integers(1, 4, d2.size)
    for pixel, maxd in ((30.0, 3000.0), (100.0, 20_000.0), (28.5, 500.0)):
        ref = v.distance_histogram(np.repeat(np.sqrt(d2) * pixel, n), pixel, maxd)
        np.testing.assert_array_equal(v.squared_distance_histogram(d2, n, pixel, maxd), ref)


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
