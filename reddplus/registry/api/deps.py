"""Dependencies of the HTTP layer: the service, the caller (bearer token) and Idempotency-Key handling."""

from __future__ import annotations

import hashlib
from typing import Any, Callable

from fastapi import Request
from fastapi.responses import JSONResponse

from reddplus.registry import ledger
from reddplus.registry.errors import AuthenticationError, LedgerError
from reddplus.registry.service import PUBLIC, IdempotencyHandle, Principal, RegistryService, StoredResponse


def get_service(request: Request) -> RegistryService:
    return request.app.state.service


def get_principal(request: Request) -> Principal:
    """The caller from ``Authorization: Bearer TOKEN`` (no header: the public)."""
    header = request.headers.get("authorization")
    if not header:
        return PUBLIC
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("use 'Authorization: Bearer TOKEN'")
    return request.app.state.service.authenticate(token.strip())


def run_post(request: Request, principal: Principal, use_case: Callable[..., dict], body: Any,
             status_code: int = 201, **kwargs) -> JSONResponse:
    """Run a write use case, honouring ``Idempotency-Key`` (invariant 6).

    The key is scoped to the caller; the request fingerprint is the method, path and canonical body.
    A successful response is stored in the use case's own transaction; an error response is stored
    afterwards, so a retry with the same key and body returns the same answer.
    """
    from reddplus.registry.api.errors import error_body

    key = request.headers.get("idempotency-key")
    if key is None:
        return JSONResponse(use_case(principal, **kwargs), status_code=status_code)
    svc: RegistryService = request.app.state.service
    fingerprint = hashlib.sha256(ledger.canonical_json(
        {"method": request.method, "path": request.url.path, "body": body}).encode()).hexdigest()
    claimed = svc.idempotency_begin(principal, key, fingerprint)
    if isinstance(claimed, StoredResponse):
        return JSONResponse(claimed.body, status_code=claimed.status_code, headers={"Idempotent-Replayed": "true"})
    assert isinstance(claimed, IdempotencyHandle)
    try:
        out = use_case(principal, idem=claimed, **kwargs)
    except LedgerError as err:
        svc.idempotency_fail(claimed, err.http_status, error_body(err.code, str(err)))
        raise
    except BaseException:
        svc.idempotency_fail(claimed, None, None)
        raise
    return JSONResponse(out, status_code=status_code)
