"""Path-level counterfactual on a generated landscape with a KNOWN protection effect, and bad inputs."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.features import geometry_mask
from shapely.geometry import box

from reddplus.counterfactual import InsufficientCandidatesError, run_counterfactual
from reddplus.errors import ConfigError, GridMismatchError, InputDataError, ToleranceWarning

KW = dict(repeats=40, density_per_ha=2.0, buffer_m=600.0)


def _run(open_fc, land, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ToleranceWarning)
        return run_counterfactual(open_fc(land.fcc), land.project, start_year=2010, seed=3,
                                  covariates={"access": str(land.access)}, distance_layers={"roads": str(land.roads)},
                                  protected_path=land.protected, **{**KW, **kw})


@pytest.mark.parametrize("effect", [1.0, 0.5, 0.0])
def test_recovers_known_protection_effect_within_interval(open_fc, landscape_factory, effect):
    """Truth: expected avoided loss = mean unprotected probability x (1 - effect) x project forest area."""
    land = landscape_factory(effect)
    res = _run(open_fc, land)
    truth = land.p_project_2010_2020 * (1 - effect) * land.project_forest_2010_ha
    iv = res.avoided_deforestation_ha
    assert iv.low <= truth <= iv.high, (iv, truth)
    if effect == 1.0:
        assert iv.low <= 0 <= iv.high  # zero effect: no additionality detected
    else:
        assert iv.low > 0
    assert res.project_forest_start_ha == pytest.approx(land.project_forest_2010_ha)


def test_matching_removes_the_naive_imbalance(open_fc, landscape_factory):
    land = landscape_factory(1.0)
    res = _run(open_fc, land)
    bal = res.balance.set_index("covariate")
    assert abs(bal.loc["access", "smd_before"]) > 0.5  # the project sits on remote forest
    assert abs(bal.loc["access", "smd_after"]) < 0.1
    assert abs(bal.loc["dist_roads_m", "smd_before"]) > 0.5
    assert abs(bal.loc["dist_roads_m", "smd_after"]) < 0.1
    # the naive jurisdiction rate overstates what comparable (matched) forest lost
    naive = res.naive_control_fraction[0]
    matched = np.median(res.control_fraction[:, 0])
    assert naive > 1.5 * matched
    # zero effect: matched controls lose what the project lost
    assert matched == pytest.approx(np.median(res.project_fraction[:, 0]), abs=0.03)


def test_candidates_exclude_project_buffer_belt_and_protected_areas(open_fc, landscape_factory):
    from reddplus.counterfactual import sample_pixels

    land = landscape_factory(1.0)
    s = sample_pixels(open_fc(land.fcc), land.project, start_year=2010, protected_path=land.protected, seed=1,
                      buffer_m=600.0, density_per_ha=2.0)
    with rasterio.open(land.fcc) as ds:
        T = ds.transform
    proj = gpd.read_file(land.project).geometry.iloc[0].buffer(600.0)
    prot = gpd.read_file(land.protected).geometry.iloc[0]
    xs, ys = T @ (s.candidates["col"].to_numpy() + 0.5, s.candidates["row"].to_numpy() + 0.5)
    pts = gpd.points_from_xy(xs, ys)
    assert not any(proj.contains(p) or prot.contains(p) for p in pts)
    assert set(s.candidates["code"].unique()) <= {2, 3}  # forest at the start only
    assert set(s.project["code"].unique()) <= {2, 3}


def test_same_seed_same_answer_and_seed_recorded(open_fc, landscape_factory):
    land = landscape_factory(0.5)
    a, b = _run(open_fc, land, repeats=5), _run(open_fc, land, repeats=5)
    np.testing.assert_array_equal(a.control_fraction, b.control_fraction)
    assert a.seed == 3


def test_overcrediting_ratio_from_a_baseline_series(open_fc, landscape_factory):
    land = landscape_factory(1.0)
    res = _run(open_fc, land, repeats=20)
    years, ctrl = res.control_deforestation_per_year()
    assert list(years) == list(range(2011, 2021))
    baseline = 3.0 * np.median(ctrl, axis=0)  # a baseline three times what comparable forest lost
    r = res.overcrediting(years, baseline)
    assert r.ratio.low <= 3.0 <= r.ratio.high
    assert r.ratio.estimate == pytest.approx(3.0, rel=0.15)
    assert res.to_dict(r)["overcrediting_ratio"] == pytest.approx(r.ratio.estimate)


@pytest.mark.parametrize("year", [1990, 2005, 2020])
def test_start_year_outside_the_data(open_fc, landscape_factory, year):
    land = landscape_factory(1.0)
    with pytest.raises(ConfigError, match="start_year"):
        run_counterfactual(open_fc(land.fcc), land.project, start_year=year, **KW)


def test_covariate_on_another_grid(open_fc, landscape_factory, tmp_path):
    land = landscape_factory(1.0)
    with rasterio.open(land.access) as ds:
        prof, a = ds.profile, ds.read(1)
    prof.update(transform=Affine(60.0, 0, prof["transform"].c, 0, -60.0, prof["transform"].f))
    other = tmp_path / "coarse.tif"
    with rasterio.open(other, "w", **prof) as ds:
        ds.write(a, 1)
    with pytest.raises(GridMismatchError, match="coarse.tif"):
        run_counterfactual(open_fc(land.fcc), land.project, start_year=2010, covariates={"access": str(other)}, **KW)


def test_project_without_forest_at_start(open_fc, landscape_factory, tmp_path):
    land = landscape_factory(1.0)
    with rasterio.open(land.fcc) as ds:
        prof, a, T = ds.profile, ds.read(1), ds.transform
    inside = ~geometry_mask(gpd.read_file(land.project).geometry, a.shape, T)
    a[inside & (a >= 2)] = 1  # all project forest lost before the 2010 start
    fcc = tmp_path / "fcc_noforest.tif"
    with rasterio.open(fcc, "w", **prof) as ds:
        ds.write(a, 1)
    with pytest.raises(InputDataError, match="no forest at the start year 2010"):
        run_counterfactual(open_fc(fcc), land.project, start_year=2010, **KW)


def test_too_few_candidates(open_fc, landscape_factory, tmp_path):
    land = landscape_factory(1.0)
    with rasterio.open(land.fcc) as ds:
        T, crs = ds.transform, ds.crs
    x0, y0 = T @ (300, 40)
    small = tmp_path / "juris.gpkg"
    gpd.GeoDataFrame(geometry=[box(x0, y0 - 90, x0 + 90, y0)], crs=crs).to_file(small)  # 3 x 3 pixels
    with pytest.raises(InsufficientCandidatesError, match="candidate pixels"):
        run_counterfactual(open_fc(land.fcc), land.project, start_year=2010, jurisdiction_path=small, **KW)


def test_poor_balance_warns(open_fc, landscape_factory):
    land = landscape_factory(1.0)
    with pytest.warns(ToleranceWarning):
        run_counterfactual(open_fc(land.fcc), land.project, start_year=2010, seed=3, caliper=50.0,
                           covariates={"access": str(land.access)}, **{**KW, "repeats": 3})


def _tables(open_fc, land, **kw):
    from reddplus.counterfactual import sample_pixels

    s = sample_pixels(open_fc(land.fcc), land.project, start_year=2010, seed=9, density_per_ha=1.0, buffer_m=600.0,
                      covariates={"access": str(land.access)}, distance_layers={"roads": str(land.roads)}, **kw)
    return s


def test_block_tiling_does_not_change_the_samples(open_fc, landscape_factory):
    """The declared halo (max of neighbourhood radius and distance cap) makes block results exact."""
    land = landscape_factory(1.0)
    whole = _tables(open_fc, land, block_size=4096)
    tiled = _tables(open_fc, land, block_size=64)
    for name in ("project", "belt", "candidates"):
        a, b = getattr(whole, name), getattr(tiled, name)
        assert len(a) > 0
        np.testing.assert_allclose(a.to_numpy(float), b.to_numpy(float), rtol=1e-6, atol=1e-3)


@pytest.mark.slow
def test_sampling_on_a_dask_cluster_equals_local_threads(open_fc, landscape_factory):
    distributed = pytest.importorskip("distributed")
    land = landscape_factory(1.0)
    local = _tables(open_fc, land, block_size=128)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cl:
        remote = _tables(open_fc, land, block_size=128, scheduler=cl.scheduler_address)
    for name in ("project", "candidates"):
        np.testing.assert_array_equal(getattr(local, name).to_numpy(float), getattr(remote, name).to_numpy(float))


@pytest.mark.parametrize("leakage_factor", [1.0, 2.0])
def test_leakage_belt_recovers_known_displaced_deforestation(open_fc, landscape_factory, leakage_factor):
    """The 600 m ring doubles its deforestation probability after 2010 (or not): the matched-ring estimate
    of excess belt deforestation must cover the expected displaced loss (0 when the factor is 1)."""
    land = landscape_factory(0.5, leakage_factor=leakage_factor)
    res = _run(open_fc, land)
    iv = res.leakage_deforestation_ha
    assert iv.low <= land.expected_leakage_ha <= iv.high, (iv, land.expected_leakage_ha)
    if leakage_factor > 1:
        assert iv.low > 0
