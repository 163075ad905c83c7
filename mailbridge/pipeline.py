"""One message through the stages: archive → ledger row → parse → submissions, each step durable.

Every source (IMAP, .eml, Maildir, mbox) hands raw bytes to `Pipeline.ingest`. The raw bytes are
on disk before the ledger row exists, and the row exists before anything is parsed; the parse
result (disposition and all submissions) is committed in one transaction. A crash anywhere
leaves either no row (the message is fetched again) or a row in state `archived` (processed on
the next run), never half a result.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailbridge.attribute.match import attribute
from mailbridge.attribute.roster_files import looks_like_roster
from mailbridge.config import Config
from mailbridge.errors import TransientError
from mailbridge.ledger.archive import Archive
from mailbridge.ledger.db import Database
from mailbridge.ledger.models import Attachment, Counter, Message, Submission, utcnow
from mailbridge.notify.receipts import enqueue_receipt
from mailbridge.review.replies import answer as answer_reply
from mailbridge.review.replies import looks_like_reply
from mailbridge.parse import mime
from mailbridge.parse.article import Draft, articles

log = logging.getLogger(__name__)

MB = 1024 * 1024
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Origin:
    """Where a message was seen. IMAP gives all four keys; imports give mailbox 'import' and a path."""

    mailbox: str
    folder: str
    uidvalidity: int | None = None
    uid: int | None = None
    arrived: datetime | None = None  # IMAP INTERNALDATE: the arrival time the notices count by


@dataclass
class Outcome:
    row_id: int
    new: bool
    disposition: str | None


class Pipeline:
    def __init__(self, config: Config, db: Database) -> None:
        self.config = config
        self.db = db
        self.archive = Archive(config.storage.dir)
        self.limits = config.ingest
        self._actions = {box.name: box.action for box in config.mailboxes}
        self.answer_imports = False  # `import --receipts`: imported mail gets receipts too

    # -- stage 1: archive and record -------------------------------------------------------------
    def record(self, raw: bytes, origin: Origin, sha: str | None = None) -> tuple[int, bool]:
        """Archive the bytes (unless the caller already did: `sha`) and create the ledger row.

        Returns (row id, whether it is new).
        """
        sha = sha or self.archive.put_raw(raw)
        message_id = mime.message_id_of(raw)
        chash = mime.content_hash(raw, message_id)
        with self.db.session() as s:
            existing = self._find(s, origin, sha, message_id)
            if existing is not None:
                return existing, False
            row = Message(
                mailbox=origin.mailbox,
                folder=origin.folder,
                uidvalidity=origin.uidvalidity,
                uid=origin.uid,
                message_id=message_id,
                sha256=sha,
                content_hash=chash,
                size=len(raw),
                received_at=origin.arrived or utcnow(),
                state="archived",
            )
            s.add(row)
            try:
                s.flush()
            except IntegrityError:  # another poller recorded it a moment ago
                s.rollback()
                found = self._find(s, origin, sha, message_id)
                if found is None:
                    raise
                return found, False
            return row.id, True

    def _find(self, s: Session, origin: Origin, sha: str, message_id: str | None) -> int | None:
        if origin.uid is None:  # imports: the same bytes from the same file are the same message
            return s.scalar(select(Message.id).where(
                Message.mailbox == origin.mailbox, Message.folder == origin.folder, Message.sha256 == sha))
        here = s.scalar(
            select(Message.id).where(
                Message.mailbox == origin.mailbox,
                Message.folder == origin.folder,
                Message.uidvalidity == origin.uidvalidity,
                Message.uid == origin.uid,
            )
        )
        if here is not None:
            return here
        # After a UIDVALIDITY change the server renumbers the folder: the same bytes under the same
        # Message-ID are the message we already have, so its row is re-keyed, not duplicated (mbsync).
        moved = s.scalar(
            select(Message).where(
                Message.mailbox == origin.mailbox,
                Message.folder == origin.folder,
                Message.uidvalidity != origin.uidvalidity,
                Message.sha256 == sha,
                Message.message_id.is_(None) if message_id is None else Message.message_id == message_id,
            ).limit(1)
        )
        if moved is None:
            return None
        log.info("message %s re-keyed: uidvalidity %s uid %s -> %s/%s",
                 moved.id, moved.uidvalidity, moved.uid, origin.uidvalidity, origin.uid)
        moved.uidvalidity, moved.uid = origin.uidvalidity, origin.uid
        return moved.id

    # -- stage 2: parse and decide ---------------------------------------------------------------
    def process(self, row_id: int, raw: bytes | None = None) -> str:
        """Parse an archived message and commit its disposition and submissions together."""
        with self.db.session() as s:
            row = s.get(Message, row_id)
            if row is None or row.state == "processed":
                return row.disposition if row else "missing"
            # Counted before parsing: a mail that kills the process (out of memory, a hung tool)
            # must not do so forever after each restart.
            row.attempts += 1
            sha, size, attempts = row.sha256, row.size, row.attempts
        if attempts > MAX_ATTEMPTS:
            return self._quarantine(row_id, f"processing stopped {MAX_ATTEMPTS} times without finishing")
        if size > self.limits.max_message_mb * MB:
            return self._quarantine(row_id, f"message is {size // MB} MB, over ingest.max_message_mb")
        try:
            raw = raw if raw is not None else self.archive.read_raw(sha)
        except OSError as exc:
            raise TransientError(f"archived message {sha} cannot be read: {exc.strerror}") from None
        try:
            mail = mime.parse(raw, self.archive.put_stream)
            for part in mail.parts:
                if part.data is not None:
                    self.archive.put_file(part.data, part.sha256)
                if part.size > self.limits.max_attachment_mb * MB:
                    part.flags.add("too_large")  # kept, but not opened
                elif part.data is None and part.kind == "document":  # a large document: read it back
                    part.data = self.archive.file_path(part.sha256).read_bytes()
                if part.data is not None and looks_like_roster(part.filename, part.data):
                    part.flags.add("roster_form")  # a filled 信息员登记表 is a roster update, not an article
            drafts = articles(mail, self.limits.max_expanded_mb * MB)
        except TransientError:
            raise
        except Exception as exc:  # anything the parser cannot take: keep it, say why, carry on
            log.warning("message %s quarantined: %s", row_id, exc, exc_info=True)
            return self._quarantine(row_id, f"cannot be parsed: {type(exc).__name__}: {exc}"[:500])
        del raw
        for attempt in range(3):
            try:
                return self._commit(row_id, mail, drafts)
            except IntegrityError:  # a copy of this mail was committed concurrently: decide again
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _commit(self, row_id: int, mail: mime.ParsedMail, drafts: list[Draft]) -> str:
        with self.db.session() as s:
            row = s.get(Message, row_id)
            if row.state == "processed":
                return row.disposition
            row.sender, row.sender_name, row.subject = mail.sender or None, mail.sender_name or None, mail.subject
            row.message_id = row.message_id or mail.message_id
            if row.uid is None:  # imports: the arrival time is in the topmost Received header
                row.received_at = mail.arrived or mail.date or row.received_at
            row.attachments = [
                Attachment(position=i, filename=p.filename, content_type=p.content_type, size=p.size,
                           sha256=p.sha256, kind=p.kind, inline=p.inline,
                           flags=sorted(p.flags))
                for i, p in enumerate(mail.parts, start=1)
            ]
            disposition, reason = self._decide(s, row, mail)
            if disposition == "reply":  # a reviewer's answer to a digest: decisions, not an article
                row.dedup_key = row.content_hash
                disposition, reason = "ignored", answer_reply(s, self.config, row, mail)
            row.disposition, row.reason = disposition, reason
            if disposition == "submission":
                row.dedup_key = row.content_hash
                s.flush()
                by_sha = {a.sha256: a for a in row.attachments}
                subs = [self._add_submission(s, row, draft, by_sha) for draft in drafts]
                s.flush()
                attribute(s, self.config, row, subs)
                # In this transaction: the receipt exists exactly when the submissions do.
                enqueue_receipt(s, self.config, row, mail, subs, imports=self.answer_imports)
            self._finish(row)
            return disposition

    def _decide(self, s: Session, row: Message, mail: mime.ParsedMail) -> tuple[str, str | None]:
        if mail.bounce:
            return "bounce", mail.bounce
        if mail.auto_reply:
            return "auto_reply", mail.auto_reply
        sender = (mail.sender or "").lower()
        if sender and sender in self.config.own_addresses:
            return "ignored", "sent by this system's own address"
        if sender and sender in {a.lower() for a in self.limits.ignore_senders}:
            return "ignored", "sender listed in ingest.ignore_senders"
        forms = [p for p in mail.parts if "roster_form" in p.flags]
        if forms and not any(p.kind == "document" and "roster_form" not in p.flags for p in mail.parts):
            names = ", ".join(p.filename for p in forms)
            return "ignored", f"roster form (信息员登记表) {names}: see 'mailbridge roster forms'"
        original = s.scalar(select(Message).where(Message.dedup_key == row.content_hash, Message.id != row.id))
        if original is not None:
            row.duplicate_of = original.id
            where = f"{original.mailbox}/{original.folder}" if original.uid is not None else "an import"
            return "duplicate", f"same Message-ID and content as message {original.id} ({where})"
        if looks_like_reply(self.config, mail):
            return "reply", None
        return "submission", None

    def _add_submission(self, s: Session, row: Message, draft: Draft, by_sha: dict[str, Attachment]) -> Submission:
        month = row.received_at.astimezone(self.limits.zone).strftime("%Y-%m")
        number = self._next(s, f"receipt:{self.limits.receipt_prefix}:{month}")
        sub = Submission(
            message_row_id=row.id,
            document_id=by_sha[draft.document.sha256].id if draft.document else None,
            receipt_no=f"{self.limits.receipt_prefix}-{month}-{number:04d}",
            title=draft.title,
            text=draft.text,
            body_chars=draft.body_chars,
            flags=sorted(draft.flags),
            links=[vars(link) for link in draft.links],
            problem=draft.problem,
            month=month,
        )
        s.add(sub)
        return sub

    @staticmethod
    def _next(s: Session, name: str) -> int:
        # UPDATE first: the row lock (PostgreSQL) / write lock (SQLite) makes numbers unique.
        bumped = s.execute(update(Counter).where(Counter.name == name).values(value=Counter.value + 1))
        if bumped.rowcount == 0:
            s.add(Counter(name=name, value=1))
            s.flush()
            return 1
        return s.scalar(select(Counter.value).where(Counter.name == name))

    def _finish(self, row: Message) -> None:
        row.state = "processed"
        row.processed_at = datetime.now(timezone.utc)
        # Only a mailbox with a server-side action owes one; imports and action "none" never do.
        row.action_pending = row.uid is not None and self._actions.get(row.mailbox, "none") != "none"

    def _quarantine(self, row_id: int, reason: str) -> str:
        with self.db.session() as s:
            row = s.get(Message, row_id)
            row.disposition, row.reason = "quarantined", reason
            self._finish(row)
        return "quarantined"

    # -- both, and the leftovers of a crash ------------------------------------------------------
    def ingest(self, raw: bytes, origin: Origin, sha: str | None = None) -> Outcome:
        row_id, new = self.record(raw, origin, sha)
        return Outcome(row_id, new, self.process(row_id, raw))

    def resume(self, mailbox: str | None = None) -> int:
        """Process rows a crash left archived but unparsed; returns how many."""
        with self.db.session() as s:
            query = select(Message.id).where(Message.state == "archived").order_by(Message.id)
            if mailbox:
                query = query.where(Message.mailbox == mailbox)
            pending = list(s.scalars(query))
        for row_id in pending:
            self.process(row_id)
        return len(pending)

    def retry(self, row_id: int) -> str:
        """Reprocess a quarantined message from its archived bytes."""
        with self.db.session() as s:
            row = s.get(Message, row_id)
            if row is None:
                raise LookupError(row_id)
            if row.disposition != "quarantined":
                return row.disposition or "archived"
            row.state, row.disposition, row.reason, row.attempts = "archived", None, None, 0
        return self.process(row_id)
