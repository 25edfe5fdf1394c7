"""``reddplus registry`` commands (CliRunner against reddplus.cli.main:cli) and settings."""

import json

import pytest
from click.testing import CliRunner

from reddplus.cli.main import cli
from reddplus.errors import ConfigError
from reddplus.registry.core.config import load_settings
from reddplus.registry.db import connect
from reddplus.registry.service import RegistryService

from .conftest import SECRET


@pytest.fixture
def env(monkeypatch, tmp_path):
    for k in ("REDDPLUS_REGISTRY_DEV_MODE", "REDDPLUS_REGISTRY_DATABASE_URL"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("REDDPLUS_REGISTRY_SECRET_KEY", SECRET)
    return f"sqlite:///{tmp_path / 'cli.sqlite'}"


def test_create_token_admin_and_holder(env):
    runner = CliRunner()
    r = runner.invoke(cli, ["registry", "create-token", "--role", "admin", "--database-url", env])
    assert r.exit_code == 0, r.output
    token = r.output.strip()
    assert token.startswith("rp_") and len(token) > 40
    r2 = runner.invoke(cli, ["registry", "create-token", "--role", "holder", "--account", "Acme", "--database-url",
                             env, "--json"])
    assert r2.exit_code == 0, r2.output
    info = json.loads(r2.output)
    assert info["role"] == "holder" and info["account"] == "Acme"
    svc = RegistryService(connect(env), secret_key=SECRET)
    assert svc.authenticate(token).role == "admin"
    holder = svc.authenticate(info["token"])
    assert holder.role == "holder" and svc.account_view(holder, holder.account_id)["name"] == "Acme"
    svc.db.dispose()


def test_create_token_needs_account_for_holder(env):
    r = CliRunner().invoke(cli, ["registry", "create-token", "--role", "holder", "--database-url", env])
    assert r.exit_code == 2 and "--account" in r.output


def test_default_secret_is_refused(env, monkeypatch):
    monkeypatch.setenv("REDDPLUS_REGISTRY_SECRET_KEY", "changeme")
    r = CliRunner().invoke(cli, ["registry", "create-token", "--role", "admin", "--database-url", env])
    assert r.exit_code == 2 and "REDDPLUS_REGISTRY_SECRET_KEY" in r.output
    monkeypatch.delenv("REDDPLUS_REGISTRY_SECRET_KEY")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings()
    with pytest.raises(ConfigError):
        load_settings(secret_key="short")
    monkeypatch.setenv("REDDPLUS_REGISTRY_DEV_MODE", "1")
    assert load_settings().dev_mode and len(load_settings().secret_key) >= 32


def test_settings_from_environment(env, monkeypatch):
    monkeypatch.setenv("REDDPLUS_REGISTRY_DATABASE_URL", env)
    monkeypatch.setenv("REDDPLUS_REGISTRY_MAX_BODY_BYTES", "1024")
    s = load_settings()
    assert s.database_url == env and s.max_body_bytes == 1024 and s.secret_key == SECRET
    assert load_settings(database_url="sqlite:////x.sqlite").database_url == "sqlite:////x.sqlite"
    with pytest.raises(ConfigError, match="PROGRAM"):
        load_settings(program="bad program")


def test_serve_help():
    r = CliRunner().invoke(cli, ["registry", "serve", "--help"])
    assert r.exit_code == 0
    for opt in ("--database-url", "--host", "--port"):
        assert opt in r.output


def test_serve_runs_uvicorn_with_the_app(env, monkeypatch):
    """``serve`` builds the app (migrating the database) and hands it to uvicorn on host:port."""
    import uvicorn

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, **kw: seen.update(app=app, host=host, port=port))
    r = CliRunner().invoke(cli, ["registry", "serve", "--database-url", env, "--port", "8123"])
    assert r.exit_code == 0, r.output
    assert seen["host"] == "127.0.0.1" and seen["port"] == 8123
    assert seen["app"].state.service.verify_journal()["ok"]


@pytest.mark.parametrize("days", ["1e9", "nan", "inf", "-inf", "0", "36501"])
def test_create_token_refuses_unusable_expiry(env, days):
    r = CliRunner().invoke(cli, ["registry", "create-token", "--role", "admin", "--database-url", env,
                                 "--expires-in-days", days])
    assert r.exit_code == 2 and "--expires-in-days" in r.output, (r.output, r.exception)
    assert "Traceback" not in r.output


def test_create_token_admin_takes_no_account(env):
    run = CliRunner().invoke
    assert run(cli, ["registry", "create-token", "--role", "holder", "--account", "Acme", "--database-url",
                     env]).exit_code == 0
    for extra in (["--account-id", "3"], ["--account", "Acme"]):
        r = run(cli, ["registry", "create-token", "--role", "admin", "--database-url", env, *extra])
        assert r.exit_code == 2 and "admin" in r.output, r.output
    svc = RegistryService(connect(env), secret_key=SECRET)
    with pytest.raises(Exception) as err:
        svc.create_token("admin", account_id=3)
    assert getattr(err.value, "code", None) == "invalid_input"
    assert [t["role"] for t in svc.list_tokens()] == ["holder"]
    svc.db.dispose()


def test_list_tokens_shows_expired_and_revoke_takes_the_listed_prefix(env):
    from sqlalchemy import text

    run = CliRunner().invoke
    r = run(cli, ["registry", "create-token", "--role", "admin", "--database-url", env, "--expires-in-days", "1",
                  "--json"])
    info = json.loads(r.output)
    db = connect(env)
    with db.write_engine.begin() as conn:
        conn.execute(text("UPDATE api_tokens SET expires_at = '2000-01-01T00:00:00+00:00' WHERE id = :i"),
                     {"i": info["id"]})
    db.dispose()
    listed = run(cli, ["registry", "list-tokens", "--database-url", env]).output
    (line,) = listed.splitlines()
    assert line.rstrip().endswith("expired"), line
    shown = line.split()[1]                                  # the prefix as printed, with its ellipsis
    assert shown.endswith("…")
    rv = run(cli, ["registry", "revoke-token", "--prefix", shown, "--database-url", env])
    assert rv.exit_code == 0 and "revoked" in rv.output, rv.output
    assert run(cli, ["registry", "list-tokens", "--database-url", env]).output.rstrip().endswith("revoked")
