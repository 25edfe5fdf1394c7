"""Pydantic models of the HTTP contract: request bodies (strict: no coercion of strings, booleans or
floats into integers) and responses (every route's JSON is built through one of these)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

Text = Annotated[str, Field(max_length=1000)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------------- requests
class ProjectIn(_Body):
    name: Annotated[StrictStr, Field(max_length=500)] = ""
    country: Annotated[StrictStr, Field(max_length=2)] = "XX"
    external_id: Annotated[StrictStr | None, Field(max_length=100)] = None
    proponent: Annotated[StrictStr | None, Field(max_length=500)] = None
    standard: Annotated[StrictStr | None, Field(max_length=40)] = None
    methodology: Annotated[StrictStr | None, Field(max_length=200)] = None
    status: Annotated[StrictStr | None, Field(max_length=60)] = None
    crediting_period_start: dt.date | None = None
    crediting_period_end: dt.date | None = None
    estimated_annual_ers: StrictInt | None = None
    labels: Annotated[list[StrictStr], Field(max_length=20)] = []
    boundary: dict[str, Any] | None = None


class AccountIn(_Body):
    name: Annotated[StrictStr, Field(min_length=1, max_length=200)]


class MonitoringPeriodIn(_Body):
    start: dt.date
    end: dt.date
    verified_quantity: StrictInt


class IssuanceIn(_Body):
    vintage_start: dt.date
    vintage_end: dt.date
    quantity: StrictInt
    buffer_percent: StrictInt | StrictFloat
    account_id: StrictInt
    monitoring_period_id: StrictInt | None = None
    manifest_sha256: StrictStr | None = None


class TransferIn(_Body):
    block_id: StrictInt
    quantity: StrictInt
    to_account_id: StrictInt


class SplitIn(_Body):
    block_id: StrictInt
    quantity: StrictInt


class RetirementIn(_Body):
    block_id: StrictInt
    quantity: StrictInt
    beneficiary: Annotated[StrictStr, Field(max_length=300)]
    reason: Annotated[StrictStr, Field(max_length=1000)]
    details: Annotated[StrictStr | None, Field(max_length=5000)] = None


class CancellationIn(_Body):
    block_id: StrictInt
    quantity: StrictInt
    reason: Annotated[StrictStr, Field(max_length=1000)]


class ReversalIn(_Body):
    quantity: StrictInt
    description: Annotated[StrictStr, Field(max_length=2000)]
    monitoring_period_id: StrictInt | None = None


class CcbVerificationIn(_Body):
    period_start: dt.date
    period_end: dt.date
    body: Annotated[StrictStr, Field(max_length=300)]
    date: dt.date
    outcome: Literal["APPROVED", "GOLD"]
    gold_levels: Annotated[list[Literal["GL1", "GL2", "GL3"]], Field(max_length=3)] = []


class LabelIn(_Body):
    label: Literal["CCB"]


# ---------------------------------------------------------------------------------- responses
class BlockOut(_Out):
    id: int
    issuance_id: int
    serial_start: int
    serial_end: int
    quantity: int
    status: str
    account_id: int
    serial: str
    labels: list[str]


class ProjectOut(_Out):
    id: int
    name: str
    country: str
    external_id: str | None
    proponent: str | None
    standard: str | None
    methodology: str | None
    status: str | None
    crediting_period_start: str | None
    crediting_period_end: str | None
    estimated_annual_ers: int | None
    labels: list[str]
    boundary: dict[str, Any] | None


class AccountOut(_Out):
    id: int
    name: str
    kind: str


class AccountViewOut(AccountOut):
    blocks: list[BlockOut]
    balance: int


class MonitoringPeriodOut(_Out):
    id: int
    project_id: int
    period_start: str
    period_end: str
    verified_quantity: int
    issued_quantity: int


class IssuanceOut(_Out):
    id: int
    project_id: int
    monitoring_period_id: int | None
    vintage_start: str
    vintage_end: str
    quantity: int
    buffer_quantity: int
    buffer_percent: str
    serial_start: int
    serial_end: int
    manifest_sha256: str | None
    labels: list[str]


class IssuanceWithBlocksOut(IssuanceOut):
    blocks: list[BlockOut]


class TransferOut(_Out):
    id: int
    block_id: int
    quantity: int
    to_account_id: int
    transferred_block: BlockOut
    blocks: list[BlockOut]


class SplitOut(_Out):
    id: int
    block_id: int
    blocks: list[BlockOut]


class _RetirementRecord(_Out):
    id: int
    block_id: int
    certificate_number: str
    quantity: int
    beneficiary: str
    reason: str
    details: str | None
    retired_at: str
    journal_seq: int
    serial: str
    labels: list[str]


class RetirementOut(_RetirementRecord):
    source_block_id: int
    blocks: list[BlockOut]
    certificate_url: str


class CancellationOut(_Out):
    id: int
    block_id: int
    quantity: int
    reason: str
    reversal_id: int | None
    journal_seq: int
    serial: str
    labels: list[str]
    source_block_id: int
    blocks: list[BlockOut]


class ReversalOut(_Out):
    id: int
    project_id: int
    quantity: int
    description: str
    journal_seq: int
    monitoring_period_id: int | None
    cancelled_blocks: list[BlockOut]


class CcbVerificationOut(_Out):
    id: int
    project_id: int
    period_start: str
    period_end: str
    body: str
    date: str
    outcome: str
    gold_levels: list[str]


class TotalsOut(_Out):
    issued: int
    retired: int
    cancelled: int
    buffer: int
    available: int


class ProjectTotalsOut(TotalsOut):
    project_id: int


class PublicRetirementOut(_RetirementRecord):
    project_id: int


class SerialOut(_Out):
    serial: str
    quantity: int
    blocks: list[BlockOut]


class HeadOut(_Out):
    length: int
    head: str


class PublicVerifyOut(HeadOut):
    ok: bool


class FullVerifyOut(PublicVerifyOut):
    bad_line: int | None
    message: str
    invariant_violations: list[str]


class InvariantsOut(_Out):
    ok: bool
    violations: list[str]


class BlocksPageOut(_Out):
    items: list[BlockOut]
    next_cursor: str | None


class ProjectsPageOut(_Out):
    items: list[ProjectOut]
    next_cursor: str | None


class CertificateCheckOut(_Out):
    ok: bool
    certificate_number: str
    retirement_id: int
    journal_seq: int
    journal_hash: str | None
    message: str
