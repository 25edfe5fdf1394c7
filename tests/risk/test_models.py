"""Alternative models: the config definition, the seeded stratified sample, fitting and prediction by blocks."""

import numpy as np
import pytest
import rasterio
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from reddplus.errors import ConfigError, ModelError
from reddplus.landcover import open_forest_change
from reddplus.risk import models as m
from reddplus.risk.drivers import driver_stacks

from .synth import write_fcc, write_road_landscape

PIXEL = 30.0


# --------------------------------------------------------------------------- pure functions
def test_potential_classes_udef_arp_edges():
    """UDef-ARP v2.11 edges for n = 5: u = 1 + p/max in {1, 1.2589, 1.4843, 1.6805, 1.8513, 2}."""
    edges = np.array([1, 1.2589, 1.4843, 1.6805, 1.8513, 2.0])
    p = np.array([0.0, 0.25, 0.2590, 0.48, 0.4844, 0.99, 1.0])
    c = m.potential_classes(p, np.ones(p.shape, bool), n_classes=5)
    assert c.tolist() == [1, 1, 2, 2, 3, 5, 5]
    assert (np.diff(edges) < 0.26).all()
    c30 = m.potential_classes(np.linspace(0, 1, 1001), np.ones(1001, bool))
    assert c30.min() == 1 and c30.max() == 30 and (np.diff(c30.astype(int)) >= 0).all()
    assert m.potential_classes(np.ones(3), np.array([True, False, True])).tolist() == [30, 0, 30]


def test_registry_is_explicit():
    assert set(m.MODELS) == {"logistic", "random_forest"}
    with pytest.raises(ConfigError, match="unknown risk model"):
        m.get_model("maxent")


@given(st.integers(1, 10_000), st.integers(1, 10_000), st.integers(0, 10_000))
def test_stratified_allocation(n, nd, nf):
    """Exactly n pixels, never more than a stratum holds, half each when both strata are large enough."""
    if n > nd + nf:
        with pytest.raises(ValueError):
            m.stratified_allocation(n, nd, nf)
        return
    kd, kf = m.stratified_allocation(n, nd, nf)
    assert kd + kf == n and 0 <= kd <= nd and 0 <= kf <= nf
    if nd >= n // 2 and nf >= n - n // 2:
        assert kd == n // 2


def test_pixel_keys_give_a_simple_random_sample():
    """Keys are distinct (a bijection) and the k smallest of N pixels include each pixel with probability k/N."""
    idx = np.arange(200_000)
    assert np.unique(m.pixel_keys(idx, 123)).size == idx.size
    hits = np.zeros(50)
    salts = np.random.SeedSequence(7).generate_state(4000, np.uint64)
    for s in salts:
        hits[np.argsort(m.pixel_keys(np.arange(50), int(s)))[:10]] += 1
    freq = hits / len(salts)
    assert np.abs(freq - 0.2).max() < 4 * np.sqrt(0.2 * 0.8 / len(salts))


