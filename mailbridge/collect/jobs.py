"""The scheduled mails of a collection: reminders before it is due, the closing report after.

The scheduler (service.runner) calls these inside one transaction per occurrence; each mail's
outbox key holds the occurrence string it passes, so an occurrence queues its mails exactly once
however often it is run (a restart, a catch-up after downtime).
"""
from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta

from sqlalchemy.orm import Session

from mailbridge.collect.records import local_time, statuses
from mailbridge.config import CollectionConfig, Config
from mailbridge.ledger.queries import unit_addresses
from mailbridge.notify import outbox
from mailbridge.notify.compose import compose
from mailbridge.notify.reminders import submission_address
from mailbridge.render import render_mail

SEND_AT = time(9, 0)  # local time of reminders and reports: the start of an office day


def reminder_times(config: Config, collection: CollectionConfig) -> list[datetime]:
    """09:00 local on each remind_days_before day (not before the collection opens), earliest first."""
    zone = config.ingest.zone
    days = {collection.due - timedelta(days=n) for n in collection.remind_days_before}
    days = {d for d in days if collection.opens is None or d >= collection.opens}
    return [datetime.combine(d, SEND_AT, tzinfo=zone) for d in sorted(days)]


def report_time(config: Config, collection: CollectionConfig) -> datetime:
    """09:00 local the day after the due date: every on-time reply has arrived by then."""
    return datetime.combine(collection.due + timedelta(days=1), SEND_AT, tzinfo=config.ingest.zone)


def due_occurrences(config: Config, collection: CollectionConfig) -> list[datetime]:
    """Every time the scheduler should run a job of this collection: the reminders, then the report (last)."""
    return [*reminder_times(config, collection), report_time(config, collection)]


def _key(kind: str, collection_id: str, occurrence: str, extra: str = "") -> str:
    key = f"{kind}:{collection_id}:{occurrence}" + (f":{extra}" if extra else "")
    if len(key) <= 200:  # the outbox key column
        return key
    return f"{kind}:{hashlib.sha256(key.encode()).hexdigest()}"


def _address(config: Config, collection: CollectionConfig) -> str:
    """Where units should send the collection: the mailbox it names, else where articles go."""
    named = [b.username for b in config.mailboxes if b.name in collection.mailboxes and "@" in b.username]
    return named[0] if named else submission_address(config)


def queue_reminders(s: Session, config: Config, collection_id: str, occurrence: str, today: date) -> int:
    """Queue a reminder to each unit that has not sent the collection (and has an address); returns how many."""
    collection = config.collection(collection_id)
    rows = statuses(s, collection)
    sent = sum(1 for r in rows if r.status != "missing")
    queued = 0
    for row in rows:
        if row.status != "missing":
            continue
        to = unit_addresses(s, row.unit.id)
        if not to:
            continue
        subject, text, html = render_mail(
            config, "collection_reminder", collection=collection.name, unit=row.unit.name,
            due=collection.due.isoformat(), days_left=(collection.due - today).days,
            address=_address(config, collection), keywords=collection.subject_keywords, sent_count=sent,
            contact=config.receipts.contact)
        msg = compose(config, to, subject, text, html)
        queued += outbox.enqueue(s, _key("collection-reminder", collection.id, occurrence, str(row.unit.id)),
                                 "collection_reminder", msg)
    return queued


def report_data(s: Session, config: Config, collection: CollectionConfig) -> dict:
    """What the closing report shows: the units by status, with when and what they sent."""
    rows = [{"unit": r.unit.name, "status": r.status, "received_at": local_time(r.first.received_at, config)
             if r.first else None, "files": list(r.first.files) if r.first else []} for r in statuses(s, collection)]
    return {"id": collection.id, "collection": collection.name, "due": collection.due.isoformat(),
            "total": len(rows), **{k: [r for r in rows if r["status"] == k] for k in ("sent", "late", "missing")}}


def queue_report(s: Session, config: Config, collection_id: str, occurrence: str) -> int:
    """Queue the closing report to [scorecards] recipients; returns 1, or 0 (already queued, or nobody to tell)."""
    collection = config.collection(collection_id)
    if not config.scorecards.recipients:
        return 0
    subject, text, html = render_mail(config, "collection_report", **report_data(s, config, collection))
    msg = compose(config, list(config.scorecards.recipients), subject, text, html)
    return int(outbox.enqueue(s, _key("collection-report", collection.id, occurrence), "collection_report", msg))


def queue_due(s: Session, config: Config, collection_id: str, at: datetime) -> int:
    """One occurrence of `due_occurrences`, whichever it is: the report at its time, else a reminder.

    For a scheduler that keeps one job per collection; the occurrence string is the id and time.
    """
    collection = config.collection(collection_id)
    occurrence = f"{collection.id}@{at.astimezone(config.ingest.zone).isoformat(timespec='minutes')}"
    if at >= report_time(config, collection):
        return queue_report(s, config, collection.id, occurrence)
    return queue_reminders(s, config, collection.id, occurrence, at.astimezone(config.ingest.zone).date())
