"""Band descriptions and units travel with the COG reddplus writes (BlockWriter, write_cog)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from reddplus.raster.io import BAND_METADATA, band_metadata, write_cog


def test_band_metadata_in_the_cog(tmp_path):
    p = write_cog(tmp_path / "d.tif", np.ones((40, 30), np.float32), crs="EPSG:6933",
                  transform=from_origin(0, 0, 100, 100), nodata=float("nan"), **band_metadata("density"))
    with rasterio.open(p) as ds:
        assert ds.descriptions == (BAND_METADATA["density"][0],) and ds.units == ("ha/pixel/yr",)
        assert np.isnan(ds.nodata)


def test_unknown_kind():
    with pytest.raises(KeyError, match="risk_classes"):
        band_metadata("classes")
    assert band_metadata("risk_classes", 2)["band_units"] == ["class", "class"]
