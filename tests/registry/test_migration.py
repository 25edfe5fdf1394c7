"""Migration 0001 -> 0002 on a registry created and used under the previous schema: its rows and
journal survive, the journal still verifies (rows written before the new columns replay with their
defaults), and the new records (project fields, CCB verification, labels) work on it."""


import pytest
from sqlalchemy import text

from reddplus.registry import ledger
from reddplus.registry.db import connect, migrate
from reddplus.registry.service import OPERATOR, RegistryService

from .conftest import SECRET

NOW = "2024-05-01T10:00:00.000000+00:00"


def _old_registry(db) -> None:
    """What the 0001 service wrote: a project, an account, an issuance of 1000 (10 % buffer), a retirement."""
    rows = {
        "project": [("projects", {"id": 1, "name": "Old project", "country": "PE", "external_id": "old-1"})],
        "account": [("accounts", {"id": 3, "name": "alice", "kind": "holding"})],
        "issue": [("issuances", {"id": 1, "project_id": 1, "monitoring_period_id": None, "vintage_start": "2021-01-01",
                                 "vintage_end": "2021-12-31", "quantity": 1000, "buffer_quantity": 100,
                                 "buffer_percent": "10", "serial_start": 1, "serial_end": 1000,
                                 "manifest_sha256": None}),
                  ("blocks", {"id": 1, "issuance_id": 1, "serial_start": 1, "serial_end": 900, "status": "active",
                              "account_id": 3, "parent_id": None})],
        "buffer_contribution": [("blocks", {"id": 2, "issuance_id": 1, "serial_start": 901, "serial_end": 1000,
                                            "status": "active", "account_id": 2, "parent_id": None})],
    }
    prev, seq = ledger.GENESIS_HASH, 0
    with db.write_engine.begin() as conn:
        for kind, created in rows.items():
            seq += 1
            payload = {"args": {}, "created": {}, "updated": {}}
            for table, row in created:
                payload["created"].setdefault(table, []).append(row)
                cols = ", ".join(row)
                conn.execute(text(f"INSERT INTO {table} ({cols}) VALUES ({', '.join(':' + k for k in row)})"), row)
            body = ledger.canonical_json(payload)
            h = ledger.line_hash(seq, kind, NOW, body, prev)
            conn.execute(text("INSERT INTO journal (seq, kind, created_at, payload, prev_hash, hash) "
                              "VALUES (:s, :k, :c, :p, :ph, :h)"),
                         {"s": seq, "k": kind, "c": NOW, "p": body, "ph": prev, "h": h})
            prev = h
        conn.execute(text("INSERT INTO api_tokens (id, token_hash, role, account_id, revoked) "
                          "VALUES (1, :h, 'admin', NULL, false)"), {"h": "ab" * 32})
        conn.execute(text("UPDATE registry_state SET journal_length = :n, journal_head = :h, next_serial = 1001"),
                     {"n": seq, "h": prev})
        if db.dialect == "postgresql":   # the old service drew these ids from the sequences
            for table in ("projects", "accounts", "issuances", "blocks", "api_tokens"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"))


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_upgrade_from_0001_keeps_the_registry(backend, tmp_path, request):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}" if backend == "sqlite" else \
        request.getfixturevalue("pg_cluster").create_database()
    db = connect(url)
    migrate(db, "0001")
    _old_registry(db)
    migrate(db)                                    # to head
    svc = RegistryService(db, secret_key=SECRET)
    try:
        v = svc.verify_journal()
        assert v["ok"] and v["length"] == 4, v
        prj = svc.project(1)
        assert prj["name"] == "Old project" and prj["labels"] == [] and prj["methodology"] is None
        assert svc.project_totals(1) | {} == {"project_id": 1, "issued": 1000, "retired": 0, "cancelled": 0,
                                              "buffer": 100, "available": 900}
        assert [t["prefix"] for t in svc.list_tokens()] == [None]      # an old token lists without a prefix
        # the new records work on the migrated database
        svc.add_ccb_verification(OPERATOR, 1, "2020-01-01", "2022-12-31", "SCS Global", "2023-03-01", "APPROVED")
        labelled = svc.label_issuance(OPERATOR, 1, "CCB")
        assert labelled["labels"] == ["CCB"]
        assert all(b["labels"] == ["CCB"] for b in svc.list_blocks(project_id=1))
        new = svc.create_project(OPERATOR, "New", "BR", methodology="VM0048", standard="VCS", labels=["CCB"])
        assert new["methodology"] == "VM0048"
        r = svc.retire(OPERATOR, 1, 5, "Buyer", "offset")
        assert r["labels"] == ["CCB"]
        assert svc.verify_journal()["ok"]
    finally:
        db.dispose()
