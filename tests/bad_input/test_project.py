"""A project TOML with bad values is refused at load time, naming the key (issue 15 items 8-9).

Every case copies the small GENERATED sample, edits its TOML or one of its files, and runs
``reddplus run``: the error comes before any computing (so well under a second of work), names the
key (and the file), and no run folder, staging folder or lock is left.
"""

from __future__ import annotations

import shutil
import time
import tomllib

import geopandas as gpd
import pytest
import tomli_w


def _project(small_sample, tmp_path, edit=None):
    folder = tmp_path / "s"
    shutil.copytree(small_sample.out_dir, folder)
    toml = folder / "project.toml"
    if edit is not None:
        cfg = tomllib.loads(toml.read_text())
        edit(cfg, folder)
        toml.write_text(tomli_w.dumps(cfg))
    return toml


def _set(section, key, value):
    def edit(cfg, folder):
        cfg[section][key] = value
    return edit


@pytest.mark.parametrize("edit, names", [
    (_set("project", "crediting_start", "2021"), ("project.crediting_start", "'2021'", "remove the quotes")),
    (_set("project", "crediting_years", "10"), ("project.crediting_years", "valid integer")),
    (_set("counterfactual", "enabled", "yes"), ("counterfactual.enabled", "'yes'")),
    (_set("counterfactual", "enabled", 1), ("counterfactual.enabled", "boolean")),
    (_set("activity_data", "confidence", "0.9"), ("activity_data.confidence", "'0.9'")),
    (_set("forest_change", "dates", ["2000", "2001"]), ("forest_change.dates.0",)),
    (_set("periods", "monitoring", [[2021, 2035]]), ("periods.monitoring", "2035", "crediting period 2021-2030")),
    (_set("areas", "project", "."), ("areas.project", "is a folder")),
    (_set("areas", "admin_field", "province_nope"), ("areas.admin_field", "province_nope", "admin_id")),
])
def test_config_values(case, small_sample, tmp_path, edit, names):
    toml = _project(small_sample, tmp_path, edit)
    t0 = time.perf_counter()
    case(["run", toml, "--out", tmp_path / "out", "--no-pdf"], code=2, names=(toml, *names))
    assert time.perf_counter() - t0 < 60   # refused at load, not after the chain's computing


def test_nprt_answers_checked_before_computing(case, small_sample, tmp_path):
    """Checked by the chain as its first step (before the stocks and the raster work)."""
    def edit(cfg, folder):
        cfg["deductions"]["nprt"]["financial_viability"] = ["breakeven_soon"]
    toml = _project(small_sample, tmp_path, edit)
    case(["run", toml, "--out", tmp_path / "out", "--no-pdf"], code=2,
         names=("deductions.nprt.financial_viability", "breakeven_4_or_less"))


def test_zero_byte_geopackage(case, small_sample, tmp_path):
    toml = _project(small_sample, tmp_path)
    (toml.parent / "project.gpkg").write_bytes(b"")
    case(["run", toml, "--out", tmp_path / "out", "--no-pdf"], code=2,
         names=("areas.project", "project.gpkg", "empty (0 bytes)"))


def test_not_a_geopackage(case, small_sample, tmp_path):
    toml = _project(small_sample, tmp_path)
    (toml.parent / "roads.gpkg").write_text("not a database")
    case(["run", toml, "--out", tmp_path / "out", "--no-pdf"], code=2,
         names=("baseline.alternatives.roads.drivers.distance_to_road.path", "roads.gpkg", "cannot read"))


def test_empty_jurisdiction_layer_names_the_jurisdiction(case, small_sample, tmp_path):
    """It used to say "100 % of the project lies outside the jurisdiction", naming the project file."""
    toml = _project(small_sample, tmp_path)
    j = toml.parent / "jurisdiction.gpkg"
    g = gpd.read_file(j)
    g.iloc[:0].to_file(j)
    r = case(["run", toml, "--out", tmp_path / "out", "--no-pdf"], code=2,
             names=("areas.jurisdiction", "jurisdiction.gpkg", "no features"))
    assert "outside the jurisdiction" not in r.output


@pytest.mark.filterwarnings("ignore:'crs' was not provided:UserWarning")   # pyogrio, writing the bad layer
def test_layer_without_crs(case, small_sample, tmp_path):
    toml = _project(small_sample, tmp_path)
    p = toml.parent / "leakage_belt.gpkg"
    g = gpd.read_file(p)
    g.set_crs(None, allow_override=True).to_file(p)
    case(["run", toml, "--out", tmp_path / "out", "--no-pdf"], code=2, names=("areas.leakage_belt", "no CRS"))


def test_unknown_key_and_missing_file_held_already(case, small_sample, tmp_path):
    toml = _project(small_sample, tmp_path, _set("periods", "bogus", 1))
    case(["run", toml, "--out", tmp_path / "out", "--no-pdf"], code=2, names=("periods.bogus", "unknown key"))
    toml = _project(small_sample, tmp_path / "b", _set("areas", "strata", "nope.tif"))
    case(["run", toml, "--out", tmp_path / "out", "--no-pdf"], code=2, names=("areas.strata", "not found"),
         folder=tmp_path)


def test_belt_over_the_project_is_refused(case, small_sample, tmp_path):
    """A belt drawn as a buffer of the project includes it: the project's own deforestation would count
    again as leakage. ``check`` lists it and ``run`` refuses it before computing, naming the key."""
    toml = _project(small_sample, tmp_path)
    cfg = tomllib.loads(toml.read_text())
    project = gpd.read_file(toml.parent / cfg["areas"]["project"])
    belt = toml.parent / cfg["areas"]["leakage_belt"]
    project.assign(geometry=project.buffer(2000)).to_file(belt)
    names = ("areas.leakage_belt", "overlaps the project", "VMD0055 v1.1")
    case(["check", toml], code=2, names=names)
    case(["run", toml, "--out", tmp_path / "out", "--no-pdf"], code=2, names=names)
