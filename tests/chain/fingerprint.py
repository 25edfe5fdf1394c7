"""A run's fingerprint: the numbers a crediting run publishes, for pinning behaviour across refactors.

``python -m tests.chain.fingerprint RUN_DIR OUT.json`` writes the fingerprint of a finished run; the test
``test_demo.py::test_behaviour_is_pinned`` compares a fresh demo run with the pinned file. Update the
pinned file only with a change that alters a method, and say so in the commit message.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

#: summary.json keys that are paths, timings or labels rather than results
_NOT_RESULTS = {"report_html", "report_pdf", "out_dir", "seconds"}


class _Cells(HTMLParser):
    """Text of every table cell of the report, table by table, keyed by the table's heading."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[str]] = {}
        self._title = "headline"
        self._current: list[str] | None = None
        self._in = self._in_title = False
        self._buf: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "h3":
            self._in_title, self._buf = True, []
        elif tag == "table":
            key, i = self._title, 2
            while key in self.tables:
                key, i = f"{self._title} ({i})", i + 1
            self._current = self.tables.setdefault(key, [])
        elif tag in ("td", "th"):
            self._in, self._buf = True, []

    def handle_endtag(self, tag):
        if tag == "h3" and self._in_title:
            self._in_title = False
            self._title = " ".join("".join(self._buf).split())
        elif tag in ("td", "th") and self._in:
            self._in = False
            if self._current is not None:
                self._current.append(" ".join("".join(self._buf).split()))

    def handle_data(self, data):
        if self._in or self._in_title:
            self._buf.append(data)


_NUM = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?")


#: tables that describe the run, not its results: the manifest table holds the creation time and the
#: library versions of the machine (the manifest's content hash is compared instead)
_NOT_RESULT_TABLES = {"Inputs, versions and seed"}


def report_numbers(html: str) -> dict[str, list[str]]:
    """Every number printed in the report's result tables, per table heading, in order (separators kept)."""
    p = _Cells()
    p.feed(html)
    return {title: [m for cell in cells for m in _NUM.findall(cell)] for title, cells in p.tables.items()
            if title not in _NOT_RESULT_TABLES}


def manifest_content_sha256(manifest: dict) -> str:
    """Hash of what determines the numbers, minus library versions (which differ between machines)."""
    part = {k: manifest[k] for k in ("inputs", "config", "seed")}
    return hashlib.sha256(json.dumps(part, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def fingerprint(run_dir: str | Path) -> dict:
    run = Path(run_dir)
    summary = json.loads((run / "summary.json").read_text())
    tables = {}
    for f in sorted((run / "tables").glob("*.csv")):
        with open(f, newline="") as fh:
            tables[f.name] = list(csv.DictReader(fh))
    return {
        "summary": {k: v for k, v in summary.items() if k not in _NOT_RESULTS},
        "tables": tables,
        "report_numbers": report_numbers((run / "report.html").read_text(encoding="utf-8")),
        "manifest_content_sha256": manifest_content_sha256(json.loads((run / "manifest.json").read_text())),
    }


if __name__ == "__main__":
    Path(sys.argv[2]).write_text(json.dumps(fingerprint(sys.argv[1]), indent=1, sort_keys=True) + "\n")
