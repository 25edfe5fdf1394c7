"""Bad input to the crediting run: one clear error naming the key or file, and nothing half-written."""

from __future__ import annotations

import shutil
import tomllib

import tomli_w

import pytest

from reddplus.errors import ConfigError, ReddplusError, ZoneError


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    from reddplus.sample import generate_sample_landscape

    return generate_sample_landscape(tmp_path_factory.mktemp("sample") / "s", scale=0.15)


def _variant(sample, tmp_path, edit):
    """Copy the sample and apply ``edit`` (a function of the parsed TOML dict) to its project.toml."""
    folder = tmp_path / "s"
    shutil.copytree(sample.out_dir, folder)
    toml = folder / "project.toml"
    cfg = tomllib.loads(toml.read_text())
    edit(cfg)
    toml.write_text(tomli_w.dumps(cfg))
    return toml


def _set(section, key, value):
    def edit(cfg):
        cfg[section][key] = value
    return edit


def _run(toml, out):
    from reddplus.chain import run_project
    from reddplus.project import load_project

    return run_project(load_project(toml), out, report_pdf=False)


def _assert_clean(out):
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.partial")]


@pytest.mark.parametrize("edit, key", [
    (_set("periods", "not_a_key", 1), "periods.not_a_key"),
    (_set("areas", "project", "missing.gpkg"), "areas.project"),
    (_set("periods", "monitoring", [[2021, 2023], [2022, 2024]]), "periods.monitoring"),
    (_set("periods", "monitoring", [[2015, 2016]]), "periods.monitoring"),
])
def test_config_errors_name_the_key(sample, tmp_path, edit, key):
    toml = _variant(sample, tmp_path, edit)
    with pytest.raises(ConfigError) as err:
        _run(toml, tmp_path / "out")
    assert key in str(err.value)
    _assert_clean(tmp_path / "out")


def test_periods_outside_the_data(sample, tmp_path):
    toml = _variant(sample, tmp_path, _set("periods", "historical_reference", [1990, 2010]))
    with pytest.raises(ConfigError, match="historical_reference"):
        _run(toml, tmp_path / "out")
    _assert_clean(tmp_path / "out")


def test_nprt_answer_outside_allowed_values(sample, tmp_path):
    def edit(cfg):
        cfg["deductions"]["nprt"]["financial_viability"] = ["breakeven_soon"]
    toml = _variant(sample, tmp_path, edit)
    with pytest.raises(ConfigError) as err:
        _run(toml, tmp_path / "out")
    assert "deductions.nprt.financial_viability" in str(err.value) and "breakeven_4_or_less" in str(err.value)
    _assert_clean(tmp_path / "out")


def test_project_outside_the_jurisdiction(sample, tmp_path):
    import geopandas as gpd
    from shapely.affinity import translate

    folder = tmp_path / "s"
    shutil.copytree(sample.out_dir, folder)
    p = folder / "project.gpkg"
    g = gpd.read_file(p)
    minx, miny, maxx, maxy = gpd.read_file(folder / "jurisdiction.gpkg").total_bounds
    g["geometry"] = g.geometry.apply(lambda geom: translate(geom, xoff=(maxx - minx) * 3))
    g.to_file(p)
    with pytest.raises((ZoneError, ReddplusError), match="project"):
        _run(folder / "project.toml", tmp_path / "out")
    _assert_clean(tmp_path / "out")


def test_stocks_from_a_previous_assessment(sample, tmp_path):
    """Without a tree inventory the per-stratum stocks of the config (mean, SD) carry the interval."""
    def edit(cfg):
        del cfg["stocks"]["inventory"], cfg["stocks"]["plot_areas"]
        cfg["stocks"]["source"] = "strata"
        for st in cfg["stocks"]["strata"]:
            st["agb_tco2e_per_ha_sd"] = 0.05 * st["agb_tco2e_per_ha"]
        cfg["counterfactual"]["enabled"] = False
    res = _run(_variant(sample, tmp_path, edit), tmp_path / "out")
    lo, hi = res.agb_stock_tco2_ci90
    assert lo < res.agb_stock_tco2 < hi
    assert 0.02 < (hi - lo) / 2 / res.agb_stock_tco2 <= 1.6449 * 0.05   # 90% half-width of 5 % SEs
    assert res.overcrediting_ratio is None and res.net_vcus_by_vintage


def test_uncertainty_rule_is_configurable(sample, tmp_path):
    """With an allowable half-width of 0 % every percent of uncertainty is deducted (VCS rule, configurable)."""
    def edit(cfg):
        cfg["deductions"]["uncertainty"] = {"allowable_halfwidth_percent": 0.0, "draws": 2000}
        cfg["counterfactual"]["enabled"] = False
    res = _run(_variant(sample, tmp_path, edit), tmp_path / "out")
    periods = (res.credits.uncertainty,) + tuple(res.credits.uncertainty_by_period)
    assert len(periods) > 1 and all(u.halfwidth_percent > 0 for u in periods)
    for u in periods:       # the ex-ante projection and every monitoring period
        assert u.deduction_percent == pytest.approx(u.halfwidth_percent)


def test_same_numbers_on_a_dask_cluster(sample, tmp_path):
    """The streamed steps run on a Dask scheduler and give the same credits as local threads."""
    distributed = pytest.importorskip("distributed")
    from reddplus.chain import run_project
    from reddplus.project import load_project

    cfg = load_project(sample.project_toml)
    local = run_project(cfg, tmp_path / "local", report_pdf=False)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as lc:
        remote = run_project(cfg, tmp_path / "dask", report_pdf=False, scheduler=lc.scheduler_address)
    assert remote.net_vcus_by_vintage == local.net_vcus_by_vintage
    assert remote.activity.jurisdiction_ha_per_year == local.activity.jurisdiction_ha_per_year
    assert remote.overcrediting_ratio == local.overcrediting_ratio
