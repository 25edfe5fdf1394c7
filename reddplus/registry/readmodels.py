"""Read models: every public and private view of the registry, each read in one snapshot.

A read model takes a session opened by ``UnitOfWork(db, read_only=True)`` (REPEATABLE READ on
PostgreSQL, one read transaction on SQLite), so the numbers of one view always add up.

:func:`block_view` is the one serialisation of a block (API responses, exports, pages).
Lists are paginated with a stable cursor: rows ordered by their id, ``after`` the last id seen.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
from typing import Any, Iterable, Mapping

from sqlalchemy import exists, func, or_, select

from reddplus.registry.errors import InvalidInputError, NotFoundError
from reddplus.registry.models import (Account, Block, CcbVerification, Issuance, JournalEntry, MonitoringPeriod,
                                      Project, RegistryState, Retirement)
from reddplus.registry.repository import row_dict
from reddplus.registry.serials import format_serial

BLOCK_FIELDS = ("id", "issuance_id", "serial_start", "serial_end", "quantity", "status", "account_id", "serial",
                "labels")
#: page size of public lists unless the caller asks for fewer
DEFAULT_PAGE = 500
MAX_PAGE = 5000


def block_view(b: Mapping[str, Any], *, program: str, unit_type: str, country: str, project_id: int,
               vintage_start: dt.date | str, vintage_end: dt.date | str, labels: Iterable[str] = ()) -> dict:
    """The public view of one block: ids, serial range, quantity [tCO2e], status, account, serial string, labels."""
    vs = dt.date.fromisoformat(vintage_start) if isinstance(vintage_start, str) else vintage_start
    ve = dt.date.fromisoformat(vintage_end) if isinstance(vintage_end, str) else vintage_end
    return {"id": b["id"], "issuance_id": b["issuance_id"], "serial_start": b["serial_start"],
            "serial_end": b["serial_end"], "quantity": b["serial_end"] - b["serial_start"] + 1,
            "status": b["status"], "account_id": b["account_id"],
            "serial": format_serial(b["issuance_id"], b["serial_start"], b["serial_end"], program=program,
                                    unit_type=unit_type, country=country, project=project_id, vintage_start=vs,
                                    vintage_end=ve),
            "labels": list(labels)}


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The id after which a page starts (0: the first page); a bad cursor is a 422."""
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        after = json.loads(raw)["after"]
    except (ValueError, KeyError, TypeError) as err:
        raise InvalidInputError("malformed cursor", code="invalid_cursor") from err
    if isinstance(after, bool) or not isinstance(after, int) or not 0 <= after < 2**31:
        raise InvalidInputError("malformed cursor", code="invalid_cursor")
    return after


def _limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_PAGE
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInputError(f"limit must lie in 1..{MAX_PAGE}")
    return limit


