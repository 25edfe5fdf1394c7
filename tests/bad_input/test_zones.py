"""Zone layers that cover no pixel (issue 15 item 8): an error naming the file and the zone."""

from __future__ import annotations

import geopandas as gpd
from shapely.geometry import box

from .conftest import CRS, fcc_array, write_raster

X0, Y0 = 1_000_000.0, 2_000_000.0   # the corpus rasters' upper-left corner, 30 m pixels


def test_zone_smaller_than_a_pixel_between_centres(case, tmp_path):
    p = write_raster(tmp_path / "fcc.tif", fcc_array())
    # "tiny" lies inside one pixel without its centre (the centre is at +15 m, +15 m)
    gpd.GeoDataFrame({"name": ["big", "tiny"]},
                     geometry=[box(X0, Y0 - 600, X0 + 600, Y0), box(X0 + 900, Y0 - 28, X0 + 905, Y0 - 25)],
                     crs=CRS).to_file(tmp_path / "zones.gpkg")
    case(["activity", p, "--format", "fcc123", "--zones", tmp_path / "zones.gpkg", "--zone-field", "name",
          "--out", tmp_path / "t.csv"], code=2, names=("zones.gpkg", "'tiny'", "covers no pixel centre"))


def test_zone_outside_the_raster(case, tmp_path):
    p = write_raster(tmp_path / "fcc.tif", fcc_array())
    gpd.GeoDataFrame({"name": ["in", "out"]},
                     geometry=[box(X0, Y0 - 600, X0 + 600, Y0), box(X0 - 5000, Y0 - 600, X0 - 4000, Y0)],
                     crs=CRS).to_file(tmp_path / "zones.gpkg")
    case(["activity", p, "--format", "fcc123", "--zones", tmp_path / "zones.gpkg", "--zone-field", "name",
          "--out", tmp_path / "t.csv"], code=2, names=("zones.gpkg", "'out'", "covers no pixel centre"))


def test_layer_far_away_and_empty_layer_held_already(case, tmp_path):
    p = write_raster(tmp_path / "fcc.tif", fcc_array())
    gpd.GeoDataFrame({"name": ["far"]}, geometry=[box(0, 0, 10, 10)], crs=CRS).to_file(tmp_path / "far.gpkg")
    case(["activity", p, "--format", "fcc123", "--zones", tmp_path / "far.gpkg", "--out", tmp_path / "t.csv"],
         code=2, names=("far.gpkg", "does not overlap"))
    gpd.GeoDataFrame({"name": []}, geometry=[], crs=CRS).to_file(tmp_path / "empty.gpkg")
    case(["activity", p, "--format", "fcc123", "--zones", tmp_path / "empty.gpkg", "--out", tmp_path / "t.csv"],
         code=2, names=("empty.gpkg", "no features"))
    (tmp_path / "zero.gpkg").write_bytes(b"")
    case(["activity", p, "--format", "fcc123", "--zones", tmp_path / "zero.gpkg", "--out", tmp_path / "t.csv"],
         code=2, names=("zero.gpkg", "cannot read"))
