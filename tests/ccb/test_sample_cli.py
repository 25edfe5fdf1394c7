"""The GENERATED sample's CCB folder passes ``reddplus ccb validate``; ``reddplus ccb report`` writes the section."""

import json
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from reddplus.cli.main import cli


@pytest.mark.slow
def test_sample_ccb_folder_is_generated_and_valid(sample):
    from reddplus.ccb import validate_ccb
    from reddplus.project import load_project

    cfg = load_project(sample.project_toml)
    assert cfg.ccb is not None and cfg.ccb.name == "ccb"
    for f in cfg.ccb.iterdir():
        if f.suffix in (".csv", ".toml", ".txt"):
            assert "GENERATED" in f.read_text().splitlines()[0], f
    v = validate_ccb(cfg.ccb, project=cfg)
    assert v.ok, [str(p) for p in v.problems]
    r = CliRunner().invoke(cli, ["ccb", "validate", str(cfg.ccb), "--project", str(sample.project_toml), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["valid"] is True


def test_validate_exits_non_zero_with_every_problem(tmp_path):
    from shapely.geometry import box

    from tests.ccb.conftest import FILES, write_ccb_folder

    ind = FILES["indicators.csv"].replace("B-3,B4,", "B-3,B9,").replace("Income,USD/yr,", "Income,,")
    folder = write_ccb_folder(tmp_path / "c", files={"indicators.csv": ind}, hcv_geom=box(5000, 5000, 6000, 6000))
    r = CliRunner().invoke(cli, ["ccb", "validate", str(folder), "--json"])
    assert r.exit_code == 2
    out = json.loads(r.output)
    assert out["valid"] is False and out["n_problems"] == 3


@pytest.mark.slow
def test_report_writes_the_section_and_reads_back(sample, tmp_path):
    out = tmp_path / "ccb_report"
    r = CliRunner().invoke(cli, ["ccb", "report", str(sample.project_toml), "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    ccb = doc["ccb"]
    assert ccb["validation"]["valid"] and ccb["generated_sample"]
    b1 = ccb["indicators"]["B-1"]["periods"]["2021-2024"]
    assert b1["with_project"] > 0 and b1["without_project"] is None and "no baseline" in b1["without_project_reason"]
    assert ccb["indicators"]["CM-1"]["periods"]["2021-2024"]["with_project_by_group"]["RIV-W"] is None
    for f in ("ccb.html", "ccb.pdf", "ccb.json", "figures/ccb_zone_map.png"):
        assert (out / f).exists(), f
    html = (out / "ccb.html").read_text()
    for code in ("G1", "G5", "CL4", "CM1", "CM4", "B1", "B4", "GL1", "GL2", "GL3"):
        assert f'id="ccb-{code}"' in html
    assert "Monitoring plan" in html and "Validation / verification checklist" in html
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler) not installed")
    text = subprocess.run(["pdftotext", "-layout", str(out / "ccb.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Climate, Community & Biodiversity Standards v3.1" in text
    assert "G1 Project goals, design and long-term viability" in text
    assert "GL3 Exceptional biodiversity benefits" in text
    assert "Validation / verification checklist" in text
    assert "GENERATED" in text
    assert f"{b1['with_project']:,.0f}" in text
    # the output folder is never replaced without --overwrite
    again = CliRunner().invoke(cli, ["ccb", "report", str(sample.project_toml), "--out", str(out), "--no-pdf"])
    assert again.exit_code == 3
    again = CliRunner().invoke(cli, ["ccb", "report", str(sample.project_toml), "--out", str(out), "--no-pdf",
                                     "--overwrite"])
    assert again.exit_code == 0 and not (out / "ccb.pdf").exists()
