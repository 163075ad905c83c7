"""The JSON records of CONTRACT.md, built from ledger rows."""
from __future__ import annotations

from datetime import datetime
from typing import overload
from zoneinfo import ZoneInfo

from mailbridge.config import Config
from mailbridge.ledger.models import Message, Submission


@overload
def iso(when: datetime, zone: ZoneInfo) -> str: ...
@overload
def iso(when: datetime | None, zone: ZoneInfo) -> str | None: ...
def iso(when: datetime | None, zone: ZoneInfo) -> str | None:
    return when.astimezone(zone).isoformat() if when else None


def message_record(row: Message, zone: ZoneInfo) -> dict:
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
        "submission_ids": [s.id for s in row.submissions],
    }


def submission_record(sub: Submission, config: Config, full: bool = False) -> dict:
    msg = sub.message
    zone = config.ingest.zone
    record = {
        "id": sub.id,
        "receipt_no": sub.receipt_no,
        "message_id": msg.message_id,
        "message": msg.id,
        "mailbox": msg.mailbox,
        "received_at": iso(msg.received_at, zone),
        "month": sub.month,
        "sender": msg.sender,
        "sender_name": msg.sender_name,
        "subject": msg.subject,
        "title": sub.title,
        "body_chars": sub.body_chars,
        "category": sub.category,
        "category_name": config.category_name(sub.category),
        "unit": sub.unit.name if sub.unit else None,
        "unit_type": sub.unit.type if sub.unit else None,
        "suggested_unit": sub.suggested_unit.name if sub.suggested_unit else None,
        "version_of": sub.version_of,
        "status": sub.status,
        "flags": list(sub.flags or []),
        "document": sub.document.filename if sub.document else None,
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size, "sha256": a.sha256,
             "kind": a.kind, "inline": a.inline}
            for a in msg.attachments
        ],
        "links": list(sub.links or []),
        "problem": sub.problem,
        "review_status": sub.review_status,
        "review_group": sub.review_group,
        "adoptions": [{"channel": a.channel, "date": a.adopted_on.isoformat(), "actor": a.actor, "via": a.via}
                      for a in sub.adoptions],
    }
    if full:
        record["text"] = sub.text
        record["decisions"] = [
            {"action": d.action, "channel": d.channel, "date": d.adopted_on.isoformat() if d.adopted_on else None,
             "group": d.review_group, "actor": d.actor, "via": d.via, "note": d.note, "at": iso(d.at, zone)}
            for d in sub.decisions]
    return record
