"""The outbox table: mail is written here in the transaction that caused it, sent later."""
from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from mailbridge.ledger.models import Outgoing, utcnow
from mailbridge.notify.compose import recipients


def enqueue(s: Session, key: str, kind: str, msg: EmailMessage, message_row_id: int | None = None) -> bool:
    """Add a mail unless one with this idempotency key exists; False when it did.

    Runs inside the caller's transaction, so the mail exists exactly when the change that caused
    it is committed. A concurrent writer of the same key loses on the unique index.
    """
    if s.scalar(select(Outgoing.id).where(Outgoing.key == key)) is not None:
        return False
    s.add(Outgoing(key=key, kind=kind, recipients=recipients(msg), subject=str(msg["Subject"]),
                   message_id=str(msg["Message-ID"]), data=msg.as_bytes(), status="pending",
                   next_attempt_at=utcnow(), message_row_id=message_row_id))
    return True


def sent_to_since(s: Session, kind: str, address: str, since: datetime) -> int:
    """How many mails of a kind were queued for an address since a time (the per-sender daily cap)."""
    address = address.lower()
    # Narrowed in SQL (the JSON text holds the quoted address), confirmed exactly in Python.
    rows = s.scalars(select(Outgoing.recipients).where(
        Outgoing.kind == kind, Outgoing.created_at >= since,
        func.lower(cast(Outgoing.recipients, Text)).contains(f'"{address}"', autoescape=True)))
    return sum(1 for to in rows if address in (a.lower() for a in to))


def record(row: Outgoing) -> dict:
    return {
        "id": row.id,
        "key": row.key,
        "kind": row.kind,
        "recipients": list(row.recipients),
        "subject": row.subject,
        "message_id": row.message_id,
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at.isoformat() if row.status == "pending" else None,
        "last_error": row.last_error,
        "message": row.message_row_id,
        "created_at": row.created_at.isoformat(),
        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
    }
