"""End-to-end crediting run on the built-in GENERATED sample (small scale), report rendered and looked at."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from reddplus.cli.main import cli

SCALE = 0.25  # a quarter-size landscape keeps the test fast; the full size is the benchmark's job


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from reddplus.chain import run_demo

    out = tmp_path_factory.mktemp("demo") / "run"
    return run_demo(out, scale=SCALE)


def test_summary_contract(demo):
    s = demo.summary()
    for key in ("project_area_ha", "agb_stock_tco2", "agb_stock_tco2_ci90", "baseline_emissions_tco2e_per_year",
                "net_vcus_by_vintage", "buffer_percent", "report_html"):
        assert key in s, key
    lo, hi = s["agb_stock_tco2_ci90"]
    assert lo < s["agb_stock_tco2"] < hi
    assert s["generated_sample"] is True
    assert all(isinstance(v, int) and v >= 0 for v in s["net_vcus_by_vintage"].values())
    assert 10 <= s["buffer_percent"] <= 60
    assert (demo.out_dir / "report.html").is_file() and (demo.out_dir / "report.pdf").is_file()
    assert json.loads((demo.out_dir / "summary.json").read_text())["report_html"] == str(demo.out_dir / "report.html")


def test_credits_rules(demo):
    """Issued VCUs + buffer never exceed the unrounded net reductions; VCUs are whole tonnes rounded down."""
    rows = demo.credits.ex_post.rows
    assert rows
    for r in rows:
        assert r.vcus == int(r.vcus)
        assert r.vcus + r.buffer <= max(0.0, r.net_tco2e) + 1e-6


def test_one_assessment_and_the_baseline_it_chose(demo):
    """The demo names the road-driven alternative; it is assessed once against the benchmark on the same cells,
    and the baseline (its source, model and reason) is what summary.json and the report say; the planned
    branch road, which opens after the confirmation period, stays out of the baseline."""
    s = demo.summary()
    fit = demo.baseline.fits[0]
    assert s["baseline_source"] == "vt0007" and s["baseline_model"] == fit.alternative.assessment.selected
    assert s["vt0007_profile"] == "reddplus"
    html = demo.report_html.read_text()
    assert html.count("Model assessment") == 1 and "Validity periods" in html
    if fit.alternative.baseline is not None:
        assert fit.alternative.baseline.excluded_opening_years == (2023,)
    per_vintage = s["baseline_deforestation_ha"]
    assert set(per_vintage) == {str(y) for y in range(2021, 2031)}
    assert all(set(v) == {"project", "leakage_belt"} for v in per_vintage.values())
    assert [p["provisional"] for p in s["validity_periods"]] == [False, True]
    assert s["nprt_version"] == "4.2" and s["uncertainty_rule"] == "vcs_halfwidth_excess"
    assert set(s["reversals"]) == set(s["leakage_tco2e"]) == set(s["net_vcus_by_vintage"])


def test_report_is_looked_at(demo, tmp_path):
    """Render the PDF to PNG and check the maps and charts are there and not blank."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) not installed")
    from PIL import Image

    html = demo.report_html.read_text()
    for fig in ("areas.png", "history.png", "history_project.png", "risk_classes.png", "stocks.png",
                "emissions.png", "nprt.png"):
        assert f"figures/{fig}" in html, fig
        img = np.asarray(Image.open(demo.out_dir / "figures" / fig).convert("L"), dtype=float)
        assert img.std() > 10, f"{fig} looks blank"
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(demo.report_pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 3
    inked = [np.asarray(Image.open(p).convert("L"), dtype=float).std() for p in pages]
    assert min(inked) > 5


def test_report_reads_well(demo, tmp_path):
    """Issue 18, report polish: the PDF's words are whole (table headers are not broken mid-word), no
    table has an empty column, and the sections a validation body looks for are there."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    import re

    subprocess.run(["pdftotext", str(demo.report_pdf), str(tmp_path / "r.txt")], check=True)
    text = (tmp_path / "r.txt").read_text()
    words = set(re.findall(r"[A-Za-z][A-Za-z-]+", text))
    html = demo.report_html.read_text()
    headers = set(re.findall(r"<th[^>]*>([^<]+)</th>", html))
    long_words = {w for h in headers for w in re.findall(r"[A-Za-z][A-Za-z-]{6,}", h)}
    assert long_words, "the report has no table headers"
    broken = sorted(w for w in long_words if w not in words)
    assert not broken, f"header words broken or missing in the PDF: {broken[:10]}"
    for needed in ("VM0048", "VT0007", "Choices and assumptions", "leakage", "Non-Permanence Risk Tool v4.2", "CCB", "validity period",
                   "Run manifest"):
        assert needed.lower() in " ".join(text.split()).lower(), needed
    for m in re.finditer(r"<table.*?</table>", html, flags=re.S):
        rows = re.findall(r"<tr>(.*?)</tr>", m.group(0), flags=re.S)
        body = [re.findall(r"<td[^>]*>(.*?)</td>", r, flags=re.S) for r in rows]
        body = [r for r in body if r]
        if not body:
            continue
        for j in range(max(len(r) for r in body)):
            assert any(j < len(r) and re.sub(r"<[^>]+>|\s", "", r[j]) for r in body), \
                f"an empty column {j} in a table: {m.group(0)[:200]}"


def test_manifest_reproduces(demo, tmp_path):
    """Same config + same manifest -> same numbers (rerun the sample's project.toml)."""
    from reddplus.chain import run_project
    from reddplus.manifest import read_manifest, verify_inputs
    from reddplus.project import load_project

    m = read_manifest(demo.out_dir / "manifest.json")
    assert verify_inputs(m) == []
    again = run_project(load_project(demo.out_dir / "sample" / "project.toml"), tmp_path / "again", report_pdf=False)
    assert again.net_vcus_by_vintage == demo.net_vcus_by_vintage
    assert again.agb_stock_tco2 == pytest.approx(demo.agb_stock_tco2, rel=1e-12)
    assert read_manifest(tmp_path / "again" / "manifest.json")["manifest_sha256"] == m["manifest_sha256"]


def test_cli_run_json_and_refuses_existing(demo, tmp_path):
    toml = demo.out_dir / "sample" / "project.toml"
    r = CliRunner().invoke(cli, ["-q", "run", str(toml), "--out", str(tmp_path / "r"), "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.output)
    assert s["net_vcus_by_vintage"] == {str(k): v for k, v in demo.net_vcus_by_vintage.items()}
    r = CliRunner().invoke(cli, ["-q", "run", str(toml), "--out", str(tmp_path / "r")])
    assert r.exit_code != 0 and "exists" in r.output


def test_registry_blocks_equal_the_credits_table(demo):
    """Each ex-post vintage is issued into the run's registry; the holder and buffer blocks equal the credits
    table, the serials are contiguous and never overlap, and the journal verifies."""
    from reddplus.registry.db import connect
    from reddplus.registry.service import RegistryService

    reg = demo.issuance
    rows = {r.year: r for r in demo.credits.ex_post.rows}
    assert [i.vintage for i in reg.issuances] == sorted(y for y, r in rows.items() if r.vcus + r.buffer)
    for i in reg.issuances:
        assert i.holder_vcus == rows[i.vintage].vcus == demo.net_vcus_by_vintage[i.vintage]
        assert i.buffer_credits == rows[i.vintage].buffer
    db = connect(f"sqlite:///{demo.path(reg.database)}")
    report = RegistryService(db, secret_key="t" * 64).verify_journal()
    assert report["ok"], report
    serials = sorted((i.holder_serial, i.buffer_serial) for i in reg.issuances)
    assert len({s for pair in serials for s in pair}) == 2 * len(serials)


def _close(a, b, path="") -> list[str]:
    """Differences between two JSON-like values: numbers to 1e-9 relative, everything else exactly."""
    import math

    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}: keys {sorted(set(a) ^ set(b))}"] if set(a) != set(b) else []
        return out + [d for k in sorted(set(a) & set(b)) for d in _close(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _close(x, y, f"{path}[{i}]")]
    for x in (a, b):
        if isinstance(x, str):
            try:
                float(x)
            except ValueError:
                return [] if a == b else [f"{path}: {a!r} != {b!r}"]
    try:
        fa, fb = float(a), float(b)
    except (TypeError, ValueError):
        return [] if a == b else [f"{path}: {a!r} != {b!r}"]
    if math.isnan(fa) and math.isnan(fb):
        return []
    return [] if math.isclose(fa, fb, rel_tol=1e-9, abs_tol=1e-9) else [f"{path}: {a!r} != {b!r}"]


def test_behaviour_is_pinned(demo):
    """The demo's published numbers (summary, CSV tables, every number in the report's tables) and the
    manifest's content hash equal the pinned run (tests/chain/pinned/demo_scale025.json). A change that
    alters a method updates the pinned file in the same commit and says why."""
    from pathlib import Path

    from tests.chain.fingerprint import fingerprint

    pinned = json.loads((Path(__file__).parent / "pinned" / "demo_scale025.json").read_text())
    got = fingerprint(demo.out_dir)
    assert got["manifest_content_sha256"] == pinned["manifest_content_sha256"]
    # columns added to a table are not a change of method: compare the pinned columns
    tables = {name: [{k: row[k] for k in pin_row if k in row} for row, pin_row in zip(rows, pinned["tables"][name])]
              + rows[len(pinned["tables"][name]):] for name, rows in got["tables"].items() if name in pinned["tables"]}
    diffs = _close(got["summary"], pinned["summary"], "summary") + _close(tables, pinned["tables"], "tables")
    assert not diffs, diffs[:20]
    assert sorted(got["report_numbers"]) == sorted(pinned["report_numbers"]), "tables added or removed"
    for title, numbers in pinned["report_numbers"].items():
        assert got["report_numbers"][title] == numbers, title
