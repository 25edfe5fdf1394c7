"""Map indicators per monitoring period, with the without-project values from a baseline and a counterfactual.

The tiny world of ``conftest.py`` (1-ha pixels): forest at the end of 2020 = 90 ha in the project
area, 85 ha at the end of 2022 (5 ha lost in 2021-2022, none in HCV-1, the 25 ha lower-left quarter).
Baseline: density 0.01 ha/pixel/yr, adjustment ratio 2 in 2021 and 2022, so each forest pixel
expects min(2 x 0.01, 1) = 0.02 ha/yr (VT0007 section 5.1 step 6): the project area expects
90 x 0.02 = 1.8 ha/yr and HCV-1 25 x 0.02 = 0.5 ha/yr. Counterfactual: matched controls lose 1 % of
the 2020 forest in 2021 and 2 % in 2022.
"""

import pytest

from reddplus.ccb import BaselineInputs, CounterfactualInputs, ccb_results, read_ccb
from reddplus.ccb.results import NO_BASELINE, NO_MAP
from reddplus.landcover import open_forest_change
from tests.ccb.conftest import write_density, write_world


@pytest.fixture
def world(tmp_path, ccb_folder):
    fc = open_forest_change(str(write_world(tmp_path)), "fcc123", dates=(2018, 2020, 2022))
    return read_ccb(ccb_folder), fc, write_density(tmp_path)


def _period(res, iid):
    return res.to_dict()["indicators"][iid]["periods"]["2021-2022"]


def test_with_and_without_project_by_hand(world):
    ds, fc, dens = world
    base = BaselineInputs("VT0007 test baseline", density_path=dens, adjustment_ratio_by_year={2021: 2.0, 2022: 2.0})
    cf = CounterfactualInputs("matched controls", 2020, {(2020, 2021): 0.01, (2021, 2022): 0.02})
    res = ccb_results(ds, fc, baseline=base, counterfactual=cf, block_size=3)
    b1 = _period(res, "B-1")
    assert b1["with_project"] == pytest.approx(85.0)
    assert b1["without_project"] == pytest.approx(90.0 - 2 * 1.8)
    assert b1["counterfactual"] == pytest.approx(90.0 * (1 - 0.03))
    assert b1["without_project_source"] == "VT0007 test baseline"
    b2 = _period(res, "B-2")
    assert b2["with_project"] == pytest.approx(0.0)
    assert b2["without_project"] == pytest.approx(2 * 0.5)
    assert b2["counterfactual"] == pytest.approx(25 * 0.03)
    b3 = _period(res, "B-3")
    assert b3["with_project"] == 1
    assert b3["without_project"] is None and b3["without_project_reason"] == NO_MAP


def test_zone_figures_from_the_allocation_take_precedence(world):
    ds, fc, dens = world
    base = BaselineInputs("allocation", density_path=dens, adjustment_ratio_by_year={2021: 2.0, 2022: 2.0},
                          zone_ha_per_year={"project_area": {2021: 3.0, 2022: 3.0}})
    res = ccb_results(ds, fc, baseline=base)
    assert _period(res, "B-1")["without_project"] == pytest.approx(84.0)
    assert _period(res, "B-2")["without_project"] == pytest.approx(1.0)   # HCV-1 still from the density


def test_without_baseline_values_are_not_available_with_a_reason(world):
    ds, fc, _ = world
    res = ccb_results(ds, fc)
    b1 = _period(res, "B-1")
    assert b1["with_project"] == pytest.approx(85.0)
    assert b1["without_project"] is None and b1["without_project_reason"] == NO_BASELINE
    assert b1["counterfactual"] is None
    g2 = next(c for c in res.checklist if c.code == "G2")
    assert "no baseline given" in g2.missing[0]


def test_reported_indicator_groups_and_flags(world):
    ds, fc, _ = world
    res = ccb_results(ds, fc)
    cm1 = _period(res, "CM-1")
    assert (cm1["with_project"], cm1["without_project"]) == (1200.0, 1000.0)
    assert cm1["with_project_by_group"] == {"C1": 1300.0, "C1-W": None}       # not measured stays missing
    d = res.to_dict()
    assert "CM-1: group C1-W not measured in 2021-2022" in d["flags"]["missing_data"]
    assert d["indicators"]["CM-1"]["overdue"] is False
    assert d["validation"]["valid"] is True
    assert d["claimed"] == {"level": "GOLD", "gold_levels": ["GL3"]}
    items = {c["criterion"]: c for c in d["checklist"]}
    assert len(items) == 20 and items["GL1"]["missing"] == [] and not items["GL1"]["claimed"]
    assert "vulnerability: CR/EN species in HCV-1" in items["GL3"]["evidence"]
    assert any("never engaged" in m for m in items["G3"]["missing"])
    assert any("offsite stakeholders" in m for m in items["CM3"]["missing"])


