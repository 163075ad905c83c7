"""Send what waits in the outbox: one sender at a time, retries with backoff, a visible status.

Each mail is marked `sending` (committed) before it goes out and `sent` after. A crash in between
leaves it `sending`, and the next flush sends it again: at worst one duplicate, never a loss.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import or_, select, update

from mailbridge.config import Config
from mailbridge.errors import ConfigError, PermanentError, TransientError
from mailbridge.ledger import lease
from mailbridge.ledger.bounds import fit_values
from mailbridge.ledger.db import Database
from mailbridge.ledger.models import WAITING, Outgoing, utcnow
from mailbridge.ledger.vocab import OutboxStatus
from mailbridge.notify.outbox import AUTOMATIC
from mailbridge.notify.transport import (FileTransport, PartialDelivery, ServerUnavailable, SmtpTransport, Undeliverable,
                                         transport)

log = logging.getLogger(__name__)
LEASE = "outbox"
RENEW_SECONDS = 60  # the lease (300 s) is renewed this often while a long queue is sent, not per mail


@dataclass
class FlushStats:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    busy: bool = False  # another sender holds the outbox
    errors: list[str] = field(default_factory=list)


class Sender:
    def __init__(self, config: Config, db: Database) -> None:
        self.config = config
        self.db = db
        # At most smtp.max_per_minute mails a minute: 163 blocks accounts that send in bursts.
        self.interval = 60.0 / config.smtp.max_per_minute if config.smtp.transport == "smtp" else 0.0
        self._last = 0.0
        self._renewed = 0.0

    def flush(self, now: bool = False, stop: threading.Event | None = None) -> FlushStats:
        """Send every mail that is due (with `now`, every pending one, backoff or not).

        `stop` (the daemon shutting down) ends the flush after the mail in hand; the rest waits.
        Raises ServerUnavailable when the server takes none at all.
        """
        stats = FlushStats()
        owner = lease.owner_id()
        if not lease.acquire(self.db, LEASE, owner):
            stats.busy = True
            return stats
        self._renewed = time.monotonic()
        out = transport(self.config.smtp)
        try:
            row_id: int | None = 0
            while not (stop and stop.is_set()) and (row_id := self._claim(owner, now, after=row_id or 0)) is not None:
                # each mail once a flush
                self._send(out, row_id, stats)
        finally:
            out.close()
            lease.release(self.db, LEASE, owner)
        return stats

    def _claim(self, owner: str, now: bool, after: int) -> int | None:
        """The next due mail, marked `sending`. A `sending` row is a dead sender's: we hold the lease."""
        if time.monotonic() - self._renewed >= RENEW_SECONDS:  # renew while we work through a long queue
            lease.acquire(self.db, LEASE, owner)
            self._renewed = time.monotonic()
        due = Outgoing.status == OutboxStatus.PENDING
        if not now:
            due &= Outgoing.next_attempt_at <= utcnow()
        with self.db.session() as s:
            # WAITING lets an index find what waits (ix_outbox_waiting, a partial index): walking
            # the ids from `after` read every mail ever sent, at every claim (issue 15).
            row_id = s.scalar(select(Outgoing.id).where(WAITING,
                                                        Outgoing.id > after, or_(Outgoing.status == OutboxStatus.SENDING, due))
                              .order_by(Outgoing.id).limit(1))
            if row_id is not None:
                s.execute(update(Outgoing).where(Outgoing.id == row_id)
                          .values(status=OutboxStatus.SENDING, attempts=Outgoing.attempts + 1))
            return row_id

    def _send(self, out: SmtpTransport | FileTransport, row_id: int, stats: FlushStats) -> None:
        """Send one mail and record how it went. Whatever goes wrong with this mail fails this mail
        only: the flush goes on with the next one (one bad address must not hold up every receipt)."""
        with self.db.session() as s:
            row = s.get_one(Outgoing, row_id)
            recipients, data, attempts, kind = list(row.recipients), row.data, row.attempts, row.kind
        status, error = self._attempt(out, row_id, kind, recipients, data, attempts)
        if status == OutboxStatus.SENT:
            stats.sent += 1
        else:
            stats.retrying += status == OutboxStatus.PENDING
            stats.failed += status == OutboxStatus.FAILED
            stats.errors.append(f"outbox {row_id}: {error}")
        log.log(logging.INFO if status == OutboxStatus.SENT else logging.WARNING, "outbox %s %s%s", row_id, status,
                f": {error}" if error else "")
        self._set(row_id, status, error, attempts)

    def _attempt(self, out: SmtpTransport | FileTransport, row_id: int, kind: str, recipients: list[str], data: bytes,
                 attempts: int) -> tuple[str, str | None]:
        """(status, error) of one try; only ServerUnavailable (no mail can go now) escapes."""
        limit = self.config.outbox.max_attempts
        if attempts > limit:  # claimed that often without an outcome: it kills the sender (a `sending` row)
            return OutboxStatus.FAILED, f"gave up after {limit} attempts without an answer from the server"
        if kind in AUTOMATIC and len(recipients) != 1:  # a row written before enqueue checked it
            return OutboxStatus.FAILED, f"refused: a {kind} goes to exactly one recipient, not {len(recipients)}"
        self._pace()
        try:
            out.send(recipients, data, name=f"{row_id:06d}-{kind}")
        except PartialDelivery as exc:
            return OutboxStatus.SENT, f"some recipients refused: {exc}"
        except ServerUnavailable:
            self._set(row_id, OutboxStatus.PENDING, None, attempts - 1)  # not this mail's fault: no attempt spent
            raise
        except Undeliverable as exc:
            return OutboxStatus.FAILED, ("no receipt: " if kind == "receipt" else "") + str(exc)
        except PermanentError as exc:
            return OutboxStatus.FAILED, f"refused by the server: {exc}"
        except TransientError as exc:
            if attempts >= limit:
                return OutboxStatus.FAILED, f"gave up after {attempts} attempts: {exc}"
            return OutboxStatus.PENDING, str(exc)
        except Exception as exc:  # a bug or a mail no code path foresaw: this mail fails, the rest go
            log.warning("outbox %s: cannot be sent", row_id, exc_info=True)
            return OutboxStatus.FAILED, f"cannot be sent ({type(exc).__name__}: {exc})"
        return OutboxStatus.SENT, None

    def _set(self, row_id: int, status: str, error: str | None, attempts: int) -> None:
        now = utcnow()
        values: dict = {"status": status, "last_error": error, "attempts": attempts}
        if status == OutboxStatus.SENT:
            values["sent_at"] = now
        elif status == OutboxStatus.PENDING:
            wait = min(self.config.outbox.retry_seconds * 2 ** max(attempts - 1, 0),
                       self.config.outbox.max_retry_seconds)
            values["next_attempt_at"] = now + timedelta(seconds=wait if error else 0)
        with self.db.session() as s:
            # A server's reply may quote anything: fitted as the ORM's writes are (a Core UPDATE).
            s.execute(update(Outgoing).where(Outgoing.id == row_id).values(**fit_values(Outgoing.__table__, values)))

    def _pace(self) -> None:
        wait = self._last + self.interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last = time.monotonic()


