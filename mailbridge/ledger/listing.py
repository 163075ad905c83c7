"""The list commands' rows, streamed: a page of columns at a time, never the whole ledger in memory.

`messages list` and `submissions list` at province scale are ~100,000 rows a year. Each page is
read by id (keyset: `id > last ORDER BY id LIMIT n`, one index range whatever the page number)
as plain columns — no ORM objects, no article text — and the page's submission ids, attachments
and adoptions come in one query each. Callers run this in one read transaction
(Database.reading), so the pages are one snapshot.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session, aliased

from mailbridge.config import Config
from mailbridge.ledger.models import Adoption, Attachment, Message, Submission, Unit
from mailbridge.ledger.records import message_record, submission_fields

PAGE = 1000


def pages(s: Session, query: Select, key: Any, size: int = PAGE, after: int = 0,
          entities: bool = False) -> Iterator[Sequence[Any]]:
    """The rows of `query` in pages ordered by `key`, an integer id column (labelled `id`);
    `entities`: the query selects one ORM entity, and the pages are its objects."""
    while True:
        ordered = query.where(key > after).order_by(key).limit(size)
        rows = s.scalars(ordered).all() if entities else s.execute(ordered).all()
        if rows:
            yield rows
        if len(rows) < size:
            return
        after = rows[-1].id


_MESSAGE = tuple(Message.__table__.c[name] for name in (
    "id", "mailbox", "folder", "uidvalidity", "uid", "message_id", "sha256", "size", "received_at", "sender",
    "sender_name", "subject", "state", "disposition", "reason", "duplicate_of", "action_pending"))


def message_rows(s: Session, where: list) -> Iterator[Row]:
    """The messages matching `where`, by id, each a row of Message's columns."""
    for page in pages(s, select(*_MESSAGE).where(*where), Message.id):
        yield from page


def message_records(s: Session, where: list, config: Config) -> Iterator[dict]:
    """`messages list --json` records (CONTRACT.md), by id."""
    zone = config.ingest.zone
    for page in pages(s, select(*_MESSAGE).where(*where), Message.id):
        ids: dict[int, list[int]] = defaultdict(list)
        for row_id, sub_id in s.execute(select(Submission.message_row_id, Submission.id).where(
                Submission.message_row_id.in_([r.id for r in page])).order_by(Submission.id)):
            ids[row_id].append(sub_id)
        for row in page:
            yield message_record(row, zone, ids.get(row.id, []))


_UNIT, _SUGGESTED, _DOCUMENT = aliased(Unit), aliased(Unit), aliased(Attachment)
_SUBMISSIONS = (
    select(Submission.id, Submission.receipt_no, Message.message_id, Message.id.label("message"), Message.mailbox,
           Message.received_at, Submission.month, Message.sender, Message.sender_name, Message.subject,
           Submission.title, Submission.body_chars, Submission.category, _UNIT.name.label("unit"),
           _UNIT.type.label("unit_type"), _SUGGESTED.name.label("suggested_unit"), Submission.version_of,
           Submission.status, Submission.flags, _DOCUMENT.filename.label("document"), Submission.links,
           Submission.problem, Submission.review_status, Submission.review_group)
    .join(Message, Submission.message_row_id == Message.id)
    .outerjoin(_UNIT, Submission.unit_id == _UNIT.id)
    .outerjoin(_SUGGESTED, Submission.suggested_unit_id == _SUGGESTED.id)
    .outerjoin(_DOCUMENT, Submission.document_id == _DOCUMENT.id))
_ATTACHMENTS = select(Attachment.message_row_id, Attachment.filename, Attachment.content_type, Attachment.size,
                      Attachment.sha256, Attachment.kind, Attachment.inline)
_ADOPTIONS = select(Adoption.submission_id, Adoption.channel, Adoption.adopted_on, Adoption.actor, Adoption.via)


def submission_rows(s: Session, where: list) -> Iterator[tuple[Row, list[Row], list[Row]]]:
    """(submission row, its message's attachments, its adoptions) for the submissions matching `where`."""
    for page in pages(s, _SUBMISSIONS.where(*where), Submission.id):
        files: dict[int, list[Row]] = defaultdict(list)
        for a in s.execute(_ATTACHMENTS.where(Attachment.message_row_id.in_({r.message for r in page}))
                           .order_by(Attachment.id)):
            files[a.message_row_id].append(a)
        adopted: dict[int, list[Row]] = defaultdict(list)
        for adoption in s.execute(_ADOPTIONS.where(Adoption.submission_id.in_([r.id for r in page]))
                                  .order_by(Adoption.id)):
            adopted[adoption.submission_id].append(adoption)
        for row in page:
            yield row, files.get(row.message, []), adopted.get(row.id, [])


def submission_records(s: Session, where: list, config: Config) -> Iterator[dict]:
    """`submissions list --json` records (CONTRACT.md), by id."""
    for row, files, adopted in submission_rows(s, where):
        yield submission_fields(row, config, files, adopted)
