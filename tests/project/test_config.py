"""Project configuration: validation with messages naming the key or file; manifests."""

from __future__ import annotations

import json

import pytest

from reddplus.errors import ConfigError
from reddplus.manifest import build_manifest, read_manifest, verify_inputs, write_manifest
from reddplus.project import load_project

BASE = """
[project]
name = "t"
crediting_start = 2011
crediting_years = 10

[areas]
project = "project.gpkg"
jurisdiction = "jur.gpkg"

[stocks]
strata = [{code = 1, name = "terra firme", agb_tco2e_per_ha = 550.0, agb_tco2e_per_ha_sd = 20.0}]

[forest_change]
path = "fcc.tif"
format = "fcc123"

[periods]
historical_reference = [2001, 2010]
monitoring = [[2011, 2015]]

[deductions.leakage.beyond_belt]
method = "not_applicable"
reason = "test"

[deductions.leakage.market]
method = "not_applicable"
reason = "test"
"""


@pytest.fixture
def folder(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    for name in ("project.gpkg", "jur.gpkg"):   # vector layers are opened at load time
        gpd.GeoDataFrame({"name": ["a"]}, geometry=[box(0, 0, 1000, 1000)], crs="EPSG:6933").to_file(tmp_path / name)
    (tmp_path / "fcc.tif").write_bytes(b"x")
    return tmp_path


def write(folder, text):
    p = folder / "project.toml"
    p.write_text(text)
    return p


def test_valid_config_resolves_paths(folder):
    cfg = load_project(write(folder, BASE))
    assert cfg.areas.project == (folder / "project.gpkg").resolve()
    assert set(cfg.input_files()) == {"areas.project", "areas.jurisdiction", "forest_change.path"}
    # resolving the paths keeps which keys the TOML set: the run's choices say "default" for the others
    assert cfg.areas.model_fields_set == {"project", "jurisdiction"}
    assert cfg.baseline.model_fields_set == set() and "baseline" not in cfg.model_fields_set


@pytest.mark.parametrize(
    "patch, key",
    [
        (("[periods]", "[periods]\nbogus = 1"), "periods.bogus"),
        (('path = "fcc.tif"', 'path = "missing.tif"'), "forest_change.path"),
        (("monitoring = [[2011, 2015]]", "monitoring = [[2011, 2015], [2014, 2018]]"), "periods.monitoring"),
        (("monitoring = [[2011, 2015]]", "monitoring = [[2008, 2010]]"), "periods.monitoring"),
        (("crediting_years = 10", "crediting_years = 0"), "project.crediting_years"),
    ],
)
def test_bad_config_names_the_key(folder, patch, key):
    with pytest.raises(ConfigError) as err:
        load_project(write(folder, BASE.replace(*patch)))
    assert key.split(".")[0] in str(err.value)
    if key != "periods.monitoring":
        assert key in str(err.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_project(tmp_path / "nope.toml")


def test_manifest_hash_is_reproducible_and_detects_changes(folder):
    cfg = load_project(write(folder, BASE))
    m1 = build_manifest(cfg.input_files(), cfg.model_dump(mode="json"), seed=1)
    m2 = build_manifest(cfg.input_files(), cfg.model_dump(mode="json"), seed=1)
    assert m1.sha256 == m2.sha256
    assert build_manifest(cfg.input_files(), cfg.model_dump(mode="json"), seed=2).sha256 != m1.sha256
    path = write_manifest(m1, folder / "out" / "manifest.json")
    stored = read_manifest(path)
    assert stored["manifest_sha256"] == m1.sha256 and verify_inputs(stored) == []
    (folder / "fcc.tif").write_bytes(b"changed")
    assert verify_inputs(stored) == ["forest_change.path"]
    json.dumps(stored)


def test_hansen_needs_treecover_and_masks_need_dates(folder):
    text = BASE.replace('format = "fcc123"', 'format = "hansen"')
    with pytest.raises(ConfigError) as err:
        load_project(write(folder, text))
    assert "treecover" in str(err.value)
    (folder / "tc.tif").write_bytes(b"x")
    cfg = load_project(write(folder, text.replace('format = "hansen"', 'format = "hansen"\ntreecover = "tc.tif"')))
    assert cfg.forest_change.treecover == (folder / "tc.tif").resolve()
    with pytest.raises(ConfigError, match="dates"):
        load_project(write(folder, BASE.replace('format = "fcc123"', 'format = "masks"')))
    cfg = load_project(write(folder, BASE.replace('format = "fcc123"',
                                                  'format = "masks"\ndates = [2000, 2010]\nmore_paths = ["tc.tif"]')))
    assert cfg.forest_change.more_paths == [(folder / "tc.tif").resolve()]
    assert "forest_change.more_paths[0]" in cfg.input_files()
