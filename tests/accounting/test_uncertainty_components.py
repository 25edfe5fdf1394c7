"""Per-period uncertainty: components recover known combined half-widths; rules; map counts stated, not zeroed."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from reddplus.accounting import (UNCERTAINTY_RULES, ActivityData, activity_from_map_counts, activity_from_sample,
                                 approach1_halfwidth_percent, ef_from_draws, ef_from_se, period_uncertainty,
                                 uncertainty_rule)
from reddplus.accuracy import olofsson as ol
from reddplus.errors import ConfigError, InputDataError

Z90 = stats.norm.ppf(0.95)

#: Olofsson et al. 2014 section 5 (Table 8): counts and mapped 30 m pixels (0.09 ha)
COUNTS = [[66, 0, 5, 4], [0, 55, 8, 12], [1, 0, 153, 11], [2, 1, 9, 313]]
PIXELS = [200_000, 150_000, 3_200_000, 6_450_000]
CLASSES = ["deforestation", "forest gain", "stable forest", "stable non-forest"]


def _olofsson_estimate():
    return ol.estimate_from_error_matrix(COUNTS, np.array(PIXELS) * 0.09, CLASSES, confidence=0.95, area_unit="ha")


@pytest.mark.parametrize("ab, sb, ap, sp, ef, sef", [
    (1000.0, 50.0, 200.0, 20.0, 500.0, 25.0),
    (5000.0, 600.0, 0.0, 0.0, 200.0, 36.0),        # the ART-TREES-style 12 % AD / 18 % EF example
    (800.0, 40.0, 100.0, 30.0, 650.0, 10.0),
])
def test_monte_carlo_recovers_the_analytic_half_width(ab, sb, ap, sp, ef, sef):
    """Generated normal components: the Monte Carlo half-width of ER = (A_b - A_p) EF matches the exact
    variance of a product of independent normals (IPCC 2006 vol. 1 ch. 3 approach 1) within 2 %."""
    r = period_uncertainty(baseline=ActivityData(ab, sb, "reference_sample"),
                           project=ActivityData(ap, sp, "reference_sample"), emission_factor=ef_from_se(ef, sef),
                           draws=200_000, seed=7)
    expected = approach1_halfwidth_percent(ab, sb, ap, sp, ef, sef)
    assert r.halfwidth_percent == pytest.approx(expected, rel=0.02)
    assert r.mean_tco2e == pytest.approx((ab - ap) * ef, rel=0.003)
    allow = 10.0
    assert r.deduction_fraction == pytest.approx(max(0.0, r.halfwidth_percent - allow) / 100)


def test_single_normal_component_is_exact():
    """Only the emission factor uncertain, areas from map counts: ER is exactly normal, U = 100 z sd/mean."""
    r = period_uncertainty(baseline=activity_from_map_counts(1000.0), project=activity_from_map_counts(100.0),
                           emission_factor=ef_from_se(600.0, 60.0), draws=400_000, seed=3)
    assert r.halfwidth_percent == pytest.approx(100 * Z90 * 0.1, rel=0.01)
    assert r.mean_tco2e == pytest.approx(900 * 600.0, rel=0.002)


def test_activity_data_from_the_published_reference_sample():
    """Olofsson et al. 2014 section 5: deforestation 21,158 +- 6,158 ha (95 %), i.e. SE 3,141.8 ha. Over a
    10-year HRP the annual activity data are 2,115.8 +- 314.2 ha (SE); with a fixed emission factor the 90 %
    half-width of the emissions is 1.645 x 3,141.8 / 21,158 = 24.4 %."""
    ad = activity_from_sample(_olofsson_estimate(), "deforestation", years=10.0)
    assert ad.ha == pytest.approx(2115.8, abs=0.05)
    assert ad.se_ha == pytest.approx(6158 / 1.96 / 10, rel=2e-3)
    assert ad.source == "reference_sample" and ad.has_sampling_error
    r = period_uncertainty(baseline=ad, project=activity_from_map_counts(0.0), emission_factor=ef_from_se(500.0, 0.0),
                           draws=400_000, seed=11)
    assert r.halfwidth_percent == pytest.approx(100 * Z90 * (6158 / 1.96) / 21158, rel=0.01)
    half_share = activity_from_sample(_olofsson_estimate(), "deforestation", years=10.0, share=0.5)
    assert half_share.ha == pytest.approx(ad.ha / 2) and half_share.relative_se == pytest.approx(ad.relative_se)
    assert half_share.source == "allocated"


def test_map_counts_are_reported_as_no_sampling_error_not_zero():
    r = period_uncertainty(baseline=activity_from_map_counts(1000.0), project=activity_from_map_counts(50.0),
                           emission_factor=ef_from_se(500.0, 50.0), draws=5_000, seed=1)
    base = next(c for c in r.components if c["component"] == "baseline_activity")
    assert base["se_ha"] is None and base["relative_se"] is None
    assert base["sampling_error"] == "not estimated (map counts)"
    assert any("map counts" in a and "not a zero uncertainty" in a for a in r.assumptions)
    alloc = next(c for c in r.components if c["component"] == "allocation")
    assert alloc["sampling_error"] == "not defined"
    assert any("allocation" in a for a in r.assumptions)
    # the rule that stands in for the unreadable text is stated
    assert any("could not be read" in a for a in r.assumptions)
    d = r.to_dict()
    assert d["uncertainty_rule"] == "vcs_halfwidth_excess" and d["assumptions"]


def test_activity_error_widens_the_interval_versus_map_counts():
    kw = dict(project=activity_from_map_counts(0.0), emission_factor=ef_from_se(500.0, 25.0), draws=50_000, seed=5)
    counts = period_uncertainty(baseline=activity_from_map_counts(1000.0), **kw)
    sample = period_uncertainty(baseline=ActivityData(1000.0, 80.0, "reference_sample"), **kw)
    assert sample.halfwidth_percent > counts.halfwidth_percent + 5
    assert sample.halfwidth_percent_by_component["baseline_activity"] == pytest.approx(100 * Z90 * 0.08, rel=0.03)
    assert counts.halfwidth_percent_by_component["baseline_activity"] is None      # no error estimated, not 0


def test_emission_factor_from_plot_draws_matches_its_normal_form():
    rng = np.random.default_rng(0)
    draws = rng.normal(500.0, 40.0, 50_000)
    kw = dict(baseline=ActivityData(1000.0, 30.0, "reference_sample"), project=activity_from_map_counts(100.0),
              draws=100_000, seed=2)
    a = period_uncertainty(emission_factor=ef_from_draws(draws), **kw)
    b = period_uncertainty(emission_factor=ef_from_se(500.0, 40.0), **kw)
    assert a.halfwidth_percent == pytest.approx(b.halfwidth_percent, rel=0.03)
    comp = next(c for c in a.components if c["component"] == "emission_factor")
    assert comp["source"] == "plots_monte_carlo" and comp["n_draws"] == 50_000


def test_allocation_error_and_belt_leakage():
    kw = dict(baseline=ActivityData(1000.0, 50.0, "allocated"), project=ActivityData(100.0, 10.0, "reference_sample"),
              emission_factor=ef_from_se(500.0, 25.0), draws=200_000, seed=4)
    plain = period_uncertainty(**kw)
    alloc = period_uncertainty(allocation_relative_se=0.10, **kw)
    assert alloc.halfwidth_percent > plain.halfwidth_percent
    assert "allocation" in alloc.halfwidth_percent_by_component
    # baseline area with 5 % and 10 % independent relative errors: X = A_b (1 + e) has relative SE ~ 11.2 %
    sb = 1000.0 * np.sqrt(0.05 ** 2 + 0.10 ** 2 + (0.05 * 0.10) ** 2)
    assert alloc.halfwidth_percent == pytest.approx(approach1_halfwidth_percent(1000.0, sb, 100.0, 10.0, 500.0, 25.0),
                                                    rel=0.03)
    belt = period_uncertainty(belt_monitored=ActivityData(300.0, 0.1, "reference_sample"),
                              belt_baseline=ActivityData(200.0, 0.1, "allocated"), **kw)
    assert belt.mean_tco2e == pytest.approx(plain.mean_tco2e - 100.0 * 500.0, rel=0.003)
    with pytest.raises(InputDataError, match="both"):
        period_uncertainty(belt_monitored=ActivityData(1.0, 0.0, "map_counts"), **kw)


def test_seeded_and_reproducible():
    kw = dict(baseline=ActivityData(1000.0, 50.0, "reference_sample"), project=activity_from_map_counts(10.0),
              emission_factor=ef_from_se(400.0, 30.0), draws=10_000)
    a, b, c = period_uncertainty(seed=9, **kw), period_uncertainty(seed=9, **kw), period_uncertainty(seed=10, **kw)
    assert a.to_dict() == b.to_dict()
    assert a.halfwidth_percent != c.halfwidth_percent


def test_named_rules():
    vcs, vm7, low = (UNCERTAINTY_RULES[k] for k in ("vcs_halfwidth_excess", "vm0007_x_unc", "lower_bound"))
    assert vcs.deduction_fraction(22.5, 10.0) == pytest.approx(0.125)
    assert vcs.deduction_fraction(8.0, 10.0) == 0.0
    assert vm7.deduction_fraction(22.5, 10.0) == pytest.approx(0.075)     # fixes its own 15 %
    assert low.deduction_fraction(22.5, 10.0) == pytest.approx(0.225)
    assert vcs.deduction_fraction(500.0, 10.0) == 1.0
    with pytest.raises(ConfigError, match="deductions.uncertainty_rule"):
        uncertainty_rule("magic")
    kw = dict(baseline=ActivityData(1000.0, 100.0, "reference_sample"), project=activity_from_map_counts(0.0),
              emission_factor=ef_from_se(500.0, 50.0), draws=20_000, seed=1)
    r7 = period_uncertainty(rule="vm0007_x_unc", **kw)
    assert r7.allowable_halfwidth_percent == 15.0 and any("fixes" in a for a in r7.assumptions)
    assert r7.deduction_fraction == pytest.approx(max(0, r7.halfwidth_percent - 15) / 100)


def test_negative_period_has_no_deduction_and_bad_input():
    r = period_uncertainty(baseline=activity_from_map_counts(100.0), project=activity_from_map_counts(300.0),
                           emission_factor=ef_from_se(500.0, 20.0), draws=2_000, seed=1)
    assert r.mean_tco2e < 0 and r.deduction_fraction == 0.0 and any("reversal" in a for a in r.assumptions)
    with pytest.raises(ConfigError, match="draws"):
        period_uncertainty(baseline=activity_from_map_counts(1.0), project=activity_from_map_counts(0.0),
                           emission_factor=ef_from_se(1.0, 0.1), draws=10, seed=1)
    with pytest.raises(InputDataError):
        ActivityData(-1.0, None, "map_counts")
    with pytest.raises(InputDataError):
        ef_from_draws([1.0, 2.0])
    with pytest.raises(InputDataError, match="in ha"):
        est = ol.estimate_from_error_matrix(COUNTS, PIXELS, CLASSES)     # pixels, not ha
        activity_from_sample(est, "deforestation")
    with pytest.raises(InputDataError, match="class"):
        activity_from_sample(_olofsson_estimate(), "fire")
