"""Idempotency keys: one stored response per (caller, ``Idempotency-Key``), claimed only after the
caller is authenticated (so anonymous requests never write), and forgotten after an expiry.

Same key + same request -> the stored response; same key + another request -> 422; the same key
while the first request runs -> 409. A successful response is stored in the use case's own
transaction (:func:`mark_done`), an error response afterwards (:func:`IdempotencyStore.fail`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from reddplus.registry import ledger
from reddplus.registry.db import Database, UnitOfWork
from reddplus.registry.domain import Principal, require_authenticated
from reddplus.registry.errors import IdempotencyInProgressError, IdempotencyMismatchError, InvalidInputError
from reddplus.registry.models import IdempotencyKey

#: default lifetime of a stored response [h]
DEFAULT_TTL_HOURS = 24.0


@dataclass(frozen=True)
class IdempotencyHandle:
    id: int


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any


def _utc(hours: float = 0.0) -> str:
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=hours)).isoformat(timespec="milliseconds")


def mark_done(session, handle: IdempotencyHandle | None, status: int, body: Any) -> None:
    """Store the response of a successful use case inside its own transaction (no commit here)."""
    if handle is not None:
        session.execute(update(IdempotencyKey).where(IdempotencyKey.id == handle.id).values(
            state="done", status_code=status, response_body=ledger.canonical_json(body)))


class IdempotencyStore:
    def __init__(self, db: Database, ttl_hours: float = DEFAULT_TTL_HOURS, pending_timeout_s: float = 30.0):
        self.db = db
        self.ttl_hours = ttl_hours
        #: a key still pending this long after its claim was abandoned (the server or database died
        #: mid-request, so its use case never committed) and may be claimed again
        self.pending_timeout_s = pending_timeout_s

    def begin(self, principal: Principal, key: str, request_hash: str) -> IdempotencyHandle | StoredResponse:
        """Claim ``key`` for an authenticated caller, or return the stored response of an identical request."""
        require_authenticated(principal)
        if not isinstance(key, str) or not key or len(key) > 255 or not key.isprintable():
            raise InvalidInputError("Idempotency-Key must have 1 to 255 printable characters")
        now = _utc()
        for _ in range(2):
            try:
                with UnitOfWork(self.db) as uow:
                    # an expired key is forgotten first (same transaction as the new claim)
                    uow.session.execute(delete(IdempotencyKey).where(
                        IdempotencyKey.principal == principal.key, IdempotencyKey.key == key,
                        IdempotencyKey.expires_at.is_not(None), IdempotencyKey.expires_at < now))
                    # an abandoned claim (pending, old) is forgotten too: its use case never committed,
                    # since a committed use case marks its key done in the same transaction
                    uow.session.execute(delete(IdempotencyKey).where(
                        IdempotencyKey.principal == principal.key, IdempotencyKey.key == key,
                        IdempotencyKey.state == "pending", IdempotencyKey.claimed_at.is_not(None),
                        IdempotencyKey.claimed_at < _utc(-self.pending_timeout_s / 3600)))
                    row = IdempotencyKey(principal=principal.key, key=key, request_hash=request_hash, state="pending",
                                         expires_at=_utc(self.ttl_hours), claimed_at=_utc())
                    uow.session.add(row)
                    uow.session.flush()
                    uow.commit()
                    return IdempotencyHandle(row.id)
            except IntegrityError:
                pass
            with UnitOfWork(self.db, read_only=True) as uow:
                row = uow.session.execute(select(IdempotencyKey.request_hash, IdempotencyKey.state,
                                                 IdempotencyKey.status_code, IdempotencyKey.response_body).where(
                    IdempotencyKey.principal == principal.key, IdempotencyKey.key == key)).first()
            if row is not None:
                break
        if row is None:
            raise IdempotencyInProgressError("a request with this Idempotency-Key is still in progress")
        if row.request_hash != request_hash:
            raise IdempotencyMismatchError("this Idempotency-Key was used with a different request body")
        if row.state != "done":
            raise IdempotencyInProgressError("a request with this Idempotency-Key is still in progress")
        return StoredResponse(row.status_code, json.loads(row.response_body))

    def fail(self, handle: IdempotencyHandle, status_code: int | None, body: Any) -> None:
        """Remember an error response (``status_code``) or forget the key (``None``: retry allowed)."""
        with UnitOfWork(self.db) as uow:
            if status_code is None:
                uow.session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == handle.id))
            else:
                uow.session.execute(update(IdempotencyKey).where(IdempotencyKey.id == handle.id).values(
                    state="done", status_code=status_code, response_body=ledger.canonical_json(body)))
            uow.commit()

    def purge_expired(self) -> int:
        with UnitOfWork(self.db) as uow:
            n = uow.session.execute(delete(IdempotencyKey).where(
                IdempotencyKey.expires_at.is_not(None), IdempotencyKey.expires_at < _utc())).rowcount
            uow.commit()
        return n
