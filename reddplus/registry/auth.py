"""Authentication: API tokens (create, list, revoke, expiry), server-side dashboard sessions, and a
rate limit on bad tokens and failed logins.

Tokens and session ids are random (``secrets``) and stored only as HMAC-SHA256 under the
registry secret. A listing shows a token's id and prefix, never the secret. The failed-attempt
log is a table, so every worker process shares one limit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import delete, func, select

from reddplus.registry.db import Database, UnitOfWork
from reddplus.registry.domain import PUBLIC, Principal, check_id
from reddplus.registry.errors import AuthenticationError, InvalidInputError, NotFoundError, RateLimitedError
from reddplus.registry.models import Account, ApiToken, BrowserSession, FailedAttempt

TOKEN_PREFIX_CHARS = 10


def hash_token(secret_key: str, token: str) -> str:
    """HMAC-SHA256 of an API token (or session id) under the registry secret."""
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def _utc(delta: dt.timedelta = dt.timedelta(0)) -> str:
    return (dt.datetime.now(dt.timezone.utc) + delta).isoformat(timespec="seconds")


@dataclass(frozen=True)
class RateLimit:
    """At most ``max_failures`` bad tokens or logins per client address in ``window_seconds`` [s]."""

    max_failures: int = 20
    window_seconds: float = 60.0


class Authenticator:
    def __init__(self, db: Database, secret_key: str, rate_limit: RateLimit = RateLimit(),
                 session_hours: float = 8.0):
        self.db = db
        self.secret_key = secret_key
        self.rate_limit = rate_limit
        self.session_hours = session_hours

    # ---------------------------------------------------------------- tokens
    def create_token(self, role: str, account_id: int | None, *, expires_at: dt.datetime | None = None) -> tuple[str, dict]:
        """A new token (returned once) and its listing row."""
        if role not in ("admin", "holder"):
            raise InvalidInputError(f"role must be admin or holder, got {role!r}")
        if role == "holder" and account_id is None:
            raise InvalidInputError("a holder token needs an account")
        if role == "admin" and account_id is not None:
            raise InvalidInputError("an admin token belongs to no holding account")
        if not self.secret_key:
            raise InvalidInputError("the registry has no secret key to hash tokens")
        token = "rp_" + secrets.token_urlsafe(32)
        exp = None
        if expires_at is not None:
            if expires_at.tzinfo is None:
                expires_at = expires_at.replace(tzinfo=dt.timezone.utc)
            if expires_at <= dt.datetime.now(dt.timezone.utc):
                raise InvalidInputError("a token's expiry must lie in the future")
            exp = expires_at.astimezone(dt.timezone.utc).isoformat(timespec="seconds")
        with UnitOfWork(self.db) as uow:
            if account_id is not None:
                acc = uow.session.get(Account, account_id)
                if acc is None or acc.kind != "holding":
                    raise NotFoundError(f"holding account {account_id} not found")
            row = ApiToken(token_hash=hash_token(self.secret_key, token), role=role, account_id=account_id,
                           revoked=False, prefix=token[:TOKEN_PREFIX_CHARS], created_at=_utc(), expires_at=exp)
            uow.session.add(row)
            uow.session.flush()
            info = _token_out(row)
            uow.commit()
        return token, info

    def list_tokens(self) -> list[dict]:
        with UnitOfWork(self.db, read_only=True) as uow:
            return [_token_out(t) for t in uow.session.execute(select(ApiToken).order_by(ApiToken.id)).scalars()]

    def revoke_token(self, *, token_id: int | None = None, prefix: str | None = None) -> dict:
        """Revoke one token by id or by its (unique) prefix, as :meth:`list_tokens` shows it or as the CLI
        prints it (a trailing ``…`` or ``...`` is dropped); its dashboard sessions end with it."""
        if prefix:
            prefix = prefix.strip().removesuffix("…").removesuffix("...")
        with UnitOfWork(self.db) as uow:
            stmt = select(ApiToken)
            if token_id is not None:
                stmt = stmt.where(ApiToken.id == check_id(token_id, "token id"))
            elif prefix:
                stmt = stmt.where(ApiToken.prefix == prefix)
            else:
                raise InvalidInputError("name the token by id or by prefix")
            rows = uow.session.execute(stmt).scalars().all()
            if not rows:
                raise NotFoundError("no such token")
            if len(rows) > 1:
                raise InvalidInputError("that prefix names several tokens; use the id")
            t = rows[0]
            if not t.revoked:
                t.revoked, t.revoked_at = True, _utc()
            uow.session.execute(delete(BrowserSession).where(BrowserSession.token_id == t.id))
            uow.session.flush()
            out = _token_out(t)
            uow.commit()
        return out

    def authenticate(self, token: str | None, client: str | None = None) -> Principal:
        """The caller of a bearer token; unknown, revoked and expired tokens are refused (and counted)."""
        if not token:
            return PUBLIC
        if client is not None:
            self.check_rate(client)
        h = hash_token(self.secret_key, token)
        with UnitOfWork(self.db, read_only=True) as uow:
            row = uow.session.execute(select(ApiToken.role, ApiToken.account_id, ApiToken.id, ApiToken.revoked,
                                             ApiToken.expires_at).where(ApiToken.token_hash == h)).first()
        if row is None or row.revoked or (row.expires_at is not None and row.expires_at <= _utc()):
            if client is not None:
                self.record_failure(client)
            raise AuthenticationError("unknown, revoked or expired token")
        return Principal(row.role, row.account_id, row.id)

    # ---------------------------------------------------------------- rate limit
    def check_rate(self, client: str) -> None:
        """At most ``max_failures`` failures in the sliding window; else :class:`RateLimitedError` whose
        ``retry_after`` [s] is when enough of them leave the window: the failure that must expire is the
        ``(n - max_failures + 1)``-th oldest of the ``n`` in the window."""
        now = time.time()
        window, most = self.rate_limit.window_seconds, self.rate_limit.max_failures
        with UnitOfWork(self.db, read_only=True) as uow:
            n = uow.session.execute(select(func.count()).select_from(FailedAttempt).where(
                FailedAttempt.client == client[:64], FailedAttempt.at >= now - window)).scalar_one()
            if n < most:
                return
            oldest = uow.session.execute(select(FailedAttempt.at).where(
                FailedAttempt.client == client[:64], FailedAttempt.at >= now - window)
                .order_by(FailedAttempt.at).offset(n - most).limit(1)).scalar_one()
        wait = max(1, math.ceil(oldest + window - now))
        raise RateLimitedError(f"too many failed authentications from this address; retry after {wait} s",
                               retry_after=wait)

    def record_failure(self, client: str) -> None:
        now = time.time()
        with UnitOfWork(self.db) as uow:
            uow.session.add(FailedAttempt(client=client[:64], at=now))
            uow.session.execute(delete(FailedAttempt).where(FailedAttempt.at < now - 10 * self.rate_limit.window_seconds))
            uow.commit()

    # ---------------------------------------------------------------- dashboard sessions
    def login(self, token: str, client: str | None = None) -> tuple[str, str, Principal]:
        """Open a server-side session for a valid token: ``(session id, csrf token, principal)``."""
        who = self.authenticate(token, client)
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        with UnitOfWork(self.db) as uow:
            uow.session.add(BrowserSession(session_hash=hash_token(self.secret_key, "session:" + sid),
                                           token_id=who.token_id, csrf=csrf, created_at=_utc(),
                                           expires_at=_utc(dt.timedelta(hours=self.session_hours))))
            uow.commit()
        return sid, csrf, who

    def session(self, sid: str | None) -> tuple[Principal, str | None]:
        """The principal and CSRF token of a live session (the public and ``None`` otherwise)."""
        if not sid:
            return PUBLIC, None
        h = hash_token(self.secret_key, "session:" + sid)
        with UnitOfWork(self.db, read_only=True) as uow:
            row = uow.session.execute(
                select(BrowserSession.csrf, BrowserSession.expires_at, ApiToken.role, ApiToken.account_id,
                       ApiToken.id, ApiToken.revoked, ApiToken.expires_at.label("token_expires"))
                .join(ApiToken, BrowserSession.token_id == ApiToken.id)
                .where(BrowserSession.session_hash == h)).first()
        now = _utc()
        if row is None or row.revoked or row.expires_at <= now or (row.token_expires and row.token_expires <= now):
            return PUBLIC, None
        return Principal(row.role, row.account_id, row.id), row.csrf

    def logout(self, sid: str | None) -> None:
        if not sid:
            return
        with UnitOfWork(self.db) as uow:
            uow.session.execute(delete(BrowserSession).where(
                BrowserSession.session_hash == hash_token(self.secret_key, "session:" + sid)))
            uow.commit()


def _token_out(t: ApiToken) -> dict:
    return {"id": t.id, "prefix": t.prefix, "role": t.role, "account_id": t.account_id, "created_at": t.created_at,
            "expires_at": t.expires_at, "revoked": bool(t.revoked), "revoked_at": t.revoked_at}
