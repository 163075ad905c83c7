"""One `mailbridge run` per database (SQLite) or per mailbox set (PostgreSQL): a leased row naming
its host, pid and start, kept fresh by a heartbeat; a holder whose heartbeat is STALE_SECONDS old
(or whose process is gone, on this host) is taken over.

On PostgreSQL several instances share one set of books, each with its own mailboxes (a province's
cities): the row's name is derived from the sorted mailbox names, so a second daemon with the same
set is refused while another set runs beside it. A mailbox that two sets share is polled by one
at a time through its lease (ledger/lease.py). Rows, not advisory locks: a row survives a
connection cut by a database restart, and `status` can read who holds it.
"""
from __future__ import annotations

import hashlib
import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from mailbridge import __version__
from mailbridge.errors import ConfigError
from mailbridge.ledger.db import Database
from mailbridge.ledger.models import Runner, utcnow

NAME = "run"
STALE_SECONDS = 90  # a holder whose heartbeat is older than this (another host) is taken as dead
HEARTBEAT_SECONDS = 15


def _alive_here(host: str, pid: int) -> bool | None:
    """True/False for a process of this host; None when it ran on another host (cannot tell)."""
    if host != socket.gethostname():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def holder_alive(row: Runner, now: datetime | None = None) -> bool:
    alive = _alive_here(row.host, row.pid)
    if alive is not None:
        return alive and (row.pid != os.getpid() or row.host != socket.gethostname())
    return (now or utcnow()) - row.heartbeat_at < timedelta(seconds=STALE_SECONDS)


def name_for(db: Database, mailboxes: list[str]) -> str:
    """The lock row's name: one per database on SQLite, one per mailbox set on PostgreSQL."""
    if db.engine.dialect.name != "postgresql":
        return NAME
    return f"{NAME}:" + hashlib.sha256("\n".join(sorted(mailboxes)).encode()).hexdigest()[:32]


class RunLock:
    """Held for the life of the daemon; a dead holder (kill -9, power cut) is taken over."""

    def __init__(self, db: Database, name: str = NAME) -> None:
        self.db = db
        self.name = name
        self.scope = "this database" if name == NAME else "this set of mailboxes"
        self.host = socket.gethostname()
        self.pid = os.getpid()

    def acquire(self) -> None:
        for _ in range(2):  # a second try when another process wins the insert race
            with self.db.session() as s:
                row = s.get(Runner, self.name)
                if row is not None and holder_alive(row):
                    raise ConfigError(
                        f"another 'mailbridge run' holds {self.scope}: host {row.host}, pid {row.pid}, "
                        f"since {row.started_at.isoformat(timespec='seconds')}; stop it first "
                        f"(one daemon per {self.scope.removeprefix('this ')})."
                    )
                if row is not None:
                    s.delete(row)
                    s.flush()
            try:
                with self.db.session() as s:
                    s.add(Runner(name=self.name, host=self.host, pid=self.pid, version=__version__, jobs={}))
                return
            except IntegrityError:
                continue
        raise ConfigError(f"another 'mailbridge run' is starting on {self.scope}; stop it first.")

    def heartbeat(self, jobs: dict[str, str | None]) -> None:
        with self.db.session() as s:
            row = s.get(Runner, self.name)
            if row is None or (row.host, row.pid) != (self.host, self.pid):
                return  # taken over (we were presumed dead): the next start will say so
            row.heartbeat_at = utcnow()
            row.jobs = jobs

    def release(self) -> None:
        with self.db.session() as s:
            s.execute(delete(Runner).where(Runner.name == self.name, Runner.host == self.host, Runner.pid == self.pid))


def current(db: Database, name: str = NAME) -> Runner | None:
    with db.session() as s:
        return s.scalar(select(Runner).where(Runner.name == name))