# --------------------------------------------------------------------------- the config definition
class _Baseline(BaseModel):
    """How a project config embeds the alternatives (``[baseline]`` with ``[baseline.alternatives.NAME]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    risk_model: str = "benchmark"
    alternatives: m.AlternativesTable = {}

    @model_validator(mode="after")
    def _named_alternative_is_defined(self):
        m.resolve_risk_model(self.risk_model, self.alternatives)
        return self


def _loc(err: ValidationError) -> str:
    return ".".join(str(p) for p in err.errors()[0]["loc"])


ROADS = {"model": "logistic", "sample_size": 5000, "seed": 3,
         "drivers": {"distance_to_edge": {"kind": "forest_edge"},
                     "distance_to_road": {"kind": "distance", "path": "roads.gpkg"},
                     "elevation": {"kind": "raster", "path": "dem.tif"},
                     "slope": {"kind": "slope", "elevation": "dem.tif"}},
         "planned_roads": [{"path": "planned.gpkg", "opening_year": 2023}]}


def test_alternative_definition_in_a_config(tmp_path):
    b = _Baseline.model_validate({"risk_model": "alternative:roads", "alternatives": {"roads": ROADS}})
    alt = m.resolve_risk_model(b.risk_model, b.alternatives)
    assert alt.name == "roads" and alt.choice == "alternative:roads" and alt.model == "logistic"
    assert alt.use_planned_roads_in_baseline is False and alt.sample_size == 5000 and alt.max_distance_m == 10_000
    assert alt.key("sample_size") == "baseline.alternatives.roads.sample_size"
    assert m.resolve_risk_model("benchmark", b.alternatives) is None
    r = alt.resolved(tmp_path)
    files = r.input_files()
    assert files["baseline.alternatives.roads.drivers.distance_to_road.path"] == (tmp_path / "roads.gpkg").resolve()
    assert files["baseline.alternatives.roads.drivers.slope.elevation"] == (tmp_path / "dem.tif").resolve()
    assert files["baseline.alternatives.roads.planned_roads[0].path"] == (tmp_path / "planned.gpkg").resolve()
    with pytest.raises(ValidationError, match="frozen"):
        alt.sample_size = 3  # noqa: B003 - frozen


@pytest.mark.parametrize("change, where", [
    ({"sample_size": 0}, "alternatives.roads.sample_size"),
    ({"model": "maxent"}, "alternatives.roads.model"),
    ({"colour": "red"}, "alternatives.roads.colour"),
    ({"drivers": {}}, "alternatives.roads.drivers"),
    ({"drivers": {"x": {"kind": "elevation"}}}, "alternatives.roads.drivers.x"),
    ({"drivers": {"x": {"kind": "distance"}}}, "alternatives.roads.drivers.x.distance.path"),
    ({"max_distance_m": -1}, "alternatives.roads.max_distance_m"),
])
def test_bad_alternative_definitions_name_the_key(change, where):
    with pytest.raises(ValidationError) as err:
        _Baseline.model_validate({"alternatives": {"roads": {**ROADS, **change}}})
    assert _loc(err.value).startswith(where)


def test_planned_road_must_join_a_distance_driver_and_names_must_match():
    bad = {**ROADS, "planned_roads": [{"path": "p.gpkg", "opening_year": 2023, "driver": "elevation"}]}
    with pytest.raises(ValidationError, match=r"planned_roads\[0\].driver 'elevation' is not a distance driver"):
        _Baseline.model_validate({"alternatives": {"roads": bad}})
    with pytest.raises(ValidationError, match="has name = 'other'"):
        _Baseline.model_validate({"alternatives": {"roads": {**ROADS, "name": "other"}}})


def test_risk_model_choice_errors_name_the_key():
    with pytest.raises(ValidationError, match=r"baseline.risk_model: alternative 'rivers' is named but not defined"):
        _Baseline.model_validate({"risk_model": "alternative:rivers", "alternatives": {"roads": ROADS}})
    b = _Baseline.model_validate({"alternatives": {"roads": ROADS}})
    with pytest.raises(ConfigError, match=r"baseline.risk_model: alternative 'rivers' is named but not defined"):
        m.resolve_risk_model("alternative:rivers", b.alternatives)
    with pytest.raises(ConfigError, match=r"baseline.risk_model: 'logistic' is not 'benchmark' or 'alternative:NAME'"):
        m.parse_risk_model("logistic")
    assert m.parse_risk_model("alternative:roads") == "roads" and m.parse_risk_model("benchmark") is None


# --------------------------------------------------------------------------- streamed sample, fit, prediction
def _road_landscape(tmp_path, seed=0, shape=(240, 240)):
    return write_road_landscape(tmp_path, seed=seed, shape=shape)


def _alt(tmp_path, **kw):
    return m.AlternativeModel(name="roads", model=kw.pop("model", "logistic"),
                              drivers={"distance_to_edge": {"kind": "forest_edge"},
                                       "distance_to_road": {"kind": "distance", "path": str(tmp_path / "roads.gpkg")}},
                              **kw)


def _read(path):
    with rasterio.open(path) as ds:
        return ds.read(1)


def test_sample_is_the_same_whatever_the_tiling_and_equals_the_whole_array_draw(tmp_path):
    fp, codes = _road_landscape(tmp_path)
    fc = open_forest_change(fp, "fcc123")
    alt = _alt(tmp_path)
    st_ = driver_stacks(fc, alt.drivers, [(0, 2000)], out_dir=tmp_path / "d", max_distance_m=3000)[(0, 2000)]
    a = m.sample_training_pixels(fc, st_, (0, 1), n=3000, seed=11, block_size=32)
    b = m.sample_training_pixels(fc, st_, (0, 1), n=3000, seed=11, block_size=256)
    for x, y in ((a.X, b.X), (a.y, b.y), (a.rows, b.rows), (a.cols, b.cols)):
        np.testing.assert_array_equal(x, y)
    # whole-array reference: the k smallest keys of each stratum
    d = (codes == 1).ravel()
    f = (codes >= 2).ravel()
    kd, kf = m.stratified_allocation(3000, int(d.sum()), int(f.sum()))
    salts = np.random.SeedSequence(11).generate_state(2, np.uint64)
    pick = []
    for mask, salt, k in ((d, salts[0], kd), (f, salts[1], kf)):
        i = np.flatnonzero(mask)
        pick.append(i[np.argsort(m.pixel_keys(i, int(salt)))[:k]])
    ref = np.sort(np.concatenate(pick))
    np.testing.assert_array_equal(a.rows * codes.shape[1] + a.cols, ref)
    np.testing.assert_array_equal(a.y, (codes.ravel()[ref] == 1).astype(np.int8))
    edge = _read(st_.paths["distance_to_edge"]).ravel()[ref]
    np.testing.assert_array_equal(a.X[:, st_.names.index("distance_to_edge")], edge)
    # fewer deforested pixels than half the sample: all of them, the rest from the remaining forest
    assert int(d.sum()) < 1500 and a.sampled == {"deforested": int(d.sum()), "remaining": 3000 - int(d.sum())}
    assert a.population == {"deforested": int(d.sum()), "remaining": int(f.sum())}
    c = m.sample_training_pixels(fc, st_, (0, 1), n=3000, seed=12, block_size=32)
    assert not np.array_equal(c.rows * 240 + c.cols, ref)


def test_sample_size_zero_or_beyond_the_forest_names_the_key(tmp_path):
    fp, codes = _road_landscape(tmp_path, shape=(60, 60))
    fc = open_forest_change(fp, "fcc123")
    alt = _alt(tmp_path, sample_size=60 * 60)
    st_ = driver_stacks(fc, alt.drivers, [(0, 2000)], out_dir=tmp_path / "d", max_distance_m=900)[(0, 2000)]
    with pytest.raises(ConfigError, match=r"baseline.alternatives.roads.sample_size: the sample size 3600 is larger"):
        m.fit_alternative(fc, alt, st_, (0, 1), seed=0)
    with pytest.raises(ConfigError, match="sample_size: the sample size must be >= 1"):
        m.sample_training_pixels(fc, st_, (0, 1), n=0, seed=0, key="sample_size")
    n_forest = int((codes > 0).sum())
    assert m.sample_training_pixels(fc, st_, (0, 1), n=n_forest, seed=0).y.size == n_forest


def test_no_deforestation_and_missing_driver_values(tmp_path):
    codes = np.full((50, 50), 3, np.uint8)
    codes[:2] = 0
    fp = write_fcc(tmp_path / "fcc.tif", codes)
    fc = open_forest_change(fp, "fcc123")
    st_ = driver_stacks(fc, {"distance_to_edge": {"kind": "forest_edge"}}, [(0, 2000)], out_dir=tmp_path / "d",
                        max_distance_m=900)[(0, 2000)]
    with pytest.raises(ModelError, match="no deforestation"):
        m.sample_training_pixels(fc, st_, (0, 1), n=100, seed=0)
    codes[10:20, 10:20] = 1
    fp = write_fcc(tmp_path / "fcc2.tif", codes)
    with rasterio.open(fp) as ds:
        prof = ds.profile | {"dtype": "float32", "nodata": -9999.0}
    dem = np.full(codes.shape, 100.0, np.float32)
    dem[:, 30:] = -9999.0
    with rasterio.open(tmp_path / "dem.tif", "w", **prof) as ds:
        ds.write(dem, 1)
    fc2 = open_forest_change(fp, "fcc123")
    st2 = driver_stacks(fc2, {"elevation": {"kind": "raster", "path": str(tmp_path / "dem.tif")}}, [(0, 2000)],
                        out_dir=tmp_path / "d2", max_distance_m=900)[(0, 2000)]
    with pytest.raises(ModelError, match="driver 'elevation'.*no data"):
        m.sample_training_pixels(fc2, st2, (0, 1), n=1500, seed=0)


@pytest.mark.parametrize("model", ["logistic", "random_forest"])
def test_prediction_by_blocks_equals_the_whole_array_prediction(tmp_path, model):
    """Potential and class rasters and the region counts do not depend on the tiling and equal the model
    applied to the whole driver arrays; the logistic road coefficient is negative (loss near the road)."""
    fp, codes = _road_landscape(tmp_path)
    fc = open_forest_change(fp, "fcc123")
    alt = _alt(tmp_path, model=model, sample_size=4000, seed=5)
    st_ = driver_stacks(fc, alt.drivers, [(0, 2000), (1, 2010)], out_dir=tmp_path / "d", max_distance_m=3000)
    fit = m.fit_alternative(fc, alt, st_[(0, 2000)], (0, 1), seed=0)
    if model == "logistic":
        assert fit.model.summary["coefficients"]["distance_to_road"] < 0
    else:
        imp = fit.model.summary["feature_importances"]
        assert imp["distance_to_road"] > imp["distance_to_edge"]
    a = m.predict_map(fc, fit.model, st_[(1, 2010)], 1, tmp_path / "a", stage="cnf", period=(1, 2), block_size=48)
    b = m.predict_map(fc, fit.model, st_[(1, 2010)], 1, tmp_path / "b", stage="cnf", period=(1, 2),
                      max_potential=a.max_potential)
    forest = codes >= 2
    X = np.column_stack([_read(st_[(1, 2010)].paths[n])[forest] for n in fit.model.features])
    whole = np.zeros(codes.shape, np.float32)
    whole[forest] = fit.model.predict(X)
    np.testing.assert_array_equal(_read(a.potential_path), whole)
    np.testing.assert_array_equal(_read(b.potential_path), whole)
    assert a.max_potential == float(whole[forest].max())
    cls = m.potential_classes(whole, forest)
    np.testing.assert_array_equal(_read(a.class_path), cls)
    np.testing.assert_array_equal(_read(b.class_path), cls)
    np.testing.assert_array_equal(a.nforest[:, 0], np.bincount(cls[forest], minlength=31))
    np.testing.assert_array_equal(a.ndefor[:, 0], np.bincount(cls[codes == 2], minlength=31))
    np.testing.assert_array_equal(a.ndefor, b.ndefor)
