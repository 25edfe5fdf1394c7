"""The GENERATED sample landscape: reproducible, the right areas, a documented process whose truth shows."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio

from reddplus.sample import PROJECT_AREA_HA, STRATA, generate_sample_landscape
from reddplus.sample.landscape import REGION_KM, hazard_probability


@pytest.fixture(scope="module")
def land(tmp_path_factory):
    return generate_sample_landscape(tmp_path_factory.mktemp("s") / "land", scale=0.25)


def test_areas_and_files(land):
    import geopandas as gpd

    assert land.truth["project_area_ha"] == pytest.approx(PROJECT_AREA_HA, rel=1e-6)
    assert 2e6 <= land.truth["region_area_ha"] == REGION_KM[0] * REGION_KM[1] * 100 <= 5e6
    for name in ("treecover2000", "lossyear", "fcc123", "strata", "elevation", "slope"):
        with rasterio.open(land.paths[name]) as ds:
            assert ds.crs.to_string().startswith("ESRI:102033") or "Albers" in ds.crs.to_wkt()
            assert (ds.height, ds.width) == land.grid.shape
            assert "not real" in ds.tags()["GENERATED"]
    for name in ("jurisdiction", "project", "leakage_belt", "protected_areas", "roads", "planned_roads", "rivers",
                 "settlements", "mining"):
        g = gpd.read_file(land.paths[name])
        assert len(g) and g.crs is not None
    jur = gpd.read_file(land.paths["jurisdiction"])
    assert jur["admin_id"].min() > 32767          # ids beyond int16 on purpose
    proj = gpd.read_file(land.paths["project"]).geometry.union_all()
    assert jur.geometry.union_all().contains(proj)
    assert "GENERATED" in json.loads(land.paths["metadata"].read_text())["description"] + "GENERATED"
    assert "GENERATED" in land.project_toml.read_text()


def test_config_loads_and_is_consistent(land):
    from reddplus.project import load_project

    cfg = load_project(land.project_toml)
    assert cfg.forest_change.format == "hansen" and cfg.forest_change.dates[-1] == 2024
    fc = cfg.forest_change.open()
    assert fc.grid.same_as(land.grid)
    assert {s.name for s in cfg.stocks.strata} == {v["name"] for v in STRATA.values()}
    assert cfg.deductions.nprt


def test_reproducible_with_a_seed(land, tmp_path):
    again = generate_sample_landscape(tmp_path / "again", scale=0.25)
    for name in ("lossyear", "strata", "treecover2000"):
        with rasterio.open(land.paths[name]) as a, rasterio.open(again.paths[name]) as b:
            np.testing.assert_array_equal(a.read(1), b.read(1))
    assert again.paths["inventory"].read_text() == land.paths["inventory"].read_text()
    other = generate_sample_landscape(tmp_path / "other", scale=0.25, seed=7)
    with rasterio.open(land.paths["lossyear"]) as a, rasterio.open(other.paths["lossyear"]) as b:
        assert (a.read(1) != b.read(1)).any()


def test_rates_plausible_and_highway_raises_them(land):
    import geopandas as gpd
    from rasterio.features import rasterize
    from scipy import ndimage

    d = {int(k): v for k, v in land.truth["deforestation_ha_per_year"]["jurisdiction"].items()}
    forest = land.truth["region_area_ha"] * 0.85
    before = np.mean([d[y] for y in range(2001, 2011)])
    assert 0.0005 < before / forest < 0.02          # 0.05-2 %/yr, Amazonian frontier rates
    roads = gpd.read_file(land.paths["roads"])
    highway = roads[roads["opening_year"] == land.truth["highway_opening_year"]]
    g = land.grid
    mask = rasterize(((geom, 1) for geom in highway.geometry), out_shape=g.shape, transform=g.transform,
                     all_touched=True).astype(bool)
    near = ndimage.distance_transform_edt(~mask) * g.res[0] < 5_000
    with rasterio.open(land.paths["lossyear"]) as ds:
        ly = ds.read(1)
    per_year = np.array([np.count_nonzero(near & (ly == k)) for k in range(1, 21)], float)
    assert per_year[11:20].mean() > 1.5 * per_year[0:10].mean()   # the highway paved in 2011 raises it nearby


def test_protection_effect_is_the_known_truth(tmp_path):
    """protection 0.3 vs 1.0: the same random numbers, so the unprotected run equals the stored counterfactual."""
    on = generate_sample_landscape(tmp_path / "on", scale=0.25, protection_effect=0.3)
    off = generate_sample_landscape(tmp_path / "off", scale=0.25, protection_effect=1.0)
    years = range(2021, 2025)
    got_on = sum(on.truth["deforestation_ha_per_year"]["project"][str(y)] for y in years)
    got_off = sum(off.truth["deforestation_ha_per_year"]["project"][str(y)] for y in years)
    cf = sum(on.truth["counterfactual_project_ha_per_year"][str(y)] for y in years)
    assert cf == pytest.approx(got_off)
    assert got_on < 0.6 * got_off
    before_on = sum(on.truth["deforestation_ha_per_year"]["project"][str(y)] for y in range(2001, 2021))
    before_off = sum(off.truth["deforestation_ha_per_year"]["project"][str(y)] for y in range(2001, 2021))
    assert before_on == before_off                  # no effect before the project start


@pytest.mark.slow
def test_full_size_stock_and_rates_near_the_reference(tmp_path):
    """At the demo's size the project's AGB stock lands near 79.4 Mt CO2 (within 10 %), and the true
    avoided deforestation (counterfactual - actual, 2021-2024) is worth 250,000-595,000 t CO2e/yr at
    the generated stocks (the reference projection's range), within a factor of 1.5."""
    full = generate_sample_landscape(tmp_path / "full", scale=1.0)
    t = full.truth
    assert t["project_agb_tco2_2020"] == pytest.approx(79.4e6, rel=0.10)
    years = [str(y) for y in range(2021, 2025)]
    avoided_ha = np.mean([t["counterfactual_project_ha_per_year"][y] - t["deforestation_ha_per_year"]["project"][y]
                          for y in years])
    agb_per_ha = t["project_agb_tco2_2020"] / sum(t["project_forest_2020_ha_by_stratum"].values())
    avoided = avoided_ha * agb_per_ha * 1.37      # AGB + BGB (root:shoot 0.37)
    assert 250_000 / 1.5 < avoided < 595_000 * 1.5


def test_hazard_is_monotone_in_the_drivers():
    near = hazard_probability(0.1, 1.0, 1.0, 5.0, 0.0, 1.0)
    far = hazard_probability(5.0, 20.0, 10.0, 50.0, 0.0, 1.0)
    mined = hazard_probability(0.1, 1.0, 1.0, 5.0, 1.0, 1.0)
    assert far < near < mined
    assert hazard_probability(0.1, 1.0, 1.0, 5.0, 0.0, 4.0) == pytest.approx(1 - (1 - near) ** 4)


def test_plot_variability_of_the_order_of_real_plots(shared):
    """The strata's plot CVs are of the order of the real Nouragues 1-ha plots' between-plot CV."""
    import warnings

    from reddplus.stocks.tools import agb_from_files

    trees = shared("biomass_nouragues", "NouraguesTrees.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = agb_from_files(trees, columns={"plot": "Plot", "genus": "Genus", "species": "Species", "family": "Family",
                                           "diameter": "D"}, plot_area=1.0, allometry="chave2014_eq7", e=-0.1)
    agb = np.array([p.agb_mg for p in r.plots])
    cv = agb.std(ddof=1) / agb.mean()
    assert 0.15 < cv < 0.35
    for s in STRATA.values():
        assert 0.5 * cv < s["cv"] < 1.5 * cv
