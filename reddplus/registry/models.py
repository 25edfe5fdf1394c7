"""SQLAlchemy 2 models of the registry (schema created by the Alembic migration in ``alembic/``).

Quantities and serials are integers (1 credit = 1 serial = 1 tCO2e). The ``journal`` table is
append-only (database triggers refuse UPDATE and DELETE); every other table is derived state
that a replay of the journal reproduces (:mod:`reddplus.registry.ledger`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Date, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: block states; retired and cancelled are terminal, superseded means split into children
BLOCK_STATUSES = ("active", "retired", "cancelled", "superseded")
ACCOUNT_KINDS = ("holding", "buffer", "system")
ROLES = ("admin", "holder")
#: the accounts every registry starts with (seeded by the migration)
SYSTEM_ACCOUNT_ID = 1
BUFFER_ACCOUNT_ID = 2
GENESIS_HASH = "0" * 64


class Base(DeclarativeBase):
    pass


class RegistryState(Base):
    """One row (id 1): the published journal head and the registry-wide counters.

    Every write transaction locks this row last (after its blocks, in serial order), so journal
    lines are appended one at a time and serials/certificates are allocated without gaps.
    """

    __tablename__ = "registry_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    journal_length: Mapped[int] = mapped_column(BigInteger, nullable=False)
    journal_head: Mapped[str] = mapped_column(String(64), nullable=False)
    next_serial: Mapped[int] = mapped_column(BigInteger, nullable=False)
    next_certificate: Mapped[int] = mapped_column(BigInteger, nullable=False)


class Project(Base):
    """A project record as registries keep it (Verra registry project page fields).

    ``labels`` is canonical JSON of a sorted list (programme labels such as ``CCB``);
    ``boundary`` a GeoJSON geometry or feature (EPSG:4326); ``attributes`` canonical JSON of the
    source registry's other fields (kept for a byte-stable export).
    """

    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(500), nullable=False)
    country: Mapped[str] = mapped_column(String(2), nullable=False, index=True)
    external_id: Mapped[str | None] = mapped_column(String(100))
    proponent: Mapped[str | None] = mapped_column(String(500))
    standard: Mapped[str | None] = mapped_column(String(40))
    methodology: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str | None] = mapped_column(String(60))
    crediting_period_start: Mapped[dt.date | None] = mapped_column(Date)
    crediting_period_end: Mapped[dt.date | None] = mapped_column(Date)
    estimated_annual_ers: Mapped[int | None] = mapped_column(BigInteger)
    labels: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    boundary: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[str] = mapped_column(Text, nullable=False, default="{}")


class MonitoringPeriod(Base):
    __tablename__ = "monitoring_periods"
    __table_args__ = (CheckConstraint("period_end >= period_start", name="ck_mp_dates"),
                      CheckConstraint("verified_quantity >= 0", name="ck_mp_verified"),
                      CheckConstraint("issued_quantity >= 0 AND issued_quantity <= verified_quantity",
                                      name="ck_mp_issued_le_verified"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), nullable=False, index=True)
    period_start: Mapped[dt.date] = mapped_column(Date, nullable=False)
    period_end: Mapped[dt.date] = mapped_column(Date, nullable=False)
    verified_quantity: Mapped[int] = mapped_column(BigInteger, nullable=False)
    issued_quantity: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)


class Issuance(Base):
    __tablename__ = "issuances"
    __table_args__ = (CheckConstraint("quantity > 0", name="ck_iss_quantity"),
                      CheckConstraint("serial_end - serial_start + 1 = quantity", name="ck_iss_range"),
                      CheckConstraint("buffer_quantity >= 0 AND buffer_quantity <= quantity", name="ck_iss_buffer"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), nullable=False, index=True)
    monitoring_period_id: Mapped[int | None] = mapped_column(ForeignKey("monitoring_periods.id"))
    vintage_start: Mapped[dt.date] = mapped_column(Date, nullable=False)
    vintage_end: Mapped[dt.date] = mapped_column(Date, nullable=False)
    quantity: Mapped[int] = mapped_column(BigInteger, nullable=False)
    buffer_quantity: Mapped[int] = mapped_column(BigInteger, nullable=False)
    buffer_percent: Mapped[str] = mapped_column(String(16), nullable=False)
    serial_start: Mapped[int] = mapped_column(BigInteger, nullable=False, unique=True)
    serial_end: Mapped[int] = mapped_column(BigInteger, nullable=False, unique=True)
    manifest_sha256: Mapped[str | None] = mapped_column(String(64))
    #: credit labels (canonical JSON list, e.g. ``["CCB"]``); blocks carry their issuance's labels
    labels: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    #: source-registry fields of an imported issuance (canonical JSON)
    attributes: Mapped[str] = mapped_column(Text, nullable=False, default="{}")


class CcbVerification(Base):
    """A CCB v3.1 verification: period covered, verification body, date, outcome (APPROVED or GOLD)."""

    __tablename__ = "ccb_verifications"
    __table_args__ = (CheckConstraint("period_end >= period_start", name="ck_ccb_dates"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), nullable=False, index=True)
    period_start: Mapped[dt.date] = mapped_column(Date, nullable=False)
    period_end: Mapped[dt.date] = mapped_column(Date, nullable=False)
    body: Mapped[str] = mapped_column(String(300), nullable=False)
    date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    gold_levels: Mapped[str] = mapped_column(String(40), nullable=False, default="[]")


class Block(Base):
    __tablename__ = "blocks"
    __table_args__ = (CheckConstraint("serial_end >= serial_start", name="ck_block_range"),
                      CheckConstraint("status IN ('active','retired','cancelled','superseded')", name="ck_block_status"),
                      Index("ix_blocks_issuance_serial", "issuance_id", "serial_start"),
                      Index("ix_blocks_account_status", "account_id", "status"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issuance_id: Mapped[int] = mapped_column(ForeignKey("issuances.id"), nullable=False)
    serial_start: Mapped[int] = mapped_column(BigInteger, nullable=False)
    serial_end: Mapped[int] = mapped_column(BigInteger, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), nullable=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("blocks.id"))

    @property
    def quantity(self) -> int:
        return self.serial_end - self.serial_start + 1


class Retirement(Base):
    __tablename__ = "retirements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    block_id: Mapped[int] = mapped_column(ForeignKey("blocks.id"), nullable=False, unique=True)
    certificate_number: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    quantity: Mapped[int] = mapped_column(BigInteger, nullable=False)
    beneficiary: Mapped[str] = mapped_column(String(300), nullable=False)
    reason: Mapped[str] = mapped_column(String(1000), nullable=False)
    details: Mapped[str | None] = mapped_column(Text)
    retired_at: Mapped[str] = mapped_column(String(40), nullable=False)
    journal_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)


class Cancellation(Base):
    __tablename__ = "cancellations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    block_id: Mapped[int] = mapped_column(ForeignKey("blocks.id"), nullable=False, unique=True)
    quantity: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reason: Mapped[str] = mapped_column(String(1000), nullable=False)
    reversal_id: Mapped[int | None] = mapped_column(ForeignKey("reversals.id"))
    journal_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)


class Reversal(Base):
    __tablename__ = "reversals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), nullable=False)
    quantity: Mapped[int] = mapped_column(BigInteger, nullable=False)
    description: Mapped[str] = mapped_column(String(2000), nullable=False)
    journal_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    #: the monitoring period whose negative net benefit the reversal compensates (VCS Standard 3.2.26)
    monitoring_period_id: Mapped[int | None] = mapped_column(ForeignKey("monitoring_periods.id"))


class JournalEntry(Base):
    """One hash-chained journal line: ``hash = sha256(seq|kind|created_at|payload|prev_hash)``."""

    __tablename__ = "journal"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    created_at: Mapped[str] = mapped_column(String(40), nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)


class ApiToken(Base):
    """API tokens, stored as HMAC-SHA256(secret_key, token) only."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    revoked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: the token's first characters (shown in listings; never the secret)
    prefix: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[str | None] = mapped_column(String(40))
    #: ISO timestamp (UTC) after which the token is refused; ``None``: no expiry
    expires_at: Mapped[str | None] = mapped_column(String(40))
    revoked_at: Mapped[str | None] = mapped_column(String(40))


