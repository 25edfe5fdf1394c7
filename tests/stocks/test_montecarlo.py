"""Monte Carlo propagation: BIOMASS vignette total, reproducibility, bounded chunks."""

import numpy as np
import pandas as pd
import pytest

from reddplus.errors import InputDataError, ModelError
from reddplus.stocks.height import HeightModel, fit_height_model
from reddplus.stocks.montecarlo import CHUNK_TREES, agb_monte_carlo
from reddplus.stocks.wood_density import match_wood_density, read_wood_density_table


@pytest.fixture(scope="module")
def nouragues():
    from tests.conftest import shared_path
    trees = pd.read_csv(shared_path("biomass_nouragues", "NouraguesTrees.csv"))
    taxo = pd.read_csv(shared_path("biomass_nouragues", "vignette_output_Taxo_correctTaxo.csv"))
    hd = pd.read_csv(shared_path("biomass_nouragues", "NouraguesHD.csv"))
    table = read_wood_density_table(shared_path("wood_density", "GWDD_v2_wsg_estimates_Fischer2026.csv.gz"))
    wd = match_wood_density(taxo["genusAccepted"], taxo["speciesAccepted"], table, plot=trees["Plot"])
    return trees, wd, fit_height_model(hd["D"], hd["H"], "log2")


def test_total_within_2_percent_of_biomass_vignette(nouragues):
    """AGBmonteCarlo(Dpropag = "chave2004", errWD, HDmodel log2) on NouraguesTrees: meanAGB
    1674.958 Mg, sdAGB 45.70764, 95 % CI 1587.405-1769.685 (BIOMASS vignette)."""
    trees, wd, hm = nouragues
    r = agb_monte_carlo(trees["D"], wd.wood_density, wd.wood_density_sd, height_model=hm, plot=trees["Plot"],
                        n_draws=1000, seed=42)
    t = r.total
    assert t.mean == pytest.approx(1674.958, rel=0.02)
    assert t.median == pytest.approx(1674.216, rel=0.02)
    assert t.sd == pytest.approx(45.70764, rel=0.15)
    assert t.ci95[0] == pytest.approx(1587.405, rel=0.02) and t.ci95[1] == pytest.approx(1769.685, rel=0.02)
    assert r.plots == (201, 204, 213, 223)
    assert r.plot_draws.shape == (4, 1000)


def test_seeded_runs_are_reproducible_whatever_the_threads(nouragues):
    trees, wd, hm = nouragues
    kw = dict(height_model=hm, plot=trees["Plot"], n_draws=60, seed=7)
    a = agb_monte_carlo(trees["D"], wd.wood_density, wd.wood_density_sd, threads=1, **kw)
    b = agb_monte_carlo(trees["D"], wd.wood_density, wd.wood_density_sd, threads=2, **kw)
    c = agb_monte_carlo(trees["D"], wd.wood_density, wd.wood_density_sd, threads=2, **{**kw, "seed": 8})
    np.testing.assert_array_equal(a.plot_draws, b.plot_draws)
    assert not np.array_equal(a.plot_draws, c.plot_draws)


def _synthetic(n, seed=0):
    rng = np.random.default_rng(seed)
    return 10 + rng.weibull(0.9, n) * 12, rng.uniform(0.4, 0.9, n), np.full(n, 0.07)


def test_plot_sums_add_up_across_chunks():
    """Trees spread over several chunks and plots: plot draws sum to the total draws, and the
    mean is near the deterministic value (no error sources but the allometry residual)."""
    d, wd, _ = _synthetic(3 * CHUNK_TREES + 17)
    h = np.full(d.shape, 25.0)
    plot = np.repeat(["a", "b", "c"], [1000, 2000, len(d) - 3000])
    r = agb_monte_carlo(d, wd, 0.0, height=h, plot=plot, n_draws=200, diameter_error="none", seed=1)
    np.testing.assert_allclose(r.plot_draws.sum(axis=0), r.total_draws)
    det = 0.0673 * (wd * d ** 2 * h) ** 0.976 / 1000
    assert r.total.mean == pytest.approx(det.sum(), rel=0.02)
    assert r.plot_summaries()["a"].mean == pytest.approx(det[plot == "a"].sum(), rel=0.03)


def test_eq7_and_carbon():
    d, wd, sd = _synthetic(500)
    agb = agb_monte_carlo(d, wd, sd, allometry="chave2014_eq7", e=-0.129, n_draws=300, seed=3)
    c = agb_monte_carlo(d, wd, sd, allometry="chave2014_eq7", e=-0.129, n_draws=300, seed=3, carbon=True)
    assert c.total.mean / agb.total.mean == pytest.approx(0.4713, abs=0.01)
    with pytest.raises(ModelError, match="E"):
        agb_monte_carlo(d, wd, sd, allometry="chave2014_eq7", n_draws=10)


def test_missing_height_model_and_bad_inputs():
    d, wd, sd = _synthetic(10)
    with pytest.raises(ModelError, match="no height"):
        agb_monte_carlo(d, wd, sd, n_draws=10)
    with pytest.raises(InputDataError):
        agb_monte_carlo(np.r_[d[:-1], -1.0], wd, sd, height=np.full(10, 20.0), n_draws=10)
    with pytest.raises(InputDataError, match="allometry"):
        agb_monte_carlo(d, wd, sd, allometry="chave2005", n_draws=10)


def test_non_log_height_model_errors_are_additive():
    d, wd, sd = _synthetic(300)
    hm = HeightModel("michaelis", {"a": 52.3, "b": 29.26}, 4.29, None, None, 888, True)
    r = agb_monte_carlo(d, wd, sd, height_model=hm, n_draws=200, seed=5)
    det = (0.0673 * (wd * d ** 2 * hm.predict(d)) ** 0.976 / 1000).sum()
    assert r.total.mean == pytest.approx(det, rel=0.05)
    assert r.total.ci90[0] < det < r.total.ci90[1]


def test_measured_height_error_widens_a_small_plot():
    """Tree-level errors average out over many trees; on 5 trees a 5 m height SD must show."""
    d, wd, _ = _synthetic(5)
    h = np.full(5, 20.0)
    a = agb_monte_carlo(d, wd, 0.0, height=h, n_draws=2000, diameter_error="none", seed=2)
    b = agb_monte_carlo(d, wd, 0.0, height=h, height_sd=5.0, n_draws=2000, diameter_error="none", seed=2)
    assert b.total.sd > 1.1 * a.total.sd


def test_eq7_per_tree_e_equals_scalar_e():
    d, wd, sd = _synthetic(50)
    a = agb_monte_carlo(d, wd, sd, allometry="chave2014_eq7", e=-0.129, n_draws=100, seed=4)
    b = agb_monte_carlo(d, wd, sd, allometry="chave2014_eq7", e=np.full(50, -0.129), n_draws=100, seed=4)
    np.testing.assert_allclose(a.plot_draws, b.plot_draws)
    c = agb_monte_carlo(d, wd, sd, allometry="chave2014_eq7", e=np.full(50, 0.5), n_draws=100, seed=4)
    assert c.total.mean < a.total.mean
