"""One message through the stages: archive → ledger row → parse → submissions, each step durable.

Every source (IMAP, .eml, Maildir, mbox) hands raw bytes to `Pipeline.ingest` (one message) or
`Pipeline.ingest_many` (a stream, parsed in a worker process on the second core). The raw bytes
are on disk before the ledger row exists, and the row exists, its attempt counted, before anything
is parsed; the parse result (disposition and all submissions) is committed in one transaction. A
crash anywhere leaves either no row (the message is fetched again) or a row in state `archived`
(processed on the next run), never half a result.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Iterator

from sqlalchemy import Connection, Row, bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement, CompoundSelect

from mailbridge.attribute.flood import held_reason, within_daily_cap
from mailbridge.attribute.match import attribute
from mailbridge.collect.rules import recognise as recognise_collection
from mailbridge.collect.rules import record_reply
from mailbridge.config import Config
from mailbridge.errors import ConfigError, TransientError
from mailbridge.ledger.archive import Archive
from mailbridge.ledger.db import Database
from mailbridge.ledger.models import Attachment, Counter, Message, Submission, utcnow
from mailbridge.notify.receipts import enqueue_receipt
from mailbridge.review.replies import answer as answer_reply
from mailbridge.review.replies import looks_like_reply
from mailbridge.parse import mime
from mailbridge.parse.article import Draft
from mailbridge.parse.worker import InProcess, Job, Limits, Parsed, ParseWorker

log = logging.getLogger(__name__)

MB = 1024 * 1024
MAX_ATTEMPTS = 3
LOCAL_FROM = 8 * MB  # a message this big is parsed in this process, where its bytes already are


# The statements run for every message, built once: on SQLite, building a statement and its cache
# key costs several times what running it does.
_M, _A = Message.__table__, Attachment.__table__
_RECORD = insert(_M)
_FIND_IMPORT = select(_M.c.id).where(
    _M.c.mailbox == bindparam("mailbox"), _M.c.folder == bindparam("folder"), _M.c.sha256 == bindparam("sha256"))


def _here_or_moved(same_message_id: ColumnElement[bool]) -> CompoundSelect:
    """The row at this location, and rows of the same message under an older UIDVALIDITY: one round
    trip, each half on its own index (location, sha256)."""
    columns = (_M.c.id, _M.c.uidvalidity, _M.c.uid)
    where = (_M.c.mailbox == bindparam("mailbox"), _M.c.folder == bindparam("folder"))
    here = select(*columns).where(*where, _M.c.uidvalidity == bindparam("uidvalidity"), _M.c.uid == bindparam("uid"))
    moved = select(*columns).where(*where, _M.c.uidvalidity != bindparam("uidvalidity"),
                                   _M.c.sha256 == bindparam("sha256"), same_message_id)
    return here.union_all(moved)


_FIND_HERE_OR_MOVED = _here_or_moved(_M.c.message_id == bindparam("message_id"))
_FIND_HERE_OR_MOVED_NO_ID = _here_or_moved(_M.c.message_id.is_(None))
_ATTACH = insert(_A)
_ATTACHMENT_IDS = select(_A.c.id, _A.c.sha256).where(_A.c.message_row_id == bindparam("row_id"))
_ORIGINAL = select(_M.c.id, _M.c.mailbox, _M.c.folder, _M.c.uid).where(
    _M.c.dedup_key == bindparam("dedup_key"), _M.c.id != bindparam("row_id")).limit(1)
_C = Counter.__table__
_BUMP_COUNTER = update(_C).where(_C.c.name == bindparam("counter")).values(value=_C.c.value + 1).returning(_C.c.value)


@dataclass(frozen=True)
class Origin:
    """Where a message was seen. IMAP gives all four keys; imports give mailbox 'import' and a path."""

    mailbox: str
    folder: str
    uidvalidity: int | None = None
    uid: int | None = None
    arrived: datetime | None = None  # IMAP INTERNALDATE: the arrival time the notices count by


@dataclass(frozen=True)
class Fingerprint:
    """What identifies a message's bytes, worked out before the ledger is touched."""

    sha256: str  # of the raw bytes: the archive's name for them
    message_id: str | None
    content_hash: str  # Message-ID and body: equal for one message delivered twice
    size: int


@dataclass
class Outcome:
    row_id: int
    new: bool
    disposition: str | None
    origin: Origin | None = None


