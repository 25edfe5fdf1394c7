"""Edges of the HTTP API: out-of-range serial fields, serials that disagree with their issuance,
the issuance bounds, reserved names, pagination links, Retry-After, and smaller input checks."""

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from reddplus.registry.api.app import create_app
from reddplus.registry.core.config import RegistrySettings
from reddplus.registry.db import connect

from .conftest import SECRET

V = "/api/v1"


def _err(r, status, code=None):
    assert r.status_code == status, (r.status_code, r.text[:300])
    body = r.json()
    assert set(body) == {"error"} and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code, body


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