class BrowserSession(Base):
    """A dashboard session (server side): the cookie holds a random id, stored hashed; logout deletes it."""

    __tablename__ = "browser_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id"), nullable=False)
    csrf: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[str] = mapped_column(String(40), nullable=False)
    expires_at: Mapped[str] = mapped_column(String(40), nullable=False)


class JournalCheckpoint(Base):
    """The longest journal prefix verified so far (chain and replay), so verification is incremental."""

    __tablename__ = "journal_checkpoints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    length: Mapped[int] = mapped_column(BigInteger, nullable=False)
    head: Mapped[str] = mapped_column(String(64), nullable=False)
    verified_at: Mapped[str] = mapped_column(String(40), nullable=False)


class FailedAttempt(Base):
    """Bad tokens and failed logins per client address (the rate limit's window)."""

    __tablename__ = "failed_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    at: Mapped[float] = mapped_column(Float, nullable=False)


class IdempotencyKey(Base):
    """Responses remembered per (principal, Idempotency-Key); ``state`` is pending or done."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("principal", "key", name="uq_idem_principal_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    principal: Mapped[str] = mapped_column(String(64), nullable=False)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    #: ISO timestamp (UTC) after which the key may be reused
    expires_at: Mapped[str | None] = mapped_column(String(40))
    #: when the key was claimed (a key still pending long after this was abandoned by a crash)
    claimed_at: Mapped[str | None] = mapped_column(String(40))
