"""Forest-change values every format must refuse (issue 15 item 1), and the checks that already held."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import fcc_array, write_raster


def _activity(path, fmt="fcc123", *more, out=None, extra=()):
    args = ["activity", str(path), *map(str, more), "--format", fmt, *extra]
    return args + (["--out", str(out)] if out else [])


# ------------------------------------------------------------------------------- fcc123
def test_fcc123_nodata_equal_to_a_class(case, tmp_path):
    p = write_raster(tmp_path / "fcc.tif", fcc_array(), nodata=3)
    case(_activity(p, out=tmp_path / "t.csv"), code=2, names=(p, "nodata value 3", "class 3"))


@pytest.mark.parametrize("value, shown", [(-3, "-3"), (4, "4"), (200, "200")])
def test_fcc123_value_outside_the_classes(case, tmp_path, value, shown):
    a = fcc_array().astype(np.int16)
    a[0, 0] = -1          # the nodata value: fine
    a[7, 9] = value
    p = write_raster(tmp_path / "fcc.tif", a, nodata=-1)
    r = case(_activity(p, out=tmp_path / "t.csv"), code=2, names=(p, f"value {shown}", "row 7, col 9", "0..3"))
    assert "bad pixels" in r.output


@pytest.mark.parametrize("value, shown", [(1.5, "non-integer value 1.5"), (np.nan, "NaN")])
def test_fcc123_float_values(case, tmp_path, value, shown):
    a = fcc_array().astype(np.float32)
    a[2, 3] = value
    p = write_raster(tmp_path / "fcc.tif", a)
    case(_activity(p, out=tmp_path / "t.csv"), code=2, names=(p, shown, "row 2, col 3"))


def test_fcc123_float_with_nan_nodata_is_fine(case, tmp_path):
    a = fcc_array().astype(np.float32)
    a[2, 3] = np.nan
    p = write_raster(tmp_path / "fcc.tif", a, nodata=np.nan)
    from click.testing import CliRunner

    from reddplus.cli.main import cli

    r = CliRunner().invoke(cli, _activity(p, extra=["--json"]))
    assert r.exit_code == 0, r.output


def test_bad_value_in_a_later_block_names_its_raster_pixel(tmp_path):
    """The check runs per block (streamed): the pixel reported is the raster's, not the block's."""
    from reddplus.errors import InputDataError
    from reddplus.landcover import activity_data, open_forest_change

    a = fcc_array((300, 300))
    a[250, 170] = 9
    p = write_raster(tmp_path / "fcc.tif", a)
    with pytest.raises(InputDataError, match=r"row 250, col 170") as err:
        activity_data(open_forest_change(p, "fcc123"), block_size=64)
    assert err.value.path == str(p)


def test_all_zero_raster(case, tmp_path):
    p = write_raster(tmp_path / "fcc.tif", np.zeros((30, 30), np.uint8))
    case(_activity(p, out=tmp_path / "t.csv"), code=2, names=(p, "no pixel is forest at 2000"))


def test_all_nodata_raster(case, tmp_path):
    p = write_raster(tmp_path / "fcc.tif", np.full((30, 30), 255, np.uint8), nodata=255)
    case(_activity(p, out=tmp_path / "t.csv"), code=2, names=(p, "every pixel is nodata"))


def test_riskmapjnr_nodata_zero_still_reads(tmp_path):
    """riskmapjnr writes nodata = 0 (= non-forest or outside): not refused."""
    from reddplus.landcover import activity_data, open_forest_change

    p = write_raster(tmp_path / "fcc.tif", fcc_array(), nodata=0)
    assert activity_data(open_forest_change(p, "fcc123")).counts[0][3] > 0


# ------------------------------------------------------------------------------- masks
def _masks(tmp_path, stack, **kw):
    return [write_raster(tmp_path / f"m{i}.tif", layer, **kw) for i, layer in enumerate(stack)]


def test_mask_value_other_than_0_1_names_its_file(case, tmp_path):
    stack = np.ones((3, 20, 20), np.uint8)
    stack[2, 4, 5] = 2
    files = _masks(tmp_path, stack)
    case(_activity(files[0], "masks", *files[1:], out=tmp_path / "t.csv", extra=["--dates", "2000,2010,2020"]),
         code=2, names=(files[2], "0/1", "value 2", "row 4, col 5"))


def test_mask_nodata_equal_to_non_forest(case, tmp_path):
    files = _masks(tmp_path, np.ones((2, 20, 20), np.uint8), nodata=0)
    case(_activity(files[0], "masks", files[1], out=tmp_path / "t.csv", extra=["--dates", "2000,2010"]),
         code=2, names=(files[0], "nodata value 0", "mask class 0"))


def test_mask_float_value(case, tmp_path):
    stack = np.ones((2, 20, 20), np.float32)
    stack[1, 0, 1] = 0.5
    p = write_raster(tmp_path / "stack.tif", stack)
    case(_activity(p, "masks", out=tmp_path / "t.csv", extra=["--dates", "2000,2010"]), code=2,
         names=(p, "non-integer value 0.5", "row 0, col 1"))


# ------------------------------------------------------------------------------- hansen
def _hansen(tmp_path, tc, ly, dm=None, tc_kw=None, ly_kw=None):
    files = [write_raster(tmp_path / "treecover2000.tif", tc, **(tc_kw or {})),
             write_raster(tmp_path / "lossyear.tif", ly, **(ly_kw or {}))]
    if dm is not None:
        files.append(write_raster(tmp_path / "datamask.tif", dm))
    return files


def _tc_ly(shape=(20, 20)):
    tc = np.full(shape, 80, np.uint8)
    ly = np.zeros(shape, np.uint8)
    ly[5:8] = 3
    return tc, ly


def test_hansen_treecover_outside_0_100(case, tmp_path):
    tc, ly = _tc_ly()
    tc = tc.astype(np.int16)
    tc[3, 4] = -5
    files = _hansen(tmp_path, tc, ly)
    case(_activity(*files[:1], "hansen", *files[1:], out=tmp_path / "t.csv", extra=["--dates", ",".join(
        str(y) for y in range(2000, 2006))]), code=2, names=(files[0], "treecover2000 value -5", "row 3, col 4"))


def test_hansen_treecover_not_an_integer(case, tmp_path):
    tc, ly = _tc_ly()
    tc = tc.astype(np.float32)
    tc[1, 1] = 45.5
    files = _hansen(tmp_path, tc, ly)
    case(_activity(files[0], "hansen", files[1], out=tmp_path / "t.csv", extra=["--dates", "2000,2001,2002,2003"]),
         code=2, names=(files[0], "non-integer value 45.5"))


def test_hansen_lossyear_beyond_the_dates(case, tmp_path):
    tc, ly = _tc_ly()
    files = _hansen(tmp_path, tc, ly)
    case(_activity(files[0], "hansen", files[1], out=tmp_path / "t.csv", extra=["--dates", "2000,2001,2002"]),
         code=2, names=(files[1], "beyond the last date 2002", "value 3"))


def test_hansen_lossyear_nodata_zero(case, tmp_path):
    tc, ly = _tc_ly()
    files = _hansen(tmp_path, tc, ly, ly_kw={"nodata": 0})
    case(_activity(files[0], "hansen", files[1], out=tmp_path / "t.csv"), code=2,
         names=(files[1], "nodata value 0", "lossyear class 0"))


def test_hansen_datamask_outside_0_2(case, tmp_path):
    tc, ly = _tc_ly()
    dm = np.ones(tc.shape, np.uint8)
    dm[9, 9] = 7
    files = _hansen(tmp_path, tc, ly, dm)
    case(_activity(files[0], "hansen", *files[1:], out=tmp_path / "t.csv"), code=2,
         names=(files[2], "datamask value 7", "row 9, col 9"))


# ------------------------------------------------------------------------------- tmf
def test_tmf_class_outside_0_6(case, tmp_path):
    stack = np.ones((3, 20, 20), np.uint8)
    stack[1, 2, 2] = 9
    p = write_raster(tmp_path / "tmf.tif", stack)
    case(_activity(p, "tmf", out=tmp_path / "t.csv"), code=2, names=(p, "value 9", "row 2, col 2", "0..6"))


def test_tmf_nodata_equal_to_a_class(case, tmp_path):
    p = write_raster(tmp_path / "tmf.tif", np.ones((3, 20, 20), np.uint8), nodata=2)
    case(_activity(p, "tmf", out=tmp_path / "t.csv"), code=2, names=(p, "nodata value 2"))


def test_tmf_one_file_per_year_names_the_year_file(case, tmp_path):
    stack = np.ones((3, 20, 20), np.int16)
    stack[2, 6, 7] = -2
    files = [write_raster(tmp_path / f"tmf{2018 + i}.tif", stack[i]) for i in range(3)]
    case(_activity(files[0], "tmf", *files[1:], out=tmp_path / "t.csv", extra=["--dates", "2018,2019,2020"]),
         code=2, names=(files[2], "value -2", "row 6, col 7"))


# ------------------------------------------------------------------------------- held already
def test_geographic_crs(case, tmp_path):
    p = write_raster(tmp_path / "fcc.tif", fcc_array(), crs="EPSG:4326", pixel=0.001)
    case(_activity(p, out=tmp_path / "t.csv"), code=2, names=(p, "geographic"))


def test_grids_that_differ(case, tmp_path):
    a = write_raster(tmp_path / "m0.tif", np.ones((20, 20), np.uint8))
    b = write_raster(tmp_path / "m1.tif", np.ones((20, 21), np.uint8))
    case(_activity(a, "masks", b, out=tmp_path / "t.csv", extra=["--dates", "2000,2010"]), code=2,
         names=(b, "another grid", "--align"))


def test_corrupt_and_missing_rasters(case, tmp_path):
    bad = tmp_path / "fcc.tif"
    bad.write_bytes(b"not a tiff")
    case(_activity(bad, out=tmp_path / "t.csv"), code=2, names=(bad, "cannot"))
    case(_activity(tmp_path / "nope.tif", out=tmp_path / "t.csv"), code=2, names=("nope.tif", "not found"))
