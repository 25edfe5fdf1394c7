"""Render a crediting report to HTML (Jinja2) and PDF (WeasyPrint), atomically.

The content is a plain :class:`ReportContent`: sections of figures (PNG paths) and
tables (columns + rows + the formula that produced them), so the report shows every
number with its formula and inputs, and the run manifest at the end.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from reddplus.raster.io import atomic_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Figure:
    section: str
    title: str
    path: Path
    caption: str = ""


@dataclass(frozen=True)
class Table:
    section: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    note: str = ""


@dataclass(frozen=True)
class ReportContent:
    title: str
    subtitle: str
    banner: str | None
    headline: list[dict[str, Any]]
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)
    sections: tuple[str, ...] = ("Summary", "Areas and maps", "Carbon stocks", "Activity data", "Baseline",
                                 "Credits", "Non-permanence risk", "Counterfactual")
    #: sections rendered elsewhere, embedded as HTML (title, fragment) before the last section
    extra_sections: tuple[tuple[str, str], ...] = ()


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:
            return "—"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:,.4g}"
    return str(value)


def _env() -> Environment:
    env = Environment(loader=PackageLoader("reddplus.report", "templates"), autoescape=select_autoescape(["html"]))
    env.filters["num"] = _fmt
    return env


def render_html(content: ReportContent, out_dir: str | os.PathLike, *, name: str = "report.html") -> Path:
    """Write the HTML report in ``out_dir``; figure paths are made relative to it."""
    out_dir = Path(out_dir)
    figures = [Figure(f.section, f.title, Path(os.path.relpath(f.path, out_dir)), f.caption) for f in content.figures]
    html = _env().get_template("report.html").render(
        c=content, figures=figures,
        manifest_json=json.dumps(content.manifest, indent=2, sort_keys=True, default=str) if content.manifest else "")
    path = out_dir / name
    with atomic_path(path, overwrite=True) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return path


def render_pdf(html_path: str | os.PathLike, pdf_path: str | os.PathLike | None = None) -> Path:
    """Print the HTML report to PDF with WeasyPrint (figures resolved relative to the HTML)."""
    from weasyprint import HTML

    html_path = Path(html_path)
    pdf_path = Path(pdf_path) if pdf_path else html_path.with_suffix(".pdf")
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    with atomic_path(pdf_path, overwrite=True) as tmp:
        HTML(filename=str(html_path), base_url=str(html_path.parent)).write_pdf(tmp)
    return pdf_path
