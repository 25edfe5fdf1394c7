"""Engines, migrations and the unit of work (one use case = one transaction).

* SQLite (embedded default): a file, WAL journal, ``BEGIN IMMEDIATE`` for write transactions so
  concurrent writers queue on the database lock instead of failing on upgrade.
* PostgreSQL (``postgresql+psycopg://``): READ COMMITTED writes with row locks taken in serial
  order (blocks first, then the registry-state row that holds the journal head); reads in
  REPEATABLE READ snapshots so every total read is consistent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

ALEMBIC_DIR = Path(__file__).resolve().parent / "alembic"


def _sqlite_engine(url: str, immediate: bool) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 60}, pool_size=20,
                           max_overflow=60)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):  # take over transaction control from pysqlite
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@dataclass
class Database:
    """A write engine and a read engine on one database, with their session factories."""

    url: str
    write_engine: Engine
    read_engine: Engine

    def __post_init__(self) -> None:
        self.write_sessions = sessionmaker(self.write_engine, expire_on_commit=False, autoflush=False)
        self.read_sessions = sessionmaker(self.read_engine, expire_on_commit=False, autoflush=False)

    @property
    def dialect(self) -> str:
        return self.write_engine.dialect.name

    def dispose(self) -> None:
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()


def connect(url: str, *, pool_size: int = 10) -> Database:
    """Open a registry database (no migration; see :func:`migrate`)."""
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///"):
            path = Path(url[len("sqlite:///"):])
            if str(path) not in ("", ":memory:"):
                path.parent.mkdir(parents=True, exist_ok=True)
        return Database(url, _sqlite_engine(url, True), _sqlite_engine(url, False))
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    write = create_engine(url, pool_size=pool_size, max_overflow=pool_size * 6, pool_pre_ping=False)
    read = write.execution_options(isolation_level="REPEATABLE READ")
    return Database(url, write, read)


def migrate(db: Database, revision: str = "head") -> None:
    """Apply the Alembic migrations up to ``revision`` (the service does this at start)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    # plain engine without BEGIN IMMEDIATE hooks for DDL
    engine = create_engine(db.url)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()
    log.info("registry schema at revision %s", revision)


class UnitOfWork:
    """One transaction: ``with UnitOfWork(db) as uow: ...; uow.commit()``.

    Helpers never commit; leaving the block without :meth:`commit` rolls back.
    """

    def __init__(self, db: Database, *, read_only: bool = False):
        self.db = db
        self.read_only = read_only
        self.session: Session | None = None

    def __enter__(self) -> "UnitOfWork":
        factory = self.db.read_sessions if self.read_only else self.db.write_sessions
        self.session = factory()
        self.session.begin()
        return self

    def commit(self) -> None:
        if self.read_only:
            raise RuntimeError("read-only unit of work")
        self.session.commit()

    def __exit__(self, *exc) -> None:
        try:
            if self.session.in_transaction():
                self.session.rollback()
        finally:
            self.session.close()
