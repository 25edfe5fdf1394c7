"""Pure matching functions: whitening, greedy nearest neighbour, SMD, repeats, recovery of a known effect."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import mahalanobis

from reddplus.counterfactual import (avoided_deforestation_ha, default_caliper, greedy_match, hard_match_keys,
                                     mahalanobis_whitener, period_deforestation_fraction, repeat_interval,
                                     repeated_matching, standardised_mean_difference)
from reddplus.errors import ConfigError, InputDataError


def _reference_greedy(t, c, tg, cg, caliper):
    """Brute-force greedy matching without replacement, O(n m): the definition (Stuart 2010, sec. 3.1)."""
    used = np.zeros(len(c), bool)
    out = np.full(len(t), -1)
    for i in range(len(t)):
        d = np.sqrt(((c - t[i]) ** 2).sum(axis=1))
        d[(cg != tg[i]) | used | (d > caliper)] = np.inf
        if np.isfinite(d).any():
            j = int(np.argmin(d))
            used[j] = True
            out[i] = j
    return out


def test_whitened_euclidean_equals_scipy_mahalanobis():
    rng = np.random.default_rng(1)
    pool = rng.normal(size=(500, 4)) @ np.array([[2, 0, 0, 0], [1, 1, 0, 0], [0, 0.5, 3, 0], [0, 0, 0, 0.1]])
    W = mahalanobis_whitener(pool)
    vi = np.linalg.inv(np.cov(pool, rowvar=False))
    for a, b in zip(pool[:20], pool[20:40]):
        assert np.linalg.norm((a - b) @ W) == pytest.approx(mahalanobis(a, b, vi), rel=1e-9)


def test_whitener_survives_constant_and_duplicate_columns():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, 1))
    pool = np.hstack([x, x, np.ones((200, 1))])  # collinear + constant
    W = mahalanobis_whitener(pool)
    assert W.shape[1] == 1
    assert np.isfinite(pool @ W).all()


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 30), m=st.integers(1, 60), groups=st.integers(1, 3), seed=st.integers(0, 10_000),
       caliper=st.sampled_from([0.3, 1.0, math.inf]))
def test_greedy_match_equals_brute_force_definition(n, m, groups, seed, caliper):
    rng = np.random.default_rng(seed)
    t = rng.normal(size=(n, 3))
    c = rng.normal(size=(m, 3))
    tg = rng.integers(0, groups, n)
    cg = rng.integers(0, groups, m)
    got = greedy_match(t, c, treated_groups=tg, control_groups=cg, caliper=caliper, k=2)  # k=2 forces re-queries
    ref = _reference_greedy(t, c, tg, cg, caliper)
    np.testing.assert_array_equal(got, ref)
    used = got[got >= 0]
    assert len(np.unique(used)) == len(used)  # without replacement
    assert np.all(tg[got >= 0] == cg[used])  # hard match respected


def test_smd_known_values():
    # Stuart 2010 eq.: (mean_t - mean_c) / sqrt((s_t^2 + s_c^2)/2); here means 2 and 3, both variances 1.
    smd = standardised_mean_difference(np.array([[1.0], [2.0], [3.0]]), np.array([[2.0], [3.0], [4.0]]))
    assert smd[0] == pytest.approx(-1.0)
    const = standardised_mean_difference(np.ones((3, 2)), np.ones((4, 2)))
    np.testing.assert_array_equal(const, [0.0, 0.0])


def test_matching_removes_imbalance_of_shifted_covariates():
    rng = np.random.default_rng(3)
    controls = rng.normal(size=(20_000, 6))
    treated = rng.normal(size=(1_000, 6)) + 0.6
    before = standardised_mean_difference(treated, controls)
    assert np.all(np.abs(before) > 0.5)
    rounds = repeated_matching(treated, controls, repeats=5, subsample_fraction=0.5, seed=0)
    for r in rounds:
        after = standardised_mean_difference(treated[r.treated], controls[r.controls])
        assert np.all(np.abs(after) < 0.2)
        assert r.matched_fraction > 0.9


def test_repeats_are_reproducible_and_differ_between_seeds():
    rng = np.random.default_rng(4)
    t, c = rng.normal(size=(100, 2)), rng.normal(size=(1000, 2))
    a = repeated_matching(t, c, repeats=3, seed=7)
    b = repeated_matching(t, c, repeats=3, seed=7)
    d = repeated_matching(t, c, repeats=3, seed=8)
    assert all(np.array_equal(x.controls, y.controls) for x, y in zip(a, b))
    assert not all(np.array_equal(x.controls, y.controls) for x, y in zip(a, d))


def test_hard_match_keys_identify_equal_rows():
    tk, ck = hard_match_keys(np.array([[1, 0], [1, 1]]), np.array([[1, 1], [0, 0], [1, 0]]))
    assert tk[0] == ck[2] and tk[1] == ck[0] and ck[1] not in tk


@pytest.mark.parametrize("kw", [dict(repeats=0), dict(subsample_fraction=0), dict(control_ratio=0)])
def test_bad_repeat_settings(kw):
    with pytest.raises(ConfigError):
        repeated_matching(np.zeros((3, 1)), np.zeros((3, 1)), **kw)


def test_empty_tables_are_clear_errors():
    with pytest.raises(InputDataError, match="candidate"):
        repeated_matching(np.zeros((3, 1)), np.zeros((0, 1)))


def test_default_caliper_scales_with_dimension():
    assert default_caliper(2) == pytest.approx(1.0)
    assert default_caliper(8) == pytest.approx(2.0)


@pytest.mark.parametrize("protection_effect", [1.0, 0.5])
def test_known_effect_recovered_within_interval_and_naive_is_biased(protection_effect):
    """Simulated pixels: deforestation probability rises with accessibility x; the project sits on remote
    forest (x shifted by -1 SD) and multiplies its probability by ``protection_effect`` (1 = no effect).
    The matched estimate must cover the true avoided fraction; the naive project-vs-pool one must not."""
    rng = np.random.default_rng(11)
    m, n = 40_000, 3_000
    xc = rng.normal(size=(m, 2))
    xt = rng.normal(size=(n, 2)) - np.array([1.0, 0.5])

    def p(x):
        return 1 / (1 + np.exp(-(-1.5 + 1.2 * x[:, 0] + 0.5 * x[:, 1])))

    # codes for dates (2000, 2010, 2020), start 2010 (index 1): 2 = lost in (2010, 2020], 3 = still forest
    cc = np.where(rng.random(m) < p(xc), 2, 3).astype(np.uint8)
    pt_true = p(xt)
    ct = np.where(rng.random(n) < protection_effect * pt_true, 2, 3).astype(np.uint8)
    true_avoided = float(np.mean(pt_true) * (1 - protection_effect))
    rounds = repeated_matching(xt, xc, repeats=60, subsample_fraction=0.5, seed=5)
    est = []
    for r in rounds:
        fp = period_deforestation_fraction(ct[r.treated], 1, 3)[0]
        fc = period_deforestation_fraction(cc[r.controls], 1, 3)[0]
        est.append(avoided_deforestation_ha(fc, fp, 1.0))
    iv = repeat_interval(np.array(est))
    assert iv.low <= true_avoided <= iv.high, (iv, true_avoided)
    naive = period_deforestation_fraction(cc, 1, 3)[0] - period_deforestation_fraction(ct, 1, 3)[0]
    assert not iv.low <= naive <= iv.high
