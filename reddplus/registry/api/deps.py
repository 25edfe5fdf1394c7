"""Dependencies of the HTTP layer: the service, the caller (bearer token, rate-limited per client
address) and Idempotency-Key handling (claimed only after authentication)."""

from __future__ import annotations

import hashlib
from typing import Any, Callable

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from reddplus.registry import ledger
from reddplus.registry.domain import PUBLIC, Principal
from reddplus.registry.errors import AuthenticationError, LedgerError
from reddplus.registry.idempotency import IdempotencyHandle, StoredResponse
from reddplus.registry.service import RegistryService


def get_service(request: Request) -> RegistryService:
    return request.app.state.service


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def get_principal(request: Request) -> Principal:
    """The caller from ``Authorization: Bearer TOKEN`` (no header: the public)."""
    header = request.headers.get("authorization")
    if not header:
        return PUBLIC
    svc: RegistryService = request.app.state.service
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        svc.auth.record_failure(client_address(request))
        raise AuthenticationError("use 'Authorization: Bearer TOKEN'")
    return svc.authenticate(token.strip(), client_address(request))


def shape(model: type[BaseModel] | None, out: Any) -> Any:
    """The response body through its pydantic model (the contract is the model)."""
    if model is None:
        return out
    if isinstance(out, list):
        return [model.model_validate(x).model_dump(mode="json") for x in out]
    return model.model_validate(out).model_dump(mode="json")


def run_post(request: Request, principal: Principal, use_case: Callable[..., dict], request_body: Any,
             status_code: int = 201, model: type[BaseModel] | None = None, **kwargs) -> JSONResponse:
    """Run a write use case, honouring ``Idempotency-Key`` (invariant 6).

    The key is scoped to the (authenticated) caller; the fingerprint is the method, path and canonical
    body. A successful response is stored in the use case's own transaction; an error response is
    stored afterwards, so a retry with the same key and body returns the same answer. Anonymous
    callers never reach the key store (they get 401 first).
    """
    from reddplus.registry.api.errors import error_body

    key = request.headers.get("idempotency-key")
    if key is None:
        return JSONResponse(shape(model, use_case(principal, **kwargs)), status_code=status_code)
    if principal.role == "public":
        raise AuthenticationError("a bearer token is required")
    svc: RegistryService = request.app.state.service
    fingerprint = hashlib.sha256(ledger.canonical_json(
        {"method": request.method, "path": request.url.path, "body": request_body}).encode()).hexdigest()
    claimed = svc.idempotency_begin(principal, key, fingerprint)
    if isinstance(claimed, StoredResponse):
        return JSONResponse(claimed.body, status_code=claimed.status_code, headers={"Idempotent-Replayed": "true"})
    assert isinstance(claimed, IdempotencyHandle)
    try:
        out = shape(model, use_case(principal, idem=claimed, **kwargs))
    except LedgerError as err:
        svc.idempotency_fail(claimed, err.http_status, error_body(err.code, str(err)))
        raise
    except BaseException:
        svc.idempotency_fail(claimed, None, None)
        raise
    return JSONResponse(out, status_code=status_code)
