"""Systematic sampling lattice and window covariates against brute-force definitions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reddplus.counterfactual import lattice_positions, systematic_origin, systematic_step_px
from reddplus.counterfactual.covariates import distance_to_features, neighbourhood_proportion_at
from reddplus.errors import ConfigError
from reddplus.raster import iter_blocks


def test_pact_density_on_30m_pixels():
    # 0.25 samples/ha on 0.09 ha pixels: one sample per 4 ha = 44.4 px -> step round(6.67) = 7 px
    assert systematic_step_px(0.25, 0.09) == 7
    assert systematic_step_px(100.0, 0.09) == 1
    with pytest.raises(ConfigError, match="density_per_ha"):
        systematic_step_px(0.0, 0.09)


@settings(max_examples=40, deadline=None)
@given(h=st.integers(1, 80), w=st.integers(1, 80), step=st.integers(1, 9), bs=st.sampled_from([4, 7, 16, 33]),
       seed=st.integers(0, 1000))
def test_block_lattices_tile_the_global_lattice(h, w, step, bs, seed):
    origin = systematic_origin(step, seed)
    assert all(0 <= o < step for o in origin)
    rows, cols = [], []
    for b in iter_blocks((h, w), block_size=bs):
        r, c = lattice_positions(b.row_off, b.col_off, b.height, b.width, step, origin)
        rows.append(r)
        cols.append(c)
    got = set(zip(np.concatenate(rows).tolist(), np.concatenate(cols).tolist()))
    want = {(r, c) for r in range(h) for c in range(w) if (r - origin[0]) % step == 0 and (c - origin[1]) % step == 0}
    assert got == want


def test_neighbourhood_proportion_equals_brute_force():
    rng = np.random.default_rng(0)
    layer = rng.random((30, 40)) < 0.3
    valid = rng.random((30, 40)) < 0.9
    rows, cols = rng.integers(0, 30, 50), rng.integers(0, 40, 50)
    got = neighbourhood_proportion_at(layer, valid, rows, cols, 3)
    for g, r, c in zip(got, rows, cols):
        sl = np.s_[max(0, r - 3): r + 4, max(0, c - 3): c + 4]
        den = valid[sl].sum()
        assert g == pytest.approx((layer & valid)[sl].sum() / den if den else np.nan, nan_ok=True)


def test_distance_to_features_known_values_and_cap():
    feat = np.zeros((5, 9), bool)
    feat[2, 0] = True
    d = distance_to_features(feat, (30.0, 30.0), 200.0)
    assert d[2, 0] == 0
    assert d[2, 3] == pytest.approx(90.0)
    assert d[0, 1] == pytest.approx(np.hypot(60, 30))
    assert d[2, 8] == pytest.approx(200.0)  # 240 m capped
    assert (distance_to_features(np.zeros((3, 3), bool), (30.0, 30.0), 100.0) == 100.0).all()
