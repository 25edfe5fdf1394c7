"""The crediting report: maps and charts (:mod:`.figures`), HTML + PDF rendering (:mod:`.render`)."""

from reddplus.report.render import Figure, ReportContent, Table, render_html, render_pdf

__all__ = ["Figure", "ReportContent", "Table", "render_html", "render_pdf"]
