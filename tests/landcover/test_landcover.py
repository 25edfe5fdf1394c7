"""Forest-change decoding (fcc123, masks, Hansen, TMF), activity data, the `reddplus activity` contract."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.transform import from_origin
from shapely.geometry import box

from reddplus.cli.main import cli
from reddplus.errors import CRSError, GridMismatchError, InputDataError, ZoneError
from reddplus.landcover import (activity_data, annual_rates, apply_mmu, codes_from_fcc123, codes_from_hansen,
                                codes_from_masks, codes_from_tmf, deforested_between, forest_at, open_forest_change)
from reddplus.raster import iter_blocks

CRS = "EPSG:32719"
T = from_origin(300_000, 8_600_000, 30, 30)


def write(path, arr, crs=CRS, transform=T, nodata=None, dtype="uint8"):
    arr = np.asarray(arr)
    arr = arr[None] if arr.ndim == 2 else arr
    with rasterio.open(path, "w", driver="GTiff", width=arr.shape[2], height=arr.shape[1], count=arr.shape[0],
                       dtype=dtype, crs=crs, transform=transform, nodata=nodata, tiled=True, blockxsize=16,
                       blockysize=16) as ds:
        ds.write(arr.astype(dtype))
    return path


# ------------------------------------------------------------------------------------------ known answers
def test_guadeloupe_counts(shared):
    """riskmapjnr's Guadeloupe fcc123: 1 -> 29,835 px, 2 -> 40,956 px, 3 -> 815,694 px (PROVENANCE.md)."""
    fc = open_forest_change(shared("fcc_guadeloupe_riskmapjnr", "fcc123_GLP.tif"), "fcc123")
    res = activity_data(fc, block_size=512)
    c = res.counts[0]
    assert (c[1], c[2], c[3]) == (29_835, 40_956, 815_694)
    d = res.deforestation_ha()
    assert d[(2000, 2010)] == pytest.approx(2_685.15)
    assert d[(2010, 2020)] == pytest.approx(40_956 * 0.09)
    fa = res.forest_area_ha()
    assert fa[2000] == pytest.approx((29_835 + 40_956 + 815_694) * 0.09)
    rows = {r["period"]: r for r in res.rows()}
    assert rows["2000-2010"]["rate_compound"] == pytest.approx(np.log(fa[2000] / fa[2010]) / 10)


def test_puyravaud_rates():
    lin, comp = annual_rates(100.0, 90.0, 10)
    assert lin == pytest.approx(0.01)
    assert comp == pytest.approx(np.log(100 / 90) / 10)  # 0.010536 /yr (Puyravaud 2003 eq. 2)
    assert np.isnan(annual_rates(0.0, 0.0, 5)[0])


# ------------------------------------------------------------------------------------------ decoders
def test_fcc123_and_helpers():
    codes = codes_from_fcc123(np.array([[0, 1, 2, 3]]), np.array([[True, False, False, False]]))
    assert codes.tolist() == [[255, 1, 2, 3]]
    assert forest_at(codes, 0).tolist() == [[False, True, True, True]]
    assert forest_at(codes, 2).tolist() == [[False, False, False, True]]
    assert deforested_between(codes, 0, 1).tolist() == [[False, True, False, False]]
    with pytest.raises(InputDataError, match="0..3"):
        codes_from_fcc123(np.array([[4]]), None)


def test_masks_leading_forest_dates():
    stack = np.array([[[1, 1, 1, 0]], [[1, 0, 1, 0]], [[1, 0, 0, 0]]])
    assert codes_from_masks(stack, None).tolist() == [[3, 1, 2, 0]]
    # regrowth after a loss does not undo the loss (codes count LEADING forest dates)
    assert codes_from_masks(np.array([[[1]], [[0]], [[1]]]), None).tolist() == [[1]]
    with pytest.raises(InputDataError, match="0/1"):
        codes_from_masks(np.array([[[2]], [[1]]]), None)


def test_mask_stack_in_one_raster_equals_one_file_per_date(tmp_path):
    rng = np.random.default_rng(1)
    stack = np.cumprod(rng.random((3, 20, 20)) < 0.9, axis=0).astype(np.uint8)
    one = write(tmp_path / "stack.tif", stack)
    many = [write(tmp_path / f"m{i}.tif", stack[i]) for i in range(3)]
    a = activity_data(open_forest_change(one, "masks", dates=[2000, 2010, 2020]))
    b = activity_data(open_forest_change(many, "masks", dates=[2000, 2010, 2020]))
    np.testing.assert_array_equal(a.counts, b.counts)
    assert a.counts[0][3] == np.count_nonzero(stack[2])
    with pytest.raises(InputDataError, match="one date per mask"):
        open_forest_change(one, "masks", dates=[2000, 2010])


