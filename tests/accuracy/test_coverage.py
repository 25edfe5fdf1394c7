"""Monte Carlo checks of the design-based estimators on a synthetic population with known truth."""

from __future__ import annotations

import numpy as np
import pytest

from reddplus.accuracy import draw_ranks, estimate_from_error_matrix, estimate_from_samples


def _population(seed=7, n=60_000):
    rng = np.random.default_rng(seed)
    mapped = np.where(rng.random(n) < 0.5, 3, 4)
    mapped[rng.random(n) < 0.04] = 1
    truth = mapped.copy()
    truth[(mapped == 1) & (rng.random(n) < 0.25)] = 3
    truth[(mapped == 3) & (rng.random(n) < 0.05)] = 1
    truth[(mapped == 4) & (rng.random(n) < 0.02)] = 3
    return mapped, truth


@pytest.mark.slow
def test_estimates_unbiased_and_intervals_cover():
    """Stratified random samples (strata = map classes, Olofsson et al. 2014) and a stratification
    that differs from the map classes (Stehman 2014: strata 'loss' vs 'rest'): over 300 samples the
    mean estimate of the true loss proportion is within 4 Monte Carlo SEs, and the 95 % intervals
    cover it 90-99 % of the time."""
    mapped, truth = _population()
    true_loss = (truth == 1).mean()
    rng = np.random.default_rng(2014)
    classes = [1, 3, 4]
    est_o, est_s, cov_o, cov_s = [], [], 0, 0
    reps = 300
    for _ in range(reps):
        # Olofsson: strata = map classes, 100 / 400 / 400 units
        idx = np.concatenate([np.flatnonzero(mapped == k)[r] for k, r in
                              zip(classes, draw_ranks([(mapped == k).sum() for k in classes], [100, 400, 400], rng))])
        counts = np.array([[np.sum((mapped[idx] == i) & (truth[idx] == j)) for j in classes] for i in classes])
        e = estimate_from_error_matrix(counts, [(mapped == k).sum() for k in classes], confidence=0.95)
        est_o.append(e.area_proportion[0])
        cov_o += abs(e.area_proportion[0] - true_loss) <= e.area_proportion_ci_halfwidth[0]
        # Stehman: strata 'loss' (map 1) and 'rest' (maps 3 and 4), 150 + 750 units
        stratum = np.where(mapped == 1, "loss", "rest")
        sizes = {"loss": int((stratum == "loss").sum()), "rest": int((stratum == "rest").sum())}
        ranks = draw_ranks(list(sizes.values()), [150, 750], rng)
        idx = np.concatenate([np.flatnonzero(stratum == s)[r] for s, r in zip(sizes, ranks)])
        f = estimate_from_samples(stratum[idx], mapped[idx], truth[idx], sizes, classes=["1", "3", "4"],
                                  confidence=0.95)
        est_s.append(f.area_proportion[0])
        cov_s += abs(f.area_proportion[0] - true_loss) <= f.area_proportion_ci_halfwidth[0]
    for est, cov in ((np.array(est_o), cov_o), (np.array(est_s), cov_s)):
        assert abs(est.mean() - true_loss) < 4 * est.std(ddof=1) / np.sqrt(reps)
        assert 0.90 <= cov / reps <= 0.99
