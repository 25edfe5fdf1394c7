"""The ``udef-arp`` profile against UDef-ARP's own outputs (Verra's reference implementation, commit 14acdaf).

Source: /work/shared/data/vt0007_udefarp_reference/PROVENANCE.md. UDef-ARP ran headless on the real
Guadeloupe fcc123 raster (riskmapjnr data) and on the reddplus sample, with exact Euclidean distances
(the ``exact/`` runs). With the same distances, the ``udef-arp`` profile must give UDef-ARP's NRT,
100 % identical class rasters (CAL, CNF, HRP, VP), the fitted densities of its relative-frequency
tables to 1e-9, its adjustment ratios to 1e-6, the same assessment cells and MedAE/MAE/R² to 1e-6
(relative: UDef-ARP sums each cell's float32 densities in float32, reddplus in float64), and its
project allocation.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import rasterio

from reddplus.landcover import open_forest_change
from reddplus.risk.tools import parse_periods, vt0007_benchmark

REF = "vt0007_udefarp_reference"

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]


def _run(case: str, shared, out):
    if case == "guadeloupe":
        fcc = shared("fcc_guadeloupe_riskmapjnr", "fcc123_GLP.tif")
        fc = open_forest_change(fcc, "fcc123", dates=(2000, 2010, 2020))
        kw = dict(admin=shared("fcc_guadeloupe_riskmapjnr", "ctry_border_GLP.gpkg"), cell_area_ha=2025,
                  expected_ha_per_year=318.375,
                  periods=parse_periods("CAL=2000-2010,CNF=2010-2020,HRP=2000-2020,VP=2020", fc.dates))
    else:
        inp = shared(REF, "sample", "inputs")
        fc = open_forest_change([inp / "treecover2000.tif", inp / "lossyear.tif"], "hansen", canopy_threshold=30)
        kw = dict(admin=inp / "jurisdiction.gpkg", admin_field="admin_id", cell_area_ha=100_000,
                  expected_ha_per_year=11_003.1, allocation_zones={"project": inp / "project.gpkg"},
                  periods=parse_periods("CAL=2010-2015,CNF=2015-2020,HRP=2010-2020,VP=2020", fc.dates))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # a short search distance for Guadeloupe (NRT 225 m), the default for the sample (NRT 3950 m)
        return vt0007_benchmark(fc, out_dir=out, profile="udef-arp", max_iterations=5,
                                max_distance_m=3000 if case == "guadeloupe" else 6000, **kw)


@pytest.fixture(scope="module", params=["guadeloupe", "sample"])
def case(request, tmp_path_factory):
    from tests.conftest import shared_path

    ref = shared_path(REF, request.param, "exact")
    res = json.loads((ref / "results.json").read_text())
    return request.param, ref, res, _run(request.param, shared_path, tmp_path_factory.mktemp(request.param))


def test_nrt_equals_udefarp(case):
    name, _, res, r = case
    assert r.profile == "udef-arp" and r.to_dict()["profile"] == "udef-arp"
    assert r.nrt_m == res["nrt"]["computed_m"] == {"guadeloupe": 225, "sample": 3950}[name]
    rb = res["nrt"]["recomputed_bin"]
    assert r.nrt.first_edge_m == rb["first_edge_m"]
    assert r.nrt.cumulative_share == pytest.approx(rb["cumulative_share"], abs=1e-12)
    assert r.nrt.counts.sum() == rb["hrp_deforestation_px"]


def test_class_rasters_are_identical(case):
    """vuln_CAL/CNF/HRP/VP: every pixel (HRP starts with the CAL, so its map is classes_cal)."""
    _, ref, res, r = case
    for ours, theirs in (("cal", "CAL"), ("cal", "HRP"), ("cnf", "CNF"), ("vp", "VP")):
        with rasterio.open(r.class_paths[ours]) as a, rasterio.open(ref / f"vuln_{theirs}.tif") as b:
            x, y = a.read(1), b.read(1)
        np.testing.assert_array_equal(x, y)
        counts = {str(c): int(n) for c, n in zip(*np.unique(x[x > 0], return_counts=True))}
        assert counts == res["classes_px"][theirs]


def test_fitted_densities_equal_the_relative_frequency_tables(case):
    _, ref, res, r = case
    for table, fit in ((r.density_cal, "CAL"), (r.density_hrp, "HRP")):
        rf = pd.read_csv(ref / f"rf_{fit}.csv")
        cls, zone = (rf.ID // 1000).to_numpy(), (rf.ID % 1000).to_numpy()
        np.testing.assert_array_equal(table.nforest[cls, zone], rf["Area of the Bin(pixel)"])
        np.testing.assert_array_equal(table.ndefor[cls, zone], rf["Total Deforestation(pixel)"])
        np.testing.assert_allclose(table.density_ha_per_pixel[cls, zone],
                                   rf["Average Deforestation(pixel)"] * r.pixel_area_ha, rtol=0, atol=1e-9)
        assert res["fit"][fit]["regions"] == len(rf)
        # no other region has forest
        assert table.nforest[1:].sum() == res["fit"][fit]["forest_px"]
    with rasterio.open(ref / "fd_HRP.tif") as ds:
        fd = ds.read(1)
    with rasterio.open(r.class_paths["cal"]) as ds:
        c = ds.read(1)
    # the fitted-density raster (float32) of the one-division case is the density table on the classes
    if r.density_hrp.nforest.shape[1] == 2:
        np.testing.assert_array_equal(np.where(c > 0, r.density_hrp.density_ha_per_pixel[c, 1], 0).astype(np.float32),
                                      fd)


def test_adjustment_ratios_and_allocation(case):
    name, ref, res, r = case
    for adj, stage in ((r.cnf_adjustment, "CNF"), (r.vp_adjustment, "VP")):
        p = res["prediction"][stage]
        assert adj.iterations == p["iterations"] and adj.converged == p["converged_within_max_iterations"]
        assert adj.ratio == pytest.approx(p["ar_product"], rel=1e-6)
        np.testing.assert_allclose(adj.ratios, p["ar_sequence"], rtol=1e-6)
    assert r.vp_adjustment.allocated_ha == pytest.approx(res["prediction"]["VP"]["density_sum_ha_per_year"], rel=1e-6)
    with rasterio.open(r.adjusted_density_path) as a, rasterio.open(ref / "apd_VP.tif") as b:
        x, y = a.read(1), b.read(1)
    np.testing.assert_allclose(np.where(y < 0, 0, y), x, rtol=1e-6, atol=1e-12)
    if name == "sample":
        assert r.allocation_ha_per_year["project"] == pytest.approx(res["prediction"]["VP"]["project_ha_per_year"],
                                                                    rel=1e-6)


def test_assessment_cells_and_figures(case):
    """Same cells (full cells inside the jurisdiction, UDef-ARP's offset and truncated side), same per-cell
    actual deforestation, MedAE/MAE/R² (squared Pearson r) to 1e-6."""
    import geopandas as gpd

    _, ref, res, r = case
    g = r.assessment_grid
    assert g.side == res["grid"]["assessment_cell_side_px"] and g.full_cells_only
    with rasterio.open(r.class_path) as ds:
        transform = ds.transform
    for a, stage in zip(r.assessment, ("CAL", "CNF")):
        ra = res["assessment"][stage]
        assert a.n_cells == ra["cells"]
        assert a.medae_ha == pytest.approx(ra["medae_ha"], rel=1e-6)
        assert a.mae_ha == pytest.approx(ra["mae_ha"], rel=1e-6)
        assert a.r2 == pytest.approx(ra["r2"], rel=1e-6)
        assert a.observed_ha.sum() == pytest.approx(ra["observed_total_ha"], rel=1e-9)
        # cell by cell: UDef-ARP's polygons, located by their centres on the grid
        cells = gpd.read_file(ref / f"assess_{stage}.shp")
        cx, cy = cells.geometry.centroid.x.to_numpy(), cells.geometry.centroid.y.to_numpy()
        col, row = ~transform * (cx, cy)
        idx = ((np.floor(row).astype(int) + g.offset) // g.side) * g.n_cols + \
            (np.floor(col).astype(int) + g.offset) // g.side
        ours = dict(zip(r.assessment_cells[stage].tolist(), zip(a.observed_ha, a.predicted_ha)))
        assert set(idx.tolist()) == set(ours)
        for k, act, pred in zip(idx, cells["ActualDef"], cells["PredDef"]):   # the figures use float32 totals
            assert ours[k][0] == np.float32(act)
            assert ours[k][1] == pytest.approx(pred, rel=1e-6, abs=1e-6)
