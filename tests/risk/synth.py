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


def write_road_landscape(folder, seed=0, shape=(240, 240), pixel=30.0):
    """fcc123 raster and a road layer where an under-canopy road track (the middle column) drives the loss,
    P(loss) = 0.3 exp(-d_road / 150 m) per period, and small clearings give forest edges without loss.

    Writes ``fcc.tif`` and ``roads.gpkg`` into ``folder``; returns (fcc path, codes).
    """
    import geopandas as gpd
    from shapely.geometry import LineString

    from reddplus.risk.drivers import distance_to_features

    rng = np.random.default_rng(seed)
    codes = np.full(shape, 3, np.uint8)
    for _ in range(shape[0] * shape[1] // 2300):
        r, c = rng.integers(5, shape[0] - 5, 2)
        codes[r - 2:r + 3, c - 2:c + 3] = 0
    track = np.zeros(shape, bool)
    col = shape[1] // 2
    track[:, col] = True
    p = 0.3 * np.exp(-distance_to_features(track, pixel) / 150.0)
    u1, u2 = rng.random(shape), rng.random(shape)
    codes[(codes == 3) & (u1 < p)] = 1
    codes[(codes == 3) & (u2 < p)] = 2
    fp = write_fcc(folder / "fcc.tif", codes, pixel=pixel)
    w, s, e, n = bounds(codes, pixel)
    x = w + (col + 0.5) * pixel
    gpd.GeoDataFrame(geometry=[LineString([(x, s), (x, n)])], crs=CRS).to_file(folder / "roads.gpkg")
    return fp, codes
