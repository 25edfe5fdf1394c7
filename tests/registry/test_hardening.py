"""Issue 15, registry items 10-14: token lifecycle, dashboard sessions, the buffer pool, bounded
integers, cheap public reads, idempotency keys after authentication, rate limits, CSV escaping,
account-id enumeration, security headers and strict input."""

import csv
import datetime as dt
import io
import secrets

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from reddplus.cli.main import cli
from reddplus.errors import ConfigError
from reddplus.registry import ledger
from reddplus.registry.core.config import RegistrySettings, load_settings
from reddplus.registry.db import connect
from reddplus.registry.models import IdempotencyKey
from reddplus.registry.service import OPERATOR

from .conftest import SECRET, build_world, make_app, make_service
from .conftest import assert_error as _err

V = "/api/v1"


# ------------------------------------------------------------------------------------------ 10 tokens
def test_token_for_an_api_created_account_then_revoked(api):
    c = api.client
    acc = c.post(f"{V}/accounts", headers=api.admin, json={"name": "carol"}).json()
    token = api.svc.create_token("holder", account_id=acc["id"])
    assert c.get(f"{V}/accounts/{acc['id']}", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    again = api.svc.create_token("holder", "carol")           # by name, for the existing account
    assert api.svc.authenticate(again).account_id == acc["id"]
    listed = {t["prefix"]: t for t in api.svc.list_tokens()}
    assert token[:10] in listed and all(token not in str(t) for t in listed.values())
    api.svc.revoke_token(prefix=token[:10])
    _err(c.get(f"{V}/accounts/{acc['id']}", headers={"Authorization": f"Bearer {token}"}), 401, "unauthorized")
    assert c.get(f"{V}/accounts/{acc['id']}", headers={"Authorization": f"Bearer {again}"}).status_code == 200


def test_expired_token_is_refused(api):
    token = api.svc.create_token("admin", expires_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=2))
    assert api.client.post(f"{V}/accounts", headers={"Authorization": f"Bearer {token}"},
                           json={"name": "early"}).status_code == 201
    with api.svc.db.write_engine.begin() as conn:     # move the expiry into the past
        conn.execute(text("UPDATE api_tokens SET expires_at = '2000-01-01T00:00:00+00:00' WHERE prefix = :p"),
                     {"p": token[:10]})
    _err(api.client.post(f"{V}/accounts", headers={"Authorization": f"Bearer {token}"}, json={"name": "late"}),
         401, "unauthorized")


def test_token_cli_create_twice_list_and_revoke(tmp_path, monkeypatch):
    monkeypatch.setenv("REDDPLUS_REGISTRY_SECRET_KEY", SECRET)
    url = f"sqlite:///{tmp_path / 't.sqlite'}"
    run = CliRunner().invoke
    a = run(cli, ["registry", "create-token", "--role", "holder", "--account", "Acme", "--database-url", url])
    b = run(cli, ["registry", "create-token", "--role", "holder", "--account", "Acme", "--database-url", url,
                  "--expires-in-days", "30", "--json"])
    assert a.exit_code == 0 and b.exit_code == 0, (a.output, b.output)
    import json
    info = json.loads(b.output)
    assert info["expires_at"] and info["account_id"] == 3
    lst = run(cli, ["registry", "list-tokens", "--database-url", url, "--json"])
    rows = json.loads(lst.output)
    assert [r["account_id"] for r in rows] == [3, 3] and "token" not in lst.output.lower().replace('"prefix"', "")
    assert a.output.strip() not in lst.output
    rv = run(cli, ["registry", "revoke-token", "--id", str(rows[0]["id"]), "--database-url", url])
    assert rv.exit_code == 0 and "revoked" in rv.output
    svc = make_service(url)
    from reddplus.registry.errors import AuthenticationError
    with pytest.raises(AuthenticationError):
        svc.authenticate(a.output.strip())
    assert svc.authenticate(info["token"]).account_id == 3
    svc.db.dispose()


def _login(c, token):
    form = c.get("/login")
    csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
    return c.post("/login", data={"token": token, "csrf": csrf}, follow_redirects=False)


