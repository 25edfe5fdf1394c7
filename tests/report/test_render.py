"""The report is looked at: rendered to PDF, then to PNG pages, and its maps/charts must not be blank."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from reddplus.report import Figure, ReportContent, Table, render_html, render_pdf
from reddplus.report import figures as figs


def _nonblank_fraction(png) -> float:
    """Share of pixels that differ from pure white."""
    arr = np.asarray(Image.open(png).convert("L"))
    return float((arr < 245).mean())


@pytest.fixture
def content(tmp_path):
    rng = np.random.default_rng(0)
    classes = rng.integers(1, 4, size=(120, 150))
    bounds = (0, 0, 150_000, 120_000)
    f1 = figs.categorical_map(tmp_path / "fig" / "map.png", classes, bounds, title="Historical deforestation",
                              categories={1: ("lost 2000-2010", "#d62728"), 2: ("lost 2010-2020", "#ff7f0e"),
                                          3: ("forest 2020", "#2ca02c")})
    years = np.arange(2011, 2021)
    base = 1e5 + 1e4 * np.arange(10)
    f2 = figs.emissions_chart(tmp_path / "fig" / "em.png", years, base, base * 0.9, base * 1.1, base * 0.1)
    return ReportContent(
        title="Test project", subtitle="unit test", banner="GENERATED sample",
        headline=[{"label": "AGB stock [t CO2]", "value": 79.1e6, "reference": "79.4 Mt", "difference": "-0.4%"}],
        figures=[Figure("Areas and maps", "Deforestation", f1), Figure("Credits", "Emissions", f2)],
        tables=[Table("Credits", "Net credits", ["vintage", "VCUs"], [[2011, 1234], [2012, 5678]], "VCU = floor(net)")],
        manifest={"manifest_sha256": "abc", "seed": 1},
    )


def test_html_contains_sections_tables_and_relative_images(content, tmp_path):
    html = render_html(content, tmp_path)
    text = html.read_text()
    assert "GENERATED sample" in text and "5,678" in text and 'src="fig/map.png"' in text
    assert "Run manifest" in text and "VCU = floor(net)" in text


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) not installed")
def test_pdf_pages_show_nonblank_maps_and_charts(content, tmp_path):
    pdf = render_pdf(render_html(content, tmp_path))
    assert pdf.stat().st_size > 10_000
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages, "no page rendered"
    # a page carrying a map or chart has far more ink than a text-only page
    assert max(_nonblank_fraction(p) for p in pages) > 0.10
    for fig in content.figures:
        assert _nonblank_fraction(fig.path) > 0.05
