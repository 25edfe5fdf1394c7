"""Tiny synthetic fcc123 rasters for the risk tests (built in tmp_path)."""

import numpy as np
import rasterio
from rasterio.transform import from_origin
from scipy import ndimage

CRS = "EPSG:6933"  # WGS 84 / NSIDC EASE-Grid 2.0 Global: equal-area, metres


def make_fcc(shape=(300, 400), seed=0, pixel=30.0):
    """fcc123 codes: 0 non-forest, 1 deforested in period 1, 2 in period 2, 3 forest; loss is near the edge."""
    rng = np.random.default_rng(seed)
    noise = ndimage.gaussian_filter(rng.normal(size=shape), 8)
    forest = noise > np.quantile(noise, 0.35)
    d = ndimage.distance_transform_edt(forest)
    p1 = np.where(forest, 0.25 * np.exp(-d / 2.0), 0)
    loss1 = rng.random(shape) < p1
    forest1 = forest & ~loss1
    d1 = ndimage.distance_transform_edt(forest1)
    loss2 = forest1 & (rng.random(shape) < 0.25 * np.exp(-d1 / 2.0))
    fcc = np.zeros(shape, np.uint8)
    fcc[forest] = 3
    fcc[loss1] = 1
    fcc[loss2] = 2
    return fcc


def write_fcc(path, fcc, pixel=30.0, crs=CRS, nodata=0):
    transform = from_origin(1_000_000.0, 2_000_000.0, pixel, pixel)
    with rasterio.open(path, "w", driver="GTiff", width=fcc.shape[1], height=fcc.shape[0], count=1, dtype="uint8",
                       crs=crs, transform=transform, nodata=nodata) as ds:
        ds.write(fcc, 1)
    return path


def bounds(fcc, pixel=30.0):
    h, w = fcc.shape
    return 1_000_000.0, 2_000_000.0 - h * pixel, 1_000_000.0 + w * pixel, 2_000_000.0
