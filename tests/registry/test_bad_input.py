"""Bad input: each request gets the JSON error shape with a machine-readable code, and the state
(journal head and every derived table) stays unchanged."""

import pytest

V = "/api/v1"


def _state(api):
    return api.client.get(f"{V}/journal/head").json(), api.svc.snapshot()


def _cases(api):
    blk = api.issuance["blocks"][0]
    hb, q = blk["id"], blk["quantity"]
    iss = f"{V}/projects/{api.project_id}/issuances"
    base_iss = {"vintage_start": "2022-01-01", "vintage_end": "2022-12-31", "quantity": 10, "buffer_percent": 10,
                "account_id": api.alice_id}
    ret = {"block_id": hb, "quantity": 1, "beneficiary": "B", "reason": "r"}
    return [
        ("zero quantity", "post", f"{V}/retirements", ret | {"quantity": 0}, 422, "invalid_input"),
        ("negative quantity", "post", f"{V}/retirements", ret | {"quantity": -5}, 422, "invalid_input"),
        ("negative transfer", "post", f"{V}/transfers", {"block_id": hb, "quantity": -1, "to_account_id": api.bob_id},
         422, "invalid_input"),
        ("zero cancel", "post", f"{V}/cancellations", {"block_id": hb, "quantity": 0, "reason": "x"}, 422,
         "invalid_input"),
        ("zero issuance", "post", iss, base_iss | {"quantity": 0}, 422, "invalid_input"),
        ("fractional quantity", "post", f"{V}/retirements", ret | {"quantity": 1.5}, 422, "validation_error"),
        ("string quantity", "post", f"{V}/retirements", ret | {"quantity": "5"}, 422, "validation_error"),
        ("beyond block", "post", f"{V}/retirements", ret | {"quantity": q + 1}, 409, "insufficient_quantity"),
        ("transfer beyond block", "post", f"{V}/transfers", {"block_id": hb, "quantity": q + 1,
                                                            "to_account_id": api.bob_id}, 409, "insufficient_quantity"),
        ("unknown block", "post", f"{V}/retirements", ret | {"block_id": 999999}, 404, "not_found"),
        ("unknown project", "post", f"{V}/projects/9999/issuances", base_iss, 404, "not_found"),
        ("malformed serial", "get", f"{V}/public/serials/12-9-1-RDDP-VCU-BR-1-01012020-31122020", None, 422,
         "malformed_serial"),
        ("garbage serial", "get", f"{V}/public/serials/not-a-serial", None, 422, "malformed_serial"),
        ("buffer above 100", "post", iss, base_iss | {"buffer_percent": 100.5}, 422, "invalid_buffer_percent"),
        ("negative buffer", "post", iss, base_iss | {"buffer_percent": -1}, 422, "invalid_buffer_percent"),
        ("vintage reversed", "post", iss, base_iss | {"vintage_start": "2023-01-01"}, 422, "invalid_input"),
        ("bad manifest hash", "post", iss, base_iss | {"manifest_sha256": "xyz"}, 422, "invalid_input"),
        ("unknown field", "post", f"{V}/retirements", ret | {"amount": 3}, 422, "validation_error"),
        ("missing field", "post", f"{V}/retirements", {"block_id": hb, "quantity": 1}, 422, "validation_error"),
        ("empty beneficiary", "post", f"{V}/retirements", ret | {"beneficiary": " "}, 422, "invalid_input"),
        ("reversal beyond buffer", "post", f"{V}/projects/{api.project_id}/reversals",
         {"quantity": 101, "description": "fire"}, 409, "insufficient_quantity"),
        ("transfer to buffer pool", "post", f"{V}/transfers", {"block_id": hb, "quantity": 1, "to_account_id": 2},
         422, "invalid_input"),
    ]


def test_bad_inputs_leave_state_unchanged(api):
    before = _state(api)
    failures = []
    for name, method, path, body, status, code in _cases(api):
        r = getattr(api.client, method)(path, json=body, headers=api.admin) if body is not None else \
            getattr(api.client, method)(path, headers=api.admin)
        err = r.json().get("error") if r.headers.get("content-type", "").startswith("application/json") else None
        if r.status_code != status or not err or err.get("code") != code or not err.get("message"):
            failures.append((name, r.status_code, r.text[:200]))
    assert failures == []
    assert _state(api) == before


def test_retiring_a_retired_block(api):
    blk = api.issuance["blocks"][0]
    body = {"block_id": blk["id"], "quantity": blk["quantity"], "beneficiary": "B", "reason": "r"}
    assert api.client.post(f"{V}/retirements", headers=api.alice, json=body).status_code == 201
    before = _state(api)
    for q in (blk["quantity"], 1):
        r = api.client.post(f"{V}/retirements", headers=api.alice, json=body | {"quantity": q})
        assert r.status_code == 409 and r.json()["error"]["code"] == "already_retired"
    cancel = api.client.post(f"{V}/cancellations", headers=api.admin, json={"block_id": blk["id"], "quantity": 1,
                                                                             "reason": "x"})
    assert cancel.status_code == 409 and cancel.json()["error"]["code"] == "already_retired"
    assert _state(api) == before


def test_superseded_block_is_refused(api):
    blk = api.issuance["blocks"][0]
    assert api.client.post(f"{V}/splits", headers=api.alice, json={"block_id": blk["id"], "quantity": 5}).status_code == 201
    before = _state(api)
    r = api.client.post(f"{V}/retirements", headers=api.alice, json={"block_id": blk["id"], "quantity": 1,
                                                                     "beneficiary": "B", "reason": "r"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "block_superseded"
    assert _state(api) == before


def test_overlapping_monitoring_periods(api):
    path = f"{V}/projects/{api.project_id}/monitoring-periods"
    assert api.client.post(path, headers=api.admin, json={"start": "2020-01-01", "end": "2020-12-31",
                                                          "verified_quantity": 10}).status_code == 201
    before = _state(api)
    for start, end in (("2020-12-31", "2021-06-30"), ("2019-01-01", "2020-01-01"), ("2020-03-01", "2020-04-01")):
        r = api.client.post(path, headers=api.admin, json={"start": start, "end": end, "verified_quantity": 10})
        assert r.status_code == 409 and r.json()["error"]["code"] == "overlapping_monitoring_period"
    r = api.client.post(path, headers=api.admin, json={"start": "2021-02-01", "end": "2021-01-01",
                                                       "verified_quantity": 10})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
    assert _state(api) == before


@pytest.mark.parametrize("chunked", [False, True])
def test_oversized_body(api, chunked):
    before = _state(api)
    payload = ('{"block_id": 1, "quantity": 1, "beneficiary": "' + "x" * 20000 + '", "reason": "r"}').encode()
    content = iter([payload[i:i + 4096] for i in range(0, len(payload), 4096)]) if chunked else payload
    r = api.client.post(f"{V}/retirements", headers=api.alice | {"content-type": "application/json"},
                        content=content)
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    assert _state(api) == before


def test_malformed_json_and_unknown_route(api):
    r = api.client.post(f"{V}/retirements", headers=api.alice | {"content-type": "application/json"},
                        content=b"{not json")
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    r = api.client.get(f"{V}/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
