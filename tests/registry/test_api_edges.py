"""Edges of the HTTP API: out-of-range serial fields, serials that disagree with their issuance,
the issuance bounds, reserved names, pagination links, Retry-After, and smaller input checks."""

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from reddplus.registry.api.app import create_app
from reddplus.registry.core.config import RegistrySettings
from reddplus.registry.db import connect
from reddplus.registry.readmodels import encode_cursor

from .conftest import SECRET
from .conftest import assert_error as _err

V = "/api/v1"


def _security_headers(r):
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"


# ------------------------------------------------------------------------------------------ out-of-range integers
@pytest.mark.parametrize("serial", [
    "9223372036854775808-1-2-RDDP-VCU-PE-1-01012020-31122020",               # issuance above 2^63 - 1
    "2147483648-1-2-RDDP-VCU-PE-1-01012020-31122020",                        # issuance above the id range
    "1-1-9223372036854775808-RDDP-VCU-PE-1-01012020-31122020",               # last serial above 2^63 - 1
    "1-9223372036854775808-9223372036854775809-RDDP-VCU-PE-1-01012020-31122020",
    "1-1-2-RDDP-VCU-PE-99999999999999999999-01012020-31122020",              # project above the id range
])
def test_out_of_range_serial_fields_are_422(api, serial):
    r = api.client.get(f"{V}/public/serials/{serial}")
    _err(r, 422, "malformed_serial")
    _security_headers(r)
    assert api.client.get(f"{V}/public/totals").status_code == 200


def test_internal_errors_carry_the_security_headers(api):
    def boom():
        raise RuntimeError("unexpected")
    api.svc.overall_totals = boom
    r = api.client.get(f"{V}/public/totals")
    _err(r, 500, "internal_error")
    _security_headers(r)


# ------------------------------------------------------------------------------------------ fabricated serials
def test_serial_lookup_checks_every_field_against_the_issuance(api):
    c = api.client
    real = api.issuance["blocks"][0]["serial"]            # 1-1-900-RDDP-VCU-PE-{pid}-01012021-31122021
    parts = real.split("-")
    ok = c.get(f"{V}/public/serials/{'-'.join(parts[:2] + ['5'] + parts[3:])}")
    assert ok.status_code == 200 and ok.json()["blocks"][0]["id"] == api.issuance["blocks"][0]["id"]
    for i, wrong in ((3, "VCS"), (4, "VER"), (5, "BR"), (6, "77"), (7, "01012019"), (8, "30122021")):
        fake = parts[:2] + ["5"] + parts[3:]
        fake[i] = wrong
        _err(c.get(f"{V}/public/serials/{'-'.join(fake)}"), 404, "not_found")
    _err(c.get(f"{V}/public/serials/1-1-5-RDDP-VCU-PE-{api.project_id}-01012021"), 422, "malformed_serial")


# ------------------------------------------------------------------------------------------ issuance bounds
def _issue(c, admin, pid, account_id, quantity, year=2022, mp=None, end=None):
    body = {"vintage_start": f"{year}-01-01", "vintage_end": end or f"{year}-12-31", "quantity": quantity,
            "buffer_percent": 0, "account_id": account_id}
    if mp is not None:
        body["monitoring_period_id"] = mp
    return c.post(f"{V}/projects/{pid}/issuances", headers=admin, json=body)


def test_unverified_maximum_is_a_total_per_project_and_vintage(sqlite_url):
    settings = RegistrySettings(database_url=sqlite_url, secret_key=SECRET, max_unverified_issuance=100)
    app = create_app(settings, database=connect(sqlite_url), run_migrations=False)
    s = app.state.service
    admin = {"Authorization": f"Bearer {s.create_token('admin')}"}
    with TestClient(app, raise_server_exceptions=False) as c:
        pid = c.post(f"{V}/projects", headers=admin, json={"name": "p", "country": "PE"}).json()["id"]
        other = c.post(f"{V}/projects", headers=admin, json={"name": "q", "country": "PE"}).json()["id"]
        acc = c.post(f"{V}/accounts", headers=admin, json={"name": "holder"}).json()["id"]
        assert _issue(c, admin, pid, acc, 60).status_code == 201
        _err(_issue(c, admin, pid, acc, 41), 409, "exceeds_verified")
        _err(_issue(c, admin, pid, acc, 41, end="2022-06-30"), 409, "exceeds_verified")   # an overlapping vintage
        assert _issue(c, admin, pid, acc, 40).status_code == 201                          # exactly the maximum
        assert _issue(c, admin, pid, acc, 100, year=2021).status_code == 201              # another vintage
        assert _issue(c, admin, other, acc, 100).status_code == 201                       # another project
    s.close()


