"""Use cases of the registry: each one is one transaction (unit of work) and one or two journal lines.

Locking order (deadlock-free): the blocks a use case spends, in serial order, with
``SELECT ... FOR UPDATE`` (PostgreSQL; SQLite serialises writers with ``BEGIN IMMEDIATE``), then
the ``registry_state`` row that holds the journal head and the counters. Balance check and
write happen in the same transaction, so two concurrent retirements of the same credits cannot
both succeed.

Authorization is a domain rule here: the admin (registry operator) may do everything; a holder
acts only on blocks of its own account; the public only reads.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import json
import logging
import secrets
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any, Callable, Iterable, Mapping

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from reddplus.registry import ledger
from reddplus.registry.db import Database, UnitOfWork
from reddplus.registry.errors import (AuthenticationError, BlockStateError, ExceedsVerifiedError,
                                      IdempotencyInProgressError, IdempotencyMismatchError,
                                      InsufficientQuantityError, InvalidBufferPercentError, InvalidInputError,
                                      LedgerError, NotFoundError, OverlappingPeriodError, PermissionDeniedError)
from reddplus.registry.models import (BUFFER_ACCOUNT_ID, Account, ApiToken, Block, Cancellation, IdempotencyKey,
                                      Issuance, JournalEntry, MonitoringPeriod, Project, RegistryState, Retirement,
                                      Reversal)
from reddplus.registry.serials import format_serial, parse_serial

log = logging.getLogger(__name__)

_TABLE_MODELS = {"projects": Project, "accounts": Account, "monitoring_periods": MonitoringPeriod,
                 "issuances": Issuance, "blocks": Block, "retirements": Retirement,
                 "cancellations": Cancellation, "reversals": Reversal}


@dataclass(frozen=True)
class Principal:
    """Who calls: ``role`` is admin, holder or public; holders carry their ``account_id``."""

    role: str
    account_id: int | None = None
    token_id: int | None = None

    @property
    def key(self) -> str:
        return f"token:{self.token_id}" if self.token_id is not None else f"{self.role}"


PUBLIC = Principal("public")
#: the operator acting from the command line or tests (not an HTTP token)
OPERATOR = Principal("admin")


@dataclass(frozen=True)
class IdempotencyHandle:
    id: int


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any


def row_dict(obj) -> dict:
    """A model row as a JSON-like dict (dates as ISO strings), the journal's row format."""
    out = {}
    for col in obj.__table__.columns:
        val = getattr(obj, col.key)
        out[col.key] = val.isoformat() if isinstance(val, dt.date) else val
    return out


def hash_token(secret_key: str, token: str) -> str:
    """HMAC-SHA256 of an API token under the registry secret (tokens are never stored in clear)."""
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def buffer_quantity(quantity: int, buffer_percent: Decimal) -> int:
    """Credits withheld for the non-permanence buffer pool, rounded up (conservative) [tCO2e].

    .. math:: q_{buffer} = \\lceil q \\cdot p / 100 \\rceil

    VCS AFOLU Non-Permanence Risk Tool v4.2, section 2 (buffer credits are a percentage of the
    net change in carbon stocks; rounding up keeps the holder block from exceeding it).
    """
    return int((Decimal(quantity) * buffer_percent / 100).to_integral_value(rounding=ROUND_CEILING))


@dataclass(frozen=True)
class _BlockView:
    id: int
    status: str
    quantity: int


def _block_row(x: Mapping[str, Any]) -> dict:
    return {k: x[k] for k in ("id", "issuance_id", "serial_start", "serial_end", "status", "account_id", "parent_id")}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