def test_overdue_rule():
    from reddplus.ccb.model import Indicator
    from reddplus.ccb.results import PeriodValue, _overdue

    ind = Indicator(indicator_id="X", criterion="B4", name="x", unit="count", method="m", frequency="annual",
                    responsible="r")
    measured = (PeriodValue((2021, 2022), 1.0, None),)
    missing = (PeriodValue((2021, 2022), None, None),)
    assert not _overdue(ind, measured, 2023, 2021)
    assert _overdue(ind, measured, 2024, 2021)          # last measured 2022, annual: due 2023
    assert _overdue(ind, missing, 2022, 2021)           # never measured since the crediting start
    per = ind.model_copy(update={"frequency": "per monitoring period"})
    assert _overdue(per, missing, 2022, 2021) and not _overdue(per, measured, 2030, 2021)


def test_roads_inside_the_concession():
    from shapely.geometry import LineString, box

    from reddplus.ccb.indicators import road_state

    area = box(0, 0, 10_000, 10_000)
    roads = [LineString([(-5_000, 5_000), (3_000, 5_000)]), LineString([(20_000, 0), (30_000, 0)])]
    s = road_state(roads, area, 2024)
    assert s.road_km == pytest.approx(3.0) and s.road_entries == 1
    assert road_state([], area, 2020).road_km == 0.0


def test_road_indicators_with_the_baseline_planned_road_and_a_counterfactual(tmp_path):
    """Observed roads stop at the boundary; the baseline's planned road enters 3 km (opening 2022)."""
    import geopandas as gpd
    from shapely.geometry import LineString

    from shapely.geometry import box

    from reddplus.ccb import assemble
    from reddplus.ccb.indicators import MapIndicators, RoadState, road_state
    from tests.ccb.conftest import CRS, FILES, TOML, write_ccb_folder

    ind = FILES["indicators.csv"] + "IP-2,CM2,Roads in the concession,km,map,annual,GIS,computed:road_km@project_area,\n"
    folder = write_ccb_folder(tmp_path / "c", files={"indicators.csv": ind},
                              toml=TOML + '\n[isolated_peoples]\nroads = [{path = "roads.gpkg", date = 2022}]\n')
    gpd.GeoDataFrame(geometry=[LineString([(-500, 500), (0, 500)])], crs=CRS).to_file(folder / "roads.gpkg")
    planned = tmp_path / "planned.gpkg"
    gpd.GeoDataFrame(geometry=[LineString([(-500, 500), (300, 500)])], crs=CRS).to_file(planned)
    ds = read_ccb(folder)
    area = box(0, 0, 1000, 1000)
    maps = MapIndicators((2020, 2022), (), {}, {}, (road_state([LineString([(-500, 500), (0, 500)])], area, 2022),),
                         {2022: road_state([LineString([(-500, 500), (300, 500)])], area, 2022)}, 100.0, 100.0)
    base = BaselineInputs("test", planned_roads=((planned, 2022),))
    cf = CounterfactualInputs("test", 2020, {}, road_km_by_year={2022: 0.1})
    v = assemble(ds, maps, baseline=base, counterfactual=cf).to_dict()["indicators"]["IP-2"]["periods"]["2021-2022"]
    assert v["with_project"] == 0.0
    assert v["without_project"] == pytest.approx(0.3)
    assert v["counterfactual"] == pytest.approx(0.1)
    assert isinstance(maps.roads[0], RoadState)


def test_counterfactual_inputs_from_a_counterfactual_result():
    """Mean over the matching repeats; a span the periods do not tile has no value."""
    from types import SimpleNamespace

    import numpy as np

    cf = SimpleNamespace(start_year=2020, periods=((2020, 2021), (2021, 2022), (2022, 2024)),
                         control_fraction=np.array([[0.01, 0.02, 0.05], [0.03, 0.02, 0.03]]))
    c = CounterfactualInputs.from_result(cf)
    assert c.control_fraction == pytest.approx({(2020, 2021): 0.02, (2021, 2022): 0.02, (2022, 2024): 0.04})
    assert c.fraction_over(2020, 2022) == pytest.approx(0.04)
    assert c.fraction_over(2020, 2023) is None and c.fraction_over(2019, 2022) is None
