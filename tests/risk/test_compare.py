"""Benchmark vs a named alternative (VT0007 v1.0 section 5.5): one table, the benchmark's own figures and
cells, the decision and its reason; the assessed model is the one refitted for the validity period."""

from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from shapely.geometry import box

from reddplus.errors import ModelError
from reddplus.landcover import open_forest_change
from reddplus.risk import vt0007 as v
from reddplus.risk.compare import (alternative_risk_model, assess_alternative, benchmark_cells,
                                   predict_validity_period)
from reddplus.risk.drivers import driver_stacks
from reddplus.risk.models import AlternativeModel, fit_alternative, predict_map, sample_training_pixels
from reddplus.risk.tools import default_periods, vt0007_benchmark

from .synth import CRS, bounds, make_fcc, write_fcc, write_road_landscape

PIXEL = 30.0


@pytest.fixture(scope="module")
def road(tmp_path_factory):
    """Loss driven by an under-canopy road track (P = 0.3 exp(-d / 150 m) per period), plus clearings whose
    edges see no loss: the road model must beat the distance-to-edge benchmark. Two admin divisions."""
    tmp = tmp_path_factory.mktemp("road")
    fp, codes = write_road_landscape(tmp)
    w, s, e, n = bounds(codes)
    gpd.GeoDataFrame({"id": [1, 2]}, geometry=[box(w, s, w + 130 * PIXEL, n), box(w + 130 * PIXEL, s, e, n)],
                     crs=CRS).to_file(tmp / "admin.gpkg")
    fc = open_forest_change(fp, "fcc123")
    per = default_periods(fc.dates)
    bench = vt0007_benchmark(fc, out_dir=tmp / "bench", periods=per, admin=tmp / "admin.gpkg", admin_field="id",
                             max_distance_m=3000, cell_area_ha=80)
    return SimpleNamespace(tmp=tmp, fc=fc, codes=codes, per=per, bench=bench, admin=tmp / "admin.gpkg")


def _alt(road, **kw):
    drivers = kw.pop("drivers", {"distance_to_edge": {"kind": "forest_edge"},
                                 "distance_to_road": {"kind": "distance", "path": str(road.tmp / "roads.gpkg")}})
    return AlternativeModel(name=kw.pop("name", "roads"), model=kw.pop("model", "logistic"), drivers=drivers,
                            sample_size=kw.pop("sample_size", 6000), max_distance_m=kw.pop("max_distance_m", 6000),
                            **kw)


def _read(path):
    with rasterio.open(path) as ds:
        return ds.read(1)


def test_road_alternative_beats_the_benchmark_on_its_cells(road, tmp_path):
    a = assess_alternative(road.fc, _alt(road), road.bench, road.per, out_dir=tmp_path, seed=1, admin=road.admin,
                           admin_field="id")
    assert a.accepted and a.selected == "alternative:roads" and a.reason.startswith("alternative:roads is used")
    assert a.fit.model.summary["coefficients"]["distance_to_road"] < 0
    rows = {(r["model"], r["stage"]): r for r in a.table()}
    assert len(rows) == 4
    # the benchmark figures are the benchmark's own (one set of figures per run), on the same cells
    for stage, b in (("CAL fit", road.bench.assessment[0]), ("CNF prediction", road.bench.assessment[1])):
        assert rows[("benchmark", stage)]["medae_ha"] == b.medae_ha and rows[("benchmark", stage)]["r2"] == b.r2
        alt = rows[("alternative:roads", stage)]
        assert alt["n_cells"] == b.n_cells and alt["observed_ha"] == pytest.approx(b.observed_ha.sum(), rel=1e-12)
        assert alt["medae_ha"] < b.medae_ha
    np.testing.assert_allclose(a.alternative_cal.observed_ha, road.bench.assessment[0].observed_ha, rtol=1e-12)
    # CAL fit and CNF prediction both reproduce the observed totals (fitted densities; adjustment ratio, no cap)
    assert a.alternative_cal.predicted_ha.sum() == pytest.approx(a.alternative_cal.observed_ha.sum(), rel=1e-9)
    assert a.alternative_cnf.predicted_ha.sum() == pytest.approx(a.alternative_cnf.observed_ha.sum(), rel=1e-9)
    d = a.to_dict()
    assert d["selected"] == "alternative:roads" and "VT0007 v1.0 section 5.5" in d["rule"]
    assert {m["stage"] for m in d["maps"]} == {"cal", "cnf"}


