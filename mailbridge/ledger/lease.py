"""Leases in the database: one poller per mailbox, across processes and hosts."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from mailbridge.ledger.db import Database
from mailbridge.ledger.models import Lease, utcnow


def acquire(db: Database, name: str, owner: str, ttl_seconds: int = 600) -> bool:
    """Take or renew the lease; False while another live owner holds it."""
    now = utcnow()
    expires = now + timedelta(seconds=ttl_seconds)
    with db.session() as s:
        taken = s.execute(
            update(Lease)
            .where(Lease.name == name, or_(Lease.owner == owner, Lease.expires_at < now))
            .values(owner=owner, expires_at=expires)
        ).rowcount
        if taken:
            return True
        if s.get(Lease, name) is not None:
            return False
    try:
        with db.session() as s:
            s.add(Lease(name=name, owner=owner, expires_at=expires))
        return True
    except IntegrityError:  # created by another process between our two statements
        return False


def release(db: Database, name: str, owner: str) -> None:
    with db.session() as s:
        s.query(Lease).filter(Lease.name == name, Lease.owner == owner).delete()
