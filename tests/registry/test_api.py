"""HTTP contract on SQLite (paths, JSON keys, status codes, Idempotency-Key, CSV, dashboard pages)."""

import csv
import io
import threading


from reddplus.registry import serials

V = "/api/v1"


def test_contract_end_to_end(api):
    c, admin, alice = api.client, api.admin, api.alice
    iss = api.issuance
    assert {"id", "serial_start", "serial_end", "quantity", "buffer_quantity", "vintage_start", "vintage_end",
            "blocks"} <= set(iss)
    holder, buffer = iss["blocks"]
    for b in (holder, buffer):
        assert set(b) >= {"id", "serial_start", "serial_end", "quantity", "status", "account_id", "serial"}
        s = serials.parse_serial(b["serial"])
        assert (s.first, s.last, s.quantity, s.country, s.issuance) == (
            b["serial_start"], b["serial_end"], b["quantity"], "PE", iss["id"])
    assert (holder["quantity"], buffer["quantity"]) == (900, 100)
    assert holder["account_id"] == api.alice_id and buffer["status"] == "active"

    t = c.post(f"{V}/transfers", headers=alice, json={"block_id": holder["id"], "quantity": 300,
                                                        "to_account_id": api.bob_id})
    assert t.status_code == 201
    moved = t.json()["transferred_block"]
    assert moved["account_id"] == api.bob_id and moved["quantity"] == 300
    r = c.post(f"{V}/retirements", headers=api.bob, json={"block_id": moved["id"], "quantity": 120,
                                                           "beneficiary": "Acme Ltd", "reason": "2024 footprint"})
    assert r.status_code == 201
    ret = r.json()
    assert ret["certificate_number"].startswith("RDDP-RET-") and ret["quantity"] == 120
    assert ret["beneficiary"] == "Acme Ltd" and serials.parse_serial(ret["serial"]).quantity == 120
    rest = [b for b in t.json()["blocks"] if b["account_id"] == api.alice_id][0]
    cx = c.post(f"{V}/cancellations", headers=alice, json={"block_id": rest["id"], "quantity": 50, "reason": "dup"})
    assert cx.status_code == 201 and cx.json()["quantity"] == 50
    rv = c.post(f"{V}/projects/{api.project_id}/reversals", headers=admin,
                json={"quantity": 40, "description": "fire 2023"})
    assert rv.status_code == 201 and sum(b["quantity"] for b in rv.json()["cancelled_blocks"]) == 40

    pub = c.get(f"{V}/public/projects/{api.project_id}").json()
    assert {k: pub[k] for k in ("issued", "retired", "cancelled", "buffer", "available")} == {
        "issued": 1000, "retired": 120, "cancelled": 90, "buffer": 60, "available": 730}
    blocks = c.get(f"{V}/public/blocks", params={"project_id": api.project_id}).json()
    assert sum(b["quantity"] for b in blocks) == 1000 and all(b["status"] != "superseded" for b in blocks)
    v = c.get(f"{V}/journal/verify").json()
    assert v["ok"] is True and v["length"] == 9 and len(v["head"]) == 64   # 3 accounts/project + issue(2) + 4
    assert c.get(f"{V}/journal/head").json() == {"length": v["length"], "head": v["head"]}
    assert c.get(f"{V}/invariants").json() == {"ok": True, "violations": []}


def test_monitoring_periods_cap_issuance(api):
    c, admin = api.client, api.admin
    mp = c.post(f"{V}/projects/{api.project_id}/monitoring-periods", headers=admin,
                json={"start": "2022-01-01", "end": "2022-12-31", "verified_quantity": 500})
    assert mp.status_code == 201
    body = {"vintage_start": "2022-01-01", "vintage_end": "2022-12-31", "quantity": 400, "buffer_percent": 15,
            "account_id": api.alice_id, "monitoring_period_id": mp.json()["id"], "manifest_sha256": "ab" * 32}
    ok = c.post(f"{V}/projects/{api.project_id}/issuances", headers=admin, json=body)
    assert ok.status_code == 201 and ok.json()["manifest_sha256"] == "ab" * 32
    assert [b["quantity"] for b in ok.json()["blocks"]] == [340, 60]
    again = c.post(f"{V}/projects/{api.project_id}/issuances", headers=admin, json=body | {"quantity": 101})
    assert again.status_code == 409 and again.json()["error"]["code"] == "exceeds_verified"
    assert c.post(f"{V}/projects/{api.project_id}/issuances", headers=admin,
                  json=body | {"quantity": 100}).status_code == 201
    assert c.get(f"{V}/invariants").json()["ok"]


