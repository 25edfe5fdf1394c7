"""The CCB folder reader: valid folders load; bad input is reported all at once, naming file, row, column or key."""

import pytest
from shapely.geometry import box

from reddplus.ccb import CcbValidationError, read_ccb, validate_ccb
from tests.ccb.conftest import FILES, TOML, write_ccb_folder


def _problems(folder):
    v = validate_ccb(folder)
    return v, [str(p) for p in v.problems]


def test_valid_folder_reads(ccb_folder):
    ds = read_ccb(ccb_folder)
    assert ds.validation.ok
    assert [g.group_id for g in ds.groups] == ["C1", "C1-W"]
    assert ds.indicator("CM-1").disaggregation == ("C1", "C1-W")
    assert ds.indicator("CM-1").criterion == "CM2.1"
    assert ds.indicator("B-1").computed == ("forest_area_ha", "project_area")


def test_not_measured_is_kept_missing_never_zero(ccb_folder):
    ds = read_ccb(ccb_folder)
    women = [v for v in ds.values if v.group == "C1-W"][0]
    assert women.value is None and women.note == "survey postponed"
    assert all(v.value is not None for v in ds.values if v.group != "C1-W")


def test_unknown_criterion(tmp_path):
    ind = FILES["indicators.csv"].replace("B-3,B4,", "B-3,B7,")
    v, msgs = _problems(write_ccb_folder(tmp_path / "c", files={"indicators.csv": ind}))
    assert not v.ok
    p = [p for p in v.problems if p.column == "criterion"][0]
    assert p.file == "indicators.csv" and p.row == 3 and "unknown CCB v3.1 criterion 'B7'" in p.message


def test_indicator_without_a_unit(tmp_path):
    ind = FILES["indicators.csv"].replace("Income,USD/yr,", "Income,,")
    v, msgs = _problems(write_ccb_folder(tmp_path / "c", files={"indicators.csv": ind}))
    p = [p for p in v.problems if p.column == "unit"][0]
    assert (p.file, p.row) == ("indicators.csv", 4)
    assert "indicators.csv, row 4, column 'unit'" in str(p)


def test_hcv_polygon_outside_the_project_zone(tmp_path):
    v, msgs = _problems(write_ccb_folder(tmp_path / "c", hcv_geom=box(5000, 5000, 6000, 6000)))
    p = [p for p in v.problems if p.file == "hcv.gpkg"][0]
    assert p.row == 1 and p.column == "geometry"
    assert "HCV 'HCV-1' polygon lies 100% outside the project zone" in p.message
    # a polygon half outside is refused too; one inside the community area (part of the zone) is fine
    v, _ = _problems(write_ccb_folder(tmp_path / "d", hcv_geom=box(500, 0, 1500, 500)))
    assert any("30% outside" in p.message for p in v.problems)  # 300 x 500 m of 1000 x 500 m
    v, _ = _problems(write_ccb_folder(tmp_path / "e", hcv_geom=box(1000, 0, 1200, 500)))
    assert v.ok


def test_period_outside_the_crediting_period(tmp_path):
    vals = FILES["indicator_values.csv"] + "CM-1,2031-2032,with_project,,1250,\n"
    v, msgs = _problems(write_ccb_folder(tmp_path / "c", files={"indicator_values.csv": vals}))
    p = [p for p in v.problems if p.column == "period"][0]
    assert (p.file, p.row) == ("indicator_values.csv", 5)
    assert "outside the crediting period 2021-2030" in p.message
    # a monitoring period outside the crediting period in ccb.toml names the key
    v, msgs = _problems(write_ccb_folder(tmp_path / "d", toml=TOML.replace("[[2021, 2022]]", "[[2019, 2022]]")))
    assert any(p.file == "ccb.toml" and p.key == "periods" and "outside the crediting period" in p.message
               for p in v.problems)


def test_all_problems_at_once(tmp_path):
    ind = FILES["indicators.csv"].replace("B-3,B4,", "B-3,X9,").replace("Income,USD/yr,", "Income,,")
    vals = FILES["indicator_values.csv"] + "NOPE,2021-2022,with_project,,1,\n"
    folder = write_ccb_folder(tmp_path / "c", files={"indicators.csv": ind, "indicator_values.csv": vals},
                              hcv_geom=box(5000, 5000, 6000, 6000))
    v = validate_ccb(folder)
    kinds = {(p.file, p.column) for p in v.problems}
    assert {("indicators.csv", "criterion"), ("indicators.csv", "unit"), ("indicator_values.csv", "indicator_id"),
            ("hcv.gpkg", "geometry")} <= kinds
    with pytest.raises(CcbValidationError) as err:
        read_ccb(folder)
    assert len(err.value.problems) == len(v.problems) >= 4
    assert err.value.exit_code == 2


def test_other_bad_input(tmp_path):
    files = {
        "communities.csv": FILES["communities.csv"] + "C1,Duplicate,community,,,\n",
        "engagement.csv": "date,group_id,topic,outcome,evidence\n2021-13-01,C1,design,ok,minutes\n",
        "theory_of_change.csv": "node_id,level,description,leads_to,indicators\nA1,activity,patrols,Z9,B-1\n",
        "indicators.csv": FILES["indicators.csv"] + "B-9,B2,x,ha,map,sometimes,GIS,reported,\n"
                          "B-10,B2,x,ha,map,annual,GIS,computed:forest_area_ha@nowhere,\n",
        "extra_unknown_column.csv": None,
    }
    v, msgs = _problems(write_ccb_folder(tmp_path / "c", files=files,
                                         toml=TOML + "\n[water]\nintakes = \"missing.gpkg\"\ndem = \"dem.tif\"\n"))
    text = "\n".join(msgs)
    assert "communities.csv, row 3, column 'group_id': duplicate group_id 'C1'" in text
    assert "engagement.csv, row 1, column 'date'" in text
    assert "theory_of_change.csv, row 1, column 'leads_to': leads_to 'Z9' is not a node" in text
    assert "indicators.csv, row 5, column 'frequency'" in text
    assert "unknown zone 'nowhere'" in text
    assert "ccb.toml, key water.intakes: file not found" in text


def test_project_periods_must_agree(tmp_path, ccb_folder):
    from types import SimpleNamespace

    cfg = SimpleNamespace(project=SimpleNamespace(crediting_start=2021, crediting_years=5),
                          periods=SimpleNamespace(monitoring=[(2021, 2023)]))
    v = validate_ccb(ccb_folder, project=cfg)
    keys = {p.key for p in v.problems}
    assert keys == {"periods.crediting", "periods.monitoring.0"}