class ReadModels:
    """Views over one read session; ``program``/``unit_type`` format the serials."""

    def __init__(self, session, *, program: str, unit_type: str):
        self.s = session
        self.program = program
        self.unit_type = unit_type

    # ---------------------------------------------------------------- blocks
    def _block_stmt(self):
        return (select(Block.id, Block.issuance_id, Block.serial_start, Block.serial_end, Block.status,
                       Block.account_id, Issuance.project_id, Issuance.vintage_start, Issuance.vintage_end,
                       Issuance.labels, Project.country)
                .join(Issuance, Block.issuance_id == Issuance.id).join(Project, Issuance.project_id == Project.id))

    def _view(self, m) -> dict:
        return block_view(m, program=self.program, unit_type=self.unit_type, country=m["country"],
                          project_id=m["project_id"], vintage_start=m["vintage_start"], vintage_end=m["vintage_end"],
                          labels=json.loads(m["labels"] or "[]"))

    def blocks(self, *, project_id: int | None = None, account_id: int | None = None, issuance_id: int | None = None,
               include_superseded: bool = False, after: int = 0, limit: int | None = None,
               order_by_serial: bool = False) -> list[dict]:
        stmt = self._block_stmt()
        if project_id is not None:
            stmt = stmt.where(Issuance.project_id == project_id)
        if account_id is not None:
            stmt = stmt.where(Block.account_id == account_id)
        if issuance_id is not None:
            stmt = stmt.where(Block.issuance_id == issuance_id)
        if not include_superseded:
            stmt = stmt.where(Block.status != "superseded")
        if after:
            stmt = stmt.where(Block.id > after)
        stmt = stmt.order_by(Block.serial_start if order_by_serial else Block.id)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [self._view(m) for m in self.s.execute(stmt).mappings()]

    def block(self, block_id: int) -> dict:
        m = self.s.execute(self._block_stmt().where(Block.id == block_id)).mappings().first()
        if m is None:
            raise NotFoundError(f"block {block_id} not found")
        return self._view(m)

    def blocks_page(self, *, project_id: int | None, cursor: str | None, limit: int | None) -> dict:
        """One page of non-superseded blocks in id order, with the cursor of the next page."""
        n = _limit(limit)
        rows = self.blocks(project_id=project_id, after=decode_cursor(cursor), limit=n + 1)
        return _page(rows, n)

    # ---------------------------------------------------------------- totals
    def totals(self, project_id: int | None = None) -> dict:
        """Issued, retired, cancelled, buffer and available credits [tCO2e].

        .. math:: issued = retired + cancelled + buffer + available
        """
        qty = func.sum(Block.serial_end - Block.serial_start + 1)
        stmt = (select(Block.status, Account.kind, qty).join(Issuance, Block.issuance_id == Issuance.id)
                .join(Account, Block.account_id == Account.id).where(Block.status != "superseded")
                .group_by(Block.status, Account.kind))
        issued_stmt = select(func.coalesce(func.sum(Issuance.quantity), 0))
        if project_id is not None:
            stmt = stmt.where(Issuance.project_id == project_id)
            issued_stmt = issued_stmt.where(Issuance.project_id == project_id)
        out = {"issued": int(self.s.execute(issued_stmt).scalar_one()), "retired": 0, "cancelled": 0, "buffer": 0,
               "available": 0}
        for status, kind, n in self.s.execute(stmt):
            key = status if status != "active" else ("buffer" if kind == "buffer" else "available")
            out[key] += int(n)
        return out

    def project_totals(self, project_id: int) -> dict:
        self.project_row(project_id)
        return self.totals(project_id) | {"project_id": project_id}

    # ---------------------------------------------------------------- projects
    def project_row(self, project_id: int) -> Project:
        prj = self.s.get(Project, project_id)
        if prj is None:
            raise NotFoundError(f"project {project_id} not found")
        return prj

    def issuance_labels(self, project_ids: Iterable[int]) -> dict[int, set[str]]:
        """The labels carried by each project's issuances (CCB v3.1: a CCB label on VCUs makes the
        project a CCB project in searches and on its record)."""
        ids = list(project_ids)
        out: dict[int, set[str]] = {i: set() for i in ids}
        if ids:
            for pid, labels in self.s.execute(select(Issuance.project_id, Issuance.labels).where(
                    Issuance.project_id.in_(ids), Issuance.labels != "[]")):
                out[pid].update(json.loads(labels or "[]"))
        return out

    def project_view(self, prj: Project) -> dict:
        """:func:`project_out` with the labels of the project's issuances among its labels."""
        return project_out(prj, self.issuance_labels([prj.id])[prj.id])

    def project(self, project_id: int) -> dict:
        return self.project_view(self.project_row(project_id))

    def projects(self, *, q: str | None = None, country: str | None = None, methodology: str | None = None,
                 label: str | None = None, after: int = 0, limit: int | None = None) -> list[dict]:
        stmt = select(Project).order_by(Project.id)
        if q:
            stmt = stmt.where(func.lower(Project.name).contains(q.lower(), autoescape=True))
        if country:
            stmt = stmt.where(Project.country == country.upper())
        if methodology:
            stmt = stmt.where(func.lower(Project.methodology) == methodology.lower())
        if label:   # on the project record or on any of its issuances
            needle = json.dumps(label)
            stmt = stmt.where(or_(Project.labels.contains(needle, autoescape=True),
                                  exists(select(Issuance.id).where(Issuance.project_id == Project.id,
                                                                   Issuance.labels.contains(needle, autoescape=True)))))
        if after:
            stmt = stmt.where(Project.id > after)
        if limit is not None:
            stmt = stmt.limit(limit)
        rows = self.s.execute(stmt).scalars().all()
        extra = self.issuance_labels(p.id for p in rows)
        return [project_out(p, extra[p.id]) for p in rows]

    def projects_page(self, *, cursor: str | None = None, limit: int | None = None, **filters) -> dict:
        n = _limit(limit)
        return _page(self.projects(after=decode_cursor(cursor), limit=n + 1, **filters), n)

    def issuances(self, project_id: int | None = None, *, after: int = 0, limit: int | None = None) -> list[dict]:
        stmt = select(Issuance).order_by(Issuance.id)
        if project_id is not None:
            stmt = stmt.where(Issuance.project_id == project_id)
        if after:
            stmt = stmt.where(Issuance.id > after)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [issuance_out(i) for i in self.s.execute(stmt).scalars()]

    def retirements(self, project_id: int | None = None, *, after: int = 0, limit: int | None = None) -> list[dict]:
        """Retirements with their block's serial and labels (certificate data)."""
        stmt = (select(Retirement, *self._block_stmt().selected_columns)
                .join(Block, Retirement.block_id == Block.id).join(Issuance, Block.issuance_id == Issuance.id)
                .join(Project, Issuance.project_id == Project.id).order_by(Retirement.id))
        if project_id is not None:
            stmt = stmt.where(Issuance.project_id == project_id)
        if after:
            stmt = stmt.where(Retirement.id > after)
        if limit is not None:
            stmt = stmt.limit(limit)
        out = []
        for row in self.s.execute(stmt):
            m = row._mapping
            view = self._view(m)
            out.append(row_dict(m[Retirement]) | {"serial": view["serial"], "labels": view["labels"],
                                                   "project_id": m["project_id"]})
        return out

    def retirement(self, retirement_id: int) -> dict:
        """One retirement with what its certificate shows (project, vintage, labels, journal line hash)."""
        r = self.s.get(Retirement, retirement_id)
        if r is None:
            raise NotFoundError(f"retirement {retirement_id} not found")
        m = self.s.execute(self._block_stmt().where(Block.id == r.block_id)).mappings().one()
        view = self._view(m)
        prj = self.s.get(Project, m["project_id"])
        line = self.s.get(JournalEntry, r.journal_seq)
        return row_dict(r) | {"serial": view["serial"], "labels": view["labels"], "serial_start": view["serial_start"],
                              "serial_end": view["serial_end"], "vintage_start": m["vintage_start"].isoformat(),
                              "vintage_end": m["vintage_end"].isoformat(), "project": self.project_view(prj),
                              "journal_hash": line.hash if line is not None else None}

    def ccb_verifications(self, project_id: int) -> list[dict]:
        rows = self.s.execute(select(CcbVerification).where(CcbVerification.project_id == project_id)
                              .order_by(CcbVerification.period_start)).scalars()
        return [ccb_out(v) for v in rows]

    def monitoring_periods(self, project_id: int) -> list[dict]:
        return [row_dict(m) for m in self.s.execute(select(MonitoringPeriod).where(
            MonitoringPeriod.project_id == project_id).order_by(MonitoringPeriod.period_start)).scalars()]

    def project_page(self, project_id: int) -> dict:
        """Everything the public project page shows (one snapshot, so the totals add up)."""
        prj = self.project_row(project_id)
        issuances = self.issuances(project_id)
        return {"project": self.project_view(prj), "totals": self.totals(project_id), "issuances": issuances,
                "retirements": self.retirements(project_id), "ccb_verifications": self.ccb_verifications(project_id),
                "blocks": self.blocks(project_id=project_id, order_by_serial=True)}

    # ---------------------------------------------------------------- accounts
    def account(self, account_id: int) -> dict:
        acc = self.s.get(Account, account_id)
        if acc is None:
            raise NotFoundError(f"account {account_id} not found")
        blocks = self.blocks(account_id=account_id, order_by_serial=True)
        return {"id": acc.id, "name": acc.name, "kind": acc.kind, "blocks": blocks,
                "balance": sum(b["quantity"] for b in blocks if b["status"] == "active")}

    # ---------------------------------------------------------------- serials and journal
    def serial(self, sr) -> dict:
        """The blocks holding any serial of ``sr``: a serial names its issuance, and every other field
        (range, program, unit type, country, project, vintage) must agree with that issuance, else 404
        (the format of :mod:`reddplus.registry.serials`; a serial is not a search pattern)."""
        iss = self.s.get(Issuance, sr.issuance)
        if iss is None or not (iss.serial_start <= sr.first and sr.last <= iss.serial_end):
            raise NotFoundError(f"serial {sr} does not belong to issuance {sr.issuance}")
        prj = self.s.get(Project, iss.project_id)
        if (sr.program, sr.unit_type, sr.country, sr.project, sr.vintage_start, sr.vintage_end) != (
                self.program, self.unit_type, prj.country, iss.project_id, iss.vintage_start, iss.vintage_end):
            raise NotFoundError(f"serial {sr} does not match issuance {sr.issuance} (program, unit type, "
                                "country, project or vintage differ)")
        stmt = self._block_stmt().where(Block.issuance_id == iss.id, Block.status != "superseded",
                                        Block.serial_start <= sr.last, Block.serial_end >= sr.first)
        blocks = [self._view(m) for m in self.s.execute(stmt.order_by(Block.serial_start)).mappings()]
        return {"serial": str(sr), "quantity": sr.quantity, "blocks": blocks}

    def journal_lines(self, after: int = 0, limit: int | None = None) -> list[dict]:
        stmt = select(JournalEntry).where(JournalEntry.seq > after).order_by(JournalEntry.seq)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [row_dict(e) for e in self.s.execute(stmt).scalars()]

    def head(self) -> dict:
        st = self.s.get(RegistryState, 1)
        return {"length": st.journal_length, "head": st.journal_head}


