"""Server-rendered pages: project search and pages (buyers), retirement certificates, journal
verification, and the account holder's dashboard (sign-in, retire form, sign-out).

Dashboard sessions are server side: the cookie holds a random session id (HttpOnly,
SameSite=Strict, ``Secure`` over HTTPS); logout deletes the session. Login and logout forms carry
a CSRF token (double-submit cookie before sign-in, the session's token after).
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from reddplus.registry.api.deps import client_address, get_service
from reddplus.registry.certificates import certificate_html, certificate_pdf, thousands, verify_certificate
from reddplus.registry.errors import LedgerError, RateLimitedError
from reddplus.registry.service import RegistryService

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))
TEMPLATES.env.filters["num"] = thousands
COOKIE = "reddplus_registry_session"
LOGIN_CSRF_COOKIE = "reddplus_registry_login_csrf"
router = APIRouter(include_in_schema=False)
Svc = Annotated[RegistryService, Depends(get_service)]
PAGE = 25


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or bool(getattr(request.app.state.settings, "secure_cookies", False))


def _session(request: Request, svc: RegistryService):
    return svc.auth.session(request.cookies.get(COOKIE))


@router.get("/", response_class=HTMLResponse)
def index(request: Request, svc: Svc, q: Annotated[str | None, Query(max_length=200)] = None,
          country: Annotated[str | None, Query(max_length=2)] = None,
          methodology: Annotated[str | None, Query(max_length=200)] = None,
          label: Annotated[str | None, Query(max_length=40)] = None,
          cursor: Annotated[str | None, Query(max_length=200)] = None):
    filters = {k: v for k, v in {"q": q, "country": country, "methodology": methodology, "label": label}.items() if v}
    page = svc.projects_page(cursor=cursor, limit=PAGE, **filters)
    return TEMPLATES.TemplateResponse(request, "index.html", {"projects": page["items"], "next_cursor": page["next_cursor"],
                                                              "filters": filters, "totals": svc.overall_totals()})


@router.get("/projects/{project_id}", response_class=HTMLResponse)
def project_page(request: Request, project_id: int, svc: Svc):
    page = svc.project_page(project_id)
    return TEMPLATES.TemplateResponse(request, "project.html", page)


@router.get("/certificates/{retirement_id}.pdf")
def certificate_as_pdf(request: Request, retirement_id: int, svc: Svc):
    cert = svc.retirement(retirement_id)
    url = str(request.url_for("verify_certificate", retirement_id=retirement_id))
    return Response(certificate_pdf(cert, verify_url=url), media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{cert["certificate_number"]}.pdf"'})


@router.get("/certificates/{retirement_id}", response_class=HTMLResponse)
def certificate(request: Request, retirement_id: int, svc: Svc):
    cert = svc.retirement(retirement_id)
    url = str(request.url_for("verify_certificate", retirement_id=retirement_id))
    return HTMLResponse(certificate_html(cert, verify_url=url, check=verify_certificate(svc, retirement_id)))


@router.get("/journal", response_class=HTMLResponse)
def journal_page(request: Request, svc: Svc):
    result = svc.verify_public()
    lines = svc.journal_lines(after=max(0, result["length"] - 50))
    return TEMPLATES.TemplateResponse(request, "journal.html", {"result": result, "lines": lines[::-1]})


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, error: str | None = None):
    csrf = secrets.token_urlsafe(24)
    resp = TEMPLATES.TemplateResponse(request, "login.html", {"error": error, "csrf": csrf})
    resp.set_cookie(LOGIN_CSRF_COOKIE, csrf, httponly=True, samesite="strict", path="/login", secure=_secure(request),
                    max_age=3600)
    return resp


@router.post("/login")
def login(request: Request, svc: Svc, token: Annotated[str, Form(max_length=200)],
          csrf: Annotated[str, Form(max_length=100)] = ""):
    expected = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if not expected or not hmac.compare_digest(csrf, expected):
        return TEMPLATES.TemplateResponse(request, "login.html", {"error": "the form expired; try again",
                                                                  "csrf": ""}, status_code=403)
    try:
        sid, _, _ = svc.auth.login(token.strip(), client_address(request))
    except RateLimitedError as err:
        return TEMPLATES.TemplateResponse(request, "login.html",
                                          {"error": f"too many attempts; wait {err.retry_after} s", "csrf": ""},
                                          status_code=429, headers={"Retry-After": str(err.retry_after)})
    except LedgerError:
        return TEMPLATES.TemplateResponse(request, "login.html", {"error": "unknown token", "csrf": ""},
                                          status_code=401)
    resp = RedirectResponse("/account", status_code=303)
    resp.set_cookie(COOKIE, sid, httponly=True, samesite="strict", path="/", secure=_secure(request),
                    max_age=int(svc.auth.session_hours * 3600))
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return resp


@router.post("/logout")
def logout(request: Request, svc: Svc, csrf: Annotated[str, Form(max_length=100)] = ""):
    who, expected = _session(request, svc)
    if expected is None or not hmac.compare_digest(csrf, expected):
        return RedirectResponse("/login", status_code=303)
    svc.auth.logout(request.cookies.get(COOKIE))
    resp = RedirectResponse("/", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, svc: Svc, message: str | None = None, error: str | None = None):
    who, csrf = _session(request, svc)
    if who.role != "holder":
        return RedirectResponse("/login", status_code=303)
    view = svc.account_view(who, who.account_id)
    return TEMPLATES.TemplateResponse(request, "account.html", {"account": view, "csrf": csrf,
                                                                "message": message, "error": error})


@router.post("/account/retire")
def account_retire(request: Request, svc: Svc, block_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
                   quantity: Annotated[int, Form(ge=1, le=10**12)],
                   beneficiary: Annotated[str, Form(max_length=300)], reason: Annotated[str, Form(max_length=1000)],
                   csrf: Annotated[str, Form()]):
    who, expected = _session(request, svc)
    if who.role != "holder" or expected is None or not hmac.compare_digest(csrf, expected):
        return RedirectResponse("/login", status_code=303)
    try:
        r = svc.retire(who, block_id, quantity, beneficiary, reason)
    except LedgerError as err:
        return RedirectResponse(f"/account?error={err.code}", status_code=303)
    return RedirectResponse(f"/account?message=retired+{r['quantity']}+certificate+{r['certificate_number']}",
                            status_code=303)
