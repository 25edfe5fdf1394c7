"""`reddplus view` in Chromium (Playwright): the map loads its tiles, layers toggle, and a click shows the
pixel values, which equal the rasters' values read with rasterio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from pyproj import Transformer

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

pytestmark = [pytest.mark.chromium,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed (make system-deps)")]


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            pg = browser.new_page(viewport={"width": 1200, "height": 800})
            pg.set_default_timeout(30_000)
            errors: list[str] = []
            pg.on("pageerror", lambda e: errors.append(str(e)))
            pg.goto(server.url)
            pg.wait_for_selector('#map[data-ready="1"]', state="attached")
            pg.errors = errors
            yield pg
        finally:
            browser.close()


def _tiles(pg, layer: str) -> int:
    """Loaded tiles of a raster layer in the map."""
    return pg.evaluate(f"document.querySelectorAll('.raster-{layer} img.leaflet-tile-loaded').length")


def test_map_loads(page):
    page.wait_for_function("document.querySelectorAll('.raster-forest_change img.leaflet-tile-loaded').length > 0")
    assert page.errors == []
    visible = page.get_attribute("#map", "data-visible").split(",")
    assert {"forest_change", "project", "leakage_belt", "jurisdiction"} <= set(visible)
    assert page.locator(".leaflet-overlay-pane path").count() >= 3          # the three outlines
    assert page.is_visible("#legend-forest_change") and not page.is_visible("#legend-classes_vp")


def test_layers_toggle(page):
    page.check("#layer-classes_vp")
    page.wait_for_function("document.querySelectorAll('.raster-classes_vp img.leaflet-tile-loaded').length > 0")
    assert page.is_visible("#legend-classes_vp")
    assert "classes_vp" in page.get_attribute("#map", "data-visible")
    page.uncheck("#layer-forest_change")
    assert _tiles(page, "forest_change") == 0 and not page.is_visible("#legend-forest_change")
    assert "forest_change" not in page.get_attribute("#map", "data-visible").split(",")
    page.uncheck("#layer-project")
    assert "project" not in page.get_attribute("#map", "data-visible").split(",")
    page.check("#layer-project")
    page.check("#layer-forest_change")
    page.check("#layer-density_vp")
    assert {"classes_vp", "density_vp", "forest_change", "project"} <= \
        set(page.get_attribute("#map", "data-visible").split(","))


def test_click_shows_the_pixel_values(page, demo_run):
    """Click the centre of a pixel that is forest in 2020 and lost later: the panel shows its risk class,
    density and forest-change code, each equal to the value rasterio reads at that pixel."""
    rasters = demo_run / "rasters"
    with rasterio.open(rasters / "forest_change.tif") as ds:
        codes = ds.read(1)
        rows, cols = np.nonzero((codes > 21) & (codes < 25))
        r, c = int(rows[len(rows) // 2]), int(cols[len(cols) // 2])
        x, y = ds.xy(r, c)
        lon, lat = Transformer.from_crs(ds.crs, "EPSG:4326", always_xy=True).transform(x, y)
    want = {}
    for name in ("classes_vp", "density_vp", "forest_change"):
        with rasterio.open(rasters / f"{name}.tif") as ds:
            assert ds.index(x, y) == (r, c)
            want[name] = float(ds.read(1)[r, c])
    for name in want:
        page.check(f"#layer-{name}")
    page.evaluate(f"reddplusView.map.setView([{lat}, {lon}], 13, {{animate: false}})")
    pt = page.evaluate(f"(() => {{ const p = reddplusView.map.latLngToContainerPoint([{lat}, {lon}]); "
                       "return [p.x, p.y]; })()")
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + pt[0], box["y"] + pt[1])
    page.wait_for_selector('#pixel-values[data-state="ready"]', state="attached")
    got = {}
    for name in want:
        v = page.get_attribute(f'#pixel-values tr[data-layer="{name}"]', "data-value")
        got[name] = float(v)
    assert got["forest_change"] == want["forest_change"] and got["classes_vp"] == want["classes_vp"]
    assert got["density_vp"] == pytest.approx(want["density_vp"], rel=1e-6)
    assert want["classes_vp"] > 0                                     # a forest pixel in 2024 has a risk class
    text = page.inner_text("#pixel-values")
    assert "Forest change" in text and "deforested" in text          # the code's label beside its value
    assert page.locator(".leaflet-popup-content").count() == 1
