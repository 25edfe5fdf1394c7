"""Outputs a newcomer reads (issue 18, item 7): tidy CSV numbers, the forest area per date in `activity`'s
text, the belt allocation in `risk benchmark`'s text, band descriptions and units on rasters."""

from __future__ import annotations

import math
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from rasterio.transform import from_origin
from shapely.geometry import box

from reddplus.cli.main import cli
from reddplus.jsonio import CSV_SIGNIFICANT_DIGITS, csv_number

CRS = "EPSG:6933"   # equal-area, metres


def _fcc(path, arr):
    with rasterio.open(path, "w", driver="GTiff", width=arr.shape[1], height=arr.shape[0], count=1, dtype="uint8",
                       crs=CRS, transform=from_origin(300_000, 8_700_000, 30, 30)) as ds:
        ds.write(arr, 1)
    return path


def test_csv_number():
    assert csv_number(3972.7799999999997) == "3972.78"          # the float noise
    assert csv_number(0.1 + 0.2) == "0.3" and csv_number(5.0) == "5" and csv_number(-0.0) == "0"
    assert csv_number(12345678901.0) == "12345678901"           # integer digits are never rounded away
    assert csv_number(0.021038831314771002) == "0.02103883131"
    assert "e" not in csv_number(1e-12) and "e" not in csv_number(1e15)


@given(st.floats(min_value=-1e15, max_value=1e15, allow_nan=False, allow_infinity=False))
def test_csv_number_keeps_ten_significant_digits(x):
    back = float(csv_number(x))
    assert math.isclose(back, x, rel_tol=10 ** (1 - CSV_SIGNIFICANT_DIGITS), abs_tol=1e-300)


def test_activity_csv_and_text(tmp_path):
    """44,142 pixels of 0.09 ha are 3972.7799999999997 ha in floating point: the CSV says 3972.78."""
    assert 44_142 * 0.09 == 3972.7799999999997
    arr = np.full((300, 300), 3, np.uint8)
    arr.ravel()[:44_142] = 1                                   # lost in the first period
    arr.ravel()[44_142:44_142 + 1000] = 0                      # non-forest
    p = _fcc(tmp_path / "fcc.tif", arr)
    out = tmp_path / "activity.csv"
    r = CliRunner().invoke(cli, ["activity", str(p), "--dates", "2000,2010,2020", "--out", str(out)])
    assert r.exit_code == 0, r.output
    text = out.read_text()
    assert "3972.78," in text and "99999999" not in text and "00000001" not in text
    table = pd.read_csv(out)
    assert table.loc[0, "area_ha"] == pytest.approx(44_142 * 0.09, rel=1e-12)
    forest_2000 = (300 * 300 - 1000) * 0.09
    lines = r.stdout.splitlines()
    assert lines[:3] == [f"all\t2000\tforest {forest_2000:.2f} ha", f"all\t2010\tforest {forest_2000 - 3972.78:.2f} ha",
                         f"all\t2020\tforest {forest_2000 - 3972.78:.2f} ha"]
    assert lines[3].startswith("all\t2000-2010\t3972.78 ha\t397.28 ha/yr")


def test_risk_benchmark_text_gives_the_belt(tmp_path):
    from tests.risk.synth import CRS as RCRS, bounds, make_fcc, write_fcc

    fcc = make_fcc((300, 400), seed=5)
    p = write_fcc(tmp_path / "fcc.tif", fcc)
    w, s, e, n = bounds(fcc)
    gpd.GeoDataFrame(geometry=[box(w + 3000, s + 3000, w + 6000, s + 6000)], crs=RCRS).to_file(tmp_path / "p.gpkg")
    gpd.GeoDataFrame(geometry=[box(w + 2000, s + 2000, w + 7000, s + 7000).difference(
        box(w + 3000, s + 3000, w + 6000, s + 6000))], crs=RCRS).to_file(tmp_path / "b.gpkg")
    r = CliRunner().invoke(cli, ["risk", "benchmark", str(p), "--format", "fcc123", "--dates", "2000,2010,2020",
                                 "--project", str(tmp_path / "p.gpkg"), "--leakage-belt", str(tmp_path / "b.gpkg"),
                                 "--expected-deforestation-ha-per-year", "20", "--max-distance", "1500",
                                 "--cell-area-ha", "200", "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("allocated of 20 ha/yr"))
    proj, belt = (float(x) for x in re.findall(r"(?:project|leakage belt) ([0-9.]+) ha/yr", line))
    assert 0 < proj < 20 and 0 < belt < 20 and "adjustment ratio" in line


def test_forest_change_formats_are_landcover_s():
    """The CLI's format list (kept light for --help) is the library's."""
    from reddplus.cli.options import FOREST_CHANGE_FORMATS
    from reddplus.landcover.forest_change import FORMATS

    assert FOREST_CHANGE_FORMATS == FORMATS
