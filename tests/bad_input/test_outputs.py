"""Outputs on bad input or in the wrong place (issue 15 items 2-5, 9): refused up front, nothing left behind."""

from __future__ import annotations

import json
import stat

import geopandas as gpd
import pytest
from click.testing import CliRunner
from shapely.geometry import box

from reddplus.cli.main import cli
from tests.test_outputs import lock_held_elsewhere
from tests.risk.synth import CRS, bounds, make_fcc, write_fcc

from .conftest import snapshot


@pytest.fixture
def risk_inputs(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    fcc = make_fcc((200, 300), seed=5)
    fp = write_fcc(d / "fcc.tif", fcc)
    w, s, e, n = bounds(fcc)
    gpd.GeoDataFrame({"name": ["west", "east"]}, geometry=[box(w, s, (w + e) / 2, n), box((w + e) / 2, s, e, n)],
                     crs=CRS).to_file(d / "admin.gpkg")
    gpd.GeoDataFrame(geometry=[box(w + 1500, s + 1500, w + 4500, s + 4500)], crs=CRS).to_file(d / "proj.gpkg")
    gpd.GeoDataFrame(geometry=[box(e + 1e5, n + 1e5, e + 2e5, n + 2e5)], crs=CRS).to_file(d / "far.gpkg")
    return d, fp


def _bench(d, fp, out, *extra):
    return ["risk", "benchmark", fp, "--format", "fcc123", "--admin", d / "admin.gpkg", "--admin-field", "name",
            "--max-distance", "1500", "--cell-area-ha", "200", "--out", out, *extra]


def test_benchmark_into_an_existing_run_without_overwrite(case, risk_inputs, tmp_path):
    d, fp = risk_inputs
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text('{"audit": "the run\'s own manifest"}')
    case(_bench(d, fp, run), code=3, names=(run, "exists", "--overwrite"))


@pytest.mark.parametrize("bad, names, code", [
    (lambda d: ["--project", d / "far.gpkg", "--expected-deforestation-ha-per-year", "5"], ("far.gpkg", "overlap"), 2),
    (lambda d: ["--project", d / "proj.gpkg", "--expected-deforestation-ha-per-year", "-5"],
     ("--expected-deforestation-ha-per-year", "-5"), 2),
    (lambda d: ["--project", d / "proj.gpkg"], ("go together",), 2),
])
def test_benchmark_bad_input_leaves_nothing_and_a_corrected_rerun_works(case, risk_inputs, tmp_path, bad, names,
                                                                         code):
    d, fp = risk_inputs
    out = tmp_path / "risk"
    case(_bench(d, fp, out, *bad(d)), code=code, names=names)
    r = CliRunner().invoke(cli, [str(a) for a in _bench(d, fp, out, "--project", d / "proj.gpkg",
                                                        "--expected-deforestation-ha-per-year", "5", "--json")])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["manifest"] == str(out / "manifest.json") and (out / "manifest.json").exists()
    assert doc["class_raster"].startswith(str(out)) and ".partial" not in r.stdout


def test_benchmark_into_a_locked_folder(case, risk_inputs, tmp_path):
    """Two runs into the same folder: the second exits non-zero naming it (the first holds the lock)."""
    d, fp = risk_inputs
    out = tmp_path / "risk"
    with lock_held_elsewhere(out) as pid:
        lock = tmp_path / ".risk.lock"
        before = lock.read_bytes()
        r = CliRunner().invoke(cli, [str(a) for a in _bench(d, fp, out)])
        assert r.exit_code == 3 and str(out) in r.output and f"another run (PID {pid}" in r.output, r.output
        assert not out.exists() and lock.read_bytes() == before


def test_benchmark_overwrite_replaces_the_folder_whole(risk_inputs, tmp_path):
    d, fp = risk_inputs
    out = tmp_path / "risk"
    out.mkdir()
    (out / "stale.tif").write_text("from another run")
    r = CliRunner().invoke(cli, [str(a) for a in _bench(d, fp, out, "--overwrite")])
    assert r.exit_code == 0, r.output
    assert not (out / "stale.tif").exists() and (out / "manifest.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "risk"]


@pytest.mark.parametrize("where", ["input folder", "parent"])
def test_output_where_it_would_destroy_inputs(case, risk_inputs, tmp_path, where):
    """(An output inside an input that is a folder is refused too: tests/test_outputs.py.)"""
    d, fp = risk_inputs
    out = {"input folder": d, "parent": tmp_path}[where]
    case(_bench(d, fp, out, "--overwrite"), code=3, names=(str(out.resolve()), "input"), folder=tmp_path)


def test_run_into_the_project_folder_is_refused(case, small_sample, tmp_path):
    """``run project.toml --out <its folder> --overwrite`` used to delete every input (the TOML included)."""
    s = small_sample.out_dir
    before = snapshot(s)
    for out, what in ((s, "is the folder of the input"), (s.parent, "contains the input")):
        case(["run", small_sample.project_toml, "--out", out, "--overwrite", "--no-pdf"], code=3,
             names=(str(out), what), folder=s)
    assert snapshot(s) == before


def test_activity_table_onto_an_input(case, tmp_path):
    from .conftest import fcc_array, write_raster

    p = write_raster(tmp_path / "fcc.tif", fcc_array())
    case(["activity", p, "--format", "fcc123", "--out", p, "--overwrite"], code=3, names=(p, "is the input"))


def test_align_leaves_no_temporary_folder(tmp_path, monkeypatch):
    import tempfile

    from .conftest import write_raster

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    import numpy as np

    a = write_raster(tmp_path / "m0.tif", np.ones((20, 20), np.uint8))
    b = write_raster(tmp_path / "m1.tif", np.ones((10, 10), np.uint8), pixel=60.0)
    r = CliRunner().invoke(cli, ["activity", str(a), str(b), "--format", "masks", "--dates", "2000,2010", "--align",
                                 "--json"])
    assert r.exit_code == 0, r.output
    assert list(tmp.iterdir()) == []


def test_outputs_follow_the_umask(risk_inputs, tmp_path):
    import os

    d, fp = risk_inputs
    out = tmp_path / "risk"
    old = os.umask(0o022)
    try:
        r = CliRunner().invoke(cli, [str(a) for a in _bench(d, fp, out)])
    finally:
        os.umask(old)
    assert r.exit_code == 0, r.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()} == {0o644}