def test_hansen_threshold_lossyear_datamask():
    tc = np.array([[50, 50, 10, 80, 90]])
    ly = np.array([[0, 3, 3, 24, 5]])
    dm = np.array([[1, 1, 1, 1, 0]])
    codes = codes_from_hansen(tc, ly, 25, canopy_threshold=30, datamask=dm)
    assert codes.tolist() == [[25, 3, 0, 24, 255]]
    with pytest.raises(InputDataError, match="beyond"):
        codes_from_hansen(tc, ly, 20)


def test_tmf_classes():
    # years x 1 x 4: undisturbed, degraded then deforested, other land, no data
    stack = np.array([[[1, 2, 6, 0]], [[1, 3, 6, 0]], [[2, 3, 6, 0]]])
    assert codes_from_tmf(stack).tolist() == [[3, 1, 0, 255]]
    with pytest.raises(InputDataError):
        codes_from_tmf(np.array([[[7]]]))


def test_tmf_files_one_per_year_or_one_stack(tmp_path):
    stack = np.array([[[1, 2, 6, 1]], [[1, 3, 6, 1]], [[2, 3, 6, 4]]], dtype=np.uint8)
    one = write(tmp_path / "tmf.tif", stack)
    many = [write(tmp_path / f"tmf{i}.tif", stack[i]) for i in range(3)]
    a = open_forest_change(one, "tmf", dates=[2018, 2019, 2020])
    b = open_forest_change(many, "tmf", dates=[2018, 2019, 2020])
    assert open_forest_change(one, "tmf").dates == (1990, 1991, 1992)
    blk = next(iter(iter_blocks((1, 4))))
    np.testing.assert_array_equal(a.read_codes(blk, with_halo=False), b.read_codes(blk, with_halo=False))
    assert a.read_codes(blk, with_halo=False).tolist() == [[3, 1, 0, 2]]   # regrowth (4) is not forest


def test_mmu_removes_small_patches():
    codes = np.full((8, 8), 3, np.uint8)
    codes[1, 1] = 1               # 1-pixel patch
    codes[5:7, 5:7] = 2           # 4-pixel patch
    out = apply_mmu(codes, 3, 3)
    assert out[1, 1] == 3 and (out[5:7, 5:7] == 2).all()


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(2, 6), st.sampled_from([8, 13, 32]))
def test_mmu_by_blocks_equals_whole_raster(tmp_path_factory, seed, mmu, block):
    """The Hansen MMU read block by block with a halo of MMU pixels equals the whole-raster result."""
    rng = np.random.default_rng(seed)
    tmp = tmp_path_factory.mktemp("mmu")
    tc = np.full((40, 40), 80)
    ly = (rng.random((40, 40)) < 0.25) * rng.integers(1, 5, (40, 40))
    fc = open_forest_change([write(tmp / "tc.tif", tc), write(tmp / "ly.tif", ly)], "hansen",
                            dates=range(2000, 2005), mmu_ha=mmu * 0.09)
    whole = apply_mmu(codes_from_hansen(tc, ly, 5), 5, mmu)
    got = np.zeros_like(whole)
    for b in iter_blocks((40, 40), block_size=block):
        got[b.window.row_off:b.window.row_off + b.height, b.window.col_off:b.window.col_off + b.width] = \
            fc.read_codes(b, with_halo=False)
    np.testing.assert_array_equal(got, whole)


def test_hansen_dates_default_from_streamed_max(tmp_path):
    tc = write(tmp_path / "tc.tif", np.full((4, 4), 60))
    ly = write(tmp_path / "ly.tif", np.array([[0, 1, 2, 7]] * 4))
    fc = open_forest_change([tc, ly], "hansen")
    assert fc.dates == tuple(range(2000, 2008))
    res = activity_data(fc)
    assert res.annual_loss_ha()[2007] == pytest.approx(4 * 0.09)
    assert res.annual_loss_ha()[2003] == 0.0


