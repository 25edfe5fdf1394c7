"""Issuance of a crediting run's ex-post vintages into a registry database (serial-number blocks).

One verified monitoring period per configured period; each vintage is one issuance linked to the
run's manifest hash, which the registry splits into a holder block and a buffer-pool block at the
run's buffer percentage (the same rounding as :func:`reddplus.accounting.net_credits`, so the
blocks equal the credits table). VCS Standard v4.5 section 3.7 (buffer credits), 3.2 (vintages).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence


@dataclass(frozen=True)
class IssuedVintage:
    """One vintage's issuance: whole tonnes, the holder's VCUs and the buffer credits, and their serials."""

    vintage: int
    quantity: int
    holder_vcus: int
    buffer_credits: int
    holder_serial: str | None
    buffer_serial: str | None


@dataclass(frozen=True)
class IssuanceResult:
    """What a run issued into its registry database."""

    database: Path
    project_id: int
    account_id: int
    issuances: tuple[IssuedVintage, ...]

    def to_dict(self) -> dict:
        return {"database": str(self.database), "project_id": self.project_id, "account_id": self.account_id,
                "issuances": [asdict(i) for i in self.issuances]}


def issue_vintages(db_path: str | os.PathLike, *, project_name: str, country: str, project_id: str,
                   monitoring_periods: Sequence[tuple[int, int]], rows, buffer_percent: float,
                   manifest_sha256: str) -> IssuanceResult:
    """Issue each ex-post vintage into the SQLite registry at ``db_path`` (created and migrated).

    Parameters
    ----------
    monitoring_periods : sequence of (first vintage, last vintage) [yr]
    rows : sequence of :class:`reddplus.accounting.CreditRow`
        The ex-post credits table rows; a vintage issues ``row.issuance`` whole tonnes.
    buffer_percent : float [%]
    manifest_sha256 : str
        The run manifest's hash, recorded on every issuance.
    """
    from reddplus.registry.db import connect, migrate
    from reddplus.registry.service import OPERATOR, RegistryService

    db = connect(f"sqlite:///{db_path}")
    try:
        migrate(db)
        svc = RegistryService(db, secret_key=secrets.token_hex(32))
        prj = svc.create_project(OPERATOR, project_name, country, external_id=project_id)
        acc = svc.create_account(OPERATOR, f"{project_name}: proponent")
        by_year = {r.year: r for r in rows}
        issued = []
        for a, b in monitoring_periods:
            verified = sum(by_year[y].issuance for y in range(a, b + 1) if y in by_year)
            if verified <= 0:
                continue
            mp = svc.create_monitoring_period(OPERATOR, prj["id"], dt.date(a, 1, 1), dt.date(b, 12, 31), verified)
            for y in range(a, b + 1):
                r = by_year.get(y)
                if r is None or r.issuance <= 0:
                    continue
                iss = svc.issue(OPERATOR, prj["id"], dt.date(y, 1, 1), dt.date(y, 12, 31), r.issuance,
                                buffer_percent, acc["id"], monitoring_period_id=mp["id"],
                                manifest_sha256=manifest_sha256)
                blocks = {("buffer" if bl["account_id"] != acc["id"] else "holder"): bl for bl in iss["blocks"]}
                holder, buffer = blocks.get("holder", {}), blocks.get("buffer", {})
                issued.append(IssuedVintage(y, r.issuance, holder.get("quantity", 0), buffer.get("quantity", 0),
                                            holder.get("serial"), buffer.get("serial")))
    finally:
        db.write_engine.dispose()
        db.read_engine.dispose()
    return IssuanceResult(Path(db_path), prj["id"], acc["id"], tuple(issued))
