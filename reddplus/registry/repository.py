"""The registry's repository: reads that lock, and the two writers that carry out a plan.

Nothing here commits: a use case opens one :class:`~reddplus.registry.db.UnitOfWork`, hands its
session to :func:`writer_for`, and commits once (STYLE.md, example 11).

Two writers, one spend path each:

* :class:`CoreWriter` (SQLite, and any SQLAlchemy dialect): SQLAlchemy Core statements; SQLite's
  ``BEGIN IMMEDIATE`` already serialises writers, so the order of the statements is free.
* :class:`PgWriter` (PostgreSQL): the blocks are locked with ``SELECT ... FOR UPDATE`` first, then
  one ``UPDATE registry_state ... RETURNING`` locks the journal head and draws every id from the
  sequences, and all remaining writes go in one pipelined round trip (the head's lock is held for
  two round trips).

Locking order (deadlock-free): the blocks a use case spends, in serial order, then the
``registry_state`` row that holds the journal head and the counters.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import insert, select, text, update

from reddplus.registry import ledger
from reddplus.registry.domain import BlockRow, SpendPlan
from reddplus.registry.models import (BUFFER_ACCOUNT_ID, Account, Block, Issuance, JournalEntry, Project,
                                      RegistryState)

_B, _I, _P, _S, _A = (Block.__table__, Issuance.__table__, Project.__table__, RegistryState.__table__,
                      Account.__table__)
_J = JournalEntry.__table__


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


def row_dict(obj) -> dict:
    """A model row as a JSON-like dict (dates as ISO strings), the journal's row format."""
    out = {}
    for col in obj.__table__.columns:
        val = getattr(obj, col.key)
        out[col.key] = val.isoformat() if isinstance(val, dt.date) else val
    return out


def effects(args: Mapping[str, Any], created: Iterable = (), updated: Iterable = ()) -> dict:
    """A journal payload ``{"args", "created": {table: [rows]}, "updated": {table: [rows]}}`` from model rows."""
    out: dict[str, Any] = {"args": dict(args), "created": {}, "updated": {}}
    for key, objs in (("created", created), ("updated", updated)):
        for o in objs:
            out[key].setdefault(o.__tablename__, []).append(row_dict(o))
    return out


@dataclass(frozen=True)
class Ref:
    """In a record spec: the id of the ``index``-th record of the same write (formatted into ``fmt``
    when given, e.g. ``"reversal {}: fire"``)."""

    index: int
    fmt: str | None = None

    def resolve(self, ids: Sequence[int]) -> Any:
        return ids[self.index] if self.fmt is None else self.fmt.format(ids[self.index])


@dataclass
class RecordSpec:
    """A row the write inserts with the journal's ``seq``; ``plan`` names the plan whose moved block it records."""

    table: str
    values: dict
    plan: int | None = None


@dataclass
class SpendOutcome:
    """What a spend wrote: the journal line, the moved block of each plan, created/updated block rows."""

    seq: int
    created_at: str
    moved: list[dict] = field(default_factory=list)
    created: list[dict] = field(default_factory=list)
    updated: list[dict] = field(default_factory=list)
    records: list[tuple[str, dict]] = field(default_factory=list)


def _lock_block_stmt(block_id: int):
    return (select(_B, _I.c.vintage_start, _I.c.vintage_end, _I.c.project_id, _I.c.labels, _P.c.country)
            .join(_I, _B.c.issuance_id == _I.c.id).join(_P, _I.c.project_id == _P.c.id)
            .where(_B.c.id == block_id).with_for_update(of=_B))


def _block_row(m: Mapping[str, Any]) -> BlockRow:
    return BlockRow(m["id"], m["issuance_id"], m["serial_start"], m["serial_end"], m["status"], m["account_id"],
                    m["parent_id"], m["project_id"], m["country"], m["vintage_start"], m["vintage_end"],
                    tuple(json.loads(m["labels"] or "[]")))


