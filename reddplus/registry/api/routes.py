"""HTTP routes under ``/api/v1`` (parse, call the service, return JSON; nothing else)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from reddplus.registry.api.deps import get_principal, get_service, run_post
from reddplus.registry.service import Principal, RegistryService

router = APIRouter(prefix="/api/v1")

Svc = Annotated[RegistryService, Depends(get_service)]
Caller = Annotated[Principal, Depends(get_principal)]
Text = Annotated[str, Field(max_length=1000)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProjectIn(_Body):
    name: Annotated[str, Field(max_length=200)] = ""
    country: Annotated[str, Field(max_length=2)] = "XX"
    external_id: Annotated[str | None, Field(max_length=100)] = None


class AccountIn(_Body):
    name: Annotated[str, Field(min_length=1, max_length=200)]


class MonitoringPeriodIn(_Body):
    start: dt.date
    end: dt.date
    verified_quantity: StrictInt


class IssuanceIn(_Body):
    vintage_start: dt.date
    vintage_end: dt.date
    quantity: StrictInt
    buffer_percent: float | int
    account_id: StrictInt
    monitoring_period_id: StrictInt | None = None
    manifest_sha256: str | None = None


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
    beneficiary: Annotated[str, Field(max_length=300)]
    reason: Text
    details: Annotated[str | None, Field(max_length=5000)] = None


class CancellationIn(_Body):
    block_id: StrictInt
    quantity: StrictInt
    reason: Text


class ReversalIn(_Body):
    quantity: StrictInt
    description: Annotated[str, Field(max_length=2000)]


def _dump(body: BaseModel) -> Any:
    return body.model_dump(mode="json")


# ---------------------------------------------------------------- writes
@router.post("/projects", status_code=201)
def create_project(request: Request, body: ProjectIn, svc: Svc, who: Caller):
    return run_post(request, who, svc.create_project, _dump(body), name=body.name, country=body.country,
                    external_id=body.external_id)


@router.post("/accounts", status_code=201)
def create_account(request: Request, body: AccountIn, svc: Svc, who: Caller):
    return run_post(request, who, svc.create_account, _dump(body), name=body.name)


@router.post("/projects/{project_id}/monitoring-periods", status_code=201)
def create_monitoring_period(request: Request, project_id: int, body: MonitoringPeriodIn, svc: Svc, who: Caller):
    return run_post(request, who, svc.create_monitoring_period, _dump(body), project_id=project_id,
                    start=body.start, end=body.end, verified_quantity=body.verified_quantity)


@router.post("/projects/{project_id}/issuances", status_code=201)
def issue(request: Request, project_id: int, body: IssuanceIn, svc: Svc, who: Caller):
    return run_post(request, who, svc.issue, _dump(body), project_id=project_id, vintage_start=body.vintage_start,
                    vintage_end=body.vintage_end, quantity=body.quantity, buffer_percent=body.buffer_percent,
                    account_id=body.account_id, monitoring_period_id=body.monitoring_period_id,
                    manifest_sha256=body.manifest_sha256)


@router.post("/transfers", status_code=201)
def transfer(request: Request, body: TransferIn, svc: Svc, who: Caller):
    return run_post(request, who, svc.transfer, _dump(body), block_id=body.block_id, quantity=body.quantity,
                    to_account_id=body.to_account_id)


@router.post("/splits", status_code=201)
def split(request: Request, body: SplitIn, svc: Svc, who: Caller):
    return run_post(request, who, svc.split, _dump(body), block_id=body.block_id, quantity=body.quantity)


@router.post("/retirements", status_code=201)
def retire(request: Request, body: RetirementIn, svc: Svc, who: Caller):
    return run_post(request, who, svc.retire, _dump(body), block_id=body.block_id, quantity=body.quantity,
                    beneficiary=body.beneficiary, reason=body.reason, details=body.details)


@router.post("/cancellations", status_code=201)
def cancel(request: Request, body: CancellationIn, svc: Svc, who: Caller):
    return run_post(request, who, svc.cancel, _dump(body), block_id=body.block_id, quantity=body.quantity,
                    reason=body.reason)


@router.post("/projects/{project_id}/reversals", status_code=201)
def reversal(request: Request, project_id: int, body: ReversalIn, svc: Svc, who: Caller):
    return run_post(request, who, svc.reversal, _dump(body), project_id=project_id, quantity=body.quantity,
                    description=body.description)


# ---------------------------------------------------------------- private reads
@router.get("/accounts/{account_id}")
def account(account_id: int, svc: Svc, who: Caller):
    return svc.account_view(who, account_id)


@router.get("/journal")
def journal(svc: Svc, who: Caller, after: Annotated[int, Query(ge=0)] = 0,
            limit: Annotated[int, Query(ge=1, le=100000)] = 1000):
    """Journal lines (the backup a restore replays); operator only."""
    svc._require_admin(who)
    return {"lines": svc.journal_lines(after=after, limit=limit)}


# ---------------------------------------------------------------- public reads
@router.get("/public/projects")
def public_projects(svc: Svc):
    return svc.list_projects()


@router.get("/public/projects/{project_id}")
def public_project(project_id: int, svc: Svc):
    t = svc.project_totals(project_id)
    return {k: t[k] for k in ("project_id", "issued", "retired", "cancelled", "buffer", "available")}


@router.get("/public/projects/{project_id}/retirements")
def public_retirements(project_id: int, svc: Svc):
    return svc.project_page(project_id)["retirements"]


@router.get("/public/blocks")
def public_blocks(svc: Svc, project_id: int | None = None):
    return svc.list_blocks(project_id=project_id)


@router.get("/public/serials/{serial}")
def public_serial(serial: str, svc: Svc):
    return svc.lookup_serial(serial)


@router.get("/public/totals")
def public_totals(svc: Svc):
    return svc.overall_totals()


@router.get("/public/export/{name}.csv", response_class=PlainTextResponse)
def export_csv(name: str, svc: Svc, project_id: int | None = None):
    text = svc.export_csv(name, project_id)
    return PlainTextResponse(text, media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@router.get("/journal/verify")
def journal_verify(svc: Svc):
    return svc.verify_journal()


@router.get("/journal/head")
def journal_head(svc: Svc):
    return svc.published_head()


@router.get("/invariants")
def invariants(svc: Svc):
    out = svc.invariants()
    return JSONResponse(out, status_code=200)
