"""Height–diameter models: BIOMASS modelHD table on NouraguesHD, Feldpausch 2012, Chave 2014 eq. 6a."""

import numpy as np
import pandas as pd
import pytest

from reddplus.errors import InputDataError, ModelError
from reddplus.stocks.height import (compare_height_models, feldpausch2012_coefficients, fit_height_model,
                                    height_chave2014_eq6a, height_feldpausch2012)

#: BIOMASS vignette, modelHD(useWeight = TRUE) on NouraguesHD (biomass_nouragues/PROVENANCE.md item 3)
VIGNETTE = {"log1": (4.700088, 0.2472750, 0.0724598), "log2": (4.329727, 0.2240379, 0.0182504),
            "weibull": (4.307951, None, -0.0186951), "michaelis": (4.294488, None, -0.0064068)}


@pytest.fixture
def nouragues_hd(shared):
    return pd.read_csv(shared("biomass_nouragues", "NouraguesHD.csv"))


def test_model_hd_table_matches_biomass_vignette(nouragues_hd):
    table = compare_height_models(nouragues_hd["D"], nouragues_hd["H"], weighted=True)
    assert [m.method for m in table.models] == list(VIGNETTE)
    for m in table.models:
        rse, rse_log, bias = VIGNETTE[m.method]
        assert m.n == 888
        if m.method in ("log1", "log2"):  # exact re-derivation
            assert m.rse == pytest.approx(rse, abs=1e-6)
            assert m.rse_log == pytest.approx(rse_log, abs=1e-7)
            assert m.average_bias == pytest.approx(bias, abs=1e-7)
        else:  # non-linear least squares: same optimum to the vignette's printed precision
            assert m.rse_log is None
            assert m.rse == pytest.approx(rse, abs=2e-5)
            assert m.average_bias == pytest.approx(bias, abs=1e-5)


def test_log2_coefficients_and_prediction(nouragues_hd):
    """log2 coefficients 0.51694978, 1.14188111, -0.09854285 (PROVENANCE.md)."""
    m = fit_height_model(nouragues_hd["D"], nouragues_hd["H"], "log2")
    np.testing.assert_allclose(list(m.coefficients.values()), [0.51694978, 1.14188111, -0.09854285], atol=1e-7)
    d = np.array([10.0, 50.0])
    expected = np.exp(0.51694978 + 1.14188111 * np.log(d) - 0.09854285 * np.log(d) ** 2 + m.rse_log ** 2 / 2)
    np.testing.assert_allclose(m.predict(d), expected, rtol=1e-6)


def test_unweighted_fit_differs(nouragues_hd):
    w = fit_height_model(nouragues_hd["D"], nouragues_hd["H"], "log1", weighted=True)
    u = fit_height_model(nouragues_hd["D"], nouragues_hd["H"], "log1", weighted=False)
    assert u.rse < w.rse  # least squares on the raw scale is closer without D^2 H weights


def test_feldpausch_guiana_shield_known_coefficients():
    """H = 42.845 (1 - exp(-0.0433 D^0.9372)) reproduces BIOMASS H_feldpausch (PROVENANCE.md item 2)."""
    d = np.array([10.0, 25.0, 74.4, 144.9])
    np.testing.assert_allclose(height_feldpausch2012(d, "GuianaShield"),
                               42.845 * (1 - np.exp(-0.0433 * d ** 0.9372)), rtol=1e-12)


def test_shipped_feldpausch_table_equals_shared_table(shared):
    ref = pd.read_csv(shared("allometry_chave2014_feldpausch2012", "feldCoef_Feldpausch2012_table3.csv"))
    ours = feldpausch2012_coefficients()
    assert len(ours) == 12
    for _, row in ref.iterrows():
        d = np.array([15.0, 60.0])
        np.testing.assert_allclose(height_feldpausch2012(d, row["region"]),
                                   row["a"] * (1 - np.exp(-row["b"] * d ** row["c"])), rtol=1e-12)


def test_feldpausch_unknown_region():
    with pytest.raises(InputDataError, match="GuianaShield"):
        height_feldpausch2012([10.0], "Atlantis")


def test_chave_eq6a_form():
    """ln H = 0.893 - E + 0.760 ln D - 0.0340 (ln D)^2, back-transformed with RSE 0.243."""
    d, e = np.array([20.0]), -0.1290056
    ld = np.log(d)
    np.testing.assert_allclose(height_chave2014_eq6a(d, e), np.exp(0.893 - e + 0.76 * ld - 0.034 * ld ** 2
                                                                   + 0.243 ** 2 / 2))


def test_too_few_trees():
    with pytest.raises(ModelError):
        fit_height_model([10, 20], [12, np.nan], "log2")
