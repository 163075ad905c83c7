"""The JSON records of CONTRACT.md, built from ledger rows."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from types import SimpleNamespace
from typing import Any, overload
from zoneinfo import ZoneInfo

from mailbridge.config import Config
from mailbridge.ledger.models import Message, Submission


@overload
def iso(when: datetime, zone: ZoneInfo) -> str: ...
@overload
def iso(when: datetime | None, zone: ZoneInfo) -> str | None: ...
def iso(when: datetime | None, zone: ZoneInfo) -> str | None:
    return when.astimezone(zone).isoformat() if when else None


def message_record(row: Message, zone: ZoneInfo, submission_ids: list[int] | None = None) -> dict:
    """`row`: a Message, or any row with its columns (ledger/listing.py passes tuples with the ids)."""
    return {
        "id": row.id,
        "mailbox": row.mailbox,
        "folder": row.folder,
        "uidvalidity": row.uidvalidity,
        "uid": row.uid,
        "message_id": row.message_id,
        "sha256": row.sha256,
        "size": row.size,
        "received_at": iso(row.received_at, zone),
        "sender": row.sender,
        "sender_name": row.sender_name,
        "subject": row.subject,
        "state": row.state,
        "disposition": row.disposition,
        "reason": row.reason,
        "duplicate_of": row.duplicate_of,
        "action_pending": row.action_pending,
        "submission_ids": [s.id for s in row.submissions] if submission_ids is None else submission_ids,
    }


def submission_record(sub: Submission, config: Config, full: bool = False) -> dict:
    msg = sub.message
    flat = SimpleNamespace(
        id=sub.id, receipt_no=sub.receipt_no, message_id=msg.message_id, message=msg.id, mailbox=msg.mailbox,
        received_at=msg.received_at, month=sub.month, sender=msg.sender, sender_name=msg.sender_name,
        subject=msg.subject, title=sub.title, body_chars=sub.body_chars, category=sub.category,
        unit=sub.unit.name if sub.unit else None, unit_type=sub.unit.type if sub.unit else None,
        suggested_unit=sub.suggested_unit.name if sub.suggested_unit else None, version_of=sub.version_of,
        status=sub.status, flags=sub.flags, document=sub.document.filename if sub.document else None,
        links=sub.links, problem=sub.problem, review_status=sub.review_status, review_group=sub.review_group)
    record = submission_fields(flat, config, msg.attachments, sub.adoptions)
    if full:
        zone = config.ingest.zone
        record["text"] = sub.text
        record["decisions"] = [
            {"action": d.action, "channel": d.channel, "date": d.adopted_on.isoformat() if d.adopted_on else None,
             "group": d.review_group, "actor": d.actor, "via": d.via, "note": d.note, "at": iso(d.at, zone)}
            for d in sub.decisions]
    return record


def submission_fields(r: Any, config: Config, attachments: Iterable[Any], adoptions: Iterable[Any]) -> dict:
    """The `submissions list --json` record from flat values: `r` has the record's scalar fields
    (a row of ledger/listing.py, or submission_record's view of the ORM objects)."""
    return {
        "id": r.id,
        "receipt_no": r.receipt_no,
        "message_id": r.message_id,
        "message": r.message,
        "mailbox": r.mailbox,
        "received_at": iso(r.received_at, config.ingest.zone),
        "month": r.month,
        "sender": r.sender,
        "sender_name": r.sender_name,
        "subject": r.subject,
        "title": r.title,
        "body_chars": r.body_chars,
        "category": r.category,
        "category_name": config.category_name(r.category),
        "unit": r.unit,
        "unit_type": r.unit_type,
        "suggested_unit": r.suggested_unit,
        "version_of": r.version_of,
        "status": r.status,
        "flags": list(r.flags or []),
        "document": r.document,
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size, "sha256": a.sha256,
             "kind": a.kind, "inline": a.inline}
            for a in attachments
        ],
        "links": list(r.links or []),
        "problem": r.problem,
        "review_status": r.review_status,
        "review_group": r.review_group,
        "adoptions": [{"channel": a.channel, "date": a.adopted_on.isoformat(), "actor": a.actor, "via": a.via}
                      for a in adoptions],
    }
