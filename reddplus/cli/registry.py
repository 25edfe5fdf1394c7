"""``reddplus registry``: serve the credit registry and create API tokens (parsing only)."""

from __future__ import annotations

import click

from reddplus.cli.options import echo_json, json_opt

db_opt = click.option("--database-url", default=None, metavar="URL",
                      help="sqlite:///PATH or postgresql+psycopg://...; default: REDDPLUS_REGISTRY_DATABASE_URL.")


@click.group()
def registry() -> None:
    """Credit registry: issuance, transfers, retirements, public view (see /api/docs when serving)."""


@registry.command()
@db_opt
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
def serve(database_url: str | None, host: str, port: int) -> None:
    """Serve the API (under /api/v1) and the dashboard; migrates the database at start."""
    import uvicorn

    from reddplus.registry.api.app import create_app
    from reddplus.registry.core.config import load_settings

    app = create_app(load_settings(database_url=database_url))
    uvicorn.run(app, host=host, port=port, log_level="info")


@registry.command("create-token")
@db_opt
@click.option("--role", type=click.Choice(["admin", "holder"]), required=True)
@click.option("--account", "account", default=None, metavar="NAME",
              help="Holder's account name (created when missing).")
@json_opt
def create_token(database_url: str | None, role: str, account: str | None, as_json: bool) -> None:
    """Print a new bearer token (stored hashed; shown only once)."""
    from reddplus.registry.core.config import load_settings
    from reddplus.registry.db import connect, migrate
    from reddplus.registry.service import RegistryService

    if role == "holder" and not account:
        raise click.UsageError("--role holder needs --account NAME")
    settings = load_settings(database_url=database_url)
    db = connect(settings.database_url)
    try:
        migrate(db)
        svc = RegistryService(db, program=settings.program, unit_type=settings.unit_type,
                              secret_key=settings.secret_key)
        token = svc.create_token(role, account)
        if as_json:
            info = {"token": token, "role": role, "account": account}
            echo_json(info)
        else:
            click.echo(token)
    finally:
        db.dispose()
