"""The GENERATED sample's reference sample: labelled with a known error process, its intervals cover the truth."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from reddplus.accuracy.reference import (MAP_CLASS_OF, ZONES, estimate_period_activity, parse_stratum,
                                         period_classes, period_stratum_classes, read_reference_sample,
                                         reference_sample_activity, stratum_codes, stratum_label)
from reddplus.sample import generate_sample_landscape
from reddplus.sample.reference_sample import (DATING_ERROR_RATE, EXPECTED_UA, MIN_PER_STRATUM, dating_error_rates,
                                              label_points, true_codes)

PERIODS = ((2010, 2020), (2020, 2024))     # the project's HRP and its monitoring period 2021-2024
DATES = tuple(range(2000, 2025))


@pytest.fixture(scope="module")
def land(tmp_path_factory):
    return generate_sample_landscape(tmp_path_factory.mktemp("ref") / "land", scale=0.25)


@pytest.fixture(scope="module")
def arrays(land):
    """True codes (from the landscape's files: the map is the true process) and zone codes on the grid."""
    import geopandas as gpd
    import rasterio
    from rasterio.features import rasterize

    from reddplus.landcover import codes_from_hansen

    with rasterio.open(land.paths["treecover2000"]) as a, rasterio.open(land.paths["lossyear"]) as b:
        codes = codes_from_hansen(a.read(1), b.read(1), len(DATES))
    g = land.grid

    def burn(name):
        return rasterize(((x, 1) for x in gpd.read_file(land.paths[name]).geometry), out_shape=g.shape,
                         transform=g.transform).astype(bool)

    zones = np.full(g.shape, 3, np.int64)
    zones[burn("leakage_belt")] = 2
    zones[burn("project")] = 1
    return codes, zones


def _truth(land):
    return json.loads(land.paths["reference_sample_truth"].read_text())


def test_files_are_generated_labelled_and_readable(land):
    table = pd.read_csv(land.paths["reference_sample"], keep_default_na=False)
    assert list(table.columns) == ["point_id", "period", "x", "y", "lon", "lat", "stratum", "map", "reference",
                                   "source"]
    assert (table["source"] == "GENERATED").all() and set(table["period"]) == {"2010-2020", "2020-2024"}
    truth = _truth(land)
    assert truth["GENERATED"] is True and truth["dating_error_rate"] == DATING_ERROR_RATE
    sample = read_reference_sample(land.paths["reference_sample"])
    assert sample.periods == PERIODS and sample.has_coordinates
    for key, p in truth["periods"].items():
        rows = table[table["period"] == key]
        assert p["points"] == len(rows) >= 12 * MIN_PER_STRATUM * 0.5
        assert 0 < p["points_labelled_unlike_the_map"] == int((rows["reference"] != rows["map"]).sum())
        for rates in p["dating_error_rates"].values():
            assert all(0 <= r <= DATING_ERROR_RATE for r in rates.values())
    # the landscape's truth agrees with the sample's truth file
    per_year = land.truth["deforestation_ha_per_year"]
    for (a, b) in PERIODS:
        for dom in ("jurisdiction", "project", "leakage_belt"):
            assert truth["periods"][f"{a}-{b}"]["true_deforestation_ha"][dom] == pytest.approx(
                sum(per_year[dom][str(y)] for y in range(a + 1, b + 1)))
    assert 'reference_sample = "reference_sample.csv"' in land.project_toml.read_text()   # the run reads it


def test_map_counts_are_the_truth_and_intervals_cover_it(land):
    from reddplus.project import load_project

    cfg = load_project(land.project_toml)
    res = reference_sample_activity(land.paths["reference_sample"], cfg.forest_change.open(),
                                    jurisdiction=cfg.areas.jurisdiction, project=cfg.areas.project,
                                    leakage_belt=cfg.areas.leakage_belt, confidence=0.90)
    truth = _truth(land)["periods"]
    for (a, b) in PERIODS:
        p = res.period(a, b)
        assert p.method == "stehman2014" and p.zone_source == "coordinates"
        for dom, d in p.domains.items():
            true_ha = truth[f"{a}-{b}"]["true_deforestation_ha"][dom]
            assert d.map_ha == pytest.approx(true_ha)                 # the map is the true process
            lo, hi = d.ci_ha
            assert lo <= true_ha <= hi, (a, b, dom, d.to_dict())
            assert d.se_ha > 0 and d.estimate_ha != d.map_ha          # the labelling errors show


def test_the_design_tool_on_the_files_draws_the_same_points(land, tmp_path):
    """``accuracy design`` on the written map and zones, with the landscape's seed, gives the generated points:
    the generator's in-memory truth, zones and blocks are those the tools read."""
    from reddplus.accuracy.tools import design_reference_files
    from reddplus.project import load_project

    cfg = load_project(land.project_toml)
    _, written = design_reference_files(cfg.forest_change.open(), tmp_path / "p.gpkg", periods=PERIODS,
                                        jurisdiction=cfg.areas.jurisdiction, project=cfg.areas.project,
                                        leakage_belt=cfg.areas.leakage_belt, expected_ua=EXPECTED_UA,
                                        min_per_stratum=MIN_PER_STRATUM, date_buffers=True,
                                        seed=land.truth["seed"], out_csv=tmp_path / "p.csv")
    mine = pd.read_csv(written["csv"], keep_default_na=False)
    gen = pd.read_csv(land.paths["reference_sample"], keep_default_na=False)
    pd.testing.assert_frame_equal(mine[["period", "x", "y", "stratum", "map"]], gen[["period", "x", "y", "stratum",
                                                                                     "map"]])


def test_labelling_model_is_balanced(arrays):
    """The expected deforestation of the labels equals the true deforestation in every zone (module docstring)."""
    codes, zones = arrays
    n = len(DATES)
    for (a, b) in PERIODS:
        k0, k1 = DATES.index(a), DATES.index(b)
        rates = dating_error_rates(codes, zones, k0, k1, n)
        for zi, name in enumerate(ZONES, start=1):
            c = codes[zones == zi]
            r = rates[name]
            inflow = r["before"] * np.sum(c == k0) + r["after"] * np.sum(c == k1 + 1)
            outflow = r["first"] * np.sum(c == k0 + 1) + r["last"] * np.sum(c == k1)
            assert inflow == pytest.approx(outflow, rel=1e-12)
            assert inflow > 0
    # a point outside every boundary interval keeps its true class
    rng = np.random.default_rng(0)
    lab = label_points(np.array([0, 5, 24, 25], np.uint8), ["other"] * 4, 10, 20,
                       {"other": {"before": 1.0, "first": 1.0, "last": 1.0, "after": 1.0}}, rng)
    assert list(lab) == ["non_forest", "non_forest", "forest", "forest"]
    assert np.array_equal(true_codes(np.array([0, 3]), np.array([True, True]), 25), [25, 3])


@pytest.mark.slow
def test_coverage_over_repeated_samples(land, arrays):
    """300 new samples of the generated design (same allocation, new points and new interpreter draws): the
    90 % intervals of the deforestation of the jurisdiction, project and leakage belt cover the truth in
    85-95 % of the samples, in the HRP and in the monitoring period (binomial SD 1.7 points at 300 samples)."""
    codes, zones = arrays
    n = len(DATES)
    truth = _truth(land)
    area = land.grid.pixel_area_ha
    reps = 300
    flat_c, flat_z = codes.ravel(), zones.ravel()
    for (a, b) in PERIODS:
        k0, k1 = DATES.index(a), DATES.index(b)
        strata = stratum_codes(period_stratum_classes(codes, k0, k1, n, True), zones).ravel()
        alloc = {s["stratum"]: s["n"] for s in truth["design"]["periods"][f"{a}-{b}"]["strata"]}
        values = [int(v) for v in np.unique(strata) if v > 0]
        members = {v: np.flatnonzero(strata == v) for v in values}
        sizes = {stratum_label(v): len(members[v]) for v in values}
        assert sizes == {s["stratum"]: s["mapped_pixels"] for s in truth["design"]["periods"][f"{a}-{b}"]["strata"]}
        pc = period_classes(codes, k0, k1)
        class_px = np.array([[np.count_nonzero((zones == z) & (pc == k)) for k in (1, 2, 3)] for z in (1, 2, 3)])
        rates = dating_error_rates(codes, zones, k0, k1, n)
        true_ha = truth["periods"][f"{a}-{b}"]["true_deforestation_ha"]
        covered = dict.fromkeys(true_ha, 0)
        estimates = {k: [] for k in true_ha}
        for r in range(reps):
            rng = np.random.default_rng([2024, a, r])
            pick = np.concatenate([rng.choice(members[v], alloc[stratum_label(v)], replace=False) for v in values])
            labels = label_points(flat_c[pick], np.array(ZONES, dtype=object)[flat_z[pick] - 1], k0, k1, rates, rng)
            names = [stratum_label(v) for v in strata[pick]]
            est = estimate_period_activity(names, [MAP_CLASS_OF[parse_stratum(s)[1]] for s in names], labels, sizes,
                                           class_px, start=a, end=b, pixel_area_ha=area, confidence=0.90)
            for dom, d in est.domains.items():
                lo, hi = d.ci_ha
                covered[dom] += lo <= true_ha[dom] <= hi
                estimates[dom].append(d.estimate_ha)
        for dom in true_ha:
            e = np.array(estimates[dom])
            assert abs(e.mean() - true_ha[dom]) < 4 * e.std(ddof=1) / np.sqrt(reps), (a, b, dom)   # unbiased
            assert 0.85 <= covered[dom] / reps <= 0.95, (a, b, dom, covered[dom] / reps)