def test_dashboard_session_logout_csrf_and_secure_cookie(sqlite_url):
    app = make_app(sqlite_url)
    svc = app.state.service
    token = svc.create_token("holder", "dash")
    with TestClient(app) as c:
        # login without the form's CSRF token is refused
        assert c.post("/login", data={"token": token}, follow_redirects=False).status_code == 403
        r = _login(c, token)
        assert r.status_code == 303 and "httponly" in r.headers["set-cookie"].lower()
        assert "secure" not in r.headers["set-cookie"].lower()            # plain HTTP
        sid = c.cookies.get("reddplus_registry_session")
        assert sid and token not in r.headers["set-cookie"]               # the cookie is a session id
        page = c.get("/account")
        assert page.status_code == 200 and 'id="balance"' in page.text
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        assert c.post("/logout", data={"csrf": "wrong"}, follow_redirects=False).headers["location"] == "/login"
        assert c.get("/account", follow_redirects=False).status_code == 200    # still signed in
        assert c.post("/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    with TestClient(app, cookies={"reddplus_registry_session": sid}) as c2:   # the old cookie is dead
        assert c2.get("/account", follow_redirects=False).status_code == 303
    with TestClient(app, base_url="https://testserver") as tls:
        r = _login(tls, token)
        assert r.status_code == 303 and "secure" in r.headers["set-cookie"].lower()
        assert tls.get("/").headers["strict-transport-security"]
    svc.db.dispose()


# ------------------------------------------------------------------------------------------ 11 buffer pool
def test_buffer_credits_leave_only_by_reversal(api):
    c, buffer_block = api.client, api.issuance["blocks"][1]["id"]
    _err(c.post(f"{V}/transfers", headers=api.admin, json={"block_id": buffer_block, "quantity": 30,
                                                           "to_account_id": api.bob_id}), 409, "buffer_pool_locked")
    for path, body in ((f"{V}/retirements", {"beneficiary": "b", "reason": "r"}), (f"{V}/cancellations",
                                                                                  {"reason": "r"}), (f"{V}/splits", {})):
        _err(c.post(path, headers=api.admin, json={"block_id": buffer_block, "quantity": 5} | body), 409,
             "buffer_pool_locked")
    rv = c.post(f"{V}/projects/{api.project_id}/reversals", headers=api.admin, json={"quantity": 30,
                                                                                     "description": "fire"})
    assert rv.status_code == 201
    assert c.get(f"{V}/public/projects/{api.project_id}").json()["buffer"] == 70
    assert c.get(f"{V}/invariants").json() == {"ok": True, "violations": []}


def test_invariant_5_catches_buffer_credits_outside_the_pool(world):
    st = world.svc.snapshot()
    buf = [b for b in st.tables["blocks"].values() if b["account_id"] == 2][0]
    moved = ledger.LedgerState({t: dict(rows) for t, rows in st.tables.items()})
    moved.tables["blocks"][buf["id"]] = buf | {"account_id": world.bob}
    assert any("left the buffer pool" in v for v in ledger.check_invariants(moved))
    retired = ledger.LedgerState({t: dict(rows) for t, rows in st.tables.items()})
    retired.tables["blocks"][buf["id"]] = buf | {"status": "retired"}
    retired.tables["retirements"][99] = {"id": 99, "block_id": buf["id"], "quantity": 100}
    assert any("outside a reversal" in v for v in ledger.check_invariants(retired))


# ------------------------------------------------------------------------------------------ 12 bounded integers
def test_out_of_range_integers_get_4xx_and_issuance_keeps_working(api):
    c, iss = api.client, f"{V}/projects/{api.project_id}/issuances"
    body = {"vintage_start": "2022-01-01", "vintage_end": "2022-12-31", "quantity": 2**62, "buffer_percent": 0,
            "account_id": api.alice_id}
    _err(c.post(iss, headers=api.admin, json=body), 422, "invalid_input")     # above the unverified maximum
    for big in (2**63, 2**63 - 1, 2**64 + 5, 10**30):
        _err(c.post(iss, headers=api.admin, json=body | {"quantity": big}), 422)
        _err(c.post(iss, headers=api.admin, json=body | {"quantity": 5, "account_id": big}), 422)
        _err(c.post(f"{V}/retirements", headers=api.alice, json={"block_id": big, "quantity": 1, "beneficiary": "b",
                                                                 "reason": "r"}), 422)
        _err(c.get(f"{V}/public/projects/{big}"), 422)
        _err(c.get(f"{V}/accounts/{big}", headers=api.admin), 422)
        _err(c.post(f"{V}/projects/{big}/issuances", headers=api.admin, json=body | {"quantity": 5}), 422)
        _err(c.get(f"{V}/public/blocks", params={"project_id": big}), 422)
    mp = c.post(f"{V}/projects/{api.project_id}/monitoring-periods", headers=api.admin,
                json={"start": "2022-01-01", "end": "2022-12-31", "verified_quantity": 2**63})
    _err(mp, 422)
    ok = c.post(iss, headers=api.admin, json=body | {"quantity": 10})
    assert ok.status_code == 201


def test_max_unverified_issuance_is_configurable(sqlite_url):
    settings = RegistrySettings(database_url=sqlite_url, secret_key=SECRET, max_unverified_issuance=500)
    from reddplus.registry.api.app import create_app
    app = create_app(settings, database=connect(sqlite_url), run_migrations=False)
    svc = app.state.service
    w = build_world(svc, quantity=500)
    from reddplus.registry.errors import InvalidInputError
    with pytest.raises(InvalidInputError, match="at most 500"):
        svc.issue(OPERATOR, w.project_id, dt.date(2022, 1, 1), dt.date(2022, 12, 31), 501, 0, w.alice)
    mp = svc.create_monitoring_period(OPERATOR, w.project_id, dt.date(2022, 1, 1), dt.date(2022, 12, 31), 5000)
    assert svc.issue(OPERATOR, w.project_id, dt.date(2022, 1, 1), dt.date(2022, 12, 31), 5000, 0, w.alice,
                     mp["id"])["quantity"] == 5000
    svc.db.dispose()


# ------------------------------------------------------------------------------------------ 13 cheap public reads
def test_public_verify_is_short_and_incremental(api):
    c = api.client
    pub = c.get(f"{V}/journal/verify").json()
    assert set(pub) == {"ok", "length", "head"} and pub["ok"]
    _err(c.get(f"{V}/journal/verify/full"), 401)
    full = c.get(f"{V}/journal/verify/full", headers=api.admin).json()
    assert full["ok"] and full["invariant_violations"] == [] and full["length"] == pub["length"]
    c.post(f"{V}/accounts", headers=api.admin, json={"name": "later"})
    assert c.get(f"{V}/journal/verify").json()["length"] == pub["length"] + 1
    # a forged line after the checkpoint is caught by the cheap check too
    svc = api.svc
    n = svc.published_head()["length"]
    with svc.db.write_engine.begin() as conn:
        conn.execute(text("DROP TRIGGER journal_no_update"))
        conn.execute(text("UPDATE journal SET payload = '{}' WHERE seq = :s"), {"s": n})
    c.post(f"{V}/accounts", headers=api.admin, json={"name": "after tamper"})
    assert c.get(f"{V}/journal/verify").json()["ok"] is False


def test_public_blocks_and_csv_page_with_a_stable_cursor(api):
    c = api.client
    for _ in range(6):
        c.post(f"{V}/projects/{api.project_id}/issuances", headers=api.admin, json={
            "vintage_start": "2022-01-01", "vintage_end": "2022-12-31", "quantity": 10, "buffer_percent": 0,
            "account_id": api.alice_id})
    everything = c.get(f"{V}/public/blocks", params={"limit": 5000}).json()
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        r = c.get(f"{V}/public/blocks", params=params)
        seen += r.json()
        cursor = r.headers.get("x-next-cursor")
        pages += 1
        if pages == 1:    # a write between pages neither repeats nor skips the blocks already listed
            c.post(f"{V}/splits", headers=api.alice, json={"block_id": everything[-1]["id"], "quantity": 4})
        if not cursor:
            break
    ids = [b["id"] for b in seen]
    assert len(ids) == len(set(ids)) and ids == sorted(ids)
    assert {b["id"] for b in everything[:3]} <= set(ids)
    _err(c.get(f"{V}/public/blocks", params={"cursor": "not-a-cursor"}), 422, "invalid_cursor")
    first = c.get(f"{V}/public/export/blocks.csv", params={"limit": 2})
    assert first.headers["x-next-cursor"] and len(list(csv.DictReader(io.StringIO(first.text)))) == 2


def test_idempotency_keys_only_after_authentication_and_expire(api):
    c = api.client
    with api.svc.db.read_sessions() as s:
        before = s.execute(select(func.count()).select_from(IdempotencyKey)).scalar_one()
    _err(c.post(f"{V}/accounts", headers={"Idempotency-Key": "anon-1"}, json={"name": "x"}), 401)
    _err(c.post(f"{V}/accounts", headers={"Idempotency-Key": "anon-2", "Authorization": "Bearer rp_forged"},
                json={"name": "x"}), 401)
    with api.svc.db.read_sessions() as s:
        assert s.execute(select(func.count()).select_from(IdempotencyKey)).scalar_one() == before
    h = api.admin | {"Idempotency-Key": "k-exp"}
    assert c.post(f"{V}/accounts", headers=h, json={"name": "exp-1"}).status_code == 201
    assert c.post(f"{V}/accounts", headers=h, json={"name": "exp-2"}).status_code == 422    # reused key
    with api.svc.db.write_engine.begin() as conn:
        conn.execute(text("UPDATE idempotency_keys SET expires_at = '2000-01-01T00:00:00+00:00'"))
    assert c.post(f"{V}/accounts", headers=h, json={"name": "exp-2"}).status_code == 201    # expired: a new key


def test_rate_limit_on_bad_tokens_and_logins(sqlite_url):
    settings = RegistrySettings(database_url=sqlite_url, secret_key=SECRET, auth_max_failures=3,
                                auth_window_seconds=60)
    from reddplus.registry.api.app import create_app
    app = create_app(settings, database=connect(sqlite_url), run_migrations=False)
    good = app.state.service.create_token("admin")
    with TestClient(app) as c:
        codes = [c.post(f"{V}/accounts", headers={"Authorization": f"Bearer rp_guess{i}"}, json={"name": "x"}).status_code
                 for i in range(5)]
        assert codes == [401, 401, 401, 429, 429]
        r = c.post(f"{V}/accounts", headers={"Authorization": f"Bearer {good}"}, json={"name": "x"})
        _err(r, 429, "rate_limited")
        assert r.headers["retry-after"]
        assert c.get(f"{V}/public/totals").status_code == 200      # public reads need no token
        assert _login(c, "rp_guess").status_code == 429
    app.state.service.db.dispose()


# ------------------------------------------------------------------------------------------ 14 smaller items
def test_csv_formula_cells_are_escaped(api):
    c = api.client
    block = api.issuance["blocks"][0]["id"]
    for i, name in enumerate(("=cmd|' /C calc'!A0", "+SUM(1,2)", "@HYPERLINK(x)", "-2+3")):
        r = c.post(f"{V}/retirements", headers=api.alice, json={"block_id": block, "quantity": 1, "beneficiary": name,
                                                                "reason": "r"})
        assert r.status_code == 201
        block = [b for b in r.json()["blocks"] if b["status"] == "active"][0]["id"]
    rows = list(csv.DictReader(io.StringIO(c.get(f"{V}/public/export/retirements.csv").text)))
    assert [r["beneficiary"] for r in rows] == ["'=cmd|' /C calc'!A0", "'+SUM(1,2)", "'@HYPERLINK(x)", "'-2+3"]
    assert rows[0]["quantity"] == "1"


def test_account_ids_cannot_be_enumerated(api):
    c = api.client
    for acc in (api.alice_id, 999, 2**20):
        _err(c.get(f"{V}/accounts/{acc}"), 401, "unauthorized")
        _err(c.get(f"{V}/accounts/{acc}", headers=api.bob), 403, "forbidden")
    _err(c.get(f"{V}/accounts/999", headers=api.admin), 404, "not_found")


def test_security_headers(api):
    for r in (api.client.get("/"), api.client.get(f"{V}/public/totals"), api.client.get(f"{V}/nothing")):
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("body,code", [
    ({"name": "p", "country": "ÄÖ"}, "invalid_country"),
    ({"name": "p", "country": "ZZ"}, "invalid_country"),
    ({"name": "p", "country": "12"}, "invalid_country"),
    ({"name": "evil\u202egnp.exe", "country": "PE"}, "invalid_input"),
    ({"name": "bell\x07", "country": "PE"}, "invalid_input"),
    ({"name": "zero\u200bwidth", "country": "PE"}, "invalid_input"),
])
def test_project_input_is_strict(api, body, code):
    before = api.client.get(f"{V}/journal/head").json()
    _err(api.client.post(f"{V}/projects", headers=api.admin, json=body), 422, code)
    assert api.client.get(f"{V}/journal/head").json() == before


def test_lower_case_country_is_normalised(api):
    r = api.client.post(f"{V}/projects", headers=api.admin, json={"name": "p", "country": "pe"})
    assert r.status_code == 201 and r.json()["country"] == "PE"


@pytest.mark.parametrize("name", ["BUFFER POOL", "buffer pool", "Buffer  Pool", "System", "line\nbreak",
                                  "rtl\u202eoverride", "\x00"])
def test_reserved_and_unprintable_account_names(api, name):
    r = api.client.post(f"{V}/accounts", headers=api.admin, json={"name": name})
    _err(r, 422)


@pytest.mark.parametrize("value", [True, False, "10", None, [10]])
def test_buffer_percent_is_a_strict_number(api, value):
    r = api.client.post(f"{V}/projects/{api.project_id}/issuances", headers=api.admin, json={
        "vintage_start": "2022-01-01", "vintage_end": "2022-12-31", "quantity": 10, "buffer_percent": value,
        "account_id": api.alice_id})
    _err(r, 422, "validation_error")


@pytest.mark.parametrize("field,value", [("quantity", True), ("quantity", 10.0), ("block_id", "5"),
                                         ("quantity", "1e3")])
def test_strict_integers_in_bodies(api, field, value):
    body = {"block_id": api.issuance["blocks"][0]["id"], "quantity": 1, "beneficiary": "b", "reason": "r"}
    _err(api.client.post(f"{V}/retirements", headers=api.alice, json=body | {field: value}), 422, "validation_error")


def test_secret_strength_is_checked_by_entropy(monkeypatch):
    for weak in ("a" * 32, "ab" * 32, "abcdefghijklmnopqrstuvwxyz0123456789", "Password1" * 4):
        with pytest.raises(ConfigError, match="SECRET_KEY"):
            load_settings(secret_key=weak)
    for strong in (secrets.token_hex(32), secrets.token_urlsafe(32), SECRET):
        assert load_settings(secret_key=strong).secret_key == strong


def test_record_reversal_for_a_monitoring_period(world):
    """The crediting chain's entry point (issue 13.5): a negative net benefit in a monitoring period
    cancels buffer-pool credits of the project; the reversal names the period, the journal records it."""
    svc = world.svc
    mp = svc.create_monitoring_period(OPERATOR, world.project_id, dt.date(2022, 1, 1), dt.date(2022, 12, 31), 0)
    out = svc.record_reversal(OPERATOR, world.project_id, mp["id"], 40, "negative net benefit, 2022")
    assert out["monitoring_period_id"] == mp["id"] and sum(b["quantity"] for b in out["cancelled_blocks"]) == 40
    assert all(b["status"] == "cancelled" and b["account_id"] == 2 for b in out["cancelled_blocks"])
    line = svc.journal_lines(after=svc.published_head()["length"] - 1)[0]
    import json
    assert line["kind"] == "reversal" and json.loads(line["payload"])["args"]["monitoring_period_id"] == mp["id"]
    assert svc.project_totals(world.project_id)["buffer"] == 100 - 40
    from reddplus.registry.errors import InsufficientQuantityError, NotFoundError
    with pytest.raises(InsufficientQuantityError):
        svc.record_reversal(OPERATOR, world.project_id, mp["id"], 61, "more than the pool holds")
    with pytest.raises(NotFoundError):
        svc.record_reversal(OPERATOR, world.project_id, 999, 1, "unknown period")
    assert svc.verify_journal()["ok"]
