"""The viewer's HTTP layer (no browser): layers, legends, the path dependency that only serves the run's
own rasters, tiles and point values from titiler against rasterio, outlines in EPSG:4326, the report."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient
from pyproj import Transformer

from reddplus.errors import InputDataError
from reddplus.view import create_app, discover_layers


@pytest.fixture(scope="module")
def client(demo_run):
    return TestClient(create_app(demo_run))


def _pixel(path, value_test):
    """A pixel (row, col) whose value passes ``value_test`` and the lon/lat of its centre."""
    with rasterio.open(path) as ds:
        a = ds.read(1)
        rows, cols = np.nonzero(value_test(a))
        i = len(rows) // 2
        r, c = int(rows[i]), int(cols[i])
        x, y = ds.xy(r, c)
        lon, lat = Transformer.from_crs(ds.crs, "EPSG:4326", always_xy=True).transform(x, y)
        return r, c, a[r, c], lon, lat


def test_layers(client, demo_run):
    j = client.get("/api/layers").json()
    names = [r["name"] for r in j["rasters"]]
    assert names[:3] == ["classes_vp", "density_vp", "forest_change"]
    assert {"project", "leakage_belt", "jurisdiction"} == {v["name"] for v in j["vectors"]}
    assert "forest_change" in j["visible"] and "project" in j["visible"]
    fc = next(r for r in j["rasters"] if r["name"] == "forest_change")
    assert fc["legend"][0]["label"] == "non-forest in 2000" and fc["legend"][-1]["label"] == "forest in 2024"
    assert fc["unit"] == "code"
    dens = next(r for r in j["rasters"] if r["name"] == "density_vp")
    assert dens["unit"] == "ha/pixel/yr" and dens["vmax"] > 0
    w, s, e, n = j["fit"]
    assert -180 <= w < e <= 180 and -90 <= s < n <= 90


def test_only_the_runs_rasters(client):
    assert client.get("/raster/info", params={"layer": "../manifest.json"}).status_code == 404
    assert client.get("/raster/info", params={"layer": "/etc/passwd"}).status_code == 404
    r = client.get("/raster/info", params={"url": "/etc/passwd"})
    assert r.status_code == 422                         # no url parameter: the path dependency wants a layer
    assert client.get("/api/vectors/..%2Fmanifest.geojson").status_code == 404


def test_point_values_equal_rasterio(client, demo_run):
    for name, test in (("classes_vp", lambda a: a > 0), ("density_vp", lambda a: a > 0),
                       ("forest_change", lambda a: (a > 0) & (a < 25))):
        r, c, want, lon, lat = _pixel(demo_run / "rasters" / f"{name}.tif", test)
        got = client.get(f"/raster/point/{lon},{lat}", params={"layer": name}).json()["values"][0]
        assert got == pytest.approx(float(want), rel=1e-6), (name, r, c)



def test_tile_png(client, demo_run):
    import morecantile

    j = client.get("/api/layers").json()
    w, s, e, n = next(r for r in j["rasters"] if r["name"] == "forest_change")["bounds"]
    tms = morecantile.tms.get("WebMercatorQuad")
    t = tms.tile((w + e) / 2, (s + n) / 2, 9)
    r = client.get(f"/raster/tiles/WebMercatorQuad/9/{t.x}/{t.y}.png", params={"layer": "forest_change"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png" and r.content[:4] == b"\x89PNG"
    dens = next(r for r in j["rasters"] if r["name"] == "density_vp")
    r = client.get(f"/raster/tiles/WebMercatorQuad/9/{t.x}/{t.y}.png", params={"layer": "density_vp",
                                                                               **dens["tile_params"]})
    assert r.status_code == 200


def test_outlines_in_wgs84(client, demo_run):
    gj = client.get("/api/vectors/project.geojson").json()
    want = gpd.read_file(demo_run / "sample" / "project.gpkg").to_crs(4326).total_bounds
    assert gj["bbox"] == pytest.approx(list(want), abs=2e-5)             # simplified by about a metre
    assert gj["type"] == "FeatureCollection" and gj["features"]


def test_report_and_page(client):
    page = client.get("/")
    assert page.status_code == 200 and "/static/leaflet/leaflet.js" in page.text and "Sample concession" in page.text
    assert client.get("/static/leaflet/leaflet.js").status_code == 200
    rep = client.get("/report/")
    assert rep.status_code == 200 and "<img" in rep.text
    src = rep.text.split('<img src="', 1)[1].split('"', 1)[0]          # figures/areas.png
    assert client.get(f"/report/{src}").status_code == 200
    assert client.get("/report/manifest.json").status_code == 404        # only the report and its figures


def test_not_a_run(tmp_path):
    with pytest.raises(InputDataError, match="not a reddplus run folder"):
        discover_layers(tmp_path)


def test_moved_run_folder(demo_run, tmp_path):
    """A run folder copied elsewhere still finds its project inside (the demo's sample/)."""
    import shutil

    dst = tmp_path / "copy"
    shutil.copytree(demo_run, dst)
    m = json.loads((dst / "manifest.json").read_text())
    m["base_dir"] = "/nonexistent/sample"
    (dst / "manifest.json").write_text(json.dumps(m))
    assert set(discover_layers(dst).vectors) == {"project", "leakage_belt", "jurisdiction"}


def test_run_rasters_say_what_they_hold(demo_run):
    """The risk map's rasters and the forest change carry a band description and a unit; the unadjusted
    density has a nodata value (NaN where not forest), and its sums are unchanged (readers fill it with 0)."""
    from reddplus.raster.io import BAND_METADATA

    for name, kind in (("classes_vp", "risk_classes"), ("classes_cal", "risk_classes"), ("density_vp", "density"),
                       ("forest_change", "forest_change")):
        with rasterio.open(demo_run / "rasters" / f"{name}.tif") as ds:
            assert (ds.descriptions[0], ds.units[0]) == BAND_METADATA[kind], name
    with rasterio.open(demo_run / "rasters" / "density_vp.tif") as d, \
            rasterio.open(demo_run / "rasters" / "classes_vp.tif") as c:
        dens, cls = d.read(1), c.read(1)
        assert np.isnan(d.nodata)
    assert np.isnan(dens[cls == 0]).all() and np.isfinite(dens[cls > 0]).all() and (dens[cls > 0] >= 0).all()
