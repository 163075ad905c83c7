"""A private PostgreSQL server on 127.0.0.1 for tests: initdb in a temp folder, no system service.

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` system user
the Debian package creates (initdb and pg_ctl run through runuser); as anyone else it is theirs.
"""
from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

HOST = "127.0.0.1"
SUPERUSER = "mb"
_RUN_AS = "postgres"  # the Debian package's system user, used when the tests run as root


def bin_dir() -> Path | None:
    """The server binaries: $MAILBRIDGE_PG_BIN, else the newest /usr/lib/postgresql/N/bin."""
    if os.environ.get("MAILBRIDGE_PG_BIN"):
        return Path(os.environ["MAILBRIDGE_PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Postgres:
    """One cluster; `create_database()` gives each test an empty database of its own."""

    def __init__(self, durable: bool = False) -> None:
        self.durable = durable  # True: the server's own fsync defaults, as deployed (bench/province.py)
        bindir = bin_dir()
        if bindir is None or not (bindir / "initdb").exists():
            raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) not found")
        self.bin = bindir
        self.root = Path(tempfile.mkdtemp(prefix="mb-pg-"))  # not under pytest's 0700 root-owned tmp
        self.data = self.root / "data"
        self.sockets = self.root / "run"
        self.log = self.root / "postgres.log"
        self.port = _free_port()
        self._names = itertools.count(1)
        self._as: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam(_RUN_AS)
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", _RUN_AS, "--"]
        self._cmd("initdb", "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync")
        self._cmd("mkdir", "-p", str(self.sockets), tool=False)

    @staticmethod
    def available() -> bool:
        bindir = bin_dir()
        return bindir is not None and (bindir / "initdb").exists() and (bindir / "pg_ctl").exists()

    def _cmd(self, name: str, *args: str, tool: bool = True) -> None:
        exe = str(self.bin / name) if tool else name
        done = subprocess.run([*self._as, exe, *args], capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{name} {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}\n{log}")

    def start(self) -> None:
        # -w waits until the server accepts connections (pg_ctl polls it): readiness, not a sleep.
        # Durability off: a test cluster that dies is thrown away anyway.
        options = f"-h {HOST} -p {self.port} -k {self.sockets} -c max_connections=300"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._cmd("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._cmd("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        """Stop and start on the same port: every client connection is cut."""
        self.stop()
        self.start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@{HOST}:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(host=HOST, port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database (UTF8, from template0); its SQLAlchemy URL."""
        name = f"{prefix}{os.getpid()}_{next(self._names)}"
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
        return self.url(name)

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Postgres:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
