"""Implausible tree inventories (issue 15 item 8), refused naming file, row and column."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from reddplus.cli.main import cli


def _csv(tmp_path, text, name="trees.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_900_m_tree(case, tmp_path):
    p = _csv(tmp_path, "plot,tree,d,h\nA,1,30,25\nA,2,45,900\nB,1,20,18\n")
    case(["stocks", "agb", p, "--column", "diameter=d", "--column", "height=h", "--plot-area", "1",
          "--trees-out", tmp_path / "out.csv"], code=2, names=(p, "row 2", "'h'", "900"))


def test_no_plot_column_is_not_silently_one_plot(case, tmp_path):
    p = _csv(tmp_path, "tree,genus,species,d,h\n1,Virola,surinamensis,30,25\n2,Eschweilera,coriacea,45,30\n3,Inga,alba,20,18\n")
    case(["stocks", "agb", p, "--column", "diameter=d", "--column", "height=h", "--plot-area", "1",
          "--trees-out", tmp_path / "out.csv"], code=2, names=(p, "no plot column", "--single-plot"))
    r = CliRunner().invoke(cli, ["stocks", "agb", str(p), "--column", "diameter=d", "--column", "height=h",
                                 "--plot-area", "1", "--single-plot", "--json"])
    assert r.exit_code == 0, r.output
    assert [pl["plot"] for pl in json.loads(r.stdout)["plots"]] == ["all"]


def test_trees_out_onto_the_inventory(case, tmp_path):
    p = _csv(tmp_path, "plot,d,h\nA,30,25\n")
    case(["stocks", "agb", p, "--column", "diameter=d", "--column", "height=h", "--plot-area", "1",
          "--trees-out", p, "--overwrite"], code=3, names=(p, "is the input"))


@pytest.mark.parametrize("body, names", [
    ("plot,d,h\nA,30,25\nA,abc,20\n", ("row 2", "'d'", "not a number")),
    ("plot,d,h\nA,30,25\nA,-4,20\n", ("row 2", "zero or negative")),
    ("plot,d,h\nA,30,25\nA,900,20\n", ("row 2", "mm")),
    ("plot,d,h\nA,30,25\nA,30,1.0\n", ("row 2", "breast height")),
])
def test_held_already(case, tmp_path, body, names):
    p = _csv(tmp_path, body)
    case(["stocks", "agb", p, "--column", "diameter=d", "--column", "height=h", "--plot-area", "1",
          "--trees-out", tmp_path / "out.csv"], code=2, names=(p, *names))


def test_all_zero_covariate_raster(case, tmp_path):
    import numpy as np

    from .conftest import write_raster

    chm = write_raster(tmp_path / "chm.tif", np.zeros((40, 40), np.float32), crs="EPSG:32622", pixel=1.0)
    trees = _csv(tmp_path, "plot,d,h\nA,30,25\n")
    corners = _csv(tmp_path, "plot,x,y\nA,1000005,1999995\nA,1000025,1999995\nA,1000025,1999975\n"
                             "A,1000005,1999975\n", "corners.csv")
    case(["stocks", "map", trees, "--column", "diameter=d", "--column", "height=h", "--corners", corners,
          "--raster", chm, "--cell-size", "10", "--out", tmp_path / "agbd.tif"], code=2,
         names=(chm, "no positive value"))
