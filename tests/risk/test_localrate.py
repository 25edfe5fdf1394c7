"""The compiled local-rate kernel against the plain numpy definition (window counts + formula)."""

import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from reddplus.risk.localrate import LDEFRATE_NODATA, local_deforestation_rate, local_rate_codes, window_counts


def _reference(forest, defor, w, years):
    nf, nd = window_counts(forest, w), window_counts(defor, w)
    out = np.full(forest.shape, LDEFRATE_NODATA, np.uint16)
    ok = forest & (nf > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = 1.0 - (1.0 - nd[ok] / nf[ok]) ** (1.0 / years)
    out[ok] = np.rint(9999.0 * np.nan_to_num(theta) + 1.0).clip(0, 65534)
    return out


@settings(max_examples=60, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 30), st.integers(1, 30)), elements=st.integers(0, 3)),
       st.sampled_from([1, 3, 5, 7]), st.sampled_from([1.0, 5.0, 10.0]))
def test_masks_equal_reference(codes, w, years):
    # arbitrary masks, including deforested pixels that were not forest
    forest, defor = (codes & 1) > 0, (codes & 2) > 0
    np.testing.assert_array_equal(local_deforestation_rate(forest, defor, w, years),
                                  _reference(forest, defor, w, years))


@settings(max_examples=60, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 25), st.integers(1, 25)), elements=st.sampled_from([0, 1, 2, 3, 255])),
       st.sampled_from([1, 3, 5]), st.data())
def test_codes_core_of_halo_block_equals_whole_array(codes, w, data):
    """A core cut out with a halo of w // 2 equals the whole-array result (exact block streaming)."""
    h = w // 2
    nr, nc = codes.shape
    r0 = data.draw(st.integers(0, nr - 1))
    r1 = data.draw(st.integers(r0 + 1, nr))
    c0 = data.draw(st.integers(0, nc - 1))
    c1 = data.draw(st.integers(c0 + 1, nc))
    forest, defor = (codes > 0) & (codes != 255), (codes > 0) & (codes <= 1)
    whole = _reference(forest, defor, w, 10.0)
    ra, rb, ca, cb = max(r0 - h, 0), min(r1 + h, nr), max(c0 - h, 0), min(c1 + h, nc)
    got = local_rate_codes(codes[ra:rb, ca:cb], 0, 1, w, 10.0, (r0 - ra, r1 - ra, c0 - ca, c1 - ca))
    np.testing.assert_array_equal(got, whole[r0:r1, c0:c1])
