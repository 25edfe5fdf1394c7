"""Planned-road scenario: the baseline allocated to a project changes from the road's opening year on."""

import numpy as np
import pytest

from reddplus.baseline.scenario import planned_road_scenario, roads_open_in
from reddplus.risk.compare import distance_to_features


def test_roads_open_in():
    e = np.array([1, 0, 0], bool)
    p = [(np.array([0, 1, 0], bool), 2025), (np.array([0, 0, 1], bool), 2030)]
    assert roads_open_in(e, p, 2024).tolist() == [True, False, False]
    assert roads_open_in(e, p, 2025).tolist() == [True, True, False]
    assert roads_open_in(e, p, 2030).tolist() == [True, True, True]


def test_highway_changes_project_baseline_from_opening_year():
    rng = np.random.default_rng(0)
    shape = (200, 200)
    existing = np.zeros(shape, bool)
    existing[:, 20] = True
    highway = np.zeros(shape, bool)
    highway[:, 160] = True          # planned, opens in 2025, through the project
    d = distance_to_features(existing, 30.0)
    p = 0.3 * np.exp(-d / 200.0)
    codes = np.full(shape, 3, np.uint8)
    codes[rng.random(shape) < p] = 1
    codes[existing] = 0                # the existing road is cleared
    for r, c in rng.integers(5, 195, (30, 2)):
        codes[r - 2:r + 3, c - 2:c + 3] = 0   # clearings: forest edges without road
    codes[(codes == 3) & (rng.random(shape) < p)] = 2
    project = np.zeros(shape, bool)
    project[50:150, 140:180] = True
    expected = {y: 100.0 for y in range(2021, 2031)}
    res = planned_road_scenario(codes, (2000, 2010, 2020), 30.0, existing, [(highway, 2025)], expected,
                                {"project": project}, sample_size=8000, seed=2)
    ha = dict(zip(res.years, res.allocation.zone_ha_per_year["project"]))
    assert res.model_summary["coefficients"]["distance_to_road"] < 0
    assert all(ha[y] == pytest.approx(ha[2021]) for y in range(2021, 2025))
    assert all(ha[y] == pytest.approx(ha[2025]) for y in range(2025, 2031))
    assert ha[2025] > 3 * ha[2021]                    # the highway pulls the baseline into the project
    # risk maps without / with the highway differ only away from the existing road, near the highway
    changed = res.classes_with != res.classes_without
    assert changed[:, 150:170].mean() > 0.5 and not changed[:, :40].any()
    assert res.allocation.allocation_error == pytest.approx(0, abs=1e-9)
