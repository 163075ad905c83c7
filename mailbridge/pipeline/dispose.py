"""The disposition policy: what a parsed mail is to the books.

In order: a bounce or an auto-reply; mail from this system or an ignored sender; a second copy of
a message already recorded; a reviewer's answer to a digest; a unit's form for a deadline
collection; a roster form on its own; otherwise an article (a submission), unless its sender is
past the daily cap. Replies and collection forms are recorded here, in the ingest transaction.
"""
from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from mailbridge.attribute.flood import held_reason, within_daily_cap
from mailbridge.collect.rules import recognise as recognise_collection
from mailbridge.collect.rules import record_reply
from mailbridge.config import Config
from mailbridge.ledger.models import Message
from mailbridge.ledger.vocab import Disposition
from mailbridge.parse.article import Draft
from mailbridge.parse.mime import ParsedMail
from mailbridge.review.replies import answer as answer_reply
from mailbridge.review.replies import looks_like_reply

_M = Message.__table__
_ORIGINAL = select(_M.c.id, _M.c.mailbox, _M.c.folder, _M.c.uid).where(
    _M.c.dedup_key == bindparam("dedup_key"), _M.c.id != bindparam("row_id")).limit(1)


class Policy:
    def __init__(self, config: Config) -> None:
        self.config = config
        # Read once: `classify` asks for each message.
        self._own = config.own_addresses
        self._ignored = {a.lower() for a in config.ingest.ignore_senders}

    def dispose(self, s: Session, row: Message, mail: ParsedMail, drafts: list[Draft],
                imports: bool) -> tuple[str, str | None, list[Draft]]:
        """(disposition, reason, the drafts to record as submissions). A reply or a collection form
        is recorded here (with its answer or receipt), in the caller's transaction."""
        disposition, reason = self.classify(s, row, mail)
        if disposition == Disposition.REPLY:  # a reviewer's answer to a digest: decisions, not an article
            row.dedup_key = row.content_hash
            return Disposition.IGNORED, answer_reply(s, self.config, row, mail, imports), []
        if disposition == Disposition.COLLECTION:  # recorded against it (with its receipt); it may
            row.dedup_key = row.content_hash  # count as an article too (counts_as_submission)
            disposition, reason = record_reply(s, self.config, row, mail, reason or "", imports=imports)
        if disposition != Disposition.SUBMISSION:
            return disposition, reason, []
        kept = within_daily_cap(s, self.config, row, drafts)
        if not kept:  # past the sender's daily cap: held for the clerk
            return Disposition.QUARANTINED, held_reason(self.config, row, len(drafts)), []
        return Disposition.SUBMISSION, reason, kept

    def classify(self, s: Session, row: Message, mail: ParsedMail) -> tuple[str, str | None]:
        if mail.bounce:
            return Disposition.BOUNCE, mail.bounce
        if mail.auto_reply:
            return Disposition.AUTO_REPLY, mail.auto_reply
        sender = (mail.sender or "").lower()
        if sender and sender in self._own:
            return Disposition.IGNORED, "sent by this system's own address"
        if sender and sender in self._ignored:
            return Disposition.IGNORED, "sender listed in ingest.ignore_senders"
        original = s.connection().execute(_ORIGINAL, {"dedup_key": row.content_hash, "row_id": row.id}).first()
        if original is not None:
            row.duplicate_of = original.id
            where = f"{original.mailbox}/{original.folder}" if original.uid is not None else "an import"
            return Disposition.DUPLICATE, f"same Message-ID and content as message {original.id} ({where})"
        if looks_like_reply(self.config, mail):
            return Disposition.REPLY, None
        if (collection_id := recognise_collection(s, self.config, row, mail)) is not None:
            return Disposition.COLLECTION, collection_id  # a unit's form for a deadline collection, not an article
        forms = [p for p in mail.parts if "roster_form" in p.flags]
        if forms and not any(p.kind == "document" and "roster_form" not in p.flags for p in mail.parts):
            names = ", ".join(p.filename for p in forms)
            return Disposition.IGNORED, f"roster form (信息员登记表) {names}: see 'mailbridge roster forms'"
        return Disposition.SUBMISSION, None