class RegistryService:
    """The registry's use cases over one :class:`~reddplus.registry.db.Database`."""

    def __init__(self, db: Database, *, program: str = "RDDP", unit_type: str = "VCU", secret_key: str = ""):
        self.db = db
        self.program = program
        self.unit_type = unit_type
        self.secret_key = secret_key

    # ------------------------------------------------------------------ plumbing
    def _write(self, fn: Callable, *args, idem: IdempotencyHandle | None = None, status: int = 201, **kwargs):
        with UnitOfWork(self.db) as uow:
            body = fn(uow.session, *args, **kwargs)
            if idem is not None:
                uow.session.execute(update(IdempotencyKey).where(IdempotencyKey.id == idem.id).values(
                    state="done", status_code=status, response_body=ledger.canonical_json(body)))
            uow.commit()
        return body

    def _read(self, fn: Callable, *args, **kwargs):
        with UnitOfWork(self.db, read_only=True) as uow:
            return fn(uow.session, *args, **kwargs)

    @staticmethod
    def _lock_state(s) -> RegistryState:
        return s.execute(select(RegistryState).where(RegistryState.id == 1).with_for_update()).scalar_one()

    @staticmethod
    def _append(s, state: RegistryState, kind: str, payload: Mapping[str, Any], now: str) -> JournalEntry:
        text = ledger.canonical_json(payload)
        seq = state.journal_length + 1
        h = ledger.line_hash(seq, kind, now, text, state.journal_head)
        entry = JournalEntry(seq=seq, kind=kind, created_at=now, payload=text, prev_hash=state.journal_head, hash=h)
        s.add(entry)
        state.journal_length, state.journal_head = seq, h
        return entry

    @staticmethod
    def _effects(args: dict, created: Iterable = (), updated: Iterable = ()) -> dict:
        out: dict[str, Any] = {"args": args, "created": {}, "updated": {}}
        for key, objs in (("created", created), ("updated", updated)):
            for o in objs:
                out[key].setdefault(o.__tablename__, []).append(row_dict(o))
        return out

    @staticmethod
    def _require_admin(p: Principal) -> None:
        if p.role == "public":
            raise AuthenticationError("a bearer token is required")
        if p.role != "admin":
            raise PermissionDeniedError("only the registry operator (admin) may do this")

    @staticmethod
    def _require_owner(p: Principal, account_id: int) -> None:
        if p.role == "public":
            raise AuthenticationError("a bearer token is required")
        if p.role != "admin" and p.account_id != account_id:
            raise PermissionDeniedError("account holders act only on their own accounts")

    @staticmethod
    def _positive(quantity: Any, name: str = "quantity") -> int:
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise InvalidInputError(f"{name} must be a positive integer number of credits, got {quantity!r}")
        return quantity

    def _serial(self, s, block: Block) -> str:
        iss = s.get(Issuance, block.issuance_id)
        prj = s.get(Project, iss.project_id)
        return format_serial(iss.id, block.serial_start, block.serial_end, program=self.program,
                             unit_type=self.unit_type, country=prj.country, project=prj.id,
                             vintage_start=iss.vintage_start, vintage_end=iss.vintage_end)

    def _block_out(self, s, b: Block) -> dict:
        return {"id": b.id, "issuance_id": b.issuance_id, "serial_start": b.serial_start, "serial_end": b.serial_end,
                "quantity": b.quantity, "status": b.status, "account_id": b.account_id, "serial": self._serial(s, b)}

    # ------------------------------------------------------------------ tokens
    def create_token(self, role: str, account_name: str | None = None) -> str:
        """Create an API token (returned once, stored hashed). Holders get (or create) their account."""
        if role not in ("admin", "holder"):
            raise InvalidInputError(f"role must be admin or holder, got {role!r}")
        if role == "holder" and not account_name:
            raise InvalidInputError("a holder token needs --account NAME")
        if not self.secret_key:
            raise InvalidInputError("the registry has no secret key to hash tokens")
        account_id = None
        if role == "holder":
            with UnitOfWork(self.db, read_only=True) as uow:
                acc = uow.session.execute(select(Account).where(Account.name == account_name)).scalar_one_or_none()
            account_id = acc.id if acc is not None else self.create_account(OPERATOR, account_name)["id"]
        token = "rp_" + secrets.token_urlsafe(32)
        with UnitOfWork(self.db) as uow:
            uow.session.add(ApiToken(token_hash=hash_token(self.secret_key, token), role=role,
                                     account_id=account_id, revoked=False))
            uow.commit()
        return token

    def authenticate(self, token: str | None) -> Principal:
        if not token:
            return PUBLIC
        h = hash_token(self.secret_key, token)
        with UnitOfWork(self.db, read_only=True) as uow:
            row = uow.session.execute(select(ApiToken.role, ApiToken.account_id, ApiToken.id, ApiToken.revoked)
                                      .where(ApiToken.token_hash == h)).first()
        if row is None or row.revoked:
            raise AuthenticationError("unknown or revoked token")
        return Principal(row.role, row.account_id, row.id)

    # ------------------------------------------------------------------ idempotency
    def idempotency_begin(self, principal: Principal, key: str, request_hash: str) -> IdempotencyHandle | StoredResponse:
        """Claim ``key`` for this principal, or return the stored response of an earlier identical request.

        Same key + same body -> the stored response; same key + different body -> 422;
        same key while the first request is still running -> 409.
        """
        if not key or len(key) > 255:
            raise InvalidInputError("Idempotency-Key must have 1 to 255 characters")
        try:
            with UnitOfWork(self.db) as uow:
                row = IdempotencyKey(principal=principal.key, key=key, request_hash=request_hash, state="pending")
                uow.session.add(row)
                uow.session.flush()
                uow.commit()
                return IdempotencyHandle(row.id)
        except IntegrityError:
            pass
        with UnitOfWork(self.db, read_only=True) as uow:
            row = uow.session.execute(select(IdempotencyKey.request_hash, IdempotencyKey.state,
                                             IdempotencyKey.status_code, IdempotencyKey.response_body).where(
                IdempotencyKey.principal == principal.key, IdempotencyKey.key == key)).one()
        if row.request_hash != request_hash:
            raise IdempotencyMismatchError("this Idempotency-Key was used with a different request body")
        if row.state != "done":
            raise IdempotencyInProgressError("a request with this Idempotency-Key is still in progress")
        return StoredResponse(row.status_code, json.loads(row.response_body))

    def idempotency_fail(self, handle: IdempotencyHandle, status_code: int | None, body: Any) -> None:
        """Remember an error response (``status_code``) or forget the key (``None``: retry allowed)."""
        with UnitOfWork(self.db) as uow:
            if status_code is None:
                uow.session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == handle.id))
            else:
                uow.session.execute(update(IdempotencyKey).where(IdempotencyKey.id == handle.id).values(
                    state="done", status_code=status_code, response_body=ledger.canonical_json(body)))
            uow.commit()

    # ------------------------------------------------------------------ use cases: reference data
    def create_project(self, p: Principal, name: str = "", country: str = "XX", external_id: str | None = None,
                       *, idem: IdempotencyHandle | None = None) -> dict:
        self._require_admin(p)
        country = (country or "XX").upper()
        if len(country) != 2 or not country.isalpha():
            raise InvalidInputError(f"country must be an ISO 3166-1 alpha-2 code, got {country!r}")

        def uc(s):
            prj = Project(name=name or "unnamed project", country=country, external_id=external_id)
            s.add(prj)
            s.flush()
            state, now = self._lock_state(s), _now()
            self._append(s, state, "project", self._effects({"name": name}, [prj]), now)
            return {"id": prj.id, "name": prj.name, "country": prj.country, "external_id": external_id}
        return self._write(uc, idem=idem)

    def create_account(self, p: Principal, name: str, *, idem: IdempotencyHandle | None = None) -> dict:
        self._require_admin(p)
        if not name or not name.strip():
            raise InvalidInputError("account name must not be empty")

        def uc(s):
            state = self._lock_state(s)
            if s.execute(select(Account.id).where(Account.name == name)).first() is not None:
                raise LedgerError(f"an account named {name!r} exists", code="duplicate_account")
            acc = Account(name=name, kind="holding")
            s.add(acc)
            s.flush()
            self._append(s, state, "account", self._effects({"name": name}, [acc]), _now())
            return {"id": acc.id, "name": acc.name, "kind": acc.kind}
        return self._write(uc, idem=idem)

    def create_monitoring_period(self, p: Principal, project_id: int, start: dt.date, end: dt.date,
                                 verified_quantity: int, *, idem: IdempotencyHandle | None = None) -> dict:
        self._require_admin(p)
        if end < start:
            raise InvalidInputError("monitoring period ends before it starts")
        if isinstance(verified_quantity, bool) or not isinstance(verified_quantity, int) or verified_quantity < 0:
            raise InvalidInputError("verified_quantity must be a non-negative integer [tCO2e]")

        def uc(s):
            state = self._lock_state(s)
            if s.get(Project, project_id) is None:
                raise NotFoundError(f"project {project_id} not found")
            clash = s.execute(select(MonitoringPeriod.id).where(
                MonitoringPeriod.project_id == project_id, MonitoringPeriod.period_start <= end,
                MonitoringPeriod.period_end >= start)).first()
            if clash is not None:
                raise OverlappingPeriodError(f"monitoring period overlaps period {clash[0]} of project {project_id}")
            mp = MonitoringPeriod(project_id=project_id, period_start=start, period_end=end,
                                  verified_quantity=verified_quantity, issued_quantity=0)
            s.add(mp)
            s.flush()
            self._append(s, state, "monitoring_period", self._effects({"project_id": project_id}, [mp]), _now())
            return row_dict(mp)
        return self._write(uc, idem=idem)

    # ------------------------------------------------------------------ issuance
    def issue(self, p: Principal, project_id: int, vintage_start: dt.date, vintage_end: dt.date, quantity: int,
              buffer_percent: Any, account_id: int, monitoring_period_id: int | None = None,
              manifest_sha256: str | None = None, *, idem: IdempotencyHandle | None = None) -> dict:
        """Issue ``quantity`` credits [tCO2e]: a holder block and a buffer-pool block (``buffer_percent`` [%])."""
        self._require_admin(p)
        self._positive(quantity)
        try:
            pct = Decimal(str(buffer_percent))
        except (InvalidOperation, ValueError) as err:
            raise InvalidBufferPercentError(f"buffer_percent must be a number, got {buffer_percent!r}") from err
        if not pct.is_finite() or pct < 0 or pct > 100:
            raise InvalidBufferPercentError(f"buffer_percent must lie in 0..100, got {buffer_percent!r}")
        if vintage_end < vintage_start:
            raise InvalidInputError("vintage_end is before vintage_start")
        if manifest_sha256 is not None and (len(manifest_sha256) != 64 or
                                            any(c not in "0123456789abcdef" for c in manifest_sha256)):
            raise InvalidInputError("manifest_sha256 must be 64 lower-case hex digits")
        n_buffer = buffer_quantity(quantity, pct)

        def uc(s):
            state = self._lock_state(s)
            if s.get(Project, project_id) is None:
                raise NotFoundError(f"project {project_id} not found")
            acc = s.get(Account, account_id)
            if acc is None:
                raise NotFoundError(f"account {account_id} not found")
            if acc.kind != "holding":
                raise InvalidInputError(f"account {account_id} is a {acc.kind} account, not a holding account")
            updated = []
            if monitoring_period_id is not None:
                mp = s.get(MonitoringPeriod, monitoring_period_id, with_for_update=True)
                if mp is None or mp.project_id != project_id:
                    raise NotFoundError(f"monitoring period {monitoring_period_id} of project {project_id} not found")
                if vintage_start < mp.period_start or vintage_end > mp.period_end:
                    raise InvalidInputError("the vintage lies outside the monitoring period")
                if mp.issued_quantity + quantity > mp.verified_quantity:
                    raise ExceedsVerifiedError(
                        f"issuing {quantity} would exceed the verified {mp.verified_quantity} "
                        f"(already issued {mp.issued_quantity}) of monitoring period {mp.id}")
                mp.issued_quantity += quantity
                updated.append(mp)
            first = state.next_serial
            iss = Issuance(project_id=project_id, monitoring_period_id=monitoring_period_id,
                           vintage_start=vintage_start, vintage_end=vintage_end, quantity=quantity,
                           buffer_quantity=n_buffer, buffer_percent=str(pct), serial_start=first,
                           serial_end=first + quantity - 1, manifest_sha256=manifest_sha256)
            state.next_serial = first + quantity
            s.add(iss)
            s.flush()
            blocks = []
            n_holder = quantity - n_buffer
            holder = None
            if n_holder > 0:
                holder = Block(issuance_id=iss.id, serial_start=first, serial_end=first + n_holder - 1,
                               status="active", account_id=account_id)
                s.add(holder)
                blocks.append(holder)
            buf = None
            if n_buffer > 0:
                buf = Block(issuance_id=iss.id, serial_start=first + n_holder, serial_end=iss.serial_end,
                            status="active", account_id=BUFFER_ACCOUNT_ID)
                s.add(buf)
                blocks.append(buf)
            s.flush()
            now = _now()
            args = {"project_id": project_id, "quantity": quantity, "buffer_percent": str(pct),
                    "account_id": account_id}
            self._append(s, state, "issue", self._effects(args, [iss] + ([holder] if holder else []), updated), now)
            if buf is not None:
                self._append(s, state, "buffer_contribution",
                             self._effects({"issuance_id": iss.id, "quantity": n_buffer}, [buf]), now)
            out = row_dict(iss)
            out["blocks"] = [self._block_out(s, b) for b in blocks]
            return out
        return self._write(uc, idem=idem)

    # ------------------------------------------------------------------ spending blocks
    def _lock_block(self, s, block_id: int) -> Block:
        if isinstance(block_id, bool) or not isinstance(block_id, int):
            raise InvalidInputError("block_id must be an integer")
        b = s.execute(select(Block).where(Block.id == block_id).with_for_update()).scalar_one_or_none()
        if b is None:
            raise NotFoundError(f"block {block_id} not found")
        return b

    @staticmethod
    def _check_active(b, quantity: int) -> None:
        if b.status == "retired":
            raise BlockStateError(f"block {b.id} is already retired", code="already_retired")
        if b.status == "cancelled":
            raise BlockStateError(f"block {b.id} is cancelled", code="already_cancelled")
        if b.status == "superseded":
            raise BlockStateError(f"block {b.id} was split; use its current blocks", code="block_superseded")
        if quantity > b.quantity:
            raise InsufficientQuantityError(f"block {b.id} holds {b.quantity} credits, {quantity} requested")

    @staticmethod
    def _take(s, b: Block, quantity: int, status: str, account_id: int) -> tuple[Block, list, list]:
        """Move the first ``quantity`` serials of ``b`` to (status, account), splitting when partial."""
        if quantity == b.quantity:
            b.status, b.account_id = status, account_id
            return b, [], [b]
        head = Block(issuance_id=b.issuance_id, serial_start=b.serial_start,
                     serial_end=b.serial_start + quantity - 1, status=status, account_id=account_id, parent_id=b.id)
        tail = Block(issuance_id=b.issuance_id, serial_start=b.serial_start + quantity, serial_end=b.serial_end,
                     status="active", account_id=b.account_id, parent_id=b.id)
        b.status = "superseded"
        s.add_all([head, tail])
        s.flush()
        if head.quantity + tail.quantity != b.quantity:  # invariant 1, locally
            raise AssertionError("split does not conserve the block")
        return head, [head, tail], [b]

    # Spending a block (transfer, split, retire, cancel) is the hot path: SQLAlchemy Core, 7 statements.
    def _spend(self, p: Principal, kind: str, block_id: int, quantity: int, *, to_account_id: int | None = None,
               beneficiary: str | None = None, reason: str | None = None, details: str | None = None,
               idem: IdempotencyHandle | None = None) -> dict:
        self._positive(quantity)
        if isinstance(block_id, bool) or not isinstance(block_id, int):
            raise InvalidInputError("block_id must be an integer")
        B, I, P, S = Block.__table__, Issuance.__table__, Project.__table__, RegistryState.__table__
        new_status = {"transfer": "active", "split": "active", "retire": "retired", "cancel": "cancelled"}[kind]

        def uc(s):
            conn = s.connection()
            # 1. lock the block (row lock; SQLite holds the database lock since BEGIN IMMEDIATE)
            row = conn.execute(
                select(B, I.c.vintage_start, I.c.vintage_end, I.c.project_id, P.c.country)
                .join(I, B.c.issuance_id == I.c.id).join(P, I.c.project_id == P.c.id)
                .where(B.c.id == block_id).with_for_update(of=B)).mappings().first()
            if row is None:
                raise NotFoundError(f"block {block_id} not found")
            b = {c: row[c] for c in ("id", "issuance_id", "serial_start", "serial_end", "status", "account_id",
                                     "parent_id")}
            self._require_owner(p, b["account_id"])
            have = b["serial_end"] - b["serial_start"] + 1
            self._check_active(_BlockView(b["id"], b["status"], have), quantity)
            target_account = b["account_id"]
            if kind == "transfer":
                to = conn.execute(select(Account.__table__.c.kind).where(Account.__table__.c.id == to_account_id)).first()
                if to is None:
                    raise NotFoundError(f"account {to_account_id} not found")
                if to.kind != "holding":
                    raise InvalidInputError(f"account {to_account_id} is a {to.kind} account; "
                                            "transfer to a holding account")
                if to_account_id == b["account_id"]:
                    raise InvalidInputError("the block is already in that account")
                target_account = to_account_id
            if kind == "split" and quantity == have:
                raise InvalidInputError(f"a split needs a quantity below the block's {have}")
            created, updated = [], []
            partial = quantity < have
            pg = self.db.dialect == "postgresql"
            if not partial:
                moved = b | {"status": new_status, "account_id": target_account}
                updated.append(moved)
            else:
                head = {"issuance_id": b["issuance_id"], "serial_start": b["serial_start"],
                        "serial_end": b["serial_start"] + quantity - 1, "status": new_status,
                        "account_id": target_account, "parent_id": block_id}
                tail = {"issuance_id": b["issuance_id"], "serial_start": b["serial_start"] + quantity,
                        "serial_end": b["serial_end"], "status": "active", "account_id": b["account_id"],
                        "parent_id": block_id}
                updated.append(b | {"status": "superseded"})
            rec_table = {"retire": Retirement.__table__, "cancel": Cancellation.__table__}.get(kind)
            if pg:
                # PostgreSQL: ids come from the sequences together with the journal head, and all the
                # writes go in one pipelined round trip (the lock on the head is held for 2 round trips)
                st = conn.execute(text(
                    "UPDATE registry_state SET journal_length = journal_length + 1, "
                    "next_certificate = next_certificate + :c WHERE id = 1 RETURNING journal_length, journal_head, "
                    "next_certificate, nextval('blocks_id_seq') AS b1, nextval('blocks_id_seq') AS b2, "
                    + (f"nextval('{rec_table.name}_id_seq') AS rid" if rec_table is not None else "NULL AS rid")),
                    {"c": 1 if kind == "retire" else 0}).one()
                if partial:
                    head, tail = {"id": st.b1} | head, {"id": st.b2} | tail
                rec_id = st.rid
            else:
                if not partial:
                    conn.execute(update(B).where(B.c.id == block_id).values(status=new_status,
                                                                            account_id=target_account))
                else:
                    ids = conn.execute(insert(B).returning(B.c.id, sort_by_parameter_order=True),
                                       [head, tail]).scalars().all()
                    head, tail = {"id": ids[0]} | head, {"id": ids[1]} | tail
                    conn.execute(update(B).where(B.c.id == block_id).values(status="superseded"))
                # lock the journal head (and allocate a certificate number for a retirement)
                st = conn.execute(update(S).where(S.c.id == 1).values(
                    journal_length=S.c.journal_length + 1,
                    next_certificate=S.c.next_certificate + (1 if kind == "retire" else 0))
                    .returning(S.c.journal_length, S.c.journal_head, S.c.next_certificate)).one()
                rec_id = None
            if partial:
                moved = head
                created += [head, tail]
            seq, now = st.journal_length, _now()
            extra: dict[str, list] = {}
            out: dict[str, Any] = {}
            rec = None
            if kind == "retire":
                rec = {"block_id": moved["id"], "certificate_number": f"{self.program}-RET-{st.next_certificate - 1:09d}",
                       "quantity": quantity, "beneficiary": beneficiary, "reason": reason, "details": details,
                       "retired_at": now, "journal_seq": seq}
            elif kind == "cancel":
                rec = {"block_id": moved["id"], "quantity": quantity, "reason": reason, "reversal_id": None,
                       "journal_seq": seq}
            if rec is not None:
                if rec_id is None:
                    rec_id = conn.execute(insert(rec_table).returning(rec_table.c.id), rec).scalar_one()
                rec = {"id": rec_id} | rec
                extra[rec_table.name] = [rec]
                out = rec
            args = {"block_id": block_id, "quantity": quantity}
            if kind == "transfer":
                args["to_account_id"] = to_account_id
            payload = {"args": args, "created": {}, "updated": {}}
            if created:
                payload["created"]["blocks"] = [_block_row(x) for x in created]
            payload["created"].update(extra)
            payload["updated"]["blocks"] = [_block_row(x) for x in updated]
            text_ = ledger.canonical_json(payload)
            h = ledger.line_hash(seq, kind, now, text_, st.journal_head)
            journal = (seq, kind, now, text_, st.journal_head, h)
            if pg:
                raw = conn.connection.driver_connection
                with raw.pipeline(), raw.cursor() as cur:
                    if partial:
                        cur.executemany("INSERT INTO blocks (id, issuance_id, serial_start, serial_end, status, "
                                        "account_id, parent_id) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                                        [tuple(_block_row(x).values()) for x in (head, tail)])
                        cur.execute("UPDATE blocks SET status = 'superseded' WHERE id = %s", (block_id,))
                    else:
                        cur.execute("UPDATE blocks SET status = %s, account_id = %s WHERE id = %s",
                                    (new_status, target_account, block_id))
                    if rec is not None:
                        cols = list(rec)
                        cur.execute(f"INSERT INTO {rec_table.name} ({', '.join(cols)}) "
                                    f"VALUES ({', '.join(['%s'] * len(cols))})", [rec[c] for c in cols])
                    cur.execute("INSERT INTO journal (seq, kind, created_at, payload, prev_hash, hash) "
                                "VALUES (%s, %s, %s, %s, %s, %s)", journal)
                    cur.execute("UPDATE registry_state SET journal_head = %s WHERE id = 1", (h,))
            else:
                # append the journal line and publish the new head
                conn.execute(insert(JournalEntry.__table__).values(seq=seq, kind=kind, created_at=now, payload=text_,
                                                                   prev_hash=st.journal_head, hash=h))
                conn.execute(update(S).where(S.c.id == 1).values(journal_head=h))

            def view(x):
                return {"id": x["id"], "issuance_id": x["issuance_id"], "serial_start": x["serial_start"],
                        "serial_end": x["serial_end"], "quantity": x["serial_end"] - x["serial_start"] + 1,
                        "status": x["status"], "account_id": x["account_id"],
                        "serial": format_serial(x["issuance_id"], x["serial_start"], x["serial_end"],
                                                program=self.program, unit_type=self.unit_type,
                                                country=row["country"], project=row["project_id"],
                                                vintage_start=row["vintage_start"], vintage_end=row["vintage_end"])}
            blocks = [view(x) for x in (created or updated)]
            if kind == "transfer":
                return {"id": seq, "block_id": block_id, "quantity": quantity, "to_account_id": to_account_id,
                        "transferred_block": view(moved), "blocks": blocks}
            if kind == "split":
                return {"id": seq, "block_id": block_id, "blocks": blocks}
            return out | {"serial": view(moved)["serial"], "source_block_id": block_id, "blocks": blocks}
        return self._write(uc, idem=idem)

    def transfer(self, p: Principal, block_id: int, quantity: int, to_account_id: int,
                 *, idem: IdempotencyHandle | None = None) -> dict:
        """Move ``quantity`` credits [tCO2e] of a block to another holding account (splitting when partial)."""
        return self._spend(p, "transfer", block_id, quantity, to_account_id=to_account_id, idem=idem)

    def split(self, p: Principal, block_id: int, quantity: int, *, idem: IdempotencyHandle | None = None) -> dict:
        """Split a block into its first ``quantity`` credits and the rest (same account)."""
        return self._spend(p, "split", block_id, quantity, idem=idem)

    def retire(self, p: Principal, block_id: int, quantity: int, beneficiary: str, reason: str,
               details: str | None = None, *, idem: IdempotencyHandle | None = None) -> dict:
        """Retire ``quantity`` credits of a block for ``beneficiary``; returns the certificate."""
        self._positive(quantity)
        if not beneficiary or not beneficiary.strip():
            raise InvalidInputError("beneficiary must not be empty")
        if not reason or not reason.strip():
            raise InvalidInputError("reason must not be empty")
        return self._spend(p, "retire", block_id, quantity, beneficiary=beneficiary, reason=reason,
                           details=details, idem=idem)

    def cancel(self, p: Principal, block_id: int, quantity: int, reason: str,
               *, idem: IdempotencyHandle | None = None) -> dict:
        """Cancel ``quantity`` credits of a block (terminal), with a reason."""
        self._positive(quantity)
        if not reason or not reason.strip():
            raise InvalidInputError("reason must not be empty")
        return self._spend(p, "cancel", block_id, quantity, reason=reason, idem=idem)

    def reversal(self, p: Principal, project_id: int, quantity: int, description: str,
                 *, idem: IdempotencyHandle | None = None) -> dict:
        """Cancel ``quantity`` buffer credits of the project after a loss of carbon (never more than held)."""
        self._require_admin(p)
        self._positive(quantity)
        if not description or not description.strip():
            raise InvalidInputError("description must not be empty")

        def uc(s):
            if s.get(Project, project_id) is None:
                raise NotFoundError(f"project {project_id} not found")
            blocks = s.execute(select(Block).join(Issuance, Block.issuance_id == Issuance.id).where(
                Issuance.project_id == project_id, Block.account_id == BUFFER_ACCOUNT_ID,
                Block.status == "active").order_by(Block.serial_start).with_for_update(of=Block)).scalars().all()
            held = sum(b.quantity for b in blocks)
            if quantity > held:
                raise InsufficientQuantityError(f"the buffer pool holds {held} credits of project {project_id}; "
                                                f"a reversal of {quantity} exceeds it")
            state = self._lock_state(s)
            rev = Reversal(project_id=project_id, quantity=quantity, description=description,
                           journal_seq=state.journal_length + 1)
            s.add(rev)
            s.flush()
            created, updated, cancels = [], [], []
            left = quantity
            for b in blocks:
                if left == 0:
                    break
                q = min(left, b.quantity)
                target, c_, u_ = self._take(s, b, q, "cancelled", b.account_id)
                created += c_
                updated += u_
                c = Cancellation(block_id=target.id, quantity=q, reason=f"reversal {rev.id}: {description}",
                                 reversal_id=rev.id, journal_seq=rev.journal_seq)
                s.add(c)
                cancels.append(c)
                left -= q
            s.flush()
            self._append(s, state, "reversal", self._effects(
                {"project_id": project_id, "quantity": quantity}, [rev] + created + cancels, updated), _now())
            out = row_dict(rev)
            out["cancelled_blocks"] = [self._block_out(s, s.get(Block, c.block_id)) for c in cancels]
            return out
        return self._write(uc, idem=idem)

    # ------------------------------------------------------------------ reads
    def project_totals(self, project_id: int) -> dict:
        """Issued, retired, cancelled, buffer and available credits [tCO2e] of a project (one snapshot)."""
        def q(s):
            if s.get(Project, project_id) is None:
                raise NotFoundError(f"project {project_id} not found")
            return self._totals(s, Issuance.project_id == project_id) | {"project_id": project_id}
        return self._read(q)

    def overall_totals(self) -> dict:
        return self._read(lambda s: self._totals(s, None))

    @staticmethod
    def _totals(s, where) -> dict:
        qty = func.sum(Block.serial_end - Block.serial_start + 1)
        stmt = (select(Block.status, Account.kind, qty).join(Issuance, Block.issuance_id == Issuance.id)
                .join(Account, Block.account_id == Account.id).where(Block.status != "superseded")
                .group_by(Block.status, Account.kind))
        issued_stmt = select(func.coalesce(func.sum(Issuance.quantity), 0))
        if where is not None:
            stmt, issued_stmt = stmt.where(where), issued_stmt.where(where)
        out = {"issued": int(s.execute(issued_stmt).scalar_one()), "retired": 0, "cancelled": 0, "buffer": 0,
               "available": 0}
        for status, kind, n in s.execute(stmt):
            key = status if status != "active" else ("buffer" if kind == "buffer" else "available")
            out[key] += int(n)
        return out

    def list_blocks(self, project_id: int | None = None, account_id: int | None = None,
                    include_superseded: bool = False) -> list[dict]:
        def q(s):
            stmt = select(Block).join(Issuance, Block.issuance_id == Issuance.id).order_by(Block.serial_start)
            if project_id is not None:
                stmt = stmt.where(Issuance.project_id == project_id)
            if account_id is not None:
                stmt = stmt.where(Block.account_id == account_id)
            if not include_superseded:
                stmt = stmt.where(Block.status != "superseded")
            return [self._block_out(s, b) for b in s.execute(stmt).scalars()]
        return self._read(q)

    def account_view(self, p: Principal, account_id: int) -> dict:
        def q(s):
            acc = s.get(Account, account_id)
            if acc is None:
                raise NotFoundError(f"account {account_id} not found")
            self._require_owner(p, account_id)
            return {"id": acc.id, "name": acc.name, "kind": acc.kind}
        out = self._read(q)
        out["blocks"] = self.list_blocks(account_id=account_id)
        out["balance"] = sum(b["quantity"] for b in out["blocks"] if b["status"] == "active")
        return out

    def project_page(self, project_id: int) -> dict:
        """Everything the public project page shows, read in one snapshot."""
        def q(s):
            prj = s.get(Project, project_id)
            if prj is None:
                raise NotFoundError(f"project {project_id} not found")
            issuances = [row_dict(i) for i in s.execute(select(Issuance).where(
                Issuance.project_id == project_id).order_by(Issuance.id)).scalars()]
            rets = []
            for r, b in s.execute(select(Retirement, Block).join(Block, Retirement.block_id == Block.id)
                                  .join(Issuance, Block.issuance_id == Issuance.id)
                                  .where(Issuance.project_id == project_id).order_by(Retirement.id)):
                rets.append(row_dict(r) | {"serial": self._serial(s, b)})
            totals = self._totals(s, Issuance.project_id == project_id)
            return {"project": row_dict(prj), "totals": totals, "issuances": issuances, "retirements": rets}
        return self._read(q)

    def list_projects(self) -> list[dict]:
        return self._read(lambda s: [row_dict(p) for p in s.execute(select(Project).order_by(Project.id)).scalars()])

    def lookup_serial(self, serial: str) -> dict:
        """Blocks holding any serial of a (parsed, validated) serial string."""
        sr = parse_serial(serial)

        def q(s):
            iss = s.get(Issuance, sr.issuance)
            if iss is None or not (iss.serial_start <= sr.first and sr.last <= iss.serial_end):
                raise NotFoundError(f"serial {serial} does not belong to issuance {sr.issuance}")
            blocks = s.execute(select(Block).where(Block.issuance_id == iss.id, Block.status != "superseded",
                                                   Block.serial_start <= sr.last, Block.serial_end >= sr.first)
                               .order_by(Block.serial_start)).scalars()
            return {"serial": serial, "quantity": sr.quantity, "blocks": [self._block_out(s, b) for b in blocks]}
        return self._read(q)

    # ------------------------------------------------------------------ journal
    def journal_lines(self, after: int = 0, limit: int | None = None) -> list[dict]:
        def q(s):
            stmt = select(JournalEntry).where(JournalEntry.seq > after).order_by(JournalEntry.seq)
            if limit is not None:
                stmt = stmt.limit(limit)
            return [row_dict(e) for e in s.execute(stmt).scalars()]
        return self._read(q)

    def published_head(self) -> dict:
        """The published chain head ``{"length", "head"}`` (stored with every append)."""
        def q(s):
            st = s.get(RegistryState, 1)
            return {"length": st.journal_length, "head": st.journal_head}
        return self._read(q)

    def snapshot(self) -> ledger.LedgerState:
        """The stored derived tables as a :class:`~reddplus.registry.ledger.LedgerState`."""
        def q(s):
            st = ledger.LedgerState()
            for table, model in _TABLE_MODELS.items():
                st.tables[table] = {o.id: row_dict(o) for o in s.execute(select(model)).scalars()}
            return st
        return self._read(q)

    def verify_journal(self) -> dict:
        """Verify the hash chain, the published head and that replay reproduces the stored state.

        Returns ``{"ok", "length", "head", "bad_line", "message", "invariant_violations"}``.
        """
        def q(s):
            lines = [row_dict(e) for e in s.execute(select(JournalEntry).order_by(JournalEntry.seq)).scalars()]
            st = ledger.LedgerState()
            for table, model in _TABLE_MODELS.items():
                st.tables[table] = {o.id: row_dict(o) for o in s.execute(select(model)).scalars()}
            state = s.get(RegistryState, 1)
            return lines, st, state.journal_length, state.journal_head
        lines, stored, published_len, published_head = self._read(q)
        chain = ledger.verify_chain(lines)
        out = {"ok": chain.ok, "length": chain.length, "head": chain.head, "bad_line": chain.bad_line,
               "message": chain.message, "invariant_violations": []}
        if not chain.ok:
            return out
        if (published_len, published_head) != (chain.length, chain.head):
            return out | {"ok": False, "message": f"published head ({published_len}, {published_head}) differs "
                                                  f"from the chain ({chain.length}, {chain.head})"}
        try:
            replayed = ledger.replay(lines)
        except ledger.ReplayError as err:
            return out | {"ok": False, "bad_line": err.seq, "message": str(err)}
        if replayed != stored:
            return out | {"ok": False, "message": "replay differs from the stored state: " +
                          "; ".join(replayed.diff(stored, 3))}
        violations = ledger.check_invariants(stored)
        return out | {"ok": not violations, "invariant_violations": violations,
                      "message": "" if not violations else f"{len(violations)} invariant violations"}

    def invariants(self) -> dict:
        v = ledger.check_invariants(self.snapshot())
        return {"ok": not v, "violations": v}

    def export_csv(self, what: str, project_id: int | None = None) -> str:
        """CSV text of the public data: ``blocks``, ``issuances`` or ``retirements``."""
        if what == "blocks":
            rows = self.list_blocks(project_id=project_id)
        elif what == "issuances":
            def q(s):
                stmt = select(Issuance).order_by(Issuance.id)
                if project_id is not None:
                    stmt = stmt.where(Issuance.project_id == project_id)
                return [row_dict(i) for i in s.execute(stmt).scalars()]
            rows = self._read(q)
        elif what == "retirements":
            rows = (self.project_page(project_id)["retirements"] if project_id is not None else
                    [r for prj in self.list_projects() for r in self.project_page(prj["id"])["retirements"]])
        else:
            raise NotFoundError(f"no export named {what!r}")
        buf = io.StringIO()
        if rows:
            w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
        return buf.getvalue()


def restore_journal(db: Database, lines: list[Mapping[str, Any]]) -> ledger.LedgerState:
    """Restore a journal backup into a fresh (migrated, empty) database and rebuild its state by replay.

    The chain is verified first; the derived tables are written from the replayed state.
    """
    chain = ledger.verify_chain(lines)
    if not chain.ok:
        from reddplus.registry.errors import JournalTamperedError
        raise JournalTamperedError(f"backup journal invalid: {chain.message}")
    state = ledger.replay(lines)
    with UnitOfWork(db) as uow:
        s = uow.session
        if s.execute(select(func.count()).select_from(JournalEntry)).scalar_one():
            raise LedgerError("restore needs an empty registry", code="not_empty")
        for table in ("projects", "accounts", "monitoring_periods", "issuances", "blocks", "reversals",
                      "retirements", "cancellations"):   # foreign-key order
            model = _TABLE_MODELS[table]
            for rid, row in sorted(state.tables[table].items()):
                if table == "accounts" and rid in ledger.SEED_ACCOUNTS:
                    continue
                vals = {}
                for col in model.__table__.columns:
                    v = row[col.key]
                    if v is not None and isinstance(col.type, __import__("sqlalchemy").Date):
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
            from sqlalchemy import text
            for table in ledger.TABLES:
                s.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))"))
        uow.commit()
    return state
