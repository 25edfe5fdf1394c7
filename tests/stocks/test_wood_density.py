"""Wood density fallback chain: the 1635 / 246 / 169 known answer and the shipped GWDD v1 table."""

import numpy as np
import pandas as pd
import pytest

from reddplus.errors import InputDataError
from reddplus.stocks.wood_density import (GWDD_V1_LEVEL_SD, default_wood_density_table, match_wood_density,
                                          read_wood_density_table, wood_density_table_from_records)


def test_nouragues_match_with_corrected_taxonomy(shared):
    """GWDD v2 + vignette_output_Taxo_correctTaxo.csv: 1635 species, 246 genus, 169 stand-mean
    (BIOMASS vignette; biomass_nouragues/PROVENANCE.md item 5). Stand mean = mean of the matched
    trees of the plot."""
    trees = pd.read_csv(shared("biomass_nouragues", "NouraguesTrees.csv"))
    taxo = pd.read_csv(shared("biomass_nouragues", "vignette_output_Taxo_correctTaxo.csv"))
    table = read_wood_density_table(shared("wood_density", "GWDD_v2_wsg_estimates_Fischer2026.csv.gz"))
    m = match_wood_density(taxo["genusAccepted"], taxo["speciesAccepted"], table, plot=trees["Plot"])
    assert m.counts == {"species": 1635, "genus": 246, "family": 0, "plot": 169, "dataset": 0}
    plot_level = m.level == "plot"
    for p in trees["Plot"].unique():
        in_p = (trees["Plot"] == p).to_numpy()
        vals = m.wood_density[in_p & ~plot_level]
        assert np.allclose(m.wood_density[in_p & plot_level], vals.mean())
    assert np.all(m.wood_density_sd > 0)


def test_shipped_table_level_sd_matches_biomass_species_sd(shared):
    """Species-level SD of GWDD v1 (mean SD of species with >= 10 records) = BIOMASS sd_10 0.0708."""
    rec = pd.read_csv(shared("wood_density", "GWDD_v1_wdData_Zanne2009.csv.gz"))
    t = wood_density_table_from_records(rec)
    ref = pd.read_csv(shared("wood_density", "sd_10_GWDD_v1.csv")).set_index("taxo")["sd"]
    assert t.level_sd["species"] == pytest.approx(ref["species"], abs=1e-6)
    assert t.level_sd == pytest.approx(GWDD_V1_LEVEL_SD, abs=1e-6)
    # the shipped aggregated table gives the same species means as the raw records
    shipped = default_wood_density_table()
    assert shipped.species.keys() == t.species.keys()
    k = "virola surinamensis"
    assert shipped.species[k][0] == pytest.approx(t.species[k][0], rel=1e-5)


def test_region_filter_and_levels():
    world = default_wood_density_table()
    sa = default_wood_density_table("SouthAmericaTrop")
    assert len(sa.species) < len(world.species)
    m = match_wood_density(["Virola", "Virola", "Zzzgenus", None], ["surinamensis", "nonexistens", "x", None], sa,
                           family=["Myristicaceae", "Myristicaceae", "Myristicaceae", None], plot=["a", "a", "a", "a"])
    assert list(m.level) == ["species", "genus", "family", "plot"]
    assert m.wood_density[3] == pytest.approx(np.mean(m.wood_density[:3]))


def test_binomial_species_names_accepted():
    t = default_wood_density_table()
    a = match_wood_density(["Virola"], ["Virola surinamensis"], t)
    b = match_wood_density(["Virola"], ["surinamensis"], t)
    assert a.level[0] == "species" and a.wood_density[0] == b.wood_density[0]


def test_unknown_taxa_fall_back_to_dataset_mean_and_all_unknown_is_an_error():
    t = default_wood_density_table()
    m = match_wood_density(["Virola", "Nonesuch"], ["surinamensis", "x"], t, plot=["p1", "p2"])
    assert list(m.level) == ["species", "dataset"]
    with pytest.raises(InputDataError, match="no tree could be matched"):
        match_wood_density(["Nonesuch"], ["x"], t)


def test_unknown_region():
    with pytest.raises(InputDataError, match="region"):
        default_wood_density_table("Atlantis")
