"""Raster engine: block tiling, halos, atomic COG writing, CRS/grid checks, zones, executor."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.crs import CRS
from shapely.geometry import box

from reddplus.errors import CRSError, GridMismatchError, InputDataError, NotEqualAreaWarning, OutputExistsError, ZoneError
from reddplus.raster import (BlockWriter, Grid, burn_zones, check_projected_metres, check_same_grid, iter_blocks,
                             map_blocks, open_raster, read_block, read_grid, read_zones, write_cog)

UTM = CRS.from_epsg(32719)
ALBERS = CRS.from_proj4("+proj=aea +lat_1=-5 +lat_2=-15 +lat_0=-10 +lon_0=-70 +datum=WGS84 +units=m")


@given(h=st.integers(1, 700), w=st.integers(1, 700), side=st.sampled_from([256, 512]), halo=st.integers(0, 40))
@settings(max_examples=60, deadline=None)
def test_blocks_partition_raster_exactly(h, w, side, halo):
    cover = np.zeros((h, w), dtype=np.int32)
    for b in iter_blocks((h, w), halo=halo, block_size=side):
        cover[b.row_off:b.row_off + b.height, b.col_off:b.col_off + b.width] += 1
        rw = b.read_window
        assert rw.row_off >= 0 and rw.col_off >= 0
        assert rw.row_off + rw.height <= h and rw.col_off + rw.width <= w
        rs, cs = b.core_slices
        assert rs.stop - rs.start == b.height and cs.stop - cs.start == b.width
    assert (cover == 1).all()


def test_halo_read_gives_core_back(tmp_path):
    arr = np.arange(600 * 530, dtype=np.int32).reshape(600, 530)
    p = write_cog(tmp_path / "a.tif", arr, crs=ALBERS, transform=Affine(30, 0, 0, 0, -30, 0))
    with open_raster(p) as ds:
        for b in iter_blocks(arr.shape, halo=7, block_size=256):
            data = read_block(ds, b)
            assert np.array_equal(data[b.core_slices], arr[b.row_off:b.row_off + b.height, b.col_off:b.col_off + b.width])


def test_memory_limit_bounds_block_side():
    blocks = list(iter_blocks((10_000, 10_000), memory_limit_bytes=64 * 2**20, bytes_per_pixel=16, halo=100))
    assert max(b.read_window.height * b.read_window.width for b in blocks) * 16 <= 64 * 2**20


def test_cog_written_atomically_and_not_overwritten(tmp_path):
    grid = Grid(ALBERS, Affine(30, 0, 0, 0, -30, 0), 300, 400)
    out = tmp_path / "out.tif"
    with BlockWriter(out, grid, dtype="uint8", nodata=255) as w:
        for b in iter_blocks(grid.shape, block_size=256):
            w.write(b, np.full((b.height, b.width), 7, dtype=np.uint8))
    with rasterio.open(out) as ds:
        assert ds.profile["tiled"] and ds.compression.name.lower() == "deflate"
        assert ds.read(1).min() == 7 and ds.nodata == 255
    with pytest.raises(OutputExistsError):
        BlockWriter(out, grid, dtype="uint8")
    # failure inside the context leaves nothing behind
    out2 = tmp_path / "fail.tif"
    with pytest.raises(RuntimeError):
        with BlockWriter(out2, grid, dtype="uint8") as w:
            raise RuntimeError("boom")
    assert not out2.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["out.tif"]


def test_crs_checks():
    with pytest.raises(CRSError, match="geographic"):
        check_projected_metres(CRS.from_epsg(4326))
    with pytest.raises(CRSError, match="no CRS"):
        check_projected_metres(None)
    with pytest.raises(CRSError, match="metres"):
        check_projected_metres(CRS.from_epsg(2227))  # California zone 3, US survey feet
    with pytest.warns(NotEqualAreaWarning):
        check_projected_metres(UTM)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_projected_metres(ALBERS)


def test_grid_mismatch_and_pixel_area():
    g1 = Grid(ALBERS, Affine(30, 0, 0, 0, -30, 0), 10, 10)
    g2 = Grid(ALBERS, Affine(30, 0, 30, 0, -30, 0), 10, 10)
    assert g1.pixel_area_ha == pytest.approx(0.09)
    assert check_same_grid({"a": g1, "b": g1}) is g1
    with pytest.raises(GridMismatchError, match="b is on another grid"):
        check_same_grid({"a": g1, "b": g2})


def test_corrupt_geotiff(tmp_path):
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"II*\x00garbage" * 10)
    with pytest.raises(InputDataError, match="cannot read raster"):
        read_grid(bad)


def test_zones_reprojected_rasterised_centre_rule(tmp_path):
    grid = Grid(ALBERS, Affine(100, 0, 0, 0, -100, 1000), 10, 10)
    gdf = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[box(0, 500, 500, 1000), box(500, 0, 1000, 500)], crs=ALBERS)
    path = tmp_path / "z.gpkg"
    gdf.to_crs(4326).to_file(path)  # stored in another CRS: must be reprojected
    zones = read_zones(path, grid, field="name")
    burned = burn_zones(zones, grid)
    assert (burned == 1).sum() == 25 and (burned == 2).sum() == 25 and burned.dtype == np.int64
    far = tmp_path / "far.gpkg"
    gpd.GeoDataFrame(geometry=[box(1e6, 1e6, 1e6 + 10, 1e6 + 10)], crs=ALBERS).to_file(far)
    with pytest.raises(ZoneError, match="does not overlap"):
        read_zones(far, grid)


def test_map_blocks_local_threads_matches_serial():
    blocks = list(iter_blocks((1000, 900), block_size=256))
    out = dict(map_blocks(lambda b: b.n_pixels, blocks, workers=2))
    assert sum(out.values()) == 900_000 and len(out) == len(blocks)


def _count(block):
    return block.n_pixels


@pytest.mark.slow
def test_map_blocks_on_a_dask_cluster():
    distributed = pytest.importorskip("distributed")
    blocks = list(iter_blocks((1000, 900), block_size=256))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        out = dict(map_blocks(_count, blocks, scheduler=cluster.scheduler_address, max_in_flight=3))
    assert sum(out.values()) == 900_000 and len(out) == len(blocks)


def test_atomic_dir_replaces_on_success_and_leaves_nothing_on_failure(tmp_path):
    from reddplus.errors import OutputExistsError
    from reddplus.raster import atomic_dir

    out = tmp_path / "run"
    with atomic_dir(out) as stage:
        (stage / "a.txt").write_text("1")
    assert (out / "a.txt").read_text() == "1"
    with pytest.raises(OutputExistsError):
        with atomic_dir(out):
            pass
    with pytest.raises(RuntimeError):
        with atomic_dir(out, overwrite=True) as stage:
            (stage / "a.txt").write_text("2")
            raise RuntimeError("half-way")
    assert (out / "a.txt").read_text() == "1"                       # the old run is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["run"]         # no staging folder left behind


def test_integer_cog_overviews_never_invent_classes(tmp_path):
    import rasterio
    from rasterio.transform import from_origin

    from reddplus.raster import write_cog

    classes = np.tile(np.array([[1, 30] * 512], dtype=np.uint8), (1024, 1))
    p = write_cog(tmp_path / "c.tif", classes, crs="EPSG:32719", transform=from_origin(0, 0, 30, 30), nodata=0)
    with rasterio.open(p) as ds:
        assert ds.overviews(1)
        ov = ds.read(1, out_shape=(256, 256))
    assert set(np.unique(ov)) <= {1, 30}


def _slow_first(block):
    """The first blocks take longest, so that completion order differs from submission order."""
    import time

    time.sleep(0.05 if block.row_off == 0 else 0.0)
    return block.row_off, block.col_off


def test_map_blocks_ordered_yields_in_submission_order_with_bounded_holding():
    blocks = list(iter_blocks((1000, 900), block_size=256))
    out = list(map_blocks(_slow_first, blocks, workers=2, max_in_flight=3, ordered=True))
    assert [b for b, _ in out] == blocks
    assert [r for _, r in out] == [(b.row_off, b.col_off) for b in blocks]
    unordered = [b for b, _ in map_blocks(_slow_first, blocks, workers=2, max_in_flight=3)]
    assert sorted(unordered, key=blocks.index) == blocks and unordered != blocks   # the slow first ones came late


def test_map_blocks_ordered_propagates_errors():
    def boom(block):
        if block.row_off == 256:
            raise RuntimeError("block failed")
        return 1

    with pytest.raises(RuntimeError, match="block failed"):
        list(map_blocks(boom, list(iter_blocks((1000, 900), block_size=256)), workers=2, ordered=True))


@pytest.mark.slow
def test_map_blocks_ordered_on_a_dask_cluster():
    distributed = pytest.importorskip("distributed")
    blocks = list(iter_blocks((1000, 900), block_size=256))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        out = list(map_blocks(_slow_first, blocks, scheduler=cluster.scheduler_address, max_in_flight=3, ordered=True))
    assert [b for b, _ in out] == blocks


def test_block_writer_uncompressed_staging_and_overview_resampling(tmp_path):
    """Staging uncompressed gives the same COG pixels; ``overview_resampling`` reaches the COG overviews."""
    grid = Grid(UTM, Affine(30, 0, 0, 0, -30, 0), 1024, 1024)
    data = np.tile(np.array([[0.0, 1.0] * 512], dtype=np.float32), (1024, 1))
    paths = {}
    for name, opts in {"default": {}, "raw": {"stage_compress": None},
                       "nearest": {"stage_compress": None, "overview_resampling": "nearest"}}.items():
        with BlockWriter(tmp_path / f"{name}.tif", grid, dtype="float32", **opts) as w:
            for b in iter_blocks(grid.shape, block_size=256):
                w.write(b, data[b.row_off:b.row_off + b.height, b.col_off:b.col_off + b.width])
        paths[name] = tmp_path / f"{name}.tif"
    ov = {}
    for name, p in paths.items():
        with rasterio.open(p) as ds:
            np.testing.assert_array_equal(ds.read(1), data)
            assert ds.compression is not None and ds.compression.name.lower() == "deflate"
            ov[name] = set(np.unique(ds.read(1, out_shape=(256, 256))))
    assert ov["nearest"] <= {0.0, 1.0}                 # nearest never averages 0 and 1
    assert not ov["default"] <= {0.0, 1.0}             # the float default interpolates
    assert sorted(p.name for p in tmp_path.iterdir()) == ["default.tif", "nearest.tif", "raw.tif"]  # no staging left
