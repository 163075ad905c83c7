"""Leases in the database: one poller per mailbox, across processes and hosts."""
from __future__ import annotations

import os
import socket
import threading
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from mailbridge.ledger.db import Database
from mailbridge.ledger.models import Lease, utcnow

# Leases this process failed to release (the database went away mid-poll): its own, so the next
# acquire of the same name takes them back at once instead of waiting out the TTL (5 minutes
# without receipts after a database restart).
_unreleased: dict[str, set[str]] = {}


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _dead_here(owner: str) -> bool:
    """The owner ran on this host and its process is gone (killed, crashed): no need to wait."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def acquire(db: Database, name: str, owner: str, ttl_seconds: int = 300) -> bool:
    """Take or renew the lease; False while another live owner holds it.

    The holder renews it as it works; one that died on this host is taken over at once, one that
    died elsewhere when the lease runs out.
    """
    now = utcnow()
    expires = now + timedelta(seconds=ttl_seconds)
    with db.session() as s:
        holder = s.scalar(select(Lease.owner).where(Lease.name == name))
        stale = [holder] if holder and holder != owner and (
            _dead_here(holder) or holder in _unreleased.get(name, ())) else []
        taken = cast(CursorResult[Any], s.execute(  # an UPDATE: a cursor's result, with rowcount
            update(Lease)
            .where(Lease.name == name, or_(Lease.owner.in_([owner, *stale]), Lease.expires_at < now))
            .values(owner=owner, expires_at=expires)
        )).rowcount
        if taken:
            _unreleased.pop(name, None)
            return True
        if holder is not None:
            return False
    try:
        with db.session() as s:
            s.add(Lease(name=name, owner=owner, expires_at=expires))
        return True
    except IntegrityError:  # created by another process between our two statements
        return False


def release(db: Database, name: str, owner: str) -> None:
    try:
        with db.session() as s:
            s.query(Lease).filter(Lease.name == name, Lease.owner == owner).delete()
    except OperationalError:
        _unreleased.setdefault(name, set()).add(owner)
        raise
