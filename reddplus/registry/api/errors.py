"""One JSON error shape for every failure: ``{"error": {"code", "message", "details"}}``.

Domain errors (:class:`reddplus.errors.LedgerError`) carry their ``code`` and HTTP status; this is the
only place where they become HTTP responses.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from reddplus.errors import LedgerError, ReddplusError

log = logging.getLogger(__name__)

_HTTP_CODES = {503: "database_unavailable", 429: "rate_limited", 400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type",
               422: "validation_error", 500: "internal_error"}


def error_body(code: str, message: str, details: Any = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details}}


def is_database_unavailable(err: BaseException) -> bool:
    """A lost or refused database connection (SQLAlchemy or psycopg): the request may be retried."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    try:
        import psycopg
        pg_errors: tuple = (psycopg.OperationalError, psycopg.InterfaceError)
    except ImportError:   # pragma: no cover
        pg_errors = ()
    if isinstance(err, DBAPIError) and getattr(err, "connection_invalidated", False):
        return True
    if isinstance(err, (OperationalError, InterfaceError)):
        return True
    return isinstance(err, pg_errors)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LedgerError)
    async def _ledger(request: Request, err: LedgerError):
        headers = {"WWW-Authenticate": "Bearer"} if err.http_status == 401 else None
        if err.http_status == 429:
            headers = {"Retry-After": str(getattr(err, "retry_after", 60))}
        return JSONResponse(error_body(err.code, str(err)), status_code=err.http_status, headers=headers)

    @app.exception_handler(ReddplusError)
    async def _reddplus(request: Request, err: ReddplusError):
        return JSONResponse(error_body("invalid_input", str(err)), status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, err: RequestValidationError):
        details = [{"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type", "")}
                   for e in err.errors()]
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        return JSONResponse(error_body("validation_error", f"{'.'.join(first['loc'])}: {first['msg']}", details),
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, err: StarletteHTTPException):
        return JSONResponse(error_body(_HTTP_CODES.get(err.status_code, "http_error"), str(err.detail)),
                            status_code=err.status_code, headers=getattr(err, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, err: Exception):
        if is_database_unavailable(err):   # retryable: the database is restarting or unreachable
            log.warning("database unavailable on %s %s: %s", request.method, request.url.path, err)
            return JSONResponse(error_body("database_unavailable", "the registry database is unavailable; "
                                           "retry (with the same Idempotency-Key for writes)"), status_code=503,
                                headers={"Retry-After": "1"})
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        # this handler answers from outside every middleware (Starlette's ServerErrorMiddleware), so
        # SecurityHeaders never sees its response: the headers are set here
        return JSONResponse(error_body("internal_error", "internal error"), status_code=500,
                            headers=security_headers(request.url.scheme == "https"))


class BodySizeLimit:
    """ASGI middleware: bodies above ``max_bytes`` get 413 in the JSON error shape (declared or streamed)."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        too_big = False
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                too_big = True
        chunks: list[bytes] = []
        if not too_big:
            size, more = 0, True
            while more:
                msg = await receive()
                if msg["type"] == "http.disconnect":
                    return
                chunk = msg.get("body", b"")
                size += len(chunk)
                if size > self.max_bytes:
                    too_big = True
                    break
                chunks.append(chunk)
                more = msg.get("more_body", False)
        if too_big:
            resp = JSONResponse(error_body("payload_too_large", f"request body exceeds {self.max_bytes} bytes"),
                                status_code=413)
            return await resp(scope, receive, send)
        body = b"".join(chunks)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()
        return await self.app(scope, replay, send)


#: Content-Security-Policy of every response: no inline scripts, no third-party origins
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def security_headers(https: bool) -> dict[str, str]:
    """The headers :class:`SecurityHeaders` puts on every response (HSTS only over HTTPS)."""
    out = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "Cross-Origin-Opener-Policy": "same-origin"}
    if https:
        out["Strict-Transport-Security"] = "max-age=31536000"
    return out


class SecurityHeaders:
    """ASGI middleware: CSP, X-Frame-Options, nosniff, Referrer-Policy on every response (and HSTS over HTTPS)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        https = scope.get("scheme") == "https"

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                names = {k.lower() for k, _ in headers}
                extra = [(k.lower().encode(), v.encode()) for k, v in security_headers(https).items()]
                headers += [(k, v) for k, v in extra if k not in names]
                message = dict(message, headers=headers)
            await send(message)
        return await self.app(scope, receive, send_with_headers)
