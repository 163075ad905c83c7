"""How many submissions one sender may make in a day: the rest of a flood is held for the clerk.

The From: of a public mailbox is anyone's to write, so a stranger can send hundreds of articles
under a unit's address and push real work out of the next digests. Past
`ingest.max_submissions_per_sender_per_day` the documents stay attachments of their message,
flagged `sender_daily_cap`; a mail with none left is quarantined with the reason, for the clerk
(`quarantine retry` makes its submissions once the flood is a day old).

The day is the 24 hours before the mail's arrival (`received_at`: the IMAP server's
INTERNALDATE, which no sender writes, never the Date: header), so a backfill of years of mail is
counted day by day as it arrived, and a flood by when it arrived.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ColumnElement, Select, bindparam, func, select, update
from sqlalchemy.orm import Session

from mailbridge.config import Config
from mailbridge.ledger.models import Attachment, Message, Submission
from mailbridge.parse.article import Draft

FLAG = "sender_daily_cap"


def _count_made(same_sender: ColumnElement[bool]) -> Select[int]:
    # Built once (as the pipeline's statements are): building a statement and its cache key costs
    # several times what running it does.
    return (select(func.count(Submission.id)).join(Message, Submission.message_row_id == Message.id)
            .where(same_sender, Message.received_at > bindparam("since"),
                   Message.received_at <= bindparam("until"), Message.id != bindparam("row_id")))


_MADE_BY = _count_made(Message.sender == bindparam("sender"))
_MADE_WITHOUT_SENDER = _count_made(Message.sender.is_(None))


def made_before(s: Session, row: Message) -> int:
    """Submissions from this mail's sender (or from mail without one) in the day before it arrived.

    On the session's connection, without a flush: the count is of other messages' rows, so this
    mail's pending changes (its sender, its subject) do not belong in it, and they go out in the
    commit's one UPDATE instead of an extra one here.
    """
    params = {"since": row.received_at - timedelta(days=1), "until": row.received_at, "row_id": row.id}
    if row.sender:
        return s.connection().execute(_MADE_BY, {**params, "sender": row.sender}).scalar() or 0
    return s.connection().execute(_MADE_WITHOUT_SENDER, params).scalar() or 0


def within_daily_cap(s: Session, config: Config, row: Message, drafts: list[Draft]) -> list[Draft]:
    """The drafts that may become submissions; the held ones' documents are flagged in the ledger."""
    room = max(config.ingest.max_submissions_per_sender_per_day - made_before(s, row), 0)
    if len(drafts) <= room:
        return drafts
    kept, held = drafts[:room], drafts[room:]
    for draft in kept:
        draft.flags.add(FLAG)
    table = Attachment.__table__
    for draft in held:
        if draft.document is not None:
            draft.document.flags.add(FLAG)
            s.connection().execute(update(table).where(
                table.c.message_row_id == row.id, table.c.sha256 == draft.document.sha256,
            ).values(flags=sorted(draft.document.flags)))
    return kept


def held_reason(config: Config, row: Message, count: int) -> str:
    cap = config.ingest.max_submissions_per_sender_per_day
    return (f"{FLAG}: {row.sender or 'no sender'} reached {cap} submissions in 24 hours "
            f"(ingest.max_submissions_per_sender_per_day); {count} article(s) kept in this message: "
            "quarantine retry it a day later to make them submissions")
