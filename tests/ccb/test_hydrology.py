"""Catchment delineation on a small DEM with a known outlet (pyflwdir), and riparian buffers."""

import numpy as np
import pytest
from affine import Affine

from reddplus.ccb.hydrology import catchment_masks

H, W, CELL = 20, 21, 100.0
TR = Affine(CELL, 0, 0, 0, -CELL, H * CELL)


def _two_valleys():
    """Two valleys (channels at columns 4 and 16) falling 2 m per row to the south, split by a divide.

    A rim of 1000 m closes the DEM except two notches at the south edge, (19, 4) at 0 m and (19, 16)
    at 1 m; side slopes are 3 m per cell and the eastern valley is 1 m higher, so the divide cell
    (column 10) drains west. The catchment of the western notch is therefore columns 0-10 (the rim
    drains into the valley beside it), 11 x 20 = 220 cells, and the eastern one columns 11-20,
    10 x 20 = 200 cells: the divide is the known answer, whatever the D8 paths inside each valley.
    """
    r, c = np.mgrid[0:H, 0:W]
    valley = np.where(c <= 10, 4, 16)
    dem = (50 + 2 * (H - 1 - r) + 3 * np.abs(c - valley) + (c > 10) * 1.0).astype(np.float32)
    dem[0, :] = dem[-1, :] = dem[:, 0] = dem[:, -1] = 1000.0
    dem[19, 4], dem[19, 16] = 0.0, 1.0
    return dem


def _xy(row, col):
    return (col + 0.5) * CELL, H * CELL - (row + 0.5) * CELL


def test_known_outlets_and_divide():
    masks, idx = catchment_masks(_two_valleys(), TR, [_xy(19, 4), _xy(19, 16)], snap_upstream_km2=0.0)
    assert masks[0].sum() == 220 and masks[1].sum() == 200
    assert masks[0][:, :11].all() and not masks[0][:, 11:].any()
    assert masks[1][:, 11:].all() and not masks[1][:, :11].any()
    assert list(idx) == [19 * W + 4, 19 * W + 16]


def test_intake_off_the_stream_is_snapped_downstream():
    """An intake on the west slope moves downstream to the first cell draining >= 0.5 km2 (50 cells)."""
    dem = _two_valleys()
    raw, raw_idx = catchment_masks(dem, TR, [_xy(8, 8)], snap_upstream_km2=0.0)
    snapped, idx = catchment_masks(dem, TR, [_xy(8, 8)], snap_upstream_km2=0.5, snap_distance_m=5000.0)
    assert raw[0].sum() < 50 <= snapped[0].sum()
    assert (snapped[0] >= raw[0]).all()              # the snapped catchment contains the intake's own
    assert snapped[0].sum() <= 220 and not snapped[0][:, 11:].any()
    assert idx[0] != raw_idx[0]


def test_outlet_outside_dem_is_refused():
    from reddplus.errors import InputDataError

    with pytest.raises(InputDataError, match="outside the DEM"):
        catchment_masks(_two_valleys(), TR, [(-500.0, 100.0)])


def test_riparian_zone():
    import geopandas as gpd
    from shapely.geometry import LineString, box

    from reddplus.ccb.hydrology import riparian_zone

    rivers = gpd.GeoSeries([LineString([(0, 500), (1000, 500)])])
    z = riparian_zone(gpd.GeoDataFrame(geometry=rivers), 100.0, clip=box(0, 0, 1000, 1000))
    assert z.area == pytest.approx(1000 * 200, rel=1e-6)
