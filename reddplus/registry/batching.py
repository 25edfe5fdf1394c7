"""Group commit for the hot path: spends (transfer, split, retire, cancel) from many threads are
planned and written by one writer thread, many per transaction.

Why: every write appends to the hash chain, so it holds the journal head's row lock until it
commits; with durable commits the chain is then bounded by one WAL flush and a few round trips per
write. A batch locks the head once, locks all its blocks in one statement (in id order, so two
processes cannot deadlock on them), plans every spend in Python with
:func:`~reddplus.registry.domain.plan_spend` against the batch's own view of the blocks (a block
spent earlier in the batch is seen as spent), seals the journal lines one after the other
(seq, prev_hash, hash: the chain is in commit order), and writes everything with a handful of
multi-row statements and one commit.

Semantics stay those of one use case per spend: a refused spend (already retired, insufficient
quantity, ...) writes nothing and its caller gets the error; a caller returns only after the batch
that holds its spend has committed (durable). If a batch fails as a whole (a lost connection), every
caller in it gets the error, and nothing of the batch was written.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, insert, select, text, update

from reddplus.registry import ledger
from reddplus.registry.db import Database, UnitOfWork
from reddplus.registry.domain import BlockRow, Principal, plan_spend
from reddplus.registry.errors import LedgerError, NotFoundError
from reddplus.registry.models import (BUFFER_ACCOUNT_ID, Account, Block, Cancellation, IdempotencyKey, Issuance,
                                      JournalEntry, Project, RegistryState, Retirement)
from reddplus.registry.repository import _block_row, _journal_block, now_iso

log = logging.getLogger(__name__)
_B, _I, _P, _S, _A = (Block.__table__, Issuance.__table__, Project.__table__, RegistryState.__table__,
                      Account.__table__)


@dataclass
class SpendRequest:
    principal: Principal
    kind: str
    block_id: int
    quantity: int
    to_account_id: int | None = None
    record: dict | None = None
    idem: Any = None
    #: builds the response body from ``(moved row, parent BlockRow, rows, record, seq)``
    respond: Any = None
    future: Future = field(default_factory=Future)


class SpendBatcher:
    """One writer thread per process; :meth:`submit` blocks until the spend's batch committed."""

    def __init__(self, db: Database, *, program: str, max_batch: int = 200):
        self.db = db
        self.program = program
        self.max_batch = max_batch
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="registry-spend-batcher", daemon=True)
        self._thread.start()

    def submit(self, req: SpendRequest) -> dict:
        """The response body of the spend, once its batch has committed."""
        if self._stop.is_set():
            raise RuntimeError("the spend batcher is closed")
        self._q.put(req)
        return req.future.result()

    def close(self) -> None:
        self._stop.set()
        self._q.put(None)
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while True:
            first = self._q.get()
            if first is None:
                break
            items = [first]
            while len(items) < self.max_batch:
                try:
                    nxt = self._q.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._stop.set()
                    break
                items.append(nxt)
            try:
                self._run(items)
            except BaseException as err:
                log.warning("spend batch of %d failed: %s", len(items), err)
                for it in items:
                    if not it.future.done():
                        it.future.set_exception(err)
            if self._stop.is_set() and self._q.empty():
                break

    # ------------------------------------------------------------------ one batch = one transaction
    def _run(self, items: list[SpendRequest]) -> None:
        with UnitOfWork(self.db) as uow:
            conn = uow.session.connection()
            st = conn.execute(select(_S.c.journal_length, _S.c.journal_head, _S.c.next_certificate)
                              .where(_S.c.id == 1).with_for_update()).one()
            length, head, cert = st.journal_length, st.journal_head, st.next_certificate
            ids = sorted({it.block_id for it in items})
            rows = conn.execute(
                select(_B, _I.c.vintage_start, _I.c.vintage_end, _I.c.project_id, _I.c.labels, _P.c.country)
                .join(_I, _B.c.issuance_id == _I.c.id).join(_P, _I.c.project_id == _P.c.id)
                .where(_B.c.id.in_(ids)).order_by(_B.c.id).with_for_update(of=_B)).mappings().all()
            blocks: dict[int, BlockRow] = {m["id"]: _block_row(m) for m in rows}
            targets = {it.to_account_id for it in items if it.kind == "transfer"}
            kinds = dict(conn.execute(select(_A.c.id, _A.c.kind).where(_A.c.id.in_(targets))).all()) if targets else {}
            n_new = 2 * len(items)
            n_rec = sum(1 for it in items if it.kind in ("retire", "cancel"))
            block_ids = self._draw(conn, "blocks", n_new)
            rec_ids = {"retirements": self._draw(conn, "retirements", n_rec),
                       "cancellations": self._draw(conn, "cancellations", n_rec)}
            new_blocks, block_updates, lines, results = [], [], [], []
            recs: dict[str, list] = {"retirements": [], "cancellations": []}
            for it in items:
                b = blocks.get(it.block_id)
                try:
                    if b is None:
                        raise NotFoundError(f"block {it.block_id} not found")
                    plan = plan_spend(it.principal, it.kind, b, it.quantity, buffer_account_id=BUFFER_ACCOUNT_ID,
                                      to_account_id=it.to_account_id, to_account_kind=kinds.get(it.to_account_id))
                except LedgerError as err:
                    results.append((it, err))
                    continue
                seq, now = length + 1, now_iso()
                row = b.row()
                created, updated = [], []
                if not plan.partial:
                    moved = row | {"status": plan.status, "account_id": plan.account_id}
                    updated.append(moved)
                    block_updates.append({"b_id": row["id"], "b_status": plan.status, "b_account": plan.account_id})
                    blocks[row["id"]] = _replace(b, moved)
                else:
                    head_row, tail_row = ({"id": block_ids.pop(), "issuance_id": row["issuance_id"],
                                           "serial_start": x.serial_start, "serial_end": x.serial_end,
                                           "status": x.status, "account_id": x.account_id, "parent_id": row["id"]}
                                          for x in (plan.head, plan.tail))
                    created = [head_row, tail_row]
                    new_blocks += created
                    updated.append(row | {"status": "superseded"})
                    block_updates.append({"b_id": row["id"], "b_status": "superseded", "b_account": row["account_id"]})
                    blocks[row["id"]] = _replace(b, updated[0])
                    blocks[head_row["id"]] = _replace(b, head_row)
                    blocks[tail_row["id"]] = _replace(b, tail_row)
                    moved = head_row
                payload: dict[str, Any] = {"args": {"block_id": it.block_id, "quantity": it.quantity},
                                           "created": {}, "updated": {}}
                if it.kind == "transfer":
                    payload["args"]["to_account_id"] = it.to_account_id
                if created:
                    payload["created"]["blocks"] = [_journal_block(x) for x in created]
                rec = None
                table = {"retire": "retirements", "cancel": "cancellations"}.get(it.kind)
                if table:
                    rec = {"id": rec_ids[table].pop()} | dict(it.record or {}) | {"block_id": moved["id"],
                                                                                   "journal_seq": seq}
                    if table == "retirements":
                        rec["certificate_number"] = f"{self.program}-RET-{cert:09d}"
                        rec["retired_at"] = now
                        cert += 1
                    recs[table].append(rec)
                    payload["created"][table] = [rec]
                payload["updated"]["blocks"] = [_journal_block(x) for x in updated]
                body = ledger.canonical_json(payload)
                h = ledger.line_hash(seq, it.kind, now, body, head)
                lines.append({"seq": seq, "kind": it.kind, "created_at": now, "payload": body, "prev_hash": head,
                              "hash": h})
                length, head = seq, h
                results.append((it, (moved, b, created or updated, rec, seq)))
            if new_blocks:
                conn.execute(insert(_B), new_blocks)
            if block_updates:
                conn.execute(update(_B).where(_B.c.id == bindparam("b_id"))
                             .values(status=bindparam("b_status"), account_id=bindparam("b_account")), block_updates)
            for table, model in (("retirements", Retirement), ("cancellations", Cancellation)):
                if recs[table]:
                    conn.execute(insert(model.__table__), recs[table])
            if lines:
                conn.execute(insert(JournalEntry.__table__), lines)
                conn.execute(update(_S).where(_S.c.id == 1).values(journal_length=length, journal_head=head,
                                                                   next_certificate=cert))
            responses = {id(it): it.respond(res) for it, res in results if not isinstance(res, LedgerError)}
            # the idempotent responses are stored in the same transaction
            idems = [{"k_id": it.idem.id, "k_body": ledger.canonical_json(responses[id(it)])}
                     for it, res in results if not isinstance(res, LedgerError) and it.idem is not None]
            if idems:
                conn.execute(update(IdempotencyKey.__table__).where(IdempotencyKey.__table__.c.id == bindparam("k_id"))
                             .values(state="done", status_code=201, response_body=bindparam("k_body")), idems)
            uow.commit()
        for it, res in results:
            if isinstance(res, LedgerError):
                it.future.set_exception(res)
            else:
                it.future.set_result(responses[id(it)])

    def _draw(self, conn, table: str, n: int) -> list[int]:
        """``n`` ids of ``table`` (from its sequence on PostgreSQL; above the current maximum on SQLite,
        which holds the database lock for the whole batch)."""
        if n == 0:
            return []
        if self.db.dialect == "postgresql":
            ids = conn.execute(text(f"SELECT nextval('{table}_id_seq') FROM generate_series(1, :n)"), {"n": n}).scalars()
            return sorted(ids, reverse=True)
        top = conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")).scalar_one()
        return list(range(top + n, top, -1))


def _replace(b: BlockRow, row: dict) -> BlockRow:
    return BlockRow(row["id"], row["issuance_id"], row["serial_start"], row["serial_end"], row["status"],
                    row["account_id"], row["parent_id"], b.project_id, b.country, b.vintage_start, b.vintage_end,
                    b.labels)
