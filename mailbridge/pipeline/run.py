"""The orchestration: each message's attempts counted, parsed here or in the worker process, and
its result committed in one transaction (see the package docstring)."""
from __future__ import annotations

import logging
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError

from mailbridge.attribute.match import attribute
from mailbridge.config import Config
from mailbridge.errors import ConfigError, TransientError
from mailbridge.ledger.archive import Archive
from mailbridge.ledger.db import Database
from mailbridge.ledger.models import Message
from mailbridge.ledger.vocab import Disposition, MessageState
from mailbridge.notify.receipts import enqueue_receipt
from mailbridge.parse import mime
from mailbridge.parse.article import Draft
from mailbridge.parse.worker import InProcess, Job, Limits, Parsed, ParseWorker
from mailbridge.pipeline import writes
from mailbridge.pipeline.dispose import Policy
from mailbridge.sources.sink import Fingerprint, Origin, Outcome

log = logging.getLogger(__name__)

MB = 1024 * 1024
MAX_ATTEMPTS = 3
LOCAL_FROM = 8 * MB  # a message this big is parsed in this process, where its bytes already are
AHEAD = 2  # messages given to the parse worker beyond the one being committed (see ingest_many)


class Pipeline:
    def __init__(self, config: Config, db: Database) -> None:
        self.config = config
        self.db = db
        self.archive = Archive(config.storage.dir)
        self.limits = config.ingest
        self._policy = Policy(config)
        self._actions = {box.name: box.action for box in config.mailboxes}
        self.answer_imports = False  # `import --receipts`: imported mail gets receipts too
        self._parse_limits = Limits.of(self.limits)

    @property
    def policy(self) -> Policy:
        """The disposition policy of the current config (a reload or a test may replace it)."""
        if self._policy.config is not self.config:
            self._policy = Policy(self.config)
        return self._policy

    # -- stage 1: archive and record -------------------------------------------------------------
    def fingerprint(self, raw: bytes, sha: str | None = None) -> Fingerprint:
        """Archive the bytes (unless the caller already did: `sha`) and say what identifies them."""
        sha = sha or self.archive.put_raw(raw)
        message_id = mime.message_id_of(raw)
        return Fingerprint(sha, message_id, mime.content_hash(raw, message_id), len(raw))

    def record(self, fp: Fingerprint, origin: Origin, count_attempt: bool = False) -> tuple[int, bool]:
        return writes.record(self.db, fp, origin, count_attempt)

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
                if row is None or row.state == MessageState.PROCESSED:
                    return (row.disposition or MessageState.PROCESSED) if row else "missing"
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
        while (parsed := parser.result(job)).crashed:
            log.warning("message %s: the parse worker died (%s); restarted", job.row_id, parsed.crashed)
            again = self._begin(job.row_id)
            if not isinstance(again, Job):
                return again
            parser.submit(again)
            job = again
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
            row = s.get_one(Message, row_id)
            if row.state == MessageState.PROCESSED:
                return row.disposition or MessageState.PROCESSED  # a processed row has one
            row.sender, row.sender_name, row.subject = mail.sender or None, mail.sender_name or None, mail.subject
            row.message_id = row.message_id or mail.message_id
            if row.uid is None:  # imports: the arrival time is in the topmost Received header
                row.received_at = mail.arrived or mail.date or row.received_at
            by_sha = writes.add_attachments(s, row, mail.parts)
            disposition, reason, drafts = self.policy.dispose(s, row, mail, drafts, self.answer_imports)
            row.disposition, row.reason = disposition, reason
            # Processed when this transaction commits, as before; marked now, so that the row's
            # changes go out in the one UPDATE of the flush below rather than in a second at the end.
            writes.finish(row, self._actions)
            if disposition == Disposition.SUBMISSION:
                row.dedup_key = row.content_hash
                for draft in drafts:  # mail-level flags (invalid_sender) go on each of its submissions
                    draft.flags |= mail.flags
                subs = [writes.add_submission(s, row, draft, by_sha, self.limits.zone, self.limits.receipt_prefix)
                        for draft in drafts]
                attribute(s, self.config, row, subs, mail)  # inserts them, credited
                # In this transaction: the receipt exists exactly when the submissions do.
                enqueue_receipt(s, self.config, row, mail, subs, imports=self.answer_imports)
            return disposition

    def _quarantine(self, row_id: int, reason: str) -> str:
        return writes.quarantine(self.db, row_id, reason, self._actions)

    # -- all stages, and the leftovers of a crash ------------------------------------------------
    def ingest(self, raw: bytes, origin: Origin, sha: str | None = None) -> Outcome:
        (outcome,) = self.ingest_many([(raw, origin, self.fingerprint(raw, sha))], parallel=False)
        return outcome

    def ingest_many(self, messages: Iterable[tuple[bytes, Origin, Fingerprint | None]],
                    parallel: bool = True) -> Generator[Outcome, None, None]:
        """ingest() for a stream of (raw, origin, fingerprint or None), outcomes in the same order.

        With `parallel`, a worker process parses the next messages while this one commits a
        message and records the one after them. The worker is kept `AHEAD` messages ahead, so that
        neither process waits for the other while the time each message takes varies:

            this process:  record k+2, commit k | record k+3, commit k+1 | …
            the worker:    parse k+1, k+2, k+3, … one after another

        Each message still goes through the stages in order (archived, recorded and its attempt
        counted before the worker gets it; committed in one transaction), and commits happen in
        arrival order, as without the worker. A message too big to copy into a second process
        (over `LOCAL_FROM`) is parsed here, once the worker's messages are parsed.
        """
        here = InProcess(self.archive, self._parse_limits)
        worker = ParseWorker(self.archive.root, self._parse_limits) if parallel else None
        held: deque[_Held] = deque()  # recorded and given to a parser, not yet committed: in order
        try:
            for raw, origin, fp in messages:
                fp = fp or self.fingerprint(raw)  # stage 1: archive (fsynced)
                row_id, new = self.record(fp, origin, count_attempt=True)  # stage 1: record
                job = self._begin(row_id, Job(row_id, fp.sha256, fp.size) if new else None)
                entry = _Held(Outcome(row_id, new, None if isinstance(job, Job) else job, origin))
                if isinstance(job, Job):  # stage 2: parse, while the messages before it are committed
                    entry.job, entry.parser = job, worker if worker is not None and job.size < LOCAL_FROM else here
                    if entry.parser is here:  # one big message in memory at a time: the worker's first
                        for earlier in held:
                            earlier.parse(self)
                    entry.parser.submit(job, raw)
                del raw
                held.append(entry)
                while held and (len(held) > AHEAD or held[0].job is None):  # stage 3: commit, in order
                    yield held.popleft().commit(self)
            while held:
                yield held.popleft().commit(self)
        finally:
            if worker is not None:
                worker.close()

    def resume(self, mailbox: str | None = None) -> int:
        """Process rows a crash left archived but unparsed; returns how many."""
        with self.db.session() as s:
            query = select(Message.id).where(Message.state == MessageState.ARCHIVED).order_by(Message.id)
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
            if row.disposition != Disposition.QUARANTINED:
                return row.disposition or MessageState.ARCHIVED
            row.state, row.disposition, row.reason, row.attempts = MessageState.ARCHIVED, None, None, 0
            row.attachments.clear()  # recorded again by the new pass (one held by a cap had them)
        return self.process(row_id)


@dataclass
class _Held:
    """A message of `ingest_many` between its record and its commit."""

    outcome: Outcome
    job: Job | None = None  # None: nothing to parse (already processed, or quarantined before)
    parser: InProcess | ParseWorker | None = None
    parsed: Parsed | str | None = None

    def parse(self, pipeline: Pipeline) -> None:
        """Wait for its parse (the worker is done with it from here on)."""
        if self.job is not None and self.parser is not None and self.parsed is None:
            self.parsed = pipeline._parsed(self.job, self.parser)

    def commit(self, pipeline: Pipeline) -> Outcome:
        if self.job is not None:
            self.parse(pipeline)
            assert self.parsed is not None
            self.outcome.disposition = pipeline._settle(self.job, self.parsed)
        return self.outcome