class CoreWriter:
    """Reads that lock and writes that journal, on one session's transaction (never commits)."""

    def __init__(self, session):
        self.session = session

    @property
    def conn(self):
        return self.session.connection()

    # ---------------------------------------------------------------- locking reads
    def lock_state(self) -> RegistryState:
        """The ORM state row, locked (for use cases that write through the ORM)."""
        return self.session.execute(select(RegistryState).where(RegistryState.id == 1).with_for_update()).scalar_one()

    def lock_block(self, block_id: int) -> BlockRow | None:
        m = self.conn.execute(_lock_block_stmt(block_id)).mappings().first()
        return None if m is None else _block_row(m)

    def lock_buffer_blocks(self, project_id: int) -> list[BlockRow]:
        stmt = (select(_B, _I.c.vintage_start, _I.c.vintage_end, _I.c.project_id, _I.c.labels, _P.c.country)
                .join(_I, _B.c.issuance_id == _I.c.id).join(_P, _I.c.project_id == _P.c.id)
                .where(_I.c.project_id == project_id, _B.c.account_id == BUFFER_ACCOUNT_ID, _B.c.status == "active")
                .order_by(_B.c.serial_start).with_for_update(of=_B))
        return [_block_row(m) for m in self.conn.execute(stmt).mappings()]

    def account_kind(self, account_id: int | None) -> str | None:
        if account_id is None:
            return None
        row = self.conn.execute(select(_A.c.kind).where(_A.c.id == account_id)).first()
        return None if row is None else row.kind

    # ---------------------------------------------------------------- journal (ORM use cases)
    def append(self, state: RegistryState, kind: str, payload: Mapping[str, Any], now: str) -> JournalEntry:
        """Append one journal line after the locked ``state`` and publish the new head."""
        body = ledger.canonical_json(payload)
        seq = state.journal_length + 1
        h = ledger.line_hash(seq, kind, now, body, state.journal_head)
        entry = JournalEntry(seq=seq, kind=kind, created_at=now, payload=body, prev_hash=state.journal_head, hash=h)
        self.session.add(entry)
        state.journal_length, state.journal_head = seq, h
        return entry

    # ---------------------------------------------------------------- the spend path
    def spend(self, kind: str, args: Mapping[str, Any], plans: Sequence[SpendPlan], records: Sequence[RecordSpec],
              *, program: str) -> SpendOutcome:
        """Carry out ``plans`` (blocks already locked), insert ``records`` and append one journal line."""
        conn = self.conn
        n_cert = sum(1 for r in records if r.table == "retirements")
        st = conn.execute(update(_S).where(_S.c.id == 1).values(
            journal_length=_S.c.journal_length + 1, next_certificate=_S.c.next_certificate + n_cert)
            .returning(_S.c.journal_length, _S.c.journal_head, _S.c.next_certificate)).one()
        out = SpendOutcome(st.journal_length, now_iso())
        for plan in plans:
            b = plan.block.row()
            if not plan.partial:
                conn.execute(update(_B).where(_B.c.id == b["id"]).values(status=plan.status,
                                                                         account_id=plan.account_id))
                moved = b | {"status": plan.status, "account_id": plan.account_id}
                out.updated.append(moved)
                out.moved.append(moved)
                continue
            kids = [{"issuance_id": b["issuance_id"], "serial_start": x.serial_start, "serial_end": x.serial_end,
                     "status": x.status, "account_id": x.account_id, "parent_id": b["id"]}
                    for x in (plan.head, plan.tail)]
            ids = conn.execute(insert(_B).returning(_B.c.id, sort_by_parameter_order=True), kids).scalars().all()
            head, tail = ({"id": i} | k for i, k in zip(ids, kids))
            conn.execute(update(_B).where(_B.c.id == b["id"]).values(status="superseded"))
            out.updated.append(b | {"status": "superseded"})
            out.created += [head, tail]
            out.moved.append(head)
        rec_ids: list[int] = []
        cert = st.next_certificate - n_cert
        for spec in records:
            vals = self._record_values(spec, out, rec_ids, program, cert)
            if spec.table == "retirements":
                cert += 1
            table = ledger_table(spec.table)
            rid = conn.execute(insert(table).returning(table.c.id), vals).scalar_one()
            rec_ids.append(rid)
            out.records.append((spec.table, {"id": rid} | vals))
        line = self._line(kind, args, out, st.journal_head)
        conn.execute(insert(_J).values(**line))
        conn.execute(update(_S).where(_S.c.id == 1).values(journal_head=line["hash"]))
        return out

    @staticmethod
    def _record_values(spec: RecordSpec, out: SpendOutcome, rec_ids: list[int], program: str, cert: int) -> dict:
        vals = {k: (v.resolve(rec_ids) if isinstance(v, Ref) else v) for k, v in spec.values.items()}
        if spec.plan is not None:
            vals["block_id"] = out.moved[spec.plan]["id"]
        if spec.table == "retirements":
            vals["certificate_number"] = f"{program}-RET-{cert:09d}"
            vals["retired_at"] = out.created_at
        vals["journal_seq"] = out.seq
        return vals

    @staticmethod
    def _line(kind: str, args: Mapping[str, Any], out: SpendOutcome, prev_hash: str) -> dict:
        payload: dict[str, Any] = {"args": dict(args), "created": {}, "updated": {}}
        if out.created:
            payload["created"]["blocks"] = [_journal_block(x) for x in out.created]
        for table, row in out.records:
            payload["created"].setdefault(table, []).append(row)
        payload["updated"]["blocks"] = [_journal_block(x) for x in out.updated]
        body = ledger.canonical_json(payload)
        h = ledger.line_hash(out.seq, kind, out.created_at, body, prev_hash)
        return {"seq": out.seq, "kind": kind, "created_at": out.created_at, "payload": body, "prev_hash": prev_hash,
                "hash": h}


