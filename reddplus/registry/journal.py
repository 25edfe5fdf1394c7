"""Journal verification (full and incremental) and restore from a backup.

* :func:`verify_full` checks the whole hash chain, the published head, that a replay of every
  line reproduces the stored tables, and invariants 1-5. It is for the operator (and tests).
* :func:`verify_incremental` checks only the lines after the last verified checkpoint against
  the checkpoint's head, then advances the checkpoint: its cost is the number of new lines, so
  the public may call it (``GET /api/v1/journal/verify`` answers ``ok``/``length``/``head`` only).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from sqlalchemy import Date, func, select, text, update

from reddplus.registry import ledger
from reddplus.registry.db import Database, UnitOfWork
from reddplus.registry.errors import JournalTamperedError, LedgerError
from reddplus.registry.models import (Account, Block, Cancellation, CcbVerification, Issuance, JournalCheckpoint,
                                      JournalEntry, MonitoringPeriod, Project, RegistryState, Retirement, Reversal)
from reddplus.registry.repository import row_dict

TABLE_MODELS = {"projects": Project, "accounts": Account, "monitoring_periods": MonitoringPeriod,
                "issuances": Issuance, "blocks": Block, "retirements": Retirement,
                "cancellations": Cancellation, "reversals": Reversal, "ccb_verifications": CcbVerification}
#: foreign-key order of the derived tables
INSERT_ORDER = ("projects", "accounts", "monitoring_periods", "issuances", "blocks", "reversals", "retirements",
                "cancellations", "ccb_verifications")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def stored_state(s) -> ledger.LedgerState:
    st = ledger.LedgerState()
    for table, model in TABLE_MODELS.items():
        st.tables[table] = {o.id: row_dict(o) for o in s.execute(select(model)).scalars()}
    return st


def verify_full(db: Database) -> dict:
    """``{"ok", "length", "head", "bad_line", "message", "invariant_violations"}`` of the whole journal."""
    with UnitOfWork(db, read_only=True) as uow:
        s = uow.session
        lines = [row_dict(e) for e in s.execute(select(JournalEntry).order_by(JournalEntry.seq)).scalars()]
        stored = stored_state(s)
        state = s.get(RegistryState, 1)
        published = (state.journal_length, state.journal_head)
    chain = ledger.verify_chain(lines)
    out = {"ok": chain.ok, "length": chain.length, "head": chain.head, "bad_line": chain.bad_line,
           "message": chain.message, "invariant_violations": []}
    if not chain.ok:
        return out
    if published != (chain.length, chain.head):
        return out | {"ok": False, "message": f"published head {published} differs from the chain "
                                              f"({chain.length}, {chain.head})"}
    try:
        replayed = ledger.replay(lines)
    except ledger.ReplayError as err:
        return out | {"ok": False, "bad_line": err.seq, "message": str(err)}
    if replayed != stored:
        return out | {"ok": False, "message": "replay differs from the stored state: " +
                      "; ".join(replayed.diff(stored, 3))}
    violations = ledger.check_invariants(stored)
    out |= {"ok": not violations, "invariant_violations": violations,
            "message": "" if not violations else f"{len(violations)} invariant violations"}
    if out["ok"]:
        _save_checkpoint(db, chain.length, chain.head)
    return out


def _save_checkpoint(db: Database, length: int, head: str) -> None:
    try:
        with UnitOfWork(db) as uow:
            cp = uow.session.get(JournalCheckpoint, 1)
            if cp is None:
                uow.session.add(JournalCheckpoint(id=1, length=length, head=head, verified_at=_now()))
            elif length > cp.length:
                cp.length, cp.head, cp.verified_at = length, head, _now()
            uow.commit()
    except LedgerError:
        raise
    except Exception:   # a cache: losing a race to another verifier is harmless
        pass


def verify_incremental(db: Database, batch: int = 5000) -> dict:
    """``{"ok", "length", "head"}``: the chain from the last checkpoint to the published head."""
    with UnitOfWork(db, read_only=True) as uow:
        s = uow.session
        cp = s.get(JournalCheckpoint, 1)
        state = s.get(RegistryState, 1)
        published = (state.journal_length, state.journal_head)
        length, head = (cp.length, cp.head) if cp is not None else (0, ledger.GENESIS_HASH)
        if length:
            anchor = s.get(JournalEntry, length)
            if anchor is None or anchor.hash != head or ledger.line_hash(
                    anchor.seq, anchor.kind, anchor.created_at, anchor.payload, anchor.prev_hash) != head:
                return {"ok": False, "length": published[0], "head": published[1]}
    ok = True
    while ok and length < published[0]:
        with UnitOfWork(db, read_only=True) as uow:
            lines = [row_dict(e) for e in uow.session.execute(
                select(JournalEntry).where(JournalEntry.seq > length, JournalEntry.seq <= published[0])
                .order_by(JournalEntry.seq).limit(batch)).scalars()]
        if not lines:
            ok = False
            break
        prev, n = head, length
        for line in lines:
            if int(line["seq"]) != n + 1 or line["prev_hash"] != prev or line["hash"] != ledger.line_hash(
                    int(line["seq"]), line["kind"], line["created_at"], line["payload"], line["prev_hash"]):
                ok = False
                break
            prev, n = line["hash"], n + 1
        length, head = n, prev
    ok = ok and (length, head) == published
    if ok:
        _save_checkpoint(db, length, head)
    return {"ok": ok, "length": published[0], "head": published[1]}


def restore(db: Database, lines: list[Mapping[str, Any]]) -> ledger.LedgerState:
    """Restore a journal backup into a fresh (migrated, empty) database and rebuild its state by replay.

    The chain is verified first; the derived tables are written from the replayed state.
    """
    chain = ledger.verify_chain(lines)
    if not chain.ok:
        raise JournalTamperedError(f"backup journal invalid: {chain.message}")
    state = ledger.replay(lines)
    with UnitOfWork(db) as uow:
        s = uow.session
        if s.execute(select(func.count()).select_from(JournalEntry)).scalar_one():
            raise LedgerError("restore needs an empty registry", code="not_empty")
        for table in INSERT_ORDER:
            model = TABLE_MODELS[table]
            for rid, row in sorted(state.tables[table].items()):
                if table == "accounts" and rid in ledger.SEED_ACCOUNTS:
                    continue
                vals = {}
                for col in model.__table__.columns:
                    v = row.get(col.key)
                    if v is not None and isinstance(col.type, Date):
                        v = dt.date.fromisoformat(v)
                    vals[col.key] = v
                s.execute(model.__table__.insert().values(**vals))
        for line in lines:
            s.execute(JournalEntry.__table__.insert().values(**{k: line[k] for k in (
                "seq", "kind", "created_at", "payload", "prev_hash", "hash")}))
        max_serial = max((r["serial_end"] for r in state.tables["issuances"].values()), default=0)
        n_cert = len(state.tables["retirements"])
        s.execute(update(RegistryState).where(RegistryState.id == 1).values(
            journal_length=chain.length, journal_head=chain.head, next_serial=max_serial + 1,
            next_certificate=n_cert + 1))
        if db.dialect == "postgresql":
            for table in ledger.TABLES:
                s.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))"))
        uow.commit()
    return state
