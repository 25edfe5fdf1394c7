"""Inventory reading and the bad-input list of issue 2."""

import gzip

import pandas as pd
import pytest

from reddplus.errors import InputDataError
from reddplus.stocks.inventory import read_inventory, read_plot_areas


def _csv(tmp_path, text, name="trees.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_mapping_units_and_formats(tmp_path):
    text = "Plot,Tag,DBH_mm,Ht\nA,1,123,15\nA,2,456,\nB,1,250,22\n"
    p = _csv(tmp_path, text)
    inv = read_inventory(p, {"plot": "Plot", "tree": "Tag", "diameter": "DBH_mm", "height": "Ht"}, diameter_unit="mm")
    assert inv.trees["diameter"].tolist() == pytest.approx([12.3, 45.6, 25.0])
    assert inv.trees["height"].isna().tolist() == [False, True, False]
    gz = tmp_path / "trees.csv.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    pq = tmp_path / "trees.parquet"
    pd.read_csv(p).to_parquet(pq)
    for path in (gz, pq):
        other = read_inventory(path, {"plot": "Plot", "tree": "Tag", "diameter": "DBH_mm", "height": "Ht"},
                               diameter_unit="mm")
        pd.testing.assert_frame_equal(other.trees, inv.trees)


def test_default_names_and_aliases(tmp_path):
    inv = read_inventory(_csv(tmp_path, "plotId,D,H\nx,12,10\n"))
    assert inv.columns == {"plot": "plotId", "diameter": "D", "height": "H"}


@pytest.mark.parametrize("body, row, column, match", [
    ("P,1,\n", 1, "d", "missing diameter"),
    ("P,1,12\nP,2,0\n", 2, "d", "zero or negative"),
    ("P,1,12\nP,2,-3\n", 2, "d", "zero or negative"),
    ("P,1,12\nP,2,abc\n", 2, "d", "not a number"),
    ("P,1,12\nP,1,15\n", 2, "id", "duplicate tree id"),
    ("P,1,12\nP,2,900\n", 2, "d", "mm"),
])
def test_bad_tree_rows_name_row_and_column(tmp_path, body, row, column, match):
    p = _csv(tmp_path, "plot,id,d\n" + body)
    with pytest.raises(InputDataError, match=match) as err:
        read_inventory(p, {"tree": "id", "diameter": "d"})
    assert err.value.row == row and err.value.column == column and err.value.path == str(p)


def test_heights_below_breast_height(tmp_path):
    p = _csv(tmp_path, "plot,d,h\nP,12,10\nP,15,1.1\n")
    with pytest.raises(InputDataError, match="below breast height") as err:
        read_inventory(p, {"diameter": "d", "height": "h"})
    assert (err.value.row, err.value.column) == (2, "h")


def test_mm_declared_as_cm_flagged_by_median(tmp_path):
    """ForestGEO diameters are in mm; declared as cm the median is implausible."""
    rows = "".join(f"P,{i},{d}\n" for i, d in enumerate([150, 210, 95, 330, 120, 180], 1))
    p = _csv(tmp_path, "plot,id,dbh\n" + rows)
    with pytest.raises(InputDataError, match="mm"):
        read_inventory(p, {"tree": "id", "diameter": "dbh"})
    assert read_inventory(p, {"tree": "id", "diameter": "dbh"}, diameter_unit="mm").trees["diameter"].max() == 33.0


def test_forestgeo_mm_file(shared):
    """Luquillo tree5: dbh in mm (ForestGEO); dead trees have no dbh -> error naming the row.

    The file is one census plot without a plot column: it must be declared so (``single_plot``)."""
    p = shared("forestgeo_luquillo_fgeo_x", "tree5.csv")
    with pytest.raises(InputDataError, match="no plot column"):
        read_inventory(p, {"tree": "treeID", "diameter": "dbh"}, diameter_unit="mm")
    with pytest.raises(InputDataError, match="missing diameter") as err:
        read_inventory(p, {"tree": "treeID", "diameter": "dbh"}, diameter_unit="mm", single_plot=True)
    df = pd.read_csv(p)
    assert pd.isna(df["dbh"].iloc[err.value.row - 1])


def test_empty_files(tmp_path):
    with pytest.raises(InputDataError, match="empty file"):
        read_inventory(_csv(tmp_path, ""))
    with pytest.raises(InputDataError, match="no data rows"):
        read_inventory(_csv(tmp_path, "plot,d\n"))


def test_unknown_role_and_missing_column(tmp_path):
    p = _csv(tmp_path, "plot,d\nP,12\n")
    with pytest.raises(InputDataError, match="unknown column role"):
        read_inventory(p, {"dbh": "d"})
    with pytest.raises(InputDataError, match="not in the file") as err:
        read_inventory(p, {"diameter": "DBH"})
    assert err.value.column == "DBH"
    with pytest.raises(InputDataError, match="role 'diameter'"):
        read_inventory(_csv(tmp_path, "plot,girth\nP,12\n", "g.csv"))


def test_plot_areas(tmp_path):
    a = read_plot_areas(_csv(tmp_path, "plot,area_ha,stratum\nA,1,x\nB,0.5,y\n", "plots.csv"))
    assert a.area_ha == {"A": 1.0, "B": 0.5} and a.stratum == {"A": "x", "B": "y"}
    with pytest.raises(InputDataError, match="plot area") as err:
        read_plot_areas(_csv(tmp_path, "plot,area_ha\nA,1\nB,\n", "p2.csv"))
    assert (err.value.row, err.value.column) == (2, "area_ha")


def test_karnataka_reads_at_scale(shared):
    """65,889 stems in 96 plots (biomass_karnataka/PROVENANCE.md)."""
    inv = read_inventory(shared("biomass_karnataka", "KarnatakaForest.csv.gz"),
                         {"plot": "plotId", "tree": "treeId", "diameter": "D"})
    assert inv.n_trees == 65889 and inv.trees["plot"].nunique() == 96
    ten = read_inventory(shared("biomass_karnataka", "KarnatakaForest.csv.gz"),
                         {"plot": "plotId", "tree": "treeId", "diameter": "D"}, min_diameter=10.0)
    assert ten.n_trees == pytest.approx(0.45 * 65889, rel=0.03)  # "55 % of stems have D < 10 cm"
