"""Journal: append-only triggers, tamper detection naming the line, restore-and-replay of a backup,
and the Alembic migration matching the models."""

import datetime as dt
import json

import pytest
from sqlalchemy import text

from reddplus.registry.db import connect, migrate
from reddplus.registry.service import OPERATOR, Principal, restore_journal

from .conftest import build_world, make_service


def _activity(svc):
    w = build_world(svc)
    alice = Principal("holder", w.alice)
    t = svc.transfer(alice, w.holder_block, 200, w.bob)
    svc.retire(Principal("holder", w.bob), t["transferred_block"]["id"], 50, "Acme", "2024", details="scope 3")
    rest = [b for b in t["blocks"] if b["account_id"] == w.alice][0]
    svc.split(alice, rest["id"], 10)
    svc.cancel(OPERATOR, rest["id"] + 2, 5, "correction")
    mp = svc.create_monitoring_period(OPERATOR, w.project_id, dt.date(2022, 1, 1), dt.date(2022, 12, 31), 300)
    svc.issue(OPERATOR, w.project_id, dt.date(2022, 1, 1), dt.date(2022, 12, 31), 300, 12.5, w.alice, mp["id"],
              "cd" * 32)
    svc.reversal(OPERATOR, w.project_id, 120, "fire")
    return w


def test_journal_is_append_only_in_the_database(any_url):
    svc = make_service(any_url)
    try:
        _activity(svc)
        for sql in ("UPDATE journal SET kind = 'x' WHERE seq = 2", "DELETE FROM journal WHERE seq = 3"):
            with pytest.raises(Exception, match="append-only"):
                with svc.db.write_engine.begin() as conn:
                    conn.execute(text(sql))
        assert svc.verify_journal()["ok"]
    finally:
        svc.db.dispose()


def _drop_guard(conn, dialect):
    if dialect == "postgresql":
        conn.execute(text("ALTER TABLE journal DISABLE TRIGGER journal_no_update"))
    else:
        conn.execute(text("DROP TRIGGER journal_no_update"))
        conn.execute(text("DROP TRIGGER journal_no_delete"))


@pytest.mark.parametrize("edit", ["payload", "quantity-rehashed", "delete"])
def test_tampering_is_detected_and_the_line_named(any_url, edit):
    """An attacker with database access edits one line (after disabling the guard trigger)."""
    svc = make_service(any_url)
    try:
        _activity(svc)
        good = svc.verify_journal()
        assert good["ok"] and good["length"] == 13
        target = 7   # the retirement
        line = svc.journal_lines(after=target - 1, limit=1)[0]
        assert line["kind"] == "retire"
        with svc.db.write_engine.begin() as conn:
            _drop_guard(conn, svc.db.dialect)
            if edit == "payload":
                new = line["payload"].replace('"beneficiary":"Acme"', '"beneficiary":"Someone else"')
                assert new != line["payload"]
                conn.execute(text("UPDATE journal SET payload = :p WHERE seq = :s"), {"p": new, "s": target})
            elif edit == "quantity-rehashed":
                from reddplus.registry import ledger
                new = line["payload"].replace('"quantity":50', '"quantity":5')
                h = ledger.line_hash(target, line["kind"], line["created_at"], new, line["prev_hash"])
                conn.execute(text("UPDATE journal SET payload = :p, hash = :h WHERE seq = :s"),
                             {"p": new, "h": h, "s": target})
            else:
                conn.execute(text("DELETE FROM journal WHERE seq = :s"), {"s": target})
        bad = svc.verify_journal()
        assert bad["ok"] is False
        assert bad["bad_line"] == (target + 1 if edit == "quantity-rehashed" else target)
        assert f"line {bad['bad_line']}" in bad["message"]
    finally:
        svc.db.dispose()


def test_tampering_with_state_tables_is_detected(sqlite_url):
    svc = make_service(sqlite_url)
    try:
        _activity(svc)
        with svc.db.write_engine.begin() as conn:
            conn.execute(text("UPDATE retirements SET beneficiary = 'Mallory'"))
        v = svc.verify_journal()
        assert not v["ok"] and "replay differs" in v["message"] and "Mallory" in v["message"]
    finally:
        svc.db.dispose()


def _second_database(any_url, request, tmp_path):
    if any_url.startswith("postgresql"):
        url = request.getfixturevalue("pg_cluster").create_database()
        db = connect(url)
        migrate(db)
        db.dispose()
        return url
    import shutil
    shutil.copy(request.getfixturevalue("sqlite_template"), tmp_path / "fresh.sqlite")
    return f"sqlite:///{tmp_path / 'fresh.sqlite'}"


def test_restore_and_replay(any_url, request, tmp_path):
    """A backup (the journal lines) restored into a fresh database, once replayed, equals the stored state."""
    svc = make_service(any_url)
    fresh = make_service(_second_database(any_url, request, tmp_path))
    try:
        _activity(svc)
        backup = json.loads(json.dumps(svc.journal_lines()))     # a serialised export
        replayed = restore_journal(fresh.db, backup)
        assert replayed == svc.snapshot() == fresh.snapshot()
        assert fresh.verify_journal() == svc.verify_journal()
        assert fresh.published_head() == svc.published_head()
        # the restored registry keeps working: next serials and certificates continue
        w_blocks = [b for b in fresh.list_blocks() if b["status"] == "active" and b["account_id"] > 2]
        r = fresh.retire(OPERATOR, w_blocks[0]["id"], 1, "after restore", "r")
        assert r["certificate_number"].endswith("000000002")
        assert fresh.verify_journal()["ok"]
    finally:
        svc.db.dispose()
        fresh.db.dispose()


def test_restore_refuses_a_tampered_backup(sqlite_url, tmp_path, sqlite_template):
    import shutil

    svc = make_service(sqlite_url)
    try:
        _activity(svc)
        backup = svc.journal_lines()
        assert '"alice"' in backup[1]["payload"]
        backup[1]["payload"] = backup[1]["payload"].replace('"alice"', '"mallory"')
        shutil.copy(sqlite_template, tmp_path / "fresh.sqlite")
        fresh = connect(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
        with pytest.raises(Exception, match="line 2"):
            restore_journal(fresh, backup)
        fresh.dispose()
    finally:
        svc.db.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migration_matches_models(backend, tmp_path, request):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from reddplus.registry.models import Base

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'm.sqlite'}"
    else:
        url = request.getfixturevalue("pg_cluster").create_database()
    db = connect(url)
    migrate(db)
    migrate(db)   # idempotent
    with db.write_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    db.dispose()
    assert diff == []
