"""A throwaway PostgreSQL cluster in a temporary directory (tests and benchmarks).

Runs the image's PostgreSQL binaries (default ``/usr/lib/postgresql/15/bin``) as a non-root user:
when the caller is root, the directory is handed to the ``postgres`` system user and every
command runs through ``runuser -u postgres --`` (argument lists, never shell strings). The server
listens on 127.0.0.1 on a free port and on a unix socket in the same directory.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_BIN = Path(os.environ.get("REDDPLUS_PG_BIN", "/usr/lib/postgresql/15/bin"))


def postgres_available(bin_dir: Path = DEFAULT_BIN) -> bool:
    return all((bin_dir / exe).exists() for exe in ("initdb", "pg_ctl", "postgres"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TempPostgres:
    """``with TempPostgres() as pg: pg.create_database()`` -> a ``postgresql+psycopg://`` URL."""

    def __init__(self, bin_dir: Path = DEFAULT_BIN, *, fsync: bool = True, max_connections: int = 300,
                 user: str = "postgres"):
        self.bin_dir = Path(bin_dir)
        self.fsync = fsync
        self.max_connections = max_connections
        self.os_user = user
        self.base: Path | None = None
        self.port: int | None = None

    def _run(self, args: list[str]) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", self.os_user, "--"] if os.geteuid() == 0 else []
        return subprocess.run(prefix + args, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> "TempPostgres":
        if not postgres_available(self.bin_dir):
            raise FileNotFoundError(f"PostgreSQL binaries not found in {self.bin_dir}")
        self.base = Path(tempfile.mkdtemp(prefix="reddplus-pg-"))
        if os.geteuid() == 0:
            pw = pwd.getpwnam(self.os_user)
            os.chown(self.base, pw.pw_uid, pw.pw_gid)
        os.chmod(self.base, 0o700)
        data = self.base / "data"
        self._run([str(self.bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                   "-E", "UTF8", "--locale=C", "--no-sync"])
        self.port = free_port()
        opts = (f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 "
                f"-c max_connections={self.max_connections} -c shared_buffers=128MB")
        if not self.fsync:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run([str(self.bin_dir / "pg_ctl"), "-D", str(data), "-l", str(self.base / "server.log"),
                   "-o", opts, "-w", "-t", "60", "start"])
        log.info("PostgreSQL started on 127.0.0.1:%s (%s)", self.port, self.base)
        return self

    def stop(self) -> None:
        if self.base is None:
            return
        try:
            self._run([str(self.bin_dir / "pg_ctl"), "-D", str(self.base / "data"), "-m", "fast", "-w", "stop"])
        except subprocess.CalledProcessError as err:  # pragma: no cover - already stopped
            log.warning("pg_ctl stop failed: %s", err.stderr)
        shutil.rmtree(self.base, ignore_errors=True)
        self.base = None

    def restart(self) -> None:
        """Restart the server (fast shutdown: open connections are cut, committed data stays)."""
        self._run([str(self.bin_dir / "pg_ctl"), "-D", str(self.base / "data"), "-m", "fast", "-w", "restart",
                   "-l", str(self.base / "server.log")])

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        import psycopg

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def __enter__(self) -> "TempPostgres":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
