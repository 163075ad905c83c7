"""One `mailbridge run` per database: a row naming its host, pid and start, kept fresh by a heartbeat."""
from __future__ import annotations

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


class RunLock:
    """Held for the life of the daemon; a dead holder (kill -9, power cut) is taken over."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.host = socket.gethostname()
        self.pid = os.getpid()

    def acquire(self) -> None:
        for _ in range(2):  # a second try when another process wins the insert race
            with self.db.session() as s:
                row = s.get(Runner, NAME)
                if row is not None and holder_alive(row):
                    raise ConfigError(
                        f"another 'mailbridge run' holds this database: host {row.host}, pid {row.pid}, "
                        f"since {row.started_at.isoformat(timespec='seconds')}; stop it first "
                        "(one daemon per database)."
                    )
                if row is not None:
                    s.delete(row)
                    s.flush()
            try:
                with self.db.session() as s:
                    s.add(Runner(name=NAME, host=self.host, pid=self.pid, version=__version__, jobs={}))
                return
            except IntegrityError:
                continue
        raise ConfigError("another 'mailbridge run' is starting on this database; stop it first.")

    def heartbeat(self, jobs: dict[str, str | None]) -> None:
        with self.db.session() as s:
            row = s.get(Runner, NAME)
            if row is None or (row.host, row.pid) != (self.host, self.pid):
                return  # taken over (we were presumed dead): the next start will say so
            row.heartbeat_at = utcnow()
            row.jobs = jobs

    def release(self) -> None:
        with self.db.session() as s:
            s.execute(delete(Runner).where(Runner.name == NAME, Runner.host == self.host, Runner.pid == self.pid))


def current(db: Database) -> Runner | None:
    with db.session() as s:
        return s.scalar(select(Runner).where(Runner.name == NAME))
