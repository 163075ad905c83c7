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

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from mailbridge.config import Config
from mailbridge.ledger.models import Attachment, Message, Submission
from mailbridge.parse.article import Draft

FLAG = "sender_daily_cap"


def made_before(s: Session, row: Message) -> int:
    """Submissions from this mail's sender (or from mail without one) in the day before it arrived."""
    who = Message.sender == row.sender if row.sender else Message.sender.is_(None)
    return s.scalar(select(func.count(Submission.id)).join(Message, Submission.message_row_id == Message.id)
                    .where(who, Message.received_at > row.received_at - timedelta(days=1),
                           Message.received_at <= row.received_at, Message.id != row.id)) or 0


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
