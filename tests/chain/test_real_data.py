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

[deductions.nprt]
project_management = []
financial_viability = ["breakeven_lt_4", "funding_ge_80"]
opportunity_cost = ["project_as_profitable"]
project_longevity = {{years = 50, legal_agreement = true}}
land_tenure = ["same_entity"]
community_engagement = []
political_risk = {{governance_score = 1.0}}
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
    assert s["buffer_percent"] == pytest.approx(14.0)          # 24 - 50/5 = 14 > the 10 % minimum
    res = json.loads((tmp_path / "run" / "results.json").read_text())
    jur = res["activity"]["jurisdiction_ha_per_year"]
    # PROVENANCE.md: 29,835 px lost 2000-2010 and 40,956 px 2010-2020, 0.09 ha each, inside the border
    assert sum(jur[str(y)] for y in range(2001, 2011)) == pytest.approx(29_835 * 0.09, rel=0.01)
    assert sum(jur[str(y)] for y in range(2011, 2021)) == pytest.approx(40_956 * 0.09, rel=0.01)
    assert (tmp_path / "run" / "report.pdf").stat().st_size > 10_000
