"""Server-rendered dashboard: public project pages, the holder's page with a retire form, journal verification.

Browser sessions carry the API token in an HttpOnly, SameSite=Strict cookie; forms also carry a
CSRF token (HMAC of the token hash under the registry secret).
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from reddplus.registry.api.deps import get_service
from reddplus.registry.errors import LedgerError
from reddplus.registry.service import PUBLIC, Principal, RegistryService

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))
COOKIE = "reddplus_registry_token"
router = APIRouter(include_in_schema=False)
Svc = Annotated[RegistryService, Depends(get_service)]


def _csrf(svc: RegistryService, token: str) -> str:
    return hmac.new(svc.secret_key.encode(), b"csrf:" + token.encode(), hashlib.sha256).hexdigest()


def _browser_principal(request: Request, svc: RegistryService) -> tuple[Principal, str | None]:
    token = request.cookies.get(COOKIE)
    if not token:
        return PUBLIC, None
    try:
        return svc.authenticate(token), token
    except LedgerError:
        return PUBLIC, None


@router.get("/", response_class=HTMLResponse)
def index(request: Request, svc: Svc):
    return TEMPLATES.TemplateResponse(request, "index.html", {"projects": svc.list_projects(),
                                                              "totals": svc.overall_totals()})


@router.get("/projects/{project_id}", response_class=HTMLResponse)
def project_page(request: Request, project_id: int, svc: Svc):
    page = svc.project_page(project_id)
    return TEMPLATES.TemplateResponse(request, "project.html", page)


@router.get("/journal", response_class=HTMLResponse)
def journal_page(request: Request, svc: Svc):
    result = svc.verify_journal()
    lines = svc.journal_lines(after=max(0, result["length"] - 50))
    return TEMPLATES.TemplateResponse(request, "journal.html", {"result": result, "lines": lines[::-1]})


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, error: str | None = None):
    return TEMPLATES.TemplateResponse(request, "login.html", {"error": error})


@router.post("/login")
def login(request: Request, svc: Svc, token: Annotated[str, Form(max_length=200)]):
    try:
        who = svc.authenticate(token.strip())
    except LedgerError:
        return TEMPLATES.TemplateResponse(request, "login.html", {"error": "unknown token"}, status_code=401)
    resp = RedirectResponse("/account", status_code=303)
    resp.set_cookie(COOKIE, token.strip(), httponly=True, samesite="strict", path="/")
    return resp


@router.post("/logout")
def logout():
    resp = RedirectResponse("/", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, svc: Svc, message: str | None = None, error: str | None = None):
    who, token = _browser_principal(request, svc)
    if who.role != "holder":
        return RedirectResponse("/login", status_code=303)
    view = svc.account_view(who, who.account_id)
    return TEMPLATES.TemplateResponse(request, "account.html", {"account": view, "csrf": _csrf(svc, token),
                                                                "message": message, "error": error})


@router.post("/account/retire")
def account_retire(request: Request, svc: Svc, block_id: Annotated[int, Form()], quantity: Annotated[int, Form()],
                   beneficiary: Annotated[str, Form(max_length=300)], reason: Annotated[str, Form(max_length=1000)],
                   csrf: Annotated[str, Form()]):
    who, token = _browser_principal(request, svc)
    if who.role != "holder" or not hmac.compare_digest(csrf, _csrf(svc, token)):
        return RedirectResponse("/login", status_code=303)
    try:
        r = svc.retire(who, block_id, quantity, beneficiary, reason)
    except LedgerError as err:
        return RedirectResponse(f"/account?error={err.code}", status_code=303)
    return RedirectResponse(f"/account?message=retired+{r['quantity']}+certificate+{r['certificate_number']}",
                            status_code=303)
