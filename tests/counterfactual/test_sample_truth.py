"""Validation on known truth: the GENERATED sample landscape knows its protection effect exactly.

The generator re-runs the project without protection with the same random numbers, so the true
avoided deforestation of 2021-2024 is known. Matching must recover it within its interval, for a
real effect (protection multiplies the hazard by 0.3) and for no effect (1.0). The planned road is
moved beyond the data (2030): a road opening after the start is a shock matched controls cannot see
(see the README's notes), which the VT0007 scenario, not the matching, is there to capture.
"""

from __future__ import annotations

import pytest

from reddplus.counterfactual.tool import run_counterfactual
from reddplus.project import load_project
from reddplus.sample import generate_sample_landscape


@pytest.mark.slow
@pytest.mark.parametrize("effect", [0.3, 1.0])
def test_matching_recovers_the_known_effect(tmp_path, effect):
    s = generate_sample_landscape(tmp_path / "s", scale=0.5, protection_effect=effect,
                                  planned_road_opening_year=2030)
    cfg = load_project(s.project_toml)
    r = run_counterfactual(cfg.forest_change.open(), cfg.areas.project, start_year=2020, repeats=20, seed=1,
                           jurisdiction_path=cfg.areas.jurisdiction, protected_path=cfg.areas.protected_areas,
                           leakage_belt_path=cfg.areas.leakage_belt, buffer_m=5000, density_per_ha=0.25)
    years = [str(y) for y in range(2021, 2025)]
    t = s.truth
    true_avoided = sum(t["counterfactual_project_ha_per_year"][y] - t["deforestation_ha_per_year"]["project"][y]
                       for y in years)
    est = r.avoided_deforestation_ha
    assert est.low <= true_avoided <= est.high
    if effect < 1:
        assert est.low > 0                  # a real effect is detected
    else:
        assert est.low < 0 < est.high       # no effect: zero inside the interval
