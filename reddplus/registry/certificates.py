"""Retirement certificates: the data a certificate shows, its check against the journal, and its
HTML and PDF (WeasyPrint) renderings.

A certificate is genuine when the journal line named on it (``journal_seq``) is a retirement whose
hash is intact, whose payload records this very retirement row, and which lies on the verified
chain that ends at the published head.
"""

from __future__ import annotations

import json
from pathlib import Path

from reddplus.registry import ledger
from reddplus.registry.db import UnitOfWork
from reddplus.registry.models import JournalEntry, Retirement
from reddplus.registry.repository import row_dict

TEMPLATES = Path(__file__).resolve().parent / "templates"


def verify_certificate(svc, retirement_id: int) -> dict:
    """``{"ok", "certificate_number", "retirement_id", "journal_seq", "journal_hash", "message"}``.

    Raises :class:`~reddplus.registry.errors.NotFoundError` (404) for an unknown retirement.
    """
    cert = svc.retirement(retirement_id)
    with UnitOfWork(svc.db, read_only=True) as uow:
        r = uow.session.get(Retirement, retirement_id)
        line = uow.session.get(JournalEntry, r.journal_seq)
        line = row_dict(line) if line is not None else None
        row = row_dict(r)
    out = {"ok": False, "certificate_number": cert["certificate_number"], "retirement_id": retirement_id,
           "journal_seq": cert["journal_seq"], "journal_hash": line["hash"] if line else None, "message": ""}
    if line is None or line["kind"] != "retire":
        return out | {"message": f"journal line {cert['journal_seq']} is not a retirement"}
    if ledger.line_hash(line["seq"], line["kind"], line["created_at"], line["payload"],
                        line["prev_hash"]) != line["hash"]:
        return out | {"message": f"journal line {line['seq']} does not match its hash"}
    recorded = json.loads(line["payload"]).get("created", {}).get("retirements", [])
    if row not in recorded:
        return out | {"message": "the retirement differs from what its journal line recorded"}
    chain = svc.verify_public()
    if not chain["ok"]:
        return out | {"message": "the journal chain does not verify"}
    return out | {"ok": True, "message": f"recorded in journal line {line['seq']} of {chain['length']}, "
                                         f"published head {chain['head']}"}


def _env():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))
    env.filters["num"] = thousands
    return env


def thousands(n) -> str:
    """An integer with thousands separators (``1,234,567``); other values unchanged."""
    return f"{n:,}" if isinstance(n, int) and not isinstance(n, bool) else ("" if n is None else str(n))


def certificate_html(cert: dict, *, verify_url: str, check: dict | None = None) -> str:
    """The certificate page (standalone HTML with its own CSS, also the PDF's source)."""
    return _env().get_template("certificate.html").render(c=cert, verify_url=verify_url, check=check)


def certificate_pdf(cert: dict, *, verify_url: str) -> bytes:
    """The certificate as PDF (WeasyPrint; no network access: the page has no external resources)."""
    from weasyprint import HTML

    return HTML(string=certificate_html(cert, verify_url=verify_url), base_url=str(TEMPLATES)).write_pdf()