# ------------------------------------------------------------------------------------------ activity data
@pytest.fixture
def landscape(tmp_path):
    fcc = np.zeros((60, 80), np.uint8)
    fcc[:, :40] = 3
    fcc[:, 40:] = 3
    fcc[10:20, 10:20] = 1     # 100 px in zone A, period 1
    fcc[30:35, 50:60] = 2     # 50 px in zone B, period 2
    fcc[50:60, :] = 0         # non-forest strip
    path = write(tmp_path / "fcc.tif", fcc)
    x0, y0 = 300_000, 8_600_000
    zones = gpd.GeoDataFrame({"name": ["A", "B"]},
                             geometry=[box(x0, y0 - 60 * 30, x0 + 40 * 30, y0), box(x0 + 40 * 30, y0 - 60 * 30,
                                                                                     x0 + 80 * 30, y0)], crs=CRS)
    zpath = tmp_path / "zones.gpkg"
    zones.to_file(zpath)
    return path, zpath, fcc


def test_activity_by_zone_by_hand(landscape):
    path, zpath, fcc = landscape
    res = activity_data(open_forest_change(path, "fcc123"), zones=zpath, zone_field="name", block_size=16)
    a = res.deforestation_ha("A")
    b = res.deforestation_ha("B")
    assert a[(2000, 2010)] == pytest.approx(100 * 0.09) and a[(2010, 2020)] == 0
    assert b[(2010, 2020)] == pytest.approx(50 * 0.09) and b[(2000, 2010)] == 0
    assert res.forest_area_ha("A")[2000] == pytest.approx(50 * 40 * 0.09)
    assert res.annual_loss_ha("A")[2005] == pytest.approx(0.9)
    whole = activity_data(open_forest_change(path, "fcc123"), zones=zpath, zone_field="name")
    np.testing.assert_array_equal(whole.counts, res.counts)


def test_activity_on_dask_equals_threads(landscape):
    distributed = pytest.importorskip("distributed")
    path, zpath, _ = landscape
    fc = open_forest_change(path, "fcc123")
    local = activity_data(fc, zones=zpath, zone_field="name", block_size=16)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as lc:
        remote = activity_data(fc, zones=zpath, zone_field="name", block_size=16, scheduler=lc.scheduler_address)
    np.testing.assert_array_equal(local.counts, remote.counts)


def test_cli_contract(landscape, tmp_path):
    path, zpath, _ = landscape
    out = tmp_path / "t.csv"
    r = CliRunner().invoke(cli, ["-q", "activity", str(path), "--format", "fcc123", "--zones", str(zpath),
                                 "--zone-field", "name", "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["dates"] == [2000, 2010, 2020] and doc["pixel_area_ha"] == pytest.approx(0.09)
    zone_a = next(z for z in doc["zones"] if z["zone"] == "A")
    assert zone_a["deforestation_ha"][0]["area_ha"] == pytest.approx(9.0)
    assert out.is_file() and "rate_compound" in out.read_text()
    r = CliRunner().invoke(cli, ["-q", "activity", str(path), "--out", str(out)])
    assert r.exit_code != 0 and "exists" in r.output


# ------------------------------------------------------------------------------------------ bad input
def test_bad_inputs_one_clear_error_each(landscape, tmp_path):
    path, zpath, fcc = landscape
    geo = write(tmp_path / "geo.tif", fcc, crs="EPSG:4326", transform=from_origin(-70, -12, 0.0003, 0.0003))
    with pytest.raises(CRSError):
        open_forest_change(geo, "fcc123")
    other = write(tmp_path / "other.tif", fcc, transform=from_origin(300_030, 8_600_000, 30, 30))
    with pytest.raises(GridMismatchError, match="--align"):
        open_forest_change([path, other], "masks", dates=[2000, 2010])
    bad = write(tmp_path / "bad.tif", np.where(fcc == 3, 7, fcc))
    fc = open_forest_change(bad, "fcc123")
    with pytest.raises(InputDataError, match="bad.tif"):
        activity_data(fc)
    far = gpd.GeoDataFrame({"name": ["X"]}, geometry=[box(0, 0, 1000, 1000)], crs=CRS)
    far.to_file(tmp_path / "far.gpkg")
    with pytest.raises(ZoneError, match="overlap"):
        activity_data(open_forest_change(path, "fcc123"), zones=tmp_path / "far.gpkg")
    corrupt = tmp_path / "corrupt.tif"
    corrupt.write_bytes(path.read_bytes()[:400])
    with pytest.raises(InputDataError, match="corrupt.tif"):
        activity_data(open_forest_change(corrupt, "fcc123"))
    out = tmp_path / "never.csv"
    r = CliRunner().invoke(cli, ["-q", "activity", str(bad), "--out", str(out)])
    assert r.exit_code != 0 and not out.exists()
    assert "bad.tif" in r.output


