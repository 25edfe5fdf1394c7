"""The FastAPI application: API routes, dashboard, static files, one error handler, body-size limit."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from reddplus import __version__
from reddplus.registry.api import dashboard, routes
from reddplus.registry.api.errors import BodySizeLimit, SecurityHeaders, install_error_handlers
from reddplus.registry.core.config import RegistrySettings, load_settings
from reddplus.registry.db import Database, connect, migrate
from reddplus.registry.auth import RateLimit
from reddplus.registry.service import RegistryService

log = logging.getLogger(__name__)


def create_app(settings: RegistrySettings | None = None, *, database: Database | None = None,
               run_migrations: bool = True) -> FastAPI:
    """Build the registry app; the schema is migrated to the latest revision at start."""
    settings = settings or load_settings()
    if settings.dev_mode:
        log.warning("registry in development mode: built-in secret accepted; never use this in production")
    db = database or connect(settings.database_url, pool_size=settings.pool_size)
    if run_migrations:
        migrate(db)
    app = FastAPI(title="reddplus credit registry", version=__version__, docs_url="/api/docs",
                  openapi_url="/api/v1/openapi.json")
    app.state.settings = settings
    app.state.service = service_from_settings(db, settings)
    install_error_handlers(app)
    app.include_router(routes.router)
    app.include_router(dashboard.router)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).resolve().parents[1] / "static")), name="static")
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    return app


def service_from_settings(db: Database, settings: RegistrySettings) -> RegistryService:
    """The service configured from the registry settings (shared by the app and the CLI)."""
    return RegistryService(db, program=settings.program, unit_type=settings.unit_type, secret_key=settings.secret_key,
                           max_unverified_issuance=settings.max_unverified_issuance,
                           idempotency_ttl_hours=settings.idempotency_ttl_hours,
                           rate_limit=RateLimit(settings.auth_max_failures, settings.auth_window_seconds),
                           session_hours=settings.session_hours, batch_spends=settings.batch_spends)
