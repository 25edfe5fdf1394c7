"""Authorization matrix: every endpoint x role (admin, holder on own account, holder on another
account, the public, a forged token); tokens are stored hashed."""

from sqlalchemy import select

from reddplus.registry.models import ApiToken
from reddplus.registry.service import hash_token

from .conftest import SECRET

V = "/api/v1"
ROLES = ("admin", "own", "other", "public", "forged")
#: expected status per role: writes by the operator, spending by the owner, public reads for all
OPERATOR_ONLY = {"admin": 201, "own": 403, "other": 403, "public": 401, "forged": 401}
OWNER = {"admin": 201, "own": 201, "other": 403, "public": 401, "forged": 401}
#: public reads ignore credentials altogether (a forged token reads what anyone may read)
PUBLIC = {"admin": 200, "own": 200, "other": 200, "public": 200, "forged": 200}


def _headers(api, role):
    return {"admin": api.admin, "own": api.alice, "other": api.bob, "public": {},
            "forged": {"Authorization": "Bearer rp_forged-token"}}[role]


def _fresh_alice_block(api) -> int:
    """A 1-credit block of alice's, split off by the operator."""
    hb = [b for b in api.svc.list_blocks(account_id=api.alice_id) if b["status"] == "active"
          and b["quantity"] > 1][0]
    r = api.client.post(f"{V}/splits", headers=api.admin, json={"block_id": hb["id"], "quantity": 1})
    return r.json()["blocks"][0]["id"]


def test_authorization_matrix(api):
    c, pid = api.client, api.project_id
    n = iter(range(1, 1000))
    cases = [
        ("POST /projects", lambda: ("post", f"{V}/projects", {"name": "x"}), OPERATOR_ONLY),
        ("POST /accounts", lambda: ("post", f"{V}/accounts", {"name": f"acc-{next(n)}"}), OPERATOR_ONLY),
        ("POST monitoring-periods", lambda: ("post", f"{V}/projects/{pid}/monitoring-periods",
                                             {"start": f"{2000 + next(n)}-01-01", "end": f"{2000 + next(n) - 1}-12-31",
                                              "verified_quantity": 5}), OPERATOR_ONLY),
        ("POST issuances", lambda: ("post", f"{V}/projects/{pid}/issuances",
                                    {"vintage_start": "2021-01-01", "vintage_end": "2021-12-31", "quantity": 10,
                                     "buffer_percent": 10, "account_id": api.alice_id}), OPERATOR_ONLY),
        ("POST reversals", lambda: ("post", f"{V}/projects/{pid}/reversals", {"quantity": 1, "description": "d"}),
         OPERATOR_ONLY),
        ("POST transfers", lambda: ("post", f"{V}/transfers", {"block_id": _fresh_alice_block(api), "quantity": 1,
                                                               "to_account_id": api.bob_id}), OWNER),
        ("POST splits", lambda: ("post", f"{V}/splits", {"block_id": [b for b in api.svc.list_blocks(
            account_id=api.alice_id) if b["status"] == "active" and b["quantity"] > 2][0]["id"], "quantity": 1}), OWNER),
        ("POST retirements", lambda: ("post", f"{V}/retirements", {"block_id": _fresh_alice_block(api), "quantity": 1,
                                                                   "beneficiary": "b", "reason": "r"}), OWNER),
        ("POST cancellations", lambda: ("post", f"{V}/cancellations", {"block_id": _fresh_alice_block(api),
                                                                       "quantity": 1, "reason": "r"}), OWNER),
        ("GET own account", lambda: ("get", f"{V}/accounts/{api.alice_id}", None),
         {"admin": 200, "own": 200, "other": 403, "public": 401, "forged": 401}),
        ("GET journal lines", lambda: ("get", f"{V}/journal", None),
         {"admin": 200, "own": 403, "other": 403, "public": 401, "forged": 401}),
        ("GET public project", lambda: ("get", f"{V}/public/projects/{pid}", None), PUBLIC),
        ("GET public blocks", lambda: ("get", f"{V}/public/blocks?project_id={pid}", None), PUBLIC),
        ("GET public totals", lambda: ("get", f"{V}/public/totals", None), PUBLIC),
        ("GET export", lambda: ("get", f"{V}/public/export/retirements.csv", None), PUBLIC),
        ("GET journal verify", lambda: ("get", f"{V}/journal/verify", None), PUBLIC),
        ("GET journal head", lambda: ("get", f"{V}/journal/head", None), PUBLIC),
        ("GET invariants", lambda: ("get", f"{V}/invariants", None), PUBLIC),
    ]
    wrong = []
    for name, make, expected in cases:
        for role in ROLES:
            method, path, body = make()
            kw = {"headers": _headers(api, role)}
            if body is not None:
                kw["json"] = body
            r = getattr(c, method)(path, **kw)
            if r.status_code != expected[role]:
                wrong.append((name, role, r.status_code, expected[role], r.text[:120]))
            elif r.status_code >= 400:
                assert r.json()["error"]["code"] in ("forbidden", "unauthorized")
    assert wrong == []
    assert api.svc.invariants()["ok"]


def test_holder_cannot_spend_the_buffer_pool(api):
    buffer_block = api.issuance["blocks"][1]["id"]
    r = api.client.post(f"{V}/retirements", headers=api.alice, json={"block_id": buffer_block, "quantity": 1,
                                                                     "beneficiary": "b", "reason": "r"})
    assert r.status_code == 403


def test_tokens_are_stored_hashed(api):
    token = api.alice["Authorization"].split()[1]
    with api.svc.db.read_sessions() as s:
        hashes = s.execute(select(ApiToken.token_hash)).scalars().all()
    assert token not in hashes and hash_token(SECRET, token) in hashes
    assert all(len(h) == 64 for h in hashes)


def test_malformed_authorization_header(api):
    r = api.client.post(f"{V}/projects", headers={"Authorization": "Basic abc"}, json={"name": "x"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert r.headers["www-authenticate"] == "Bearer"
