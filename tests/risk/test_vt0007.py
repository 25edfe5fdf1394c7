"""Pure VT0007 functions: hand-computed answers and Hypothesis properties."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from reddplus.errors import ConfigError, InputDataError, ModelError
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




# ----------------------------------------------------------------------------- udef-arp profile rules
def test_udefarp_nrt_bins_from_the_minimum_and_takes_the_truncated_midpoint():
    """Bins start at the smallest distance and are left-closed; NRT = int(midpoint) of the first bin >= 99.5 %.
    Known answer (PROVENANCE.md): Guadeloupe's bin [210, 240) gives 225 m where the exact rule gives 240 m."""
    d = np.array([30.0, 42.426407, 60.0, 60.0, 67.08204, 90.0], np.float32)
    n = np.array([100, 50, 20, 0, 5, 1])
    nrt = v.negligible_risk_threshold_udef_arp(d, n, 30.0, share=0.99)
    # edges arange(30, 90 + 30, 30) = 30, 60, 90: bins [30, 60) and [60, 90] (numpy closes the last one);
    # 150 / 176 = 85 % in the first, so 99 % is reached in [60, 90]: NRT = int(75.0)
    np.testing.assert_array_equal(nrt.counts, [150, 26, 0])
    assert nrt.nrt_m == 75.0 and nrt.first_edge_m == 30.0 and nrt.rule == "udef-arp"
    # the exact rule's bins (0, 30], (30, 60], (60, 90] from 0: 99 % is reached at the upper edge 90 m
    exact = v.negligible_risk_threshold(v.distance_histogram(np.repeat(d, n), 30.0, 300.0), 30.0, 0.99)
    assert exact.nrt_m == 90.0


def test_udefarp_class_closure_differs_from_the_exact_rule_at_the_nrt():
    d = np.array([240.0, 239.9, 30.0, 241.0], np.float32)
    f = np.ones(4, bool)
    assert v.vulnerability_classes(d, f, 240.0, 30.0, profile="udef-arp").tolist()[0] == 1   # d >= NRT
    assert v.vulnerability_classes(d, f, 240.0, 30.0).tolist()[0] == 2                       # d = NRT in class 2
    assert v.vulnerability_classes(d, f, 240.0, 30.0, profile="udef-arp").tolist()[2:] == [30, 1]


def _udefarp_in_place(d, forest, nrt, pixel, n=29):
    """UDef-ARP's documented sequence, step by step on a float32 array (the definition to reproduce)."""
    ll, ul = int(pixel), int(nrt)
    r = np.power(ll / ul, 1 / n)
    rc = np.multiply(ul, np.power(r, np.array([[i, i + 1] for i in range(n)])))
    rc[n - 1][1] = ll
    rc[0][0] = ul
    a = (d * forest).astype(np.float32)
    a[a >= np.float32(ul)] = 1
    for i in range(n):
        lo, up = np.float32(rc[i][0]), np.float32(rc[i][1])
        a[(lo > a) & (a >= up)] = i + 2
    return a.astype(np.int16)


@settings(max_examples=60, deadline=None)
@given(st.integers(3, 80), st.sampled_from([30.0, 100.0, 10.0, 5.0, 20.0]), st.integers(0, 2**31))
def test_udefarp_classes_replay_the_in_place_assignment(nrt_px, pixel, seed):
    """Below 30 m UDef-ARP's in-place writes move some pixels to a later class; the compiled rule replays it."""
    rng = np.random.default_rng(seed)
    nrt = float(int(nrt_px * pixel))
    d = v.distance_to_edge_fast(rng.random((23, 29)) < 0.93, pixel)
    d = np.where(rng.random(d.shape) < 0.3, rng.uniform(pixel, 1.5 * nrt, d.shape), d).astype(np.float32)
    b = v.class_breaks_udef_arp(nrt, pixel).astype(np.float32)
    d.flat[: b.size] = b                                     # ties with every limit
    forest = (d > 0) & (rng.random(d.shape) < 0.95)
    np.testing.assert_array_equal(v.vulnerability_classes(d, forest, nrt, pixel, profile="udef-arp"),
                                  _udefarp_in_place(d, forest, nrt, pixel))


