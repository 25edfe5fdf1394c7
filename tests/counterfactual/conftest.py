"""A tiny generated landscape with a KNOWN protection effect, written in tmp_path (fcc123 + covariates)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from scipy import ndimage
from shapely.geometry import box

CRS = "EPSG:6933"  # WGS 84 / EASE-Grid 2.0 (cylindrical equal area, metres)
RES = 30.0


@dataclass(frozen=True)
class Landscape:
    fcc: Path
    access: Path
    roads: Path
    project: Path
    protected: Path
    p_project_2010_2020: float  # expected loss fraction of project forest in 2010-2020 WITHOUT protection
    protection_effect: float
    project_forest_2010_ha: float
    expected_leakage_ha: float  # expected extra 2010-2020 loss in the 600 m ring (displaced deforestation)


def _write(path, arr, transform, nodata=None):
    with rasterio.open(path, "w", driver="GTiff", height=arr.shape[0], width=arr.shape[1], count=1, dtype=arr.dtype,
                       crs=CRS, transform=transform, nodata=nodata) as ds:
        ds.write(arr, 1)


def make_landscape(out: Path, *, protection_effect: float, seed: int = 0, shape=(300, 400),
                   leakage_factor: float = 1.0) -> Landscape:
    """Deforestation probability per decade = logistic(a + b * access); the project (a remote block) keeps a
    fraction ``protection_effect`` of it after 2010, and the ring within 600 m of it multiplies it by
    ``leakage_factor`` (displaced deforestation). Access is a smooth field, higher near the 'road' (row 0)."""
    rng = np.random.default_rng(seed)
    h, w = shape
    transform = Affine(RES, 0, 600_000.0, 0, -RES, 1_800_000.0)
    rows = np.arange(h)[:, None] * np.ones((1, w))
    noise = ndimage.gaussian_filter(rng.normal(size=shape), 6) * 12
    access = (1.0 - rows / h) * 2.0 + noise  # high near row 0
    p = 1 / (1 + np.exp(-(-2.2 + 1.4 * access)))
    forest00 = rng.random(shape) < 0.92
    project = np.zeros(shape, bool)
    project[190:290, 40:180] = True
    loss1 = forest00 & (rng.random(shape) < p)
    ring = (ndimage.distance_transform_edt(~project) * RES <= 600.0) & ~project
    p2 = np.where(project, p * protection_effect, np.where(ring, np.minimum(1.0, p * leakage_factor), p))
    forest10 = forest00 & ~loss1
    loss2 = forest10 & (rng.random(shape) < p2)
    fcc = np.zeros(shape, np.uint8)
    fcc[loss1] = 1
    fcc[loss2] = 2
    fcc[forest10 & ~loss2] = 3
    roads = np.zeros(shape, np.uint8)
    roads[5, :] = 1
    out.mkdir(parents=True, exist_ok=True)
    _write(out / "fcc123.tif", fcc, transform, nodata=0)
    _write(out / "access.tif", access.astype(np.float32), transform, nodata=-9999.0)
    _write(out / "roads.tif", roads, transform)
    x0, y0 = transform @ (40, 290)
    x1, y1 = transform @ (180, 190)
    gpd.GeoDataFrame({"name": ["project"]}, geometry=[box(x0, y0, x1, y1)], crs=CRS).to_file(out / "project.gpkg")
    px0, py0 = transform @ (300, 290)
    px1, py1 = transform @ (390, 200)
    gpd.GeoDataFrame(geometry=[box(px0, py0, px1, py1)], crs=CRS).to_file(out / "protected.gpkg")
    pf = project & forest10
    rf = ring & forest10
    leak = float((np.minimum(1.0, p * leakage_factor) - p)[rf].sum() * RES * RES / 1e4)
    return Landscape(out / "fcc123.tif", out / "access.tif", out / "roads.tif", out / "project.gpkg",
                     out / "protected.gpkg", float(p[pf].mean()), protection_effect, float(pf.sum() * RES * RES / 1e4),
                     leak)


@pytest.fixture(scope="module")
def landscape_factory(tmp_path_factory):
    cache = {}

    def get(protection_effect: float, seed: int = 0, leakage_factor: float = 1.0) -> Landscape:
        key = (protection_effect, seed, leakage_factor)
        if key not in cache:
            cache[key] = make_landscape(tmp_path_factory.mktemp("land"), protection_effect=protection_effect, seed=seed,
                                        leakage_factor=leakage_factor)
        return cache[key]

    return get


@pytest.fixture
def open_fc():
    """``reddplus.landcover.open_forest_change(path, "fcc123")`` (the shared forest-change contract)."""
    try:
        from reddplus.landcover import open_forest_change
    except ImportError:
        pytest.skip("reddplus.landcover.open_forest_change (the shared forest-change contract) is not available")

    def op(path, fmt="fcc123", **kw):
        return open_forest_change(str(path), fmt, **kw)

    return op
