"""`reddplus init`: a commented skeleton generated from the model, dates read from the rasters, and a
project that loads (and runs) once the user fills in what is marked TODO."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.transform import from_origin
from shapely.geometry import box

from reddplus.accounting import EXAMPLE_ANSWERS
from reddplus.cli.main import cli
from reddplus.errors import ConfigError
from reddplus.project import load_project
from reddplus.project_reference import TODO, _toml_value, config_keys

CRS = "EPSG:32718"  # UTM 18S: projected, metres
X0, Y0, RES = 300_000.0, 8_700_000.0, 30.0


def _raster(path: Path, data: np.ndarray, *, nodata=None, descriptions=None) -> Path:
    data = data if data.ndim == 3 else data[None]
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[2], height=data.shape[1], count=data.shape[0],
                       dtype=data.dtype, crs=CRS, transform=from_origin(X0, Y0, RES, RES), nodata=nodata) as ds:
        ds.write(data)
        for i, d in enumerate(descriptions or [], 1):
            ds.set_band_description(i, d)
    return path


def _fcc123(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    return _raster(tmp_path / "fcc123.tif", rng.choice(np.array([0, 1, 2, 3], np.uint8), (60, 80),
                                                       p=[0.2, 0.05, 0.05, 0.7]))


def _polygons(tmp_path: Path) -> tuple[Path, Path]:
    w, h = 80 * RES, 60 * RES
    jur = gpd.GeoDataFrame({"name": ["j"]}, geometry=[box(X0, Y0 - h, X0 + w, Y0)], crs=CRS)
    prj = gpd.GeoDataFrame({"name": ["p"]}, geometry=[box(X0 + w / 4, Y0 - h / 2, X0 + w / 2, Y0 - h / 4)], crs=CRS)
    jur.to_file(tmp_path / "jurisdiction.gpkg")
    prj.to_file(tmp_path / "project.gpkg")
    return tmp_path / "project.gpkg", tmp_path / "jurisdiction.gpkg"


LEAKAGE = {"beyond_belt": {"method": "not_applicable", "reason": "no geographically unconstrained agents (test)"},
           "market": {"method": "not_applicable", "reason": "no commercial timber in the baseline (test)"}}


def fill(text: str, answers: dict) -> str:
    """Replace each ``key = "TODO"`` as a user would, by the value at its dotted place in ``answers``
    (the table headers above it give the place); a TODO without an answer is deleted, and an optional key
    without a default (``# key =``) that has an answer is uncommented and given."""
    out, table, counts = [], [], {}
    for line in text.splitlines():
        m = re.match(r"^(\[\[?)([^\]]+)\]\]?$", line)
        if m:
            table = m.group(2).split(".")
            if m.group(1) == "[[":
                counts[m.group(2)] = counts.get(m.group(2), -1) + 1
                table = [*table, counts[m.group(2)]]
        m = re.match(rf'^(\w+) = "{TODO}"$', line) or re.match(r"^# (\w+) =$", line)
        if m:
            node = answers
            for part in [*table, m.group(1)]:
                node = node[part] if isinstance(node, dict) and part in node else \
                    node[part] if isinstance(node, list) and isinstance(part, int) and part < len(node) else None
                if node is None:
                    break
            if node is None:
                if not line.startswith("#"):
                    continue
                out.append(line)
                continue
            line = f"{m.group(1)} = {_toml_value(node)}"
        out.append(line)
    return "\n".join(out) + "\n"


def test_skeleton_has_every_key_with_unit_required_and_default(tmp_path):
    r = CliRunner().invoke(cli, ["init", str(tmp_path / "new")])
    assert r.exit_code == 0, r.output
    text = (tmp_path / "new" / "project.toml").read_text()
    tomllib.loads(text)                                  # valid TOML as written
    records, table, comment = {}, "", []
    for line in text.splitlines():
        head = re.match(r"^(?:# )?\[\[?([^\]]+)\]\]?$", line)
        key = re.match(r"^(?:# )?(\w+) =", line)
        if head:
            table, comment = head.group(1), []
        elif key:
            records[f"{table}.{key.group(1)}".lstrip(".")] = " ".join(c.lstrip("# ") for c in comment)
            comment = []
        elif line.startswith("#"):
            comment.append(line)
        else:
            comment = []
    for k in config_keys():
        dotted = k.key.replace("[]", "")
        if k.section:
            assert f"[{dotted}]" in text, dotted
            continue
        comment = records[dotted]
        assert ("Required." in comment) if k.required else ("Optional, default" in comment), (k.key, comment)
        if k.unit:
            assert f"[{k.unit}]" in comment, (k.key, comment)
    assert "crediting_start = \"TODO\"" in text and "# crediting_years = 10" in text
    readme = (tmp_path / "new" / "README.md").read_text()
    assert "`project.crediting_start`" in readme and "reddplus run project.toml" in readme


def test_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    r = CliRunner().invoke(cli, ["init", str(tmp_path)])
    assert r.exit_code == 3 and "--overwrite" in r.output
    assert not (tmp_path / "project.toml").exists()
    r = CliRunner().invoke(cli, ["init", str(tmp_path), "--overwrite"])
    assert r.exit_code == 0 and (tmp_path / "project.toml").exists() and (tmp_path / "mine.txt").exists()
    assert CliRunner().invoke(cli, ["init", str(tmp_path / "empty")]).exit_code == 0   # an empty folder is fine
    (tmp_path / "empty2").mkdir()
    assert CliRunner().invoke(cli, ["init", str(tmp_path / "empty2")]).exit_code == 0


def test_init_fill_in_load(tmp_path):
    """init --from-raster, give the TODO values as a user would, and the project loads."""
    fcc = _fcc123(tmp_path)
    project, jurisdiction = _polygons(tmp_path)
    d = tmp_path / "myproject"
    r = CliRunner().invoke(cli, ["init", str(d), "--from-raster", str(fcc), "--format", "fcc123", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert "forest_change.dates" in out["todo"]           # fcc123 does not record its dates: asked, not assumed
    text = (d / "project.toml").read_text()
    assert 'path = "../fcc123.tif"' in text and 'format = "fcc123"' in text
    with pytest.raises(ConfigError, match="project.crediting_start"):   # not loadable before it is filled in
        load_project(d / "project.toml")
    answers = {"project": {"name": "Test", "crediting_start": 2021},
               "areas": {"project": str(project), "jurisdiction": "../jurisdiction.gpkg"},
               "stocks": {"strata": [{"name": "forest", "agb_tco2e_per_ha": 450.0, "agb_tco2e_per_ha_sd": 30.0}]},
               "forest_change": {"dates": [2000, 2010, 2020]},
               "periods": {"historical_reference": [2010, 2020]},
               "deductions": {"nprt": EXAMPLE_ANSWERS, "leakage": LEAKAGE}}
    filled = fill(text, answers)
    assert TODO not in re.sub(r"#.*", "", filled)
    (d / "project.toml").write_text(filled)
    cfg = load_project(d / "project.toml")
    assert cfg.forest_change.path == fcc.resolve() and cfg.forest_change.dates == [2000, 2010, 2020]
    assert cfg.areas.jurisdiction == jurisdiction.resolve()
    assert cfg.stocks.stock_source == "strata" and cfg.stocks.strata[0].agb_tco2e_per_ha_sd == 30.0
    assert cfg.deductions.nprt == EXAMPLE_ANSWERS
    # every optional key kept its default (they are comments)
    assert cfg.project.crediting_years == 10 and cfg.counterfactual.repeats == 100


def test_dates_from_hansen_lossyear(tmp_path):
    ly = np.zeros((40, 50), np.uint8)
    ly[5, 5], ly[6, 6], ly[7, 7] = 3, 5, 24
    p = _raster(tmp_path / "lossyear.tif", ly)
    tc = _raster(tmp_path / "treecover2000.tif", np.full((40, 50), 80, np.uint8))
    r = CliRunner().invoke(cli, ["init", str(tmp_path / "a"), "--from-raster", str(p), "--format", "hansen", "--json"])
    assert r.exit_code == 0, r.output
    cfg = tomllib.loads((tmp_path / "a" / "project.toml").read_text())
    assert cfg["forest_change"]["dates"] == list(range(2000, 2025))
    assert cfg["forest_change"]["treecover"] == TODO                     # required for hansen: asked
    assert any("loss in 2003-2024" in n for n in json.loads(r.output)["notes"])
    r = CliRunner().invoke(cli, ["init", str(tmp_path / "b"), "--from-raster", str(tc), "--from-raster", str(p),
                                 "--format", "hansen"])
    cfg = tomllib.loads((tmp_path / "b" / "project.toml").read_text())
    assert cfg["forest_change"]["treecover"] == "../treecover2000.tif" and cfg["forest_change"]["path"] == \
        "../lossyear.tif"


def test_dates_from_tmf_bands_and_mask_files(tmp_path):
    stack = np.ones((3, 20, 20), np.uint8)
    tmf = _raster(tmp_path / "tmf.tif", stack, descriptions=["Dec2015", "Dec2016", "Dec2017"])
    r = CliRunner().invoke(cli, ["init", str(tmp_path / "t"), "--from-raster", str(tmf), "--format", "tmf"])
    assert r.exit_code == 0, r.output
    assert tomllib.loads((tmp_path / "t" / "project.toml").read_text())["forest_change"]["dates"] == [2015, 2016, 2017]
    bare = _raster(tmp_path / "tmf_bare.tif", stack)
    CliRunner().invoke(cli, ["init", str(tmp_path / "u"), "--from-raster", str(bare), "--format", "tmf"])
    text = (tmp_path / "u" / "project.toml").read_text()
    assert tomllib.loads(text)["forest_change"]["dates"] == TODO and "3 bands" in text
    masks = [_raster(tmp_path / f"forest_{y}.tif", np.ones((20, 20), np.uint8)) for y in (2005, 2015)]
    args = ["init", str(tmp_path / "m"), "--format", "masks"] + [a for m in masks for a in ("--from-raster", str(m))]
    assert CliRunner().invoke(cli, args).exit_code == 0
    fc = tomllib.loads((tmp_path / "m" / "project.toml").read_text())["forest_change"]
    assert fc["dates"] == [2005, 2015] and fc["more_paths"] == ["../forest_2015.tif"]


def test_geographic_raster_is_said(tmp_path):
    with rasterio.open(tmp_path / "geo.tif", "w", driver="GTiff", width=10, height=10, count=1, dtype="uint8",
                       crs="EPSG:4326", transform=from_origin(-70, -10, 0.001, 0.001)) as ds:
        ds.write(np.ones((1, 10, 10), np.uint8))
    r = CliRunner().invoke(cli, ["init", str(tmp_path / "g"), "--from-raster", str(tmp_path / "geo.tif")])
    assert r.exit_code == 0, r.output
    assert "reproject" in (tmp_path / "g" / "README.md").read_text()


@pytest.mark.shared_data
@pytest.mark.slow
def test_init_to_a_finished_run_on_guadeloupe(shared, tmp_path):
    """Issue 18 (must hold): from `reddplus init` to a finished `reddplus run` on a real raster (the
    Guadeloupe fcc123 of riskmapjnr) and a generated polygon, with only what the skeleton asks for."""
    fcc = shared("fcc_guadeloupe_riskmapjnr", "fcc123_GLP.tif")
    border = shared("fcc_guadeloupe_riskmapjnr", "ctry_border_GLP.gpkg")
    crs = gpd.read_file(border).crs
    x, y = 647_292.0, 1_786_583.0
    d = tmp_path / "glp"
    r = CliRunner().invoke(cli, ["init", str(d), "--from-raster", str(fcc)])
    assert r.exit_code == 0, r.output
    gpd.GeoDataFrame({"name": ["p"]}, geometry=[box(x - 3200, y - 3200, x + 3200, y + 3200)], crs=crs).to_file(
        d / "project.gpkg")
    answers = {"project": {"name": "Basse-Terre test", "crediting_start": 2021},
               "areas": {"project": "project.gpkg", "jurisdiction": str(border)},
               "stocks": {"strata": [{"name": "forest", "agb_tco2e_per_ha": 450.0, "agb_tco2e_per_ha_sd": 30.0}]},
               "forest_change": {"dates": [2000, 2010, 2020]},
               "periods": {"historical_reference": [2000, 2020]},
               "deductions": {"nprt": EXAMPLE_ANSWERS, "leakage": LEAKAGE}}
    (d / "project.toml").write_text(fill((d / "project.toml").read_text(), answers))
    r = CliRunner().invoke(cli, ["-q", "run", str(d / "project.toml"), "--out", str(tmp_path / "run"), "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.output)
    assert s["project_area_ha"] == pytest.approx(6400 * 0.64, rel=1e-6)       # the 6.4 km square
    assert (tmp_path / "run" / "report.html").exists()