def test_udefarp_adjustment_loop_and_non_convergence():
    """No cap: AR = target / sum once. Heavy capping: UDef-ARP's loop stops at max_iterations (reported)."""
    d, n = np.array([0.001, 0.002]), np.array([1000, 500])
    a = v.adjustment_ratio_udef_arp(d, n, 1.0, 0.09)
    assert a.ratios == (0.5,) and a.iterations == 0 and a.converged and a.allocated_ha == pytest.approx(1.0)
    a = v.adjustment_ratio_udef_arp(d, n, 3.0, 0.09)          # AR 1.5 > 1.00001: one more round, then ~1
    assert a.iterations == 1 and a.ratios[0] == 1.5 and a.ratios[1] == pytest.approx(1.0)
    assert a.ratio == pytest.approx(1.5) and a.converged
    d = np.geomspace(1e-5, 1e-2, 200)                        # many regions, capped one after another
    n = np.full(200, 1000)
    heavy = v.adjustment_ratio_udef_arp(d, n, 10_000.0, 0.09, max_iterations=5)
    assert not heavy.converged and heavy.iterations == 6 and len(heavy.ratios) == 7
    more = v.adjustment_ratio_udef_arp(d, n, 10_000.0, 0.09, max_iterations=500)
    assert more.converged and more.iterations == 37 and more.allocated_ha == pytest.approx(10_000.0, rel=1e-5)
    # the exact rule reaches the fixed point at once
    exact = v.adjustment_ratio(d, n, 10_000.0, 0.09)
    assert exact.allocated_ha == pytest.approx(10_000.0, rel=1e-12)
    np.testing.assert_allclose(more.adjust(d, 0.09), exact.adjust(d, 0.09), rtol=1e-4)


def test_udefarp_r2_is_the_squared_pearson_r():
    obs = np.array([1.0, 2.0, 3.0, 4.0])
    pred = np.array([2.0, 4.0, 6.0, 8.0])            # perfectly correlated, badly biased
    assert v.assessment_metrics(pred, obs, profile="udef-arp").r2 == pytest.approx(1.0)
    assert v.assessment_metrics(pred, obs).r2 < 0


def test_udefarp_assessment_grid_truncates_and_offsets():
    """100,000 ha at 100 m: UDef-ARP's side is int(sqrt(1e9)) // 100 = 316 px (99,856 ha), cells centred on the
    corner grid; the exact rule rounds to 316 px too but anchors at the corner. 2,500 ha at 30 m: 166 px."""
    g = v.assessment_grid((1600, 2000), 100.0, 100_000, "udef-arp")
    assert (g.side, g.offset, g.full_cells_only) == (316, 158, True)
    assert g.cell_of(0, 0, 1, 1)[0, 0] == 0 and g.cell_of(157, 157, 1, 1)[0, 0] == 0
    assert g.cell_of(158, 158, 1, 1)[0, 0] == g.n_cols + 1
    assert v.assessment_grid((100, 100), 30.0, 2500, "udef-arp").side == 166
    assert v.assessment_grid((100, 100), 30.0, 2500).side == 167
    with pytest.raises(InputDataError, match="whole number of hectares"):
        v.assessment_grid((100, 100), 30.0, 2500.5, "udef-arp")
    jur = np.array([316 * 316, 316 * 316 - 100, 316 * 316 - 50, 10])
    assert g.select(jur, np.ones(4)).tolist() == [True, False, True, False]


def test_unknown_profile_names_the_key():
    with pytest.raises(ConfigError, match="vt0007_profile"):
        v.vulnerability_classes(np.ones(2), np.ones(2, bool), 90.0, 30.0, profile="udef")


def test_class_missing_from_the_fit_gets_the_neighbours_pooled_density():
    """UDef-ARP gives NaN (0/0) and reddplus gave a silent 0; now the nearest fitted classes either side."""
    nf = np.zeros((31, 1), np.int64)
    nd = np.zeros((31, 1), np.int64)
    nf[10], nd[10] = 1000, 10
    nf[14], nd[14] = 3000, 90
    nf[30], nd[30] = 500, 50
    t = v.fitted_density(nf, nd, 0.09, 10.0)
    assert t.class_filled[12] and not t.class_filled[10]
    assert t.density_ha_per_pixel[12, 0] == pytest.approx((10 + 90) / (1000 + 3000) * 0.09)
    assert t.density_ha_per_pixel[5, 0] == pytest.approx(10 / 1000 * 0.09)       # below the first fitted class
    present = np.zeros((31, 1))
    present[[12, 14]] = 7
    assert t.missing_classes(present) == [12]
    assert [r["filled_from_neighbours"] for r in t.class_table()][11] is True