def cancel(db: Database, row_id: int) -> Outgoing | None:
    """Give up a mail that has not been sent (waiting, failed, or left `sending` by a dead sender)."""
    with db.session() as s:
        row = s.get(Outgoing, row_id)
        if row is None:
            return None
        if row.status == OutboxStatus.SENT:
            raise ConfigError(f"outbox {row_id} was already sent on {row.sent_at:%Y-%m-%d %H:%M} UTC; "
                              "there is nothing to cancel.")
        if row.status != OutboxStatus.CANCELLED:
            row.status, row.last_error = OutboxStatus.CANCELLED, f"cancelled by the admin (was {row.status})"
        s.flush()
        s.expunge(row)
        return row


def retry(db: Database, row_id: int) -> Outgoing | None:
    """Make a failed (or waiting) mail due now; a sent one is sent again (the admin asked)."""
    with db.session() as s:
        row = s.get(Outgoing, row_id)
        if row is None:
            return None
        if not row.data:  # outbox.keep_sent_days dropped them: there is nothing to send again
            raise ConfigError(f"outbox {row_id} was sent on {row.sent_at:%Y-%m-%d} and its bytes were dropped "
                              "after outbox.keep_sent_days; only its record is kept.")
        row.status, row.next_attempt_at, row.last_error = OutboxStatus.PENDING, utcnow(), None
        row.attempts = 0
        s.flush()
        s.expunge(row)
        return row