def _page(rows: list[dict], n: int) -> dict:
    more = len(rows) > n
    rows = rows[:n]
    return {"items": rows, "next_cursor": encode_cursor(rows[-1]["id"]) if more and rows else None}


def project_out(p: Project, issuance_labels: Iterable[str] = ()) -> dict:
    """A project record; ``labels`` are its own and those of its issuances (``issuance_labels``), sorted."""
    out = row_dict(p)
    out["labels"] = sorted(set(json.loads(out["labels"] or "[]")) | set(issuance_labels))
    out["boundary"] = json.loads(out["boundary"]) if out["boundary"] else None
    out.pop("attributes", None)
    return out


def issuance_out(i: Issuance) -> dict:
    out = row_dict(i)
    out["labels"] = json.loads(out["labels"] or "[]")
    out.pop("attributes", None)
    return out


def ccb_out(v: CcbVerification) -> dict:
    out = row_dict(v)
    out["gold_levels"] = json.loads(out["gold_levels"] or "[]")
    return out


# ---------------------------------------------------------------------------------- CSV
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell safe to open in a spreadsheet: text starting with ``= + - @`` (or tab/CR) gets a
    leading apostrophe (OWASP "CSV injection"); numbers stay numbers; lists join with ``;``."""
    if isinstance(value, (list, tuple)):
        value = ";".join(str(v) for v in value)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def export_fields(what: str) -> list[str]:
    """The CSV columns of an export, in the order of its rows' keys (the header even of an empty page):
    ``blocks`` as :func:`block_view`; ``issuances`` and ``projects`` the table's columns without
    ``attributes``; ``retirements`` the table's columns and the block's serial, labels and project."""
    def columns(model):
        return [c.key for c in model.__table__.columns if c.key != "attributes"]
    return {"blocks": list(BLOCK_FIELDS), "issuances": columns(Issuance), "projects": columns(Project),
            "retirements": columns(Retirement) + ["serial", "labels", "project_id"]}[what]


def to_csv(rows: list[dict], fieldnames: list[str] | None = None) -> str:
    buf = io.StringIO()
    if rows or fieldnames:
        w = csv.DictWriter(buf, fieldnames=fieldnames or list(rows[0]), lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: csv_cell(v) for k, v in r.items()})
    return buf.getvalue()