def test_idempotency_same_key_same_body_replays(api):
    c, h = api.client, api.alice | {"Idempotency-Key": "k-1"}
    body = {"block_id": api.issuance["blocks"][0]["id"], "quantity": 10, "beneficiary": "B", "reason": "r"}
    first = c.post(f"{V}/retirements", headers=h, json=body)
    second = c.post(f"{V}/retirements", headers=h, json=body)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json() and second.headers.get("Idempotent-Replayed") == "true"
    assert c.get(f"{V}/public/projects/{api.project_id}").json()["retired"] == 10
    other = c.post(f"{V}/retirements", headers=h, json=body | {"quantity": 11})
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    # the key is scoped to the caller: bob may use the same key string
    assert c.post(f"{V}/accounts", headers=api.admin | {"Idempotency-Key": "k-1"},
                  json={"name": "carol"}).status_code == 201


def test_idempotency_remembers_errors(api):
    c, h = api.client, api.alice | {"Idempotency-Key": "k-err"}
    body = {"block_id": api.issuance["blocks"][0]["id"], "quantity": 5000, "beneficiary": "B", "reason": "r"}
    a, b = c.post(f"{V}/retirements", headers=h, json=body), c.post(f"{V}/retirements", headers=h, json=body)
    assert a.status_code == b.status_code == 409 and a.json() == b.json()


def test_idempotency_concurrent_duplicate_gets_409(api, monkeypatch):
    """While the first request holds the key (use case still running), a duplicate gets 409."""
    c = api.client
    h = api.alice | {"Idempotency-Key": "k-conc"}
    body = {"block_id": api.issuance["blocks"][0]["id"], "quantity": 7, "beneficiary": "B", "reason": "r"}
    inside, release = threading.Event(), threading.Event()
    original = api.svc.retire

    def slow_retire(*a, **k):
        inside.set()
        assert release.wait(10)
        return original(*a, **k)

    monkeypatch.setattr(api.svc, "retire", slow_retire)
    results = {}
    th = threading.Thread(target=lambda: results.setdefault("first", c.post(f"{V}/retirements", headers=h, json=body)))
    th.start()
    assert inside.wait(10)
    monkeypatch.setattr(api.svc, "retire", original)
    dup = c.post(f"{V}/retirements", headers=h, json=body)
    release.set()
    th.join(10)
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "idempotency_in_progress"
    assert results["first"].status_code == 201
    assert c.post(f"{V}/retirements", headers=h, json=body).json() == results["first"].json()
    assert c.get(f"{V}/public/projects/{api.project_id}").json()["retired"] == 7


def test_csv_export_matches_json(api):
    c = api.client
    c.post(f"{V}/retirements", headers=api.alice, json={"block_id": api.issuance["blocks"][0]["id"],
                                                        "quantity": 25, "beneficiary": "Zoé, \"Ltd\"", "reason": "r"})
    for name in ("blocks", "issuances", "retirements"):
        r = c.get(f"{V}/public/export/{name}.csv", params={"project_id": api.project_id})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert rows, name
    rows = list(csv.DictReader(io.StringIO(c.get(f"{V}/public/export/retirements.csv").text)))
    assert rows[0]["beneficiary"] == 'Zoé, "Ltd"' and rows[0]["quantity"] == "25"
    blocks = list(csv.DictReader(io.StringIO(c.get(f"{V}/public/export/blocks.csv").text)))
    assert sum(int(b["quantity"]) for b in blocks) == 1000
    assert c.get(f"{V}/public/export/secrets.csv").json()["error"]["code"] == "not_found"


def test_serial_lookup(api):
    c = api.client
    serial = api.issuance["blocks"][0]["serial"]
    r = c.get(f"{V}/public/serials/{serial}")
    assert r.status_code == 200 and r.json()["blocks"][0]["id"] == api.issuance["blocks"][0]["id"]


def test_dashboard_pages_render(api):
    c = api.client
    c.post(f"{V}/retirements", headers=api.alice, json={"block_id": api.issuance["blocks"][0]["id"],
                                                        "quantity": 3, "beneficiary": "<b>Municipality</b>",
                                                        "reason": "r"})
    page = c.get(f"/projects/{api.project_id}")
    assert page.status_code == 200 and 'id="retired" class="num">3<' in page.text
    assert "&lt;b&gt;Municipality&lt;/b&gt;" in page.text      # escaped
    assert "VERIFIED" in c.get("/journal").text
    assert c.get("/").status_code == 200
    assert c.get("/account", follow_redirects=False).status_code == 303


def test_openapi_lists_the_contract(api):
    paths = api.client.get(f"{V}/openapi.json").json()["paths"]
    for p in ("/api/v1/projects", "/api/v1/accounts", "/api/v1/projects/{project_id}/issuances", "/api/v1/transfers",
              "/api/v1/retirements", "/api/v1/cancellations", "/api/v1/projects/{project_id}/reversals",
              "/api/v1/public/projects/{project_id}", "/api/v1/public/blocks", "/api/v1/journal/verify"):
        assert p in paths