class Pipeline:
    def __init__(self, config: Config, db: Database) -> None:
        self.config = config
        self.db = db
        self.archive = Archive(config.storage.dir)
        self.limits = config.ingest
        self._actions = {box.name: box.action for box in config.mailboxes}
        self.answer_imports = False  # `import --receipts`: imported mail gets receipts too
        # Read once: `_decide` asks for each message.
        self._own = config.own_addresses
        self._ignored = {a.lower() for a in self.limits.ignore_senders}
        self._zone = self.limits.zone
        self._parse_limits = Limits.of(self.limits)

    # -- stage 1: archive and record -------------------------------------------------------------
    def fingerprint(self, raw: bytes, sha: str | None = None) -> Fingerprint:
        """Archive the bytes (unless the caller already did: `sha`) and say what identifies them."""
        sha = sha or self.archive.put_raw(raw)
        message_id = mime.message_id_of(raw)
        return Fingerprint(sha, message_id, mime.content_hash(raw, message_id), len(raw))

    def record(self, fp: Fingerprint, origin: Origin, count_attempt: bool = False) -> tuple[int, bool]:
        """Create the ledger row of archived bytes. Returns (row id, whether it is new).

        With `count_attempt` a new row is created with its first processing attempt already
        counted (the caller parses it next).
        """
        try:
            with self.db.engine.begin() as conn:
                existing = self._find(conn, origin, fp)
                if existing is not None:
                    return existing, False
                row_id = conn.execute(_RECORD, dict(
                    mailbox=origin.mailbox,
                    folder=origin.folder,
                    uidvalidity=origin.uidvalidity,
                    uid=origin.uid,
                    message_id=fp.message_id,
                    sha256=fp.sha256,
                    content_hash=fp.content_hash,
                    size=fp.size,
                    received_at=origin.arrived or utcnow(),
                    state="archived",
                    attempts=1 if count_attempt else 0,
                )).inserted_primary_key[0]
                return row_id, True
        except IntegrityError:  # another poller recorded it a moment ago
            with self.db.engine.begin() as conn:
                found = self._find(conn, origin, fp)
            if found is None:
                raise
            return found, False

    def _find(self, conn: Connection, origin: Origin, fp: Fingerprint) -> int | None:
        if origin.uid is None:  # imports: the same bytes from the same file are the same message
            return conn.scalar(_FIND_IMPORT, dict(mailbox=origin.mailbox, folder=origin.folder, sha256=fp.sha256))
        # After a UIDVALIDITY change the server renumbers the folder: the same bytes under the same
        # Message-ID are the message we already have, so its row is re-keyed, not duplicated (mbsync).
        rows = conn.execute(_FIND_HERE_OR_MOVED if fp.message_id else _FIND_HERE_OR_MOVED_NO_ID, dict(
            mailbox=origin.mailbox, folder=origin.folder, uidvalidity=origin.uidvalidity, uid=origin.uid,
            sha256=fp.sha256, message_id=fp.message_id)).all()
        for row_id, uidvalidity, uid in rows:
            if (uidvalidity, uid) == (origin.uidvalidity, origin.uid):
                return row_id
        if not rows:
            return None
        row_id, uidvalidity, uid = rows[0]
        log.info("message %s re-keyed: uidvalidity %s uid %s -> %s/%s",
                 row_id, uidvalidity, uid, origin.uidvalidity, origin.uid)
        conn.execute(update(_M).where(_M.c.id == row_id).values(uidvalidity=origin.uidvalidity, uid=origin.uid))
        return row_id

    # -- stage 2: count the attempt, parse (here or in the worker), decide -----------------------
    def process(self, row_id: int, raw: bytes | None = None) -> str:
        """Parse an archived message here and commit its disposition and submissions together."""
        job = self._begin(row_id)
        if not isinstance(job, Job):
            return job
        parser = InProcess(self.archive, self._parse_limits)
        parser.submit(job, raw)
        return self._settle(job, self._parsed(job, parser))

    def _begin(self, row_id: int, counted: Job | None = None) -> Job | str:
        """Count an attempt before parsing: a mail that kills the process (out of memory, a hung
        tool) must not do so forever after each restart. `counted`: record() already did.

        Returns the job to parse, or the disposition when there is nothing to parse.
        """
        if counted is not None:
            job, attempts = counted, 1
        else:
            with self.db.session() as s:
                row = s.get(Message, row_id)
                if row is None or row.state == "processed":
                    return row.disposition if row else "missing"
                row.attempts += 1
                job, attempts = Job(row_id, row.sha256, row.size), row.attempts
        if attempts > MAX_ATTEMPTS:
            return self._quarantine(row_id, f"processing stopped {MAX_ATTEMPTS} times without finishing")
        if job.size > self.limits.max_message_mb * MB:
            return self._quarantine(row_id, f"message is {job.size // MB} MB, over ingest.max_message_mb")
        return job

    def _parsed(self, job: Job, parser: InProcess | ParseWorker) -> Parsed | str:
        """The parse of a submitted job. A worker that died on it is a failed attempt: counted like
        a crash of this process, then the job is tried again in a new worker (or quarantined)."""
        while (parsed := parser.result()).crashed:
            log.warning("message %s: the parse worker died (%s); restarted", job.row_id, parsed.crashed)
            again = self._begin(job.row_id)
            if not isinstance(again, Job):
                return again
            parser.submit(again)
        assert parsed.row_id == job.row_id, (parsed.row_id, job.row_id)
        return parsed

    def _settle(self, job: Job, parsed: Parsed | str) -> str:
        """Commit what the parse stage made of a job."""
        if isinstance(parsed, str):  # nothing left to commit (quarantined after a crash)
            return parsed
        if parsed.transient:
            raise TransientError(parsed.transient)
        if parsed.error or parsed.mail is None:
            log.warning("message %s quarantined: %s\n%s", job.row_id, parsed.error, parsed.trace or "")
            return self._quarantine(job.row_id, parsed.error or "cannot be parsed")
        for attempt in range(3):
            try:
                return self._commit(job.row_id, parsed.mail, parsed.drafts or [])
            except IntegrityError as exc:  # a copy of this mail was committed concurrently: decide again
                if attempt == 2:
                    return self._poisoned(job.row_id, exc)
            except (ConfigError, TransientError):  # the admin's or the server's problem, not this mail's
                raise
            except DBAPIError as exc:
                if exc.connection_invalidated or "locked" in str(exc.orig):
                    raise TransientError(f"the database is unavailable ({exc.orig}); try again later.") from None
                return self._poisoned(job.row_id, exc)
            except Exception as exc:  # noqa: BLE001 - any bug one mail hits quarantines that mail (logged there)
                return self._poisoned(job.row_id, exc)
        raise AssertionError("unreachable")

    def _poisoned(self, row_id: int, exc: Exception) -> str:
        """A message whose result cannot be committed is quarantined with the reason (its
        transaction rolled back); the pass goes on with the next one (Mailman's shunt queue)."""
        log.warning("message %s quarantined: its result cannot be committed", row_id, exc_info=exc)
        detail = " ".join(str(exc).split())[:300]
        return self._quarantine(row_id, f"cannot be committed: {type(exc).__name__}: {detail}")

    def _commit(self, row_id: int, mail: mime.ParsedMail, drafts: list[Draft]) -> str:
        with self.db.session() as s:
            row = s.get(Message, row_id)
            if row.state == "processed":
                return row.disposition
            row.sender, row.sender_name, row.subject = mail.sender or None, mail.sender_name or None, mail.subject
            row.message_id = row.message_id or mail.message_id
            if row.uid is None:  # imports: the arrival time is in the topmost Received header
                row.received_at = mail.arrived or mail.date or row.received_at
            self._add_attachments(s, row, mail.parts)
            disposition, reason = self._decide(s, row, mail)
            if disposition == "reply":  # a reviewer's answer to a digest: decisions, not an article
                row.dedup_key = row.content_hash
                disposition, reason = "ignored", answer_reply(s, self.config, row, mail, self.answer_imports)
            if disposition == "collection":  # recorded against it (with its receipt) in this transaction
                row.dedup_key = row.content_hash
                disposition, reason = record_reply(s, self.config, row, mail, reason, imports=self.answer_imports)
            if disposition == "submission":  # past the sender's daily cap: held for the clerk
                kept = within_daily_cap(s, self.config, row, drafts)
                if not kept:
                    disposition, reason = "quarantined", held_reason(self.config, row, len(drafts))
                drafts = kept
            row.disposition, row.reason = disposition, reason
            if disposition == "submission":
                row.dedup_key = row.content_hash
                by_sha = self._attachment_ids(s, row) if any(draft.document for draft in drafts) else {}
                for draft in drafts:  # mail-level flags (invalid_sender) go on each of its submissions
                    draft.flags |= mail.flags
                subs = [self._add_submission(s, row, draft, by_sha) for draft in drafts]
                s.flush()
                attribute(s, self.config, row, subs, mail)
                # In this transaction: the receipt exists exactly when the submissions do.
                enqueue_receipt(s, self.config, row, mail, subs, imports=self.answer_imports)
            self._finish(row)
            return disposition

    # Core statements on the session's connection: they need none of the ORM's pending changes, so
    # none is flushed for them, and the row's changes go out in one UPDATE at the flush above.
    @staticmethod
    def _add_attachments(s: Session, row: Message, parts: list[mime.Part]) -> None:
        if parts:  # one multi-row INSERT (the ORM inserts them one by one)
            s.connection().execute(_ATTACH, [
                dict(message_row_id=row.id, position=i, filename=p.filename, content_type=p.content_type,
                     size=p.size, sha256=p.sha256, kind=p.kind, inline=p.inline, flags=sorted(p.flags))
                for i, p in enumerate(parts, start=1)
            ])

    @staticmethod
    def _attachment_ids(s: Session, row: Message) -> dict[str, Row]:
        return {a.sha256: a for a in s.connection().execute(_ATTACHMENT_IDS, {"row_id": row.id})}

    def _decide(self, s: Session, row: Message, mail: mime.ParsedMail) -> tuple[str, str | None]:
        if mail.bounce:
            return "bounce", mail.bounce
        if mail.auto_reply:
            return "auto_reply", mail.auto_reply
        sender = (mail.sender or "").lower()
        if sender and sender in self._own:
            return "ignored", "sent by this system's own address"
        if sender and sender in self._ignored:
            return "ignored", "sender listed in ingest.ignore_senders"
        original = s.connection().execute(_ORIGINAL, {"dedup_key": row.content_hash, "row_id": row.id}).first()
        if original is not None:
            row.duplicate_of = original.id
            where = f"{original.mailbox}/{original.folder}" if original.uid is not None else "an import"
            return "duplicate", f"same Message-ID and content as message {original.id} ({where})"
        if looks_like_reply(self.config, mail):
            return "reply", None
        if (collection_id := recognise_collection(s, self.config, row, mail)) is not None:
            return "collection", collection_id  # a unit's form for a deadline collection, not an article
        forms = [p for p in mail.parts if "roster_form" in p.flags]
        if forms and not any(p.kind == "document" and "roster_form" not in p.flags for p in mail.parts):
            names = ", ".join(p.filename for p in forms)
            return "ignored", f"roster form (信息员登记表) {names}: see 'mailbridge roster forms'"
        return "submission", None

    def _add_submission(self, s: Session, row: Message, draft: Draft, by_sha: dict[str, Row]) -> Submission:
        month = row.received_at.astimezone(self._zone).strftime("%Y-%m")
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
        bumped = s.connection().execute(_BUMP_COUNTER, {"counter": name}).scalar()
        if bumped is None:
            s.add(Counter(name=name, value=1))
            s.flush()
            return 1
        return bumped

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

    # -- all stages, and the leftovers of a crash ------------------------------------------------
    def ingest(self, raw: bytes, origin: Origin, sha: str | None = None) -> Outcome:
        (outcome,) = self.ingest_many([(raw, origin, self.fingerprint(raw, sha))], parallel=False)
        return outcome

    def ingest_many(self, messages: Iterable[tuple[bytes, Origin, Fingerprint | None]],
                    parallel: bool = True) -> Iterator[Outcome]:
        """ingest() for a stream of (raw, origin, fingerprint or None), outcomes in the same order.

        With `parallel`, a worker process parses message k+1 while this one commits message k:

            this process:  record k+1 | commit k, fetch k+2 | record k+2 | commit k+1, fetch k+3
            the worker:                | parse k+1           |            | parse k+2

        Each message still goes through the stages in order (archived, recorded and its attempt
        counted before the worker gets it; committed in one transaction), and commits happen in
        arrival order, as without the worker. A message too big to copy into a second process
        (over `LOCAL_FROM`) is parsed here, after the worker's message is done.
        """
        here = InProcess(self.archive, self._parse_limits)
        worker = ParseWorker(self.archive.root, self._parse_limits) if parallel else None
        held: tuple[Outcome, Job, InProcess | ParseWorker] | None = None  # being parsed
        try:
            for raw, origin, fp in messages:
                fp = fp or self.fingerprint(raw)  # stage 1: archive (fsynced)
                parsed = self._parsed(held[1], held[2]) if held else None  # the worker is free from here on
                row_id, new = self.record(fp, origin, count_attempt=True)  # stage 1: record
                job = self._begin(row_id, Job(row_id, fp.sha256, fp.size) if new else None)
                if isinstance(job, Job):  # stage 2: parse, while message k is committed below
                    parser = worker if worker is not None and job.size < LOCAL_FROM else here
                    parser.submit(job, raw)
                del raw
                if held:  # stage 3: commit message k
                    held[0].disposition = self._settle(held[1], parsed)
                    yield held[0]
                outcome = Outcome(row_id, new, None if isinstance(job, Job) else job, origin)
                held = (outcome, job, parser) if isinstance(job, Job) else None
                if held is None:
                    yield outcome
            if held:
                held[0].disposition = self._settle(held[1], self._parsed(held[1], held[2]))
                yield held[0]
        finally:
            if worker is not None:
                worker.close()

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
            row.attachments.clear()  # recorded again by the new pass (one held by a cap had them)
        return self.process(row_id)
