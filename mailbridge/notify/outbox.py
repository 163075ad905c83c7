"""The outbox table: mail is written here in the transaction that caused it, sent later."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import Text, cast, func, select, update
from sqlalchemy.orm import Session

from mailbridge.config import Config
from mailbridge.ledger.models import Outgoing, utcnow
from mailbridge.ledger.vocab import OutboxStatus
from mailbridge.notify.compose import recipients

log = logging.getLogger(__name__)

# Mail a stranger's mail causes (RFC 3834 answers): one recipient each, under the global caps.
AUTOMATIC = ("receipt", "reply")


def enqueue(s: Session, key: str, kind: str, msg: EmailMessage, message_row_id: int | None = None,
            config: Config | None = None) -> bool:
    """Add a mail unless one with this idempotency key exists; False when it did, or when `config`
    is given and an automatic mail is over the global caps (logged).

    Runs inside the caller's transaction, so the mail exists exactly when the change that caused
    it is committed. A concurrent writer of the same key loses on the unique index.
    """
    to = recipients(msg)
    if kind in AUTOMATIC and len(to) != 1:  # an answer goes to its sender, never to a list he wrote
        raise ValueError(f"a {kind} must have exactly one recipient, not {len(to)}")
    if s.scalar(select(Outgoing.id).where(Outgoing.key == key)) is not None:
        return False
    capped = over_cap(s, config) if config is not None and kind in AUTOMATIC else None
    if capped:
        log.warning("outbox: %s %s not queued: %s", kind, key, capped)
        return False
    s.add(Outgoing(key=key, kind=kind, recipients=to, subject=str(msg["Subject"]),
                   message_id=str(msg["Message-ID"]), data=msg.as_bytes(), status=OutboxStatus.PENDING,
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


def over_cap(s: Session, config: Config) -> str | None:
    """Why no more automatic mail may be queued now (the hourly or daily cap is reached), or None.

    Forged senders cost an attacker nothing; the caps keep the official address from becoming a
    spam cannon and from being blocked by 163 for sending too much.
    """
    now = utcnow()
    rules = config.outbox
    for cap, window, name in ((rules.max_automatic_per_hour, timedelta(hours=1), "max_automatic_per_hour"),
                              (rules.max_automatic_per_day, timedelta(days=1), "max_automatic_per_day")):
        if cap and automatic_since(s, now - window) >= cap:
            return f"{cap} automatic mails already queued in the last {_span(window)} (outbox.{name})"
    return None


def _span(window: timedelta) -> str:
    return "hour" if window == timedelta(hours=1) else "day"


def automatic_since(s: Session, since: datetime) -> int:
    return s.scalar(select(func.count(Outgoing.id)).where(
        Outgoing.kind.in_(AUTOMATIC), Outgoing.created_at >= since)) or 0


def drop_sent_bytes(s: Session, keep_days: int, now: datetime | None = None, batch: int = 1000) -> int:
    """Empty the stored bytes of up to `batch` mails sent more than `keep_days` ago; returns how
    many (call again, in a new transaction, while it returns `batch`: each holds the write lock briefly).

    Receipts are most of the database at province scale (401 MB of 1,072 MB); the row (Message-ID,
    recipients, kind, dates, status) is what the caps and the audit need, and stays. On SQLite the
    freed pages are reused by new rows: the file stops growing (VACUUM shrinks it).
    """
    if not keep_days:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=keep_days)
    ids = list(s.scalars(select(Outgoing.id).where(
        Outgoing.status == "sent", Outgoing.sent_at < cutoff, func.length(Outgoing.data) > 0).limit(batch)))
    if ids:
        s.execute(update(Outgoing).where(Outgoing.id.in_(ids)).values(data=b""))
    return len(ids)


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
        "next_attempt_at": row.next_attempt_at.isoformat() if row.status == OutboxStatus.PENDING else None,
        "last_error": row.last_error,
        "message": row.message_row_id,
        "created_at": row.created_at.isoformat(),
        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
    }