def test_period_bound_counts_earlier_issuances_for_the_period(api):
    c, pid, acc = api.client, api.project_id, api.alice_id
    _issue(c, api.admin, pid, acc, 80).raise_for_status()                                  # unverified, vintage 2022
    mp = c.post(f"{V}/projects/{pid}/monitoring-periods", headers=api.admin,
                json={"start": "2022-01-01", "end": "2022-12-31", "verified_quantity": 100}).json()["id"]
    _err(_issue(c, api.admin, pid, acc, 21, mp=mp), 409, "exceeds_verified")
    assert _issue(c, api.admin, pid, acc, 20, mp=mp).status_code == 201
    _err(_issue(c, api.admin, pid, acc, 1, mp=mp), 409, "exceeds_verified")
    _err(_issue(c, api.admin, pid, acc, 1), 409, "exceeds_verified")                      # unverified, same period
    assert c.get(f"{V}/invariants").json()["ok"]


def test_vintage_ending_after_today_is_refused(api):
    today = dt.datetime.now(dt.timezone.utc).date()
    _err(_issue(api.client, api.admin, api.project_id, api.alice_id, 5, year=2099), 422, "invalid_input")
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    _err(_issue(api.client, api.admin, api.project_id, api.alice_id, 5, year=today.year, end=tomorrow), 422,
         "invalid_input")
    assert _issue(api.client, api.admin, api.project_id, api.alice_id, 5, year=today.year,
                  end=today.isoformat()).status_code == 201


# ------------------------------------------------------------------------------------------ reserved names
@pytest.mark.parametrize("name", ["ＢＵＦＦＥＲ ＰＯＯＬ", "ＢＵＦＦＥＲ\u3000ＰＯＯＬ", "ｓｙｓｔｅｍ", "Bu\ufb00er pool",
                                  "BUFFER\u00a0POOL", "SYSTEM\u2003"])
def test_reserved_names_are_compared_after_nfkc_and_casefold(api, name):
    _err(api.client.post(f"{V}/accounts", headers=api.admin, json={"name": name}), 422, "reserved_name")


# ------------------------------------------------------------------------------------------ pagination links
def _follow(c, url):
    """Every page of a paged list, following its ``Link: <...>; rel="next"`` header."""
    import re
    from urllib.parse import urljoin

    pages = []
    while url:
        r = c.get(url)
        assert r.status_code == 200, r.text
        pages.append(r)
        link = r.headers.get("link")
        url = urljoin(url, re.fullmatch(r'<([^>]*)>; rel="next"', link).group(1)) if link else None
    return pages


def test_next_links_keep_the_other_query_parameters(api):
    c, admin = api.client, api.admin
    other = c.post(f"{V}/projects", headers=admin, json={"name": "Other API project", "country": "PE"}).json()["id"]
    for pid in (api.project_id, other, api.project_id, other, api.project_id):
        _issue(c, admin, pid, api.alice_id, 10).raise_for_status()
    pages = _follow(c, f"http://testserver{V}/public/blocks?project_id={api.project_id}&limit=2")
    blocks = [b for p in pages for b in p.json()]
    assert len(pages) > 1 and all(len(p.json()) <= 2 for p in pages)
    assert {b["serial"].split("-")[6] for b in blocks} == {str(api.project_id)}
    assert len(blocks) == len(c.get(f"{V}/public/blocks", params={"project_id": api.project_id}).json())

    pages = _follow(c, f"http://testserver{V}/public/export/blocks.csv?project_id={other}&limit=1")
    rows = [line for p in pages for line in p.text.splitlines()[1:]]
    assert len(pages) == 2 and len(rows) == 2 and all(f"-{other}-" in r for r in rows)

    for i in range(3):
        c.post(f"{V}/projects", headers=admin, json={"name": f"Forest {i}", "country": "BR"}).raise_for_status()
    pages = _follow(c, f"http://testserver{V}/public/projects?q=forest&limit=1&country=BR")
    assert [p["name"] for page in pages for p in page.json()] == ["Forest 0", "Forest 1", "Forest 2"]


