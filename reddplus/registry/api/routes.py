"""HTTP routes under ``/api/v1`` (parse, call the service, shape the response; nothing else)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import PlainTextResponse

from reddplus.registry.api import schemas as S
from reddplus.registry.api.deps import get_principal, get_service, run_post, shape
from reddplus.registry.domain import MAX_ID, Principal, require_admin
from reddplus.registry.service import RegistryService

router = APIRouter(prefix="/api/v1")

Svc = Annotated[RegistryService, Depends(get_service)]
Caller = Annotated[Principal, Depends(get_principal)]
OptId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int | None, Query(ge=1, le=5000)]


def _dump(body) -> dict:
    return body.model_dump(mode="json")


# ---------------------------------------------------------------- writes
@router.post("/projects", status_code=201, response_model=S.ProjectOut)
def create_project(request: Request, body: S.ProjectIn, svc: Svc, who: Caller):
    return run_post(request, who, svc.create_project, _dump(body), model=S.ProjectOut, **body.model_dump())


@router.post("/accounts", status_code=201, response_model=S.AccountOut)
def create_account(request: Request, body: S.AccountIn, svc: Svc, who: Caller):
    return run_post(request, who, svc.create_account, _dump(body), model=S.AccountOut, name=body.name)


@router.post("/projects/{project_id}/monitoring-periods", status_code=201, response_model=S.MonitoringPeriodOut)
def create_monitoring_period(request: Request, project_id: int, body: S.MonitoringPeriodIn, svc: Svc, who: Caller):
    return run_post(request, who, svc.create_monitoring_period, _dump(body), model=S.MonitoringPeriodOut,
                    project_id=project_id, start=body.start, end=body.end, verified_quantity=body.verified_quantity)


@router.post("/projects/{project_id}/issuances", status_code=201, response_model=S.IssuanceWithBlocksOut)
def issue(request: Request, project_id: int, body: S.IssuanceIn, svc: Svc, who: Caller):
    return run_post(request, who, svc.issue, _dump(body), model=S.IssuanceWithBlocksOut, project_id=project_id,
                    vintage_start=body.vintage_start, vintage_end=body.vintage_end, quantity=body.quantity,
                    buffer_percent=body.buffer_percent, account_id=body.account_id,
                    monitoring_period_id=body.monitoring_period_id, manifest_sha256=body.manifest_sha256)


@router.post("/transfers", status_code=201, response_model=S.TransferOut)
def transfer(request: Request, body: S.TransferIn, svc: Svc, who: Caller):
    return run_post(request, who, svc.transfer, _dump(body), model=S.TransferOut, block_id=body.block_id,
                    quantity=body.quantity, to_account_id=body.to_account_id)


@router.post("/splits", status_code=201, response_model=S.SplitOut)
def split(request: Request, body: S.SplitIn, svc: Svc, who: Caller):
    return run_post(request, who, svc.split, _dump(body), model=S.SplitOut, block_id=body.block_id,
                    quantity=body.quantity)


@router.post("/retirements", status_code=201, response_model=S.RetirementOut)
def retire(request: Request, body: S.RetirementIn, svc: Svc, who: Caller):
    return run_post(request, who, svc.retire, _dump(body), model=S.RetirementOut, block_id=body.block_id,
                    quantity=body.quantity, beneficiary=body.beneficiary, reason=body.reason, details=body.details)


@router.post("/cancellations", status_code=201, response_model=S.CancellationOut)
def cancel(request: Request, body: S.CancellationIn, svc: Svc, who: Caller):
    return run_post(request, who, svc.cancel, _dump(body), model=S.CancellationOut, block_id=body.block_id,
                    quantity=body.quantity, reason=body.reason)


@router.post("/projects/{project_id}/reversals", status_code=201, response_model=S.ReversalOut)
def reversal(request: Request, project_id: int, body: S.ReversalIn, svc: Svc, who: Caller):
    return run_post(request, who, svc.reversal, _dump(body), model=S.ReversalOut, project_id=project_id,
                    quantity=body.quantity, description=body.description,
                    monitoring_period_id=body.monitoring_period_id)


@router.post("/projects/{project_id}/ccb-verifications", status_code=201, response_model=S.CcbVerificationOut)
def ccb_verification(request: Request, project_id: int, body: S.CcbVerificationIn, svc: Svc, who: Caller):
    return run_post(request, who, svc.add_ccb_verification, _dump(body), model=S.CcbVerificationOut,
                    project_id=project_id, period_start=body.period_start, period_end=body.period_end,
                    body=body.body, date=body.date, outcome=body.outcome, gold_levels=body.gold_levels)


@router.post("/issuances/{issuance_id}/labels", status_code=201, response_model=S.IssuanceOut)
def label_issuance(request: Request, issuance_id: int, body: S.LabelIn, svc: Svc, who: Caller):
    return run_post(request, who, svc.label_issuance, _dump(body), model=S.IssuanceOut, issuance_id=issuance_id,
                    label=body.label)


# ---------------------------------------------------------------- private reads
@router.get("/accounts/{account_id}", response_model=S.AccountViewOut)
def account(account_id: int, svc: Svc, who: Caller):
    return shape(S.AccountViewOut, svc.account_view(who, account_id))


@router.get("/journal")
def journal(svc: Svc, who: Caller, after: Annotated[int, Query(ge=0, le=2**62)] = 0,
            limit: Annotated[int, Query(ge=1, le=100000)] = 1000):
    """Journal lines (the backup a restore replays); operator only."""
    require_admin(who)
    return {"lines": svc.journal_lines(after=after, limit=limit)}


@router.get("/journal/verify/full", response_model=S.FullVerifyOut)
def journal_verify_full(svc: Svc, who: Caller):
    """Full verification (chain, published head, replay, invariants) with details; operator only."""
    require_admin(who)
    return shape(S.FullVerifyOut, svc.verify_journal())


# ---------------------------------------------------------------- public reads
@router.get("/public/projects", response_model=list[S.ProjectOut])
def public_projects(request: Request, svc: Svc, q: Annotated[str | None, Query(max_length=200)] = None,
                    country: Annotated[str | None, Query(max_length=2)] = None,
                    methodology: Annotated[str | None, Query(max_length=200)] = None,
                    label: Annotated[str | None, Query(max_length=40)] = None, cursor: Cursor = None,
                    limit: Limit = None):
    """Projects (search by name, country, methodology, label); ``Link: <...>; rel="next"`` pages on."""
    page = svc.projects_page(cursor=cursor, limit=limit, q=q, country=country, methodology=methodology, label=label)
    return _paged(request, shape(S.ProjectOut, page["items"]), page["next_cursor"])


@router.get("/public/projects/{project_id}", response_model=S.ProjectTotalsOut)
def public_project(project_id: int, svc: Svc):
    t = svc.project_totals(project_id)
    return shape(S.ProjectTotalsOut, {k: t[k] for k in ("project_id", "issued", "retired", "cancelled", "buffer",
                                                       "available")})


@router.get("/public/projects/{project_id}/record", response_model=S.ProjectOut)
def public_project_record(project_id: int, svc: Svc):
    return shape(S.ProjectOut, svc.project(project_id))


@router.get("/public/projects/{project_id}/retirements", response_model=list[S.PublicRetirementOut])
def public_retirements(project_id: int, svc: Svc):
    return shape(S.PublicRetirementOut, svc.project_page(project_id)["retirements"])


@router.get("/public/blocks", response_model=list[S.BlockOut])
def public_blocks(request: Request, svc: Svc, project_id: OptId = None, cursor: Cursor = None, limit: Limit = None):
    """Non-superseded blocks in id order, one page (``limit``, default 500) at a time; the next page's
    cursor is in the ``Link`` and ``X-Next-Cursor`` headers."""
    page = svc.blocks_page(project_id=project_id, cursor=cursor, limit=limit)
    return _paged(request, shape(S.BlockOut, page["items"]), page["next_cursor"])


@router.get("/public/blocks/page", response_model=S.BlocksPageOut)
def public_blocks_page(svc: Svc, project_id: OptId = None, cursor: Cursor = None, limit: Limit = None):
    return shape(S.BlocksPageOut, svc.blocks_page(project_id=project_id, cursor=cursor, limit=limit))


@router.get("/public/serials/{serial}", response_model=S.SerialOut)
def public_serial(serial: Annotated[str, Path(max_length=300)], svc: Svc):
    return shape(S.SerialOut, svc.lookup_serial(serial))


@router.get("/public/totals", response_model=S.TotalsOut)
def public_totals(svc: Svc):
    return shape(S.TotalsOut, svc.overall_totals())


@router.get("/public/export/{name}.csv", response_class=PlainTextResponse)
def export_csv(request: Request, name: str, svc: Svc, project_id: OptId = None, cursor: Cursor = None, limit: Limit = None):
    text, nxt = svc.export_csv(name, project_id, cursor=cursor, limit=limit)
    headers = {"Content-Disposition": f'attachment; filename="{name}.csv"'}
    if nxt:
        headers |= {"X-Next-Cursor": nxt, "Link": next_link(request, nxt)}
    return PlainTextResponse(text, media_type="text/csv", headers=headers)


@router.get("/journal/verify", response_model=S.PublicVerifyOut)
def journal_verify(svc: Svc):
    """``ok``, ``length`` and ``head`` from an incremental check (details: ``/journal/verify/full``)."""
    return shape(S.PublicVerifyOut, svc.verify_public())


@router.get("/journal/head", response_model=S.HeadOut)
def journal_head(svc: Svc):
    return shape(S.HeadOut, svc.published_head())


@router.get("/invariants", response_model=S.InvariantsOut)
def invariants(svc: Svc):
    return shape(S.InvariantsOut, svc.invariants())


@router.get("/public/certificates/{retirement_id}/verify", response_model=S.CertificateCheckOut)
def verify_certificate(retirement_id: int, svc: Svc):
    """Confirm a retirement certificate against the journal line that recorded it."""
    from reddplus.registry.certificates import verify_certificate as check

    return shape(S.CertificateCheckOut, check(svc, retirement_id))


def next_link(request: Request, next_cursor: str) -> str:
    """``Link`` header of the next page (RFC 8288): the request's query with its ``cursor`` replaced, so
    the filters and ``limit`` carry over (a relative ``?query`` reference, RFC 3986 section 5.2.2)."""
    from urllib.parse import urlencode

    params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"] + [("cursor", next_cursor)]
    return f'<?{urlencode(params)}>; rel="next"'


def _paged(request: Request, items, next_cursor):
    from fastapi.responses import JSONResponse

    headers = {"X-Next-Cursor": next_cursor, "Link": next_link(request, next_cursor)} if next_cursor else {}
    return JSONResponse(items, headers=headers)
