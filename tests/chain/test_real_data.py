"""`reddplus run` on real data: the Guadeloupe fcc123 raster (riskmapjnr) with a hypothetical project."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
from click.testing import CliRunner
from shapely.geometry import box

from reddplus.cli.main import cli

pytestmark = pytest.mark.shared_data

TOML = """
[project]
name = "Hypothetical Basse-Terre project"
country = "GP"
crediting_start = 2021
crediting_years = 10

[areas]
project = "project.gpkg"
jurisdiction = "{border}"

[stocks]
strata = [{{code = 1, name = "forest", agb_tco2e_per_ha = 450.0, agb_tco2e_per_ha_sd = 30.0}}]

[forest_change]
path = "{fcc}"
format = "fcc123"

[periods]
historical_reference = [2000, 2020]
calibration = [2000, 2010]
confirmation = [2010, 2020]

[deductions]
registration_requested = 2024-06-01

[deductions.leakage.beyond_belt]
method = "share_of_reductions"
share = 0.1
reason = "a tenth of the avoided clearing assumed displaced beyond the belt (test value)"

[deductions.leakage.market]
method = "not_applicable"
reason = "no commercial timber harvest in the baseline (test value)"

[deductions.nprt.project_management]
adaptive_management_plan = true
risks = []
mitigations = []

[deductions.nprt.financial_viability]
breakeven = "breakeven_4_or_less"
funding_secured = "funding_ge_80"
mitigations = []

[deductions.nprt.opportunity_cost]
subsistence_driven = false
alternative_npv = "project_as_profitable"
mitigations = []

[deductions.nprt.project_longevity]
agreement_100_years = false
years = 50
management_plan = true
arr_ifm_harvesting = false
legal_agreement = true
grouped_shorter_contracts = false

[deductions.nprt.land_tenure]
due_process = true
binding_agreement = true
ownership = "same_entity"
government_intervention = "none_or_resolved"
tenure_disputes = "no_tenure_disputes"
access_disputes = "no_access_disputes"
mitigations = []

[deductions.nprt.stakeholder_engagement]
reliant_populations = false

[deductions.nprt.political_risk]
governance_score = 1.0
mitigations = []

[deductions.nprt.natural]
fire = {{significance = "not_applicable"}}
pest_disease = {{significance = "not_applicable"}}
extreme_weather = {{significance = "not_applicable"}}
geological = {{significance = "not_applicable"}}
sea_level_rise = {{significance = "not_applicable"}}
"""


def test_guadeloupe_run(shared, tmp_path):
    fcc = shared("fcc_guadeloupe_riskmapjnr", "fcc123_GLP.tif")
    border = shared("fcc_guadeloupe_riskmapjnr", "ctry_border_GLP.gpkg")
    crs = gpd.read_file(border).crs
    x, y = 647_292.0, 1_786_583.0
    gpd.GeoDataFrame({"name": ["p"]}, geometry=[box(x - 4000, y - 4000, x + 4000, y + 4000)], crs=crs).to_file(
        tmp_path / "project.gpkg")
    (tmp_path / "project.toml").write_text(TOML.format(border=border, fcc=fcc))
    r = CliRunner().invoke(cli, ["-q", "run", str(tmp_path / "project.toml"), "--out", str(tmp_path / "run"),
                                 "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.output)
    assert s["project_area_ha"] == pytest.approx(6_400.0)
    assert s["net_vcus_by_vintage"] == {}                      # no monitoring period: ex-ante only
    assert s["buffer_percent"] == pytest.approx(13.0)          # NPRT v4.2: 25 - 50/4 = 12.5, rounded up to 13 > 12
    res = json.loads((tmp_path / "run" / "results.json").read_text())
    jur = res["activity"]["jurisdiction_ha_per_year"]
    # PROVENANCE.md: 29,835 px lost 2000-2010 and 40,956 px 2010-2020, 0.09 ha each, inside the border
    assert sum(jur[str(y)] for y in range(2001, 2011)) == pytest.approx(29_835 * 0.09, rel=0.01)
    assert sum(jur[str(y)] for y in range(2011, 2021)) == pytest.approx(40_956 * 0.09, rel=0.01)
    assert (tmp_path / "run" / "report.pdf").stat().st_size > 10_000
