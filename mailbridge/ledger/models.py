"""SQLAlchemy models of the ledger; the schema changes only through migrations/."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from mailbridge.ledger import bounds
from mailbridge.ledger.vocab import Disposition, MessageState, OutboxStatus, ReviewStatus, SubmissionStatus, check

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    __table__: ClassVar[Table]  # every model maps one table (DeclarativeBase says only FromClause)


bounds.install(Base)  # no NULs, no over-long strings: PostgreSQL refuses both (ledger/bounds.py)


class FolderState(Base):
    """Where polling of one IMAP folder stands: its UIDVALIDITY and the highest UID recorded."""

    __tablename__ = "folder_state"
    __table_args__ = (UniqueConstraint("mailbox", "folder", name="uq_folder_state_mailbox_folder"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(100))
    folder: Mapped[str] = mapped_column(String(500))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Message(Base):
    """One row per message seen, keyed by where it was seen; never deleted."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("mailbox", "folder", "uidvalidity", "uid", name="uq_messages_location"),
        # One sender's mail of a day, for the flood cap (attribute/flood.py) at every message.
        Index("ix_messages_sender_received_at", "sender", "received_at"),
        CheckConstraint(check("state", MessageState), name="ck_messages_state"),
        CheckConstraint(check("disposition", Disposition), name="ck_messages_disposition"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(100), index=True)
    folder: Mapped[str] = mapped_column(String(1000))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    uid: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[str | None] = mapped_column(String(1000), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    # Set on the first copy of a message only: a second copy delivered elsewhere (another folder,
    # another mailbox, another instance) collides here and becomes a `duplicate`.
    dedup_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    sender: Mapped[str | None] = mapped_column(String(500), index=True)
    sender_name: Mapped[str | None] = mapped_column(String(500))
    subject: Mapped[str | None] = mapped_column(Text)
    # archived -> processed; a processed row has a disposition.
    state: Mapped[str] = mapped_column(String(20), default=MessageState.ARCHIVED, index=True)
    disposition: Mapped[str | None] = mapped_column(String(20), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The server-side action (flag/seen/move) still owed to this message.
    action_pending: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    submissions: Mapped[list[Submission]] = relationship(
        back_populates="message", order_by="Submission.id", foreign_keys="Submission.message_row_id"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="message", order_by="Attachment.id", cascade="all, delete-orphan"
    )


class Attachment(Base):
    """A file that came with a message: a document, a photo or anything else, stored by hash."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_row_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(1000))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # document | image | other
    inline: Mapped[bool] = mapped_column(Boolean, default=False)
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)

    message: Mapped[Message] = relationship(back_populates="attachments")


class Submission(Base):
    """One article: a document attachment, or the body of a mail that had none."""

    __tablename__ = "submissions"
    __table_args__ = (
        CheckConstraint(check("status", SubmissionStatus), name="ck_submissions_status"),
        CheckConstraint(check("review_status", ReviewStatus), name="ck_submissions_review_status"),
        # A unit's articles of a month: the receipt's count, and the resubmission check's window
        # (attribute/match.link_version), both at every accepted mail, whatever the history.
        Index("ix_submissions_unit_id_month", "unit_id", "month"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_row_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))
    receipt_no: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    body_chars: Mapped[int] = mapped_column(Integer)
    category: Mapped[str | None] = mapped_column(String(40))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    suggested_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    # A resubmission points at the first version; only the newest version of an article counts.
    version_of: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=SubmissionStatus.RECEIVED)
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    links: Mapped[list[dict]] = mapped_column(JSON, default=list)  # large-attachment downloads
    problem: Mapped[str | None] = mapped_column(Text)  # why no text came out, for the receipt
    month: Mapped[str] = mapped_column(String(7), index=True)  # YYYY-MM of arrival, local time
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Review (review/decisions.py is the only writer): pending -> [reviewed -> approved ->] adopted,
    # or rejected. `review_group` is the group that decided, fixed at the first decision.
    review_status: Mapped[str] = mapped_column(String(20), default=ReviewStatus.PENDING, server_default=ReviewStatus.PENDING, index=True)
    review_group: Mapped[str | None] = mapped_column(String(40))
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("digests.id"), index=True)  # the digest that listed it

    message: Mapped[Message] = relationship(back_populates="submissions", foreign_keys=[message_row_id])
    document: Mapped[Attachment | None] = relationship()
    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    suggested_unit: Mapped[Unit | None] = relationship(foreign_keys=[suggested_unit_id])
    adoptions: Mapped[list[Adoption]] = relationship(back_populates="submission", order_by="Adoption.id")
    decisions: Mapped[list[Decision]] = relationship(back_populates="submission", order_by="Decision.id")


class Adoption(Base):
    """An article published by a channel (采用): at most one row per submission and channel."""

    __tablename__ = "adoptions"
    __table_args__ = (UniqueConstraint("submission_id", "channel", name="uq_adoptions_submission_channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    channel: Mapped[str] = mapped_column(String(40))  # a channel id of the scoring profile
    adopted_on: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(320))  # a reviewer address, or cli:<user>
    via: Mapped[str] = mapped_column(String(10))  # cli | mail | sheet
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="adoptions")

    recorded_now = False  # not stored: set by review.decisions.adopt on the rows it added


class Decision(Base):
    """The audit trail: every review decision, who made it, when, how and why; never changed.

    A decision is about a submission, or (score_item | rating | veto | revoke) about a score entry.
    """

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), index=True)
    score_entry_id: Mapped[int | None] = mapped_column(ForeignKey("score_entries.id"), index=True)
    # first_review | approve | adopt | withdraw | reject | reopen | accept_body; score_item | rating | veto | revoke
    action: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str | None] = mapped_column(String(40))
    adopted_on: Mapped[date | None] = mapped_column(Date)
    review_group: Mapped[str | None] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(320))
    via: Mapped[str] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    submission: Mapped[Submission | None] = relationship(back_populates="decisions")
    score_entry: Mapped[ScoreEntry | None] = relationship(back_populates="decisions")


class ScoreEntry(Base):
    """A clerk's entry for the scorecard that no submission carries (seed 003): a score item
    (加分项/扣分项 or an indicator's points), a rating of a rated part (服务对象评价), or a veto
    (一票否决). Kept when revoked (`revoked_at`), like every decision."""

    __tablename__ = "score_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # item | rating | veto
    key: Mapped[str] = mapped_column(String(60))  # the profile's item, part or veto id
    points: Mapped[float | None] = mapped_column(Float)  # item: signed points; rating: the score
    effect: Mapped[str | None] = mapped_column(String(10))  # veto: bar | exclude
    on: Mapped[date] = mapped_column(Date, index=True)  # counts in the periods holding this date
    note: Mapped[str | None] = mapped_column(Text)
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))  # a file in the archive
    evidence_name: Mapped[str | None] = mapped_column(String(255))
    receipt_no: Mapped[str | None] = mapped_column(String(40))  # or a submission's receipt number
    actor: Mapped[str] = mapped_column(String(320))
    via: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    unit: Mapped[Unit] = relationship()
    decisions: Mapped[list[Decision]] = relationship(back_populates="score_entry", order_by="Decision.id")


class Counter(Base):
    """Named sequences, e.g. receipt numbers per month; bumped inside the caller's transaction."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Lease(Base):
    """A time-limited lock held in the database, so one poller runs per mailbox across hosts."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Unit(Base):
    """A sending unit (单位): a county association, a society, an enterprise, a department…"""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str | None] = mapped_column(String(40))  # a unit-type id of the config; None: no quota
    quota: Mapped[int | None] = mapped_column(Integer)  # overrides the type's monthly quota
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    officers: Mapped[list[Officer]] = relationship(back_populates="unit", order_by="Officer.id")


class Officer(Base):
    """An information officer (信息员) of a unit; deactivated, never deleted."""

    __tablename__ = "officers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit] = relationship(back_populates="officers")
    addresses: Mapped[list[Address]] = relationship(back_populates="officer", order_by="Address.id")


class Address(Base):
    """A sender address and the unit it speaks for (from the roster, or bound by an admin)."""

    __tablename__ = "addresses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)  # lower-case
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"), index=True)
    source: Mapped[str] = mapped_column(String(20), default="roster")  # roster | bind
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()
    officer: Mapped[Officer | None] = relationship(back_populates="addresses")


# Written out, not bound: a partial index is used only for a query whose WHERE has the same terms.
WAITING = text(f"status IN ('{OutboxStatus.PENDING}', '{OutboxStatus.SENDING}')")


class Outgoing(Base):
    """One mail to send (receipt, digest, scorecard…), written in the transaction that caused it.

    The rendered bytes and Message-ID are fixed when the row is written, so a resend after a crash
    is the same mail. `key` makes enqueueing idempotent (e.g. `receipt:<message row id>`).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(check("status", OutboxStatus), name="ck_outbox_status"),
        # The caps (notify/outbox.sent_to_since, automatic_since) at every accepted mail: one kind
        # over the last day, never every receipt ever queued (an index on `kind` alone did that).
        Index("ix_outbox_kind_created_at", "kind", "created_at"),
        # What waits to be sent (notify/sender._claim), a handful of rows among every mail ever
        # sent: the planner takes this small index with or without statistics.
        Index("ix_outbox_waiting", "status", "next_attempt_at", sqlite_where=WAITING, postgresql_where=WAITING),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # receipt | digest | scorecard | reply…
    recipients: Mapped[list[str]] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(300))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    # pending -> sending -> sent | failed; `sending` left behind by a dead sender is sent again.
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_row_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Digest(Base):
    """A reviewer digest sent to one group: one mail per recipient, each with its own token."""

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class MailboxHealth(Base):
    """How polling of one mailbox stands: the last success, and the current error since when."""

    __tablename__ = "mailbox_health"

    mailbox: Mapped[str] = mapped_column(String(100), primary_key=True)
    first_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_new_mail_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    error_since: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Incident(Base):
    """Something an admin must hear about (a failing mailbox, failed mail…), open until it recovers.

    The alert mail is queued in the transaction that opens the incident, the recovery notice in
    the one that closes it: one mail each, however many polls see the same state.
    """

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)  # e.g. mailbox_failing:smxskx
    detail: Mapped[str | None] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Runner(Base):
    """The one `mailbridge run` of this database: who holds it, and when its jobs run next."""

    __tablename__ = "runners"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    jobs: Mapped[dict] = mapped_column(JSON, default=dict)  # job id -> next run (ISO 8601) or None


class Occurrence(Base):
    """One occurrence of a scheduled job (job id + scheduled time), recorded with the mail it queued.

    The row and the outbox rows are written in one transaction: after a crash either both exist
    (the job is done) or neither (it runs again). The unique pair makes a second runner lose.
    """

    __tablename__ = "occurrences"
    __table_args__ = (UniqueConstraint("job", "scheduled_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(200))
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    mails: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text)


class ReviewToken(Base):
    """The token one recipient of one digest replies with: only its SHA-256 is kept, so reading the
    database gives no token; it decides only for `address`, only on that digest's submissions."""

    __tablename__ = "review_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id"), index=True)
    address: Mapped[str] = mapped_column(String(320))  # lower-case
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    digest: Mapped[Digest] = relationship()


class CollectionReply(Base):
    """A unit's reply to a deadline collection ([[collections]]); every reply kept, the earliest decides."""

    __tablename__ = "collection_replies"
    __table_args__ = (UniqueConstraint("collection", "message_row_id", name="uq_collection_replies_message"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection: Mapped[str] = mapped_column(String(60), index=True)  # a collection id of the config
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    message_row_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    files: Mapped[list[str]] = mapped_column(JSON, default=list)  # the names of the mail's attachments
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()
    message: Mapped[Message] = relationship()
