"""Issuance of a crediting run's ex-post vintages into a registry database (serial-number blocks).

One verified monitoring period per configured period; each vintage with positive net reductions is
one issuance linked to the run's manifest hash, which the registry splits into a holder block and a
buffer-pool block at the run's buffer percentage (the same rounding as
:func:`reddplus.accounting.net_credits`, so the blocks equal the credits table). A vintage with a
reversal (negative net reductions) cancels that many buffer-pool credits (VCS Standard v4.5
section 3.2.26). With a CCB verification record covering a vintage, its credits carry the CCB
label (CCB Program Rules v3.1). VCS Standard v4.5 section 3.7 (buffer credits), 3.2 (vintages).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from reddplus.errors import ReddplusWarning


class ReversalBeyondBufferWarning(ReddplusWarning):
    """A reversal exceeds the project's own buffer credits: the pooled buffer account covers the rest."""


@dataclass(frozen=True)
class IssuedVintage:
    """One vintage's issuance: whole tonnes, the holder's VCUs and the buffer credits, serials and labels."""

    vintage: int
    quantity: int
    holder_vcus: int
    buffer_credits: int
    holder_serial: str | None
    buffer_serial: str | None
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class CancelledReversal:
    """Buffer-pool credits cancelled for a vintage's reversal [whole t CO2e].

    ``quantity`` is what this registry cancelled from the project's own buffer holdings;
    ``beyond_project_buffer`` is the rest of the reversal, which falls on the pooled AFOLU buffer
    account (other projects' contributions, outside this run's registry).
    """

    vintage: int
    quantity: int
    journal_line: int | None = None
    beyond_project_buffer: int = 0


@dataclass(frozen=True)
class IssuanceResult:
    """What a run issued into its registry database."""

    database: Path
    project_id: int
    account_id: int
    issuances: tuple[IssuedVintage, ...]
    reversals: tuple[CancelledReversal, ...] = ()
    ccb_verification: dict | None = None
    not_labelled: tuple[int, ...] = field(default_factory=tuple)   # vintages no CCB verification covers

    def to_dict(self) -> dict:
        return {"database": str(self.database), "project_id": self.project_id, "account_id": self.account_id,
                "issuances": [asdict(i) for i in self.issuances], "reversals": [asdict(r) for r in self.reversals],
                "ccb_verification": self.ccb_verification, "not_labelled": list(self.not_labelled)}


def issue_vintages(db_path: str | os.PathLike, *, project_name: str, country: str, project_id: str,
                   monitoring_periods: Sequence[tuple[int, int]], rows, buffer_percent: float,
                   manifest_sha256: str, reversals: Sequence = (), project_record: Mapping | None = None,
                   ccb_verification: Mapping | None = None) -> IssuanceResult:
    """Issue each ex-post vintage into the SQLite registry at ``db_path`` (created and migrated).

    Parameters
    ----------
    monitoring_periods : sequence of (first vintage, last vintage) [yr]
    rows : sequence of :class:`reddplus.accounting.CreditRow`
        The ex-post credits table rows; a vintage issues ``row.issuance`` whole tonnes.
    buffer_percent : float [%]
    manifest_sha256 : str
        The run manifest's hash, recorded on every issuance.
    reversals : sequence of :class:`reddplus.accounting.Reversal`
        Each cancels ``reversal_tco2e`` buffer-pool credits in its monitoring period.
    project_record : mapping, optional
        Registry fields of the project (proponent, standard, methodology, crediting period, labels...).
    ccb_verification : mapping, optional
        ``{period_start, period_end, body, date, outcome, gold_levels}``: recorded, then the CCB
        label is put on every vintage it covers.
    """
    from reddplus.registry.db import connect, migrate
    from reddplus.registry.service import OPERATOR, RegistryService

    db = connect(f"sqlite:///{db_path}")
    try:
        migrate(db)
        svc = RegistryService(db, secret_key=secrets.token_hex(32))
        prj = svc.create_project(OPERATOR, project_name, country, external_id=project_id, **dict(project_record or {}))
        acc = svc.create_account(OPERATOR, f"{project_name}: proponent")
        ccb = svc.add_ccb_verification(OPERATOR, prj["id"], **ccb_verification) if ccb_verification else None
        by_year = {r.year: r for r in rows}
        reversal_by_year: dict[int, int] = {}
        for rv in reversals:
            reversal_by_year[rv.year] = reversal_by_year.get(rv.year, 0) + int(rv.reversal_tco2e)
        issued, cancelled, unlabelled = [], [], []
        held = 0        # the project's buffer credits in this registry [t CO2e]
        for a, b in monitoring_periods:
            verified = sum(by_year[y].issuance for y in range(a, b + 1) if y in by_year)
            mp = None
            if verified > 0 or any(reversal_by_year.get(y) for y in range(a, b + 1)):
                mp = svc.create_monitoring_period(OPERATOR, prj["id"], dt.date(a, 1, 1), dt.date(b, 12, 31),
                                                  verified)
            for y in range(a, b + 1):
                r = by_year.get(y)
                if r is not None and r.issuance > 0:
                    issued.append(_issue(svc, OPERATOR, prj, acc, mp, r, buffer_percent, manifest_sha256, ccb,
                                         unlabelled))
                    held += issued[-1].buffer_credits
            for y in range(a, b + 1):       # reversals after the period's issuances: its buffer contribution
                loss = reversal_by_year.get(y, 0)
                if not loss:
                    continue
                take = min(loss, held)
                if take < loss:
                    warnings.warn(f"the reversal of vintage {y} ({loss:,} t CO2e) exceeds the project's buffer "
                                  f"holdings ({held:,}); the remaining {loss - take:,} falls on the pooled AFOLU "
                                  "buffer account (VCS Standard v4.5 section 3.2.26)", ReversalBeyondBufferWarning,
                                  stacklevel=2)
                rec = svc.record_reversal(OPERATOR, prj["id"], mp["id"], take,
                                          f"reversal of vintage {y} (negative net emission reductions)") if take else {}
                held -= take
                cancelled.append(CancelledReversal(y, take, rec.get("journal_seq"), loss - take))
    finally:
        db.write_engine.dispose()
        db.read_engine.dispose()
    return IssuanceResult(Path(db_path), prj["id"], acc["id"], tuple(issued), tuple(cancelled), ccb,
                          tuple(unlabelled))


def _issue(svc, op, prj, acc, mp, r, buffer_percent, manifest_sha256, ccb, unlabelled) -> IssuedVintage:
    """One vintage's issuance, labelled CCB when a CCB verification covers it."""
    from reddplus.registry.errors import LabelNotCoveredError

    y = r.year
    iss = svc.issue(op, prj["id"], dt.date(y, 1, 1), dt.date(y, 12, 31), r.issuance, buffer_percent, acc["id"],
                    monitoring_period_id=mp["id"], manifest_sha256=manifest_sha256)
    labels: tuple[str, ...] = ()
    if ccb is not None:
        try:
            labels = tuple(svc.label_issuance(op, iss["id"], "CCB").get("labels", ("CCB",)))
        except LabelNotCoveredError:
            unlabelled.append(y)
    blocks = {("buffer" if bl["account_id"] != acc["id"] else "holder"): bl for bl in iss["blocks"]}
    holder, buffer = blocks.get("holder", {}), blocks.get("buffer", {})
    return IssuedVintage(y, r.issuance, holder.get("quantity", 0), buffer.get("quantity", 0), holder.get("serial"),
                         buffer.get("serial"), labels)
