"""Journal hashing, chain verification, replay and invariant checks on hand-built data (no database)."""

import hashlib
import json

import pytest

from reddplus.registry import ledger


def _chain(payloads):
    lines, prev = [], ledger.GENESIS_HASH
    for i, (kind, payload) in enumerate(payloads, start=1):
        text = ledger.canonical_json(payload)
        h = ledger.line_hash(i, kind, "2024-01-01T00:00:00+00:00", text, prev)
        lines.append({"seq": i, "kind": kind, "created_at": "2024-01-01T00:00:00+00:00", "payload": text,
                      "prev_hash": prev, "hash": h})
        prev = h
    return lines


ISS = {"id": 1, "project_id": 1, "monitoring_period_id": None, "quantity": 10, "serial_start": 1, "serial_end": 10}
PRJ = {"id": 1, "name": "p", "country": "BR", "external_id": None}


def _blk(i, s, e, status="active", account=3, parent=None):
    return {"id": i, "issuance_id": 1, "serial_start": s, "serial_end": e, "status": status, "account_id": account,
            "parent_id": parent}


def _demo():
    return _chain([
        ("project", {"created": {"projects": [PRJ]}}),
        ("issue", {"created": {"issuances": [ISS], "blocks": [_blk(1, 1, 10)]}}),
        ("retire", {"created": {"blocks": [_blk(2, 1, 4, "retired", parent=1), _blk(3, 5, 10, parent=1)],
                                "retirements": [{"id": 1, "block_id": 2, "quantity": 4}]},
                    "updated": {"blocks": [_blk(1, 1, 10, "superseded")]}}),
    ])


def test_line_hash_is_sha256_of_the_documented_string():
    assert ledger.line_hash(1, "issue", "t", "{}", "0" * 64) == hashlib.sha256(
        ("1|issue|t|{}|" + "0" * 64).encode()).hexdigest()


def test_chain_verifies_and_replays():
    lines = _demo()
    v = ledger.verify_chain(lines)
    assert v.ok and v.length == 3 and v.head == lines[-1]["hash"]
    state = ledger.replay(lines)
    assert ledger.check_invariants(state) == []
    assert ledger.project_totals(state, 1) == {"issued": 10, "retired": 4, "cancelled": 0, "buffer": 0,
                                               "available": 6}


@pytest.mark.parametrize("line", [1, 2, 3])
def test_any_edit_is_detected_at_its_line(line):
    lines = _demo()
    payload = json.loads(lines[line - 1]["payload"])
    payload["tampered"] = True
    lines[line - 1]["payload"] = ledger.canonical_json(payload)
    v = ledger.verify_chain(lines)
    assert not v.ok and v.bad_line == line and v.length == line - 1


def test_rehashed_edit_breaks_the_next_link():
    lines = _demo()
    l2 = lines[1]
    l2["payload"] = l2["payload"].replace('"serial_end":10', '"serial_end":11')
    l2["hash"] = ledger.line_hash(2, l2["kind"], l2["created_at"], l2["payload"], l2["prev_hash"])
    v = ledger.verify_chain(lines)
    assert not v.ok and v.bad_line == 3


def test_deleted_line_is_detected():
    lines = _demo()
    del lines[1]
    assert ledger.verify_chain(lines).bad_line == 2


def test_replay_refuses_to_revive_a_retired_block():
    lines = _demo() + []
    bad = _chain([json.loads(json.dumps((x["kind"], json.loads(x["payload"])))) for x in lines] + [
        ("transfer", {"updated": {"blocks": [_blk(2, 1, 4, "active", account=4)]}})])
    with pytest.raises(ledger.ReplayError) as err:
        ledger.replay(bad)
    assert err.value.seq == 4


def test_invariants_find_gap_overlap_and_double_retirement():
    state = ledger.replay(_demo())
    state.tables["blocks"][3]["serial_start"] = 6          # gap at serial 5
    v = ledger.check_invariants(state)
    assert any("gap at serial 5" in x for x in v) and any("!= issued 10" in x for x in v)
    state = ledger.replay(_demo())
    state.tables["blocks"][4] = _blk(4, 4, 4)               # serial 4 twice
    assert any("overlap" in x for x in ledger.check_invariants(state))
    state = ledger.replay(_demo())
    state.tables["retirements"][2] = {"id": 2, "block_id": 2, "quantity": 4}
    assert any("retired 2 times" in x for x in ledger.check_invariants(state))
    state = ledger.replay(_demo())
    state.tables["issuances"][2] = dict(ISS, id=2, serial_start=10, serial_end=19)
    assert any("serial ranges overlap" in x for x in ledger.check_invariants(state))


def test_monitoring_period_invariants():
    state = ledger.LedgerState.seeded()
    state.tables["monitoring_periods"] = {
        1: {"id": 1, "project_id": 1, "period_start": "2020-01-01", "period_end": "2020-12-31",
            "verified_quantity": 5, "issued_quantity": 0},
        2: {"id": 2, "project_id": 1, "period_start": "2020-06-01", "period_end": "2021-12-31",
            "verified_quantity": 5, "issued_quantity": 0}}
    state.tables["issuances"] = {1: dict(ISS, monitoring_period_id=1)}
    v = ledger.check_invariants(state)
    assert any("overlap" in x for x in v) and any("issued_quantity 0 != sum of issuances 10" in x for x in v)
