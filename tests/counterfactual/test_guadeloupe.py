"""The counterfactual on the real Guadeloupe fcc123 raster (riskmapjnr; 2000-2010-2020, 30 m, EPSG:5490)
with a hypothetical 8 km x 8 km project on the central Basse-Terre forest, built in tmp_path."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.features import geometry_mask
from shapely.geometry import box

from reddplus.counterfactual import run_counterfactual
from reddplus.errors import NotEqualAreaWarning

pytestmark = pytest.mark.shared_data

#: centre of the hypothetical project [m, EPSG:5490] (mean position of the 2020 forest pixels, Basse-Terre)
CENTRE = (647_292.0, 1_786_583.0)


def test_guadeloupe_hypothetical_project(shared, open_fc, tmp_path):
    tif = shared("fcc_guadeloupe_riskmapjnr", "fcc123_GLP.tif")
    border = shared("fcc_guadeloupe_riskmapjnr", "ctry_border_GLP.gpkg")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotEqualAreaWarning)  # UTM 20N: areas approximate, as in riskmapjnr
        fc = open_fc(tif)
        with rasterio.open(tif) as ds:
            a, T, crs = ds.read(1), ds.transform, ds.crs
        x, y = CENTRE
        geom = box(x - 4000, y - 4000, x + 4000, y + 4000)
        proj = tmp_path / "project.gpkg"
        gpd.GeoDataFrame({"name": ["hypothetical"]}, geometry=[geom], crs=crs).to_file(proj)
        res = run_counterfactual(fc, proj, start_year=2010, repeats=100, seed=2023, jurisdiction_path=border,
                                 emission_factor_tco2e_per_ha=500.0)
    # known answer: forest in 2010 (fcc123 values 2 and 3) with pixel centres in the box, x 0.09 ha
    inside = ~geometry_mask([geom], a.shape, T)
    assert res.project_forest_start_ha == pytest.approx(np.isin(a[inside], (2, 3)).sum() * 0.09)
    # PROVENANCE: 40,956 px lost 2010-2020 of 856,650 forest px in 2010 -> 4.78 % island-wide; the candidate
    # pool (island minus project, 5 km buffer and ring) must be of that order
    naive = res.naive_control_fraction[0]
    assert 0.02 < naive < 0.10
    bal = res.balance.set_index("covariate")
    assert np.abs(bal["smd_after"]).max() < 0.1 < np.abs(bal["smd_before"]).max()
    iv = res.avoided_deforestation_ha
    assert iv.low < iv.estimate < iv.high
    assert res.matched_fraction.estimate > 0.95
    d = res.to_dict()
    print({"forest_2010_ha": res.project_forest_start_ha, "n_sample": res.n_project_sample,
           "n_candidates": res.n_candidates, "periods": d["periods"], "avoided_ha": iv,
           "leakage_ha": res.leakage_deforestation_ha, "balance": bal.round(3).to_dict()})