def test_cal_fit_is_the_vt0007_density_of_the_alternative_classes(road, tmp_path):
    """Known answer from first principles: per cell, the CAL prediction is the sum of the fitted density
    (deforested / forest pixels x pixel area, per class and admin division) of its pixels' classes."""
    alt = _alt(road, modelling_regions="admin_divisions")
    a = assess_alternative(road.fc, alt, road.bench, road.per, out_dir=tmp_path, seed=1, admin=road.admin,
                           admin_field="id")
    cls = _read(a.maps[0].class_path).astype(int)
    zone = np.where(np.arange(240) < 130, 1, 2)[None, :].repeat(240, 0)
    forest = road.codes >= 1
    defor = road.codes == 1
    nf = np.zeros((31, 3))
    nd = np.zeros((31, 3))
    np.add.at(nf, (cls[forest], zone[forest]), 1)
    np.add.at(nd, (cls[defor], zone[defor]), 1)
    with np.errstate(invalid="ignore"):
        dens = np.nan_to_num(nd / nf) * road.fc.grid.pixel_area_ha
    side = road.bench.cell_side_pixels
    cell = (np.arange(240)[:, None] // side) * (-(-240 // side)) + np.arange(240)[None, :] // side
    pred = np.bincount(cell[forest], dens[cls[forest], zone[forest]])
    sel = np.bincount(cell[forest], minlength=pred.size) > 0
    np.testing.assert_allclose(a.alternative_cal.predicted_ha, pred[sel], rtol=1e-9)


def test_a_useless_alternative_leaves_the_benchmark(tmp_path):
    """Loss near the forest edge and a noise raster as the only driver: the benchmark stays, and the
    reason says which stage failed."""
    fcc = make_fcc((200, 220), seed=5)
    fp = write_fcc(tmp_path / "fcc.tif", fcc)
    noise = np.random.default_rng(1).random(fcc.shape).astype(np.float32)
    with rasterio.open(fp) as ds:
        prof = ds.profile | {"dtype": "float32", "nodata": None}
    with rasterio.open(tmp_path / "noise.tif", "w", **prof) as ds:
        ds.write(noise, 1)
    fc = open_forest_change(fp, "fcc123")
    per = default_periods(fc.dates)
    bench = vt0007_benchmark(fc, out_dir=tmp_path / "b", periods=per, max_distance_m=1500, cell_area_ha=80)
    alt = AlternativeModel(name="noise", model="logistic", sample_size=4000, seed=0,
                           drivers={"noise": {"kind": "raster", "path": str(tmp_path / "noise.tif")}})
    res = alternative_risk_model(fc, alt, bench, per, out_dir=tmp_path / "a", seed=0)
    a = res.assessment
    assert not a.accepted and res.selected == "benchmark" and res.baseline is None
    assert a.reason.startswith("the benchmark is used: alternative:noise must beat it in both stages")
    assert "not lower than" in a.reason


def test_cells_must_be_the_benchmarks(road, tmp_path):
    side = road.bench.cell_side_pixels
    other = v.AssessmentGrid(side + 7, 0, -(-240 // (side + 7)), -(-240 // (side + 7)))
    with pytest.raises(ModelError, match="assessment cells are not the benchmark's"):
        assess_alternative(road.fc, _alt(road), road.bench, road.per, out_dir=tmp_path, seed=1, admin=road.admin,
                           admin_field="id", cells=other)
    w, s, e, n = bounds(road.codes)
    gpd.GeoDataFrame({"id": [1]}, geometry=[box(w, s, w + 100 * PIXEL, n)], crs=CRS).to_file(tmp_path / "west.gpkg")
    with pytest.raises(ModelError, match="assessment cells are not the benchmark's"):   # another jurisdiction
        assess_alternative(road.fc, _alt(road), road.bench, road.per, out_dir=tmp_path / "x", seed=1,
                           admin=tmp_path / "west.gpkg", admin_field="id")


def test_udef_arp_profile_cells_and_rules(road, tmp_path):
    """With the udef-arp benchmark the alternative is scored on its cells (offset full cells inside the
    jurisdiction), with its CNF adjustment loop and its squared-Pearson R²."""
    bench = vt0007_benchmark(road.fc, out_dir=tmp_path / "bench", periods=road.per, admin=road.admin,
                             admin_field="id", max_distance_m=3000, cell_area_ha=81, profile="udef-arp")
    assert bench.assessment_grid.full_cells_only and bench.assessment_grid.offset > 0
    a = assess_alternative(road.fc, _alt(road), bench, road.per, out_dir=tmp_path / "a", seed=1, admin=road.admin,
                           admin_field="id")
    assert a.profile == "udef-arp" and a.cnf_adjustment.rule == "udef-arp"
    for stage, alt, b in (("CAL", a.alternative_cal, bench.assessment[0]), ("CNF", a.alternative_cnf,
                                                                              bench.assessment[1])):
        assert alt.n_cells == b.n_cells == len(bench.assessment_cells[stage])
        np.testing.assert_array_equal(alt.observed_ha, b.observed_ha)
        r = np.corrcoef(alt.observed_ha.astype(np.float32), alt.predicted_ha.astype(np.float32))[0, 1]
        assert alt.r2 == pytest.approx(r ** 2, rel=1e-6)
    reddplus = benchmark_cells(road.bench, road.fc.grid)
    assert not reddplus.full_cells_only and reddplus.offset == 0 and reddplus.side == road.bench.cell_side_pixels


def test_no_confirmation_period(tmp_path):
    from reddplus.risk.tools import Periods

    fc = open_forest_change(write_fcc(tmp_path / "f.tif", make_fcc((60, 60))), "fcc123")
    with pytest.raises(ModelError, match="confirmation period"):
        assess_alternative(fc, AlternativeModel(name="x", model="logistic", drivers={"e": {"kind": "forest_edge"}}),
                           SimpleNamespace(assessment=[]), Periods((0, 2), None, (0, 2), 2), out_dir=tmp_path, seed=0)


def test_the_assessed_model_is_the_one_used(road, tmp_path):
    """Same definition, refitted on the HRP; the VP density is the HRP density of the VP classes per year."""
    alt = _alt(road, seed=4)
    res = alternative_risk_model(road.fc, alt, road.bench, road.per, out_dir=tmp_path, seed=0, admin=road.admin,
                                 admin_field="id")
    a, b = res.assessment, res.baseline
    assert a.accepted and b is not None and res.selected == "alternative:roads"
    assert a.fit.model.features == b.fit.model.features and a.fit.model.name == b.fit.model.name == "logistic"
    assert a.fit.sample.y.size == b.fit.sample.y.size == 6000 and a.fit.sample.seed == b.fit.sample.seed == 4
    assert a.fit.period == (2000, 2010) and b.fit.period == (2000, 2020)
    cls = _read(b.class_path)
    dens = _read(b.density_path)
    zone = np.where(np.arange(240) < 130, 1, 2)[None, :].repeat(240, 0)
    table = (b.density_hrp.density_ha_per_pixel / 20.0).astype(np.float32)
    np.testing.assert_array_equal(dens, np.where(cls > 0, table[cls, zone], 0).astype(np.float32))
    assert ((cls > 0) == (road.codes == 3)).all()
    # the CAL-start drivers of the assessment are the HRP-start drivers of the refit (same files, not recomputed)
    assert b.drivers[0].paths == a.drivers[0].paths and b.drivers[0].year == 2000
    assert res.to_dict()["baseline"]["density_raster"] == str(b.density_path)


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_drivers_and_predictions(road, tmp_path):
    """Two worker processes (tasks pickled) give bit-identical driver rasters, sample, potentials and classes."""
    from distributed import LocalCluster

    alt = _alt(road, seed=3, model="random_forest", sample_size=3000)
    dates = [(0, 2000), (1, 2010)]

    def run(out, scheduler):
        st = driver_stacks(road.fc, alt.drivers, dates, out_dir=out / "d", max_distance_m=alt.max_distance_m,
                           scheduler=scheduler, block_size=64)
        sample = sample_training_pixels(road.fc, st[(0, 2000)], (0, 1), n=3000, seed=3, scheduler=scheduler,
                                        block_size=64)
        fit = fit_alternative(road.fc, alt, st[(0, 2000)], (0, 1), seed=3, scheduler=scheduler, block_size=64)
        m = predict_map(road.fc, fit.model, st[(1, 2010)], 1, out, stage="cnf", period=(1, 2), scheduler=scheduler,
                        block_size=64)
        return st, sample, m

    st_l, s_l, m_l = run(tmp_path / "local", None)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        st_d, s_d, m_d = run(tmp_path / "dask", cluster.scheduler_address)
    for k in dates:
        for name in st_l[k].paths:
            np.testing.assert_array_equal(_read(st_l[k].paths[name]), _read(st_d[k].paths[name]))
    np.testing.assert_array_equal(s_l.X, s_d.X)
    np.testing.assert_array_equal(s_l.y, s_d.y)
    np.testing.assert_array_equal(_read(m_l.potential_path), _read(m_d.potential_path))
    np.testing.assert_array_equal(_read(m_l.class_path), _read(m_d.class_path))
    np.testing.assert_array_equal(m_l.ndefor, m_d.ndefor)


def test_validity_period_without_admin_regions(road, tmp_path):
    """modelling_regions = "jurisdiction": one region, a VP density per class only."""
    b = predict_validity_period(road.fc, _alt(road, modelling_regions="jurisdiction"), road.per, out_dir=tmp_path,
                                seed=0, admin=road.admin, admin_field="id")
    assert b.density_hrp.density_ha_per_pixel.shape == (v.N_CLASSES + 1, 2)
    assert b.region_labels == {1: "jurisdiction"}


def test_bad_sample_size_fails_before_any_output(road, tmp_path):
    from reddplus.errors import ConfigError

    big = _alt(road, sample_size=240 * 240)
    with pytest.raises(ConfigError, match=r"baseline.alternatives.roads.sample_size: the sample size 57600 is larger "
                                          r"than the \d+ forest pixels of the calibration fit period 2000-2010"):
        alternative_risk_model(road.fc, big, road.bench, road.per, out_dir=tmp_path / "o", seed=0, admin=road.admin,
                               admin_field="id")
    assert not (tmp_path / "o").exists()