def _journal_block(x: Mapping[str, Any]) -> dict:
    return {k: x[k] for k in ("id", "issuance_id", "serial_start", "serial_end", "status", "account_id", "parent_id")}


def ledger_table(name: str):
    from reddplus.registry.models import Base

    return Base.metadata.tables[name]


class PgWriter(CoreWriter):
    """PostgreSQL: ids from the sequences with the head's lock, then every write in one pipeline."""

    def spend(self, kind: str, args: Mapping[str, Any], plans: Sequence[SpendPlan], records: Sequence[RecordSpec],
              *, program: str) -> SpendOutcome:
        conn = self.conn
        n_blocks = 2 * sum(1 for p in plans if p.partial)
        n_cert = sum(1 for r in records if r.table == "retirements")
        draws = [f"nextval('blocks_id_seq') AS b{i}" for i in range(n_blocks)]
        draws += [f"nextval('{r.table}_id_seq') AS r{i}" for i, r in enumerate(records)]
        st = conn.execute(text(
            "UPDATE registry_state SET journal_length = journal_length + 1, "
            "next_certificate = next_certificate + :c WHERE id = 1 RETURNING journal_length, journal_head, "
            "next_certificate" + "".join(", " + d for d in draws)), {"c": n_cert}).mappings().one()
        out = SpendOutcome(st["journal_length"], now_iso())
        inserts, updates = [], []
        k = 0
        for plan in plans:
            b = plan.block.row()
            if not plan.partial:
                moved = b | {"status": plan.status, "account_id": plan.account_id}
                updates.append((plan.status, plan.account_id, b["id"]))
                out.updated.append(moved)
                out.moved.append(moved)
                continue
            head, tail = ({"id": st[f"b{k + j}"], "issuance_id": b["issuance_id"], "serial_start": x.serial_start,
                           "serial_end": x.serial_end, "status": x.status, "account_id": x.account_id,
                           "parent_id": b["id"]} for j, x in enumerate((plan.head, plan.tail)))
            k += 2
            inserts += [head, tail]
            updates.append(("superseded", b["account_id"], b["id"]))
            out.updated.append(b | {"status": "superseded"})
            out.created += [head, tail]
            out.moved.append(head)
        rec_ids: list[int] = [st[f"r{i}"] for i in range(len(records))]
        cert = st["next_certificate"] - n_cert
        for i, spec in enumerate(records):
            vals = {"id": rec_ids[i]} | self._record_values(spec, out, rec_ids, program, cert)
            if spec.table == "retirements":
                cert += 1
            out.records.append((spec.table, vals))
        line = self._line(kind, args, out, st["journal_head"])
        raw = conn.connection.driver_connection
        with raw.pipeline(), raw.cursor() as cur:
            if inserts:
                cur.executemany("INSERT INTO blocks (id, issuance_id, serial_start, serial_end, status, account_id, "
                                "parent_id) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                                [tuple(_journal_block(x).values()) for x in inserts])
            for status, account_id, block_id in updates:
                cur.execute("UPDATE blocks SET status = %s, account_id = %s WHERE id = %s",
                            (status, account_id, block_id))
            for table, vals in out.records:
                cols = list(vals)
                cur.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})",
                            [vals[c] for c in cols])
            cur.execute("INSERT INTO journal (seq, kind, created_at, payload, prev_hash, hash) "
                        "VALUES (%s, %s, %s, %s, %s, %s)", tuple(line.values()))
            cur.execute("UPDATE registry_state SET journal_head = %s WHERE id = 1", (line["hash"],))
        return out


def writer_for(session, dialect: str) -> CoreWriter:
    """The writer of this database's dialect."""
    return PgWriter(session) if dialect == "postgresql" else CoreWriter(session)
