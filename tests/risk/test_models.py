"""Alternative models: 30-class cut, registry, and a landscape where a road drives the loss."""

import numpy as np
import pytest

from reddplus.errors import ConfigError, ModelError
from reddplus.risk import models as m
from reddplus.risk.compare import compare_models, distance_to_features


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


def _road_landscape(seed=0, shape=(240, 240)):
    """Forest with small non-forest clearings (edges without loss) and an under-canopy road track that
    drives the loss: P(loss) = 0.3 exp(-d_road / 150 m) per period."""
    rng = np.random.default_rng(seed)
    codes = np.full(shape, 3, np.uint8)
    for _ in range(25):
        r, c = rng.integers(5, shape[0] - 5, 2)
        codes[r - 2:r + 3, c - 2:c + 3] = 0
    road = np.zeros(shape, bool)
    road[:, 120] = True
    d = distance_to_features(road, 30.0)
    p = 0.3 * np.exp(-d / 150.0)
    u1, u2 = rng.random(shape), rng.random(shape)
    forest = codes == 3
    codes[forest & (u1 < p)] = 1
    codes[(codes == 3) & (u2 < p)] = 2
    return codes, road


def test_road_driven_landscape_alternative_accepted():
    codes, road = _road_landscape()
    drivers = lambda k: {"distance_to_road": distance_to_features(road, 30.0)}  # noqa: E731
    res = compare_models(codes, (2000, 2010, 2020), (0, 1), (1, 2), 30.0, drivers, cell_side=30,
                         sample_size=6000, seed=1, max_distance_m=8000)
    lr = {a.name: a for a in res.alternatives}["logistic"]
    assert lr.summary["coefficients"]["distance_to_road"] < 0       # loss decreases away from the road
    assert lr.cal.medae_ha < res.benchmark.cal.medae_ha and lr.cnf.medae_ha < res.benchmark.cnf.medae_ha
    assert lr.accepted and res.best in {"logistic", "random_forest"}
    rows = res.table()
    assert {r["stage"] for r in rows} == {"CAL fit", "CNF prediction"} and len(rows) == 6


def test_no_deforestation_for_models():
    codes = np.full((50, 50), 3, np.uint8)
    codes[:2] = 0
    with pytest.raises(ModelError, match="no deforestation"):
        compare_models(codes, (2000, 2010, 2020), (0, 1), (1, 2), 30.0, lambda k: {}, cell_side=10)