# ------------------------------------------------------------------------------------------ Retry-After
def test_retry_after_is_the_remaining_window(sqlite_url):
    import re

    from sqlalchemy import text

    settings = RegistrySettings(database_url=sqlite_url, secret_key=SECRET, auth_max_failures=2,
                                auth_window_seconds=300)
    app = create_app(settings, database=connect(sqlite_url), run_migrations=False)
    with TestClient(app) as c:
        for i in range(2):
            _err(c.post(f"{V}/accounts", headers={"Authorization": f"Bearer rp_guess{i}"}, json={"name": "x"}), 401)
        r = c.post(f"{V}/accounts", headers={"Authorization": "Bearer rp_guess"}, json={"name": "x"})
        _err(r, 429, "rate_limited")
        assert 295 <= int(r.headers["retry-after"]) <= 300
        with app.state.service.db.write_engine.begin() as conn:     # the failures happened 200 s ago
            conn.execute(text("UPDATE failed_attempts SET at = at - 200"))
        r = c.post(f"{V}/accounts", headers={"Authorization": "Bearer rp_guess"}, json={"name": "x"})
        wait = int(r.headers["retry-after"])
        assert 95 <= wait <= 100
        form = c.get("/login")
        csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
        page = c.post("/login", data={"token": "rp_guess", "csrf": csrf}, follow_redirects=False)
        assert page.status_code == 429 and 95 <= int(page.headers["retry-after"]) <= 100
        said = re.search(r"wait (\d+) s", page.text)
        assert said and 95 <= int(said.group(1)) <= 100, page.text
    app.state.service.db.dispose()


# ------------------------------------------------------------------------------------------ smaller input checks
def test_ccb_verification_dated_before_its_period_ends_is_refused(api):
    path = f"{V}/projects/{api.project_id}/ccb-verifications"
    body = {"period_start": "2021-01-01", "period_end": "2021-12-31", "body": "SCS Global", "outcome": "APPROVED"}
    _err(api.client.post(path, headers=api.admin, json=body | {"date": "2021-06-30"}), 422, "invalid_input")
    assert api.client.get(f"{V}/journal/head").json()["length"] == api.svc.published_head()["length"]
    assert api.client.post(path, headers=api.admin, json=body | {"date": "2021-12-31"}).status_code == 201


def test_empty_country_is_refused(api):
    _err(api.client.post(f"{V}/projects", headers=api.admin, json={"name": "p", "country": ""}), 422,
         "invalid_country")
    _err(api.client.post(f"{V}/projects", headers=api.admin, json={"name": "p", "country": "  "}), 422,
         "invalid_country")
    r = api.client.post(f"{V}/projects", headers=api.admin, json={"name": "p"})     # omitted: not stated
    assert r.status_code == 201 and r.json()["country"] == "XX"


@pytest.mark.parametrize("name", ["blocks", "issuances", "retirements", "projects"])
def test_empty_csv_exports_have_the_header_row(api, name):
    c = api.client
    c.post(f"{V}/retirements", headers=api.alice, json={"block_id": api.issuance["blocks"][0]["id"], "quantity": 5,
                                                        "beneficiary": "b", "reason": "r"}).raise_for_status()
    full = c.get(f"{V}/public/export/{name}.csv", params={"project_id": api.project_id})
    header = full.text.splitlines()[0]
    assert header.startswith("id,") and len(full.text.splitlines()) > 1
    empty_project = c.post(f"{V}/projects", headers=api.admin, json={"name": "empty", "country": "PE"}).json()["id"]
    params = {"project_id": empty_project} if name != "projects" else {"cursor": encode_cursor(empty_project)}
    empty = c.get(f"{V}/public/export/{name}.csv", params=params)
    assert empty.status_code == 200 and empty.text.splitlines() == [header]


# ------------------------------------------------------------------------------------------ labels of projects
def test_a_project_with_ccb_labelled_issuances_matches_label_ccb(api):
    c, pid = api.client, api.project_id
    plain = c.post(f"{V}/projects", headers=api.admin, json={"name": "plain", "country": "PE"}).json()["id"]
    assert c.get(f"{V}/public/projects", params={"label": "CCB"}).json() == []
    c.post(f"{V}/projects/{pid}/ccb-verifications", headers=api.admin, json={
        "period_start": "2021-01-01", "period_end": "2021-12-31", "body": "SCS Global", "date": "2022-03-01",
        "outcome": "APPROVED"}).raise_for_status()
    c.post(f"{V}/issuances/{api.issuance['id']}/labels", headers=api.admin, json={"label": "CCB"}).raise_for_status()
    found = c.get(f"{V}/public/projects", params={"label": "CCB"}).json()
    assert [p["id"] for p in found] == [pid] and found[0]["labels"] == ["CCB"]
    assert c.get(f"{V}/public/projects/{pid}/record").json()["labels"] == ["CCB"]
    assert c.get(f"{V}/public/projects/{plain}/record").json()["labels"] == []
    assert [p["id"] for p in c.get(f"{V}/public/projects").json()] == [pid, plain]
