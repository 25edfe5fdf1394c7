"""``reddplus registry``: serve the credit registry, manage API tokens, import/export registry
records (parsing only; the work is in :mod:`reddplus.registry`)."""

from __future__ import annotations

import datetime as dt
import math
from contextlib import contextmanager
from pathlib import Path

import click

from reddplus.cli.options import echo_json, json_opt, overwrite_opt

db_opt = click.option("--database-url", default=None, metavar="URL",
                      help="sqlite:///PATH or postgresql+psycopg://...; default: REDDPLUS_REGISTRY_DATABASE_URL.")


@contextmanager
def _service(database_url: str | None):
    from reddplus.registry.api.app import service_from_settings
    from reddplus.registry.core.config import load_settings
    from reddplus.registry.db import connect, migrate

    settings = load_settings(database_url=database_url)
    db = connect(settings.database_url)
    try:
        migrate(db)
        yield service_from_settings(db, settings)
    finally:
        db.dispose()


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


#: longest token lifetime --expires-in-days accepts [days] (100 years)
MAX_TOKEN_DAYS = 36500


def _expiry_days(value: float | None) -> float | None:
    """A finite number of days in (0, MAX_TOKEN_DAYS]; nan, inf and 1e9 are refused as a usage error."""
    if value is not None and not (math.isfinite(value) and 0 < value <= MAX_TOKEN_DAYS):
        raise click.BadParameter(f"{value} is not a number of days in (0, {MAX_TOKEN_DAYS}]",
                                 param_hint="'--expires-in-days'")
    return value


@registry.command("create-token")
@db_opt
@click.option("--role", type=click.Choice(["admin", "holder"]), required=True)
@click.option("--account", "account", default=None, metavar="NAME",
              help="Holder's account name (created when missing).")
@click.option("--account-id", type=click.IntRange(1, 2**31 - 1), default=None, help="Holder's existing account id.")
@click.option("--expires-in-days", type=float, default=None, callback=lambda ctx, param, v: _expiry_days(v),
              help=f"The token is refused after this many days, at most {MAX_TOKEN_DAYS} (default: no expiry).")
@json_opt
def create_token(database_url: str | None, role: str, account: str | None, account_id: int | None,
                 expires_in_days: float | None, as_json: bool) -> None:
    """Print a new bearer token (stored hashed; shown only once)."""
    if role == "holder" and not account and account_id is None:
        raise click.UsageError("--role holder needs --account NAME or --account-id ID")
    if role == "admin" and (account or account_id is not None):
        raise click.UsageError("--role admin takes no --account or --account-id (admins hold no account)")
    expires = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=expires_in_days)) if expires_in_days else None
    with _service(database_url) as svc:
        info = svc.create_token_info(role, account, account_id=account_id, expires_at=expires)
    if as_json:
        echo_json(info | {"account": account})
    else:
        click.echo(info["token"])


@registry.command("list-tokens")
@db_opt
@json_opt
def list_tokens(database_url: str | None, as_json: bool) -> None:
    """List API tokens by id and prefix (never the secret), with role, account, expiry and revocation."""
    with _service(database_url) as svc:
        rows = svc.list_tokens()
    if as_json:
        echo_json(rows)
        return
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    for t in rows:
        if t["revoked"]:
            state = "revoked"
        elif t["expires_at"] and t["expires_at"] <= now:     # the comparison authenticate() makes
            state = "expired"
        else:
            state = "expires " + t["expires_at"] if t["expires_at"] else "active"
        click.echo(f"{t['id']:>5}  {t['prefix']}…  {t['role']:<6}  account {t['account_id'] or '-':<6}  {state}")


@registry.command("revoke-token")
@db_opt
@click.option("--id", "token_id", type=click.IntRange(1, 2**31 - 1), default=None, help="Token id (list-tokens).")
@click.option("--prefix", default=None, help="Token prefix as listed (e.g. rp_AbCdEfG or rp_AbCdEfG…).")
@json_opt
def revoke_token(database_url: str | None, token_id: int | None, prefix: str | None, as_json: bool) -> None:
    """Revoke a token (its dashboard sessions end with it)."""
    if (token_id is None) == (prefix is None):
        raise click.UsageError("name the token with exactly one of --id or --prefix")
    with _service(database_url) as svc:
        out = svc.revoke_token(token_id=token_id, prefix=prefix)
    if as_json:
        echo_json(out)
    else:
        click.echo(f"revoked token {out['id']} ({out['prefix']}…)")


@registry.group("import")
def import_() -> None:
    """Load registry records exported by other registries."""


@import_.command("verra")
@db_opt
@click.argument("projects", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("transactions", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_opt
def import_verra(database_url: str | None, projects: Path, transactions: Path, as_json: bool) -> None:
    """Import a Verra registry export: PROJECTS.csv and TRANSACTIONS.csv (issuances, retirements)."""
    from reddplus.registry.interop import verra

    with _service(database_url) as svc:
        report = verra.import_verra(svc, projects, transactions)
    if as_json:
        echo_json(report.to_dict())
    else:
        click.echo(report.summary())
    if report.rejected:
        raise click.exceptions.Exit(1)


@registry.group("export")
def export() -> None:
    """Write registry records in other registries' export formats."""


@export.command("verra")
@db_opt
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for projects.csv and transactions.csv.")
@overwrite_opt
@json_opt
def export_verra(database_url: str | None, out: Path, overwrite: bool, as_json: bool) -> None:
    """Write projects.csv and transactions.csv in Verra's export columns."""
    from reddplus.registry.interop import verra

    with _service(database_url) as svc:
        paths = verra.export_verra(svc, out, overwrite=overwrite)
    if as_json:
        echo_json({k: str(v) for k, v in paths.items()})
    else:
        for v in paths.values():
            click.echo(str(v))
