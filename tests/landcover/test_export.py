"""The canonical codes written as a COG (rasters/forest_change.tif): streamed by blocks, equal to the
codes decoded from the whole input, with a description, the dates, code labels and a colour table."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from reddplus.errors import OutputExistsError
from reddplus.landcover import NODATA, codes_from_fcc123, codes_from_hansen, open_forest_change
from reddplus.landcover.export import BAND_DESCRIPTION, forest_change_legend, write_forest_change
from reddplus.raster import iter_blocks


def _tif(path, arr, nodata=None):
    with rasterio.open(path, "w", driver="GTiff", width=arr.shape[1], height=arr.shape[0], count=1, dtype=arr.dtype,
                       crs="EPSG:32718", transform=from_origin(300_000, 8_700_000, 30, 30), nodata=nodata) as ds:
        ds.write(arr, 1)
    return path


def test_legend():
    leg = forest_change_legend([2000, 2010, 2020])
    assert [(c, label) for c, label, _ in leg] == [(0, "non-forest in 2000"), (1, "deforested 2001-2010"),
                                                   (2, "deforested 2011-2020"), (3, "forest in 2020"),
                                                   (255, "no data")]
    assert leg[-1][2][3] == 0                                    # no data is transparent
    yearly = forest_change_legend(range(2000, 2025))
    assert yearly[1][1] == "deforested 2001" and yearly[-2][:2] == (25, "forest in 2024")
    assert len({rgba for _, _, rgba in yearly}) == len(yearly)   # every code its own colour


def test_hansen_codes_streamed_equal_whole(tmp_path):
    rng = np.random.default_rng(3)
    tc = rng.integers(0, 101, (700, 900)).astype(np.uint8)
    ly = np.where(rng.random((700, 900)) < 0.1, rng.integers(1, 11, (700, 900)), 0).astype(np.uint8)
    fc = open_forest_change([str(_tif(tmp_path / "tc.tif", tc)), str(_tif(tmp_path / "ly.tif", ly))], "hansen")
    assert len(list(iter_blocks(fc.grid.shape, memory_limit_bytes=2**20, bytes_per_pixel=8))) > 1
    out = write_forest_change(fc, tmp_path / "rasters" / "forest_change.tif", memory_limit_bytes=2**20)
    with rasterio.open(out) as ds:
        got = ds.read(1)
        assert ds.nodata == NODATA and ds.descriptions == (BAND_DESCRIPTION,) and ds.units == ("code",)
        tags = ds.tags()
        assert tags["FOREST_CHANGE_DATES"] == ",".join(str(y) for y in range(2000, 2011))
        assert tags["CODE_3"] == "deforested 2003" and tags["FOREST_CHANGE_FORMAT"] == "hansen"
        cmap = ds.colormap(1)
        assert cmap[11] == (27, 120, 55, 255) and cmap[255][3] == 0
    np.testing.assert_array_equal(got, codes_from_hansen(tc, ly, 11))
    with pytest.raises(OutputExistsError):
        write_forest_change(fc, out)


def test_guadeloupe(shared, tmp_path):
    """The real fcc123 raster (riskmapjnr; nodata 0 kept as code 0): the COG equals the decoded input."""
    path = shared("fcc_guadeloupe_riskmapjnr", "fcc123_GLP.tif")
    fc = open_forest_change(str(path), "fcc123")
    out = write_forest_change(fc, tmp_path / "fc.tif")
    with rasterio.open(path) as src, rasterio.open(out) as ds:
        np.testing.assert_array_equal(ds.read(1), codes_from_fcc123(src.read(1), None))
        # PROVENANCE.md counts: 29,835 px lost 2000-2010, 40,956 px 2010-2020
        counts = np.bincount(ds.read(1).ravel(), minlength=256)
        assert counts[1] == 29_835 and counts[2] == 40_956
