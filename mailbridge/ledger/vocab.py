"""The ledger's vocabularies, named once: the values of its state and status columns.

Each is a StrEnum, so a member is the very string stored and printed (`MessageState.PROCESSED ==
"processed"`, and json.dumps writes `"processed"`): the JSON records of shared/CONTRACT.md stay as
they were. The database holds them as plain strings under a CHECK constraint (models.py; migration
0009): a value added here needs a new migration that widens its CHECK.
"""
from __future__ import annotations

from enum import StrEnum


class MessageState(StrEnum):
    """Message.state: archived (raw bytes kept, not yet processed) -> processed."""

    ARCHIVED = "archived"
    PROCESSED = "processed"


class Disposition(StrEnum):
    """Message.disposition: what became of a processed message (pipeline/dispose.py decides)."""

    SUBMISSION = "submission"  # one or more articles
    REPLY = "reply"  # a reviewer's answer to a digest: decisions, not an article
    COLLECTION = "collection"  # a unit's form for a deadline collection
    DUPLICATE = "duplicate"  # same Message-ID and content as one seen before
    QUARANTINED = "quarantined"  # could not be processed, or held for an admin
    BOUNCE = "bounce"  # a delivery status notification (RFC 3464)
    AUTO_REPLY = "auto_reply"  # an out-of-office or other automatic answer (RFC 3834)
    IGNORED = "ignored"  # our own mail, an ignored sender, a roster form, an answered reply


class SubmissionStatus(StrEnum):
    """Submission.status: the article itself, apart from its review.

    A body-only mail whose article sits behind a 超大附件 download link is `awaiting_file` (shown to
    clerks as 待补交) until the file arrives in a later mail of the unit (attribute/match.py
    complete_waiting: it then becomes `superseded` by that version) or a reviewer accepts the body
    (review/decisions.py accept_body: it becomes `received`).
    """

    RECEIVED = "received"
    SUPERSEDED = "superseded"  # a newer version of the same article arrived (attribute/match.py)
    AWAITING_FILE = "awaiting_file"  # 待补交: announced, but the document is still to come


# The statuses that count toward anything (quota, scorecard, 通报, progress, reminders); a
# superseded version counts as part of its article, which counts once (ledger/queries.py).
COUNTED_STATUSES = (SubmissionStatus.RECEIVED, SubmissionStatus.SUPERSEDED)


class ReviewStatus(StrEnum):
    """Submission.review_status; review/decisions.py is the only writer and draws the graph."""

    PENDING = "pending"
    REVIEWED = "reviewed"  # first review (初审) passed; review.two_stage only
    APPROVED = "approved"  # a leader approved it; review.two_stage only
    ADOPTED = "adopted"  # 采用, by at least one channel
    REJECTED = "rejected"  # 不予采用


class OutboxStatus(StrEnum):
    """Outgoing.status: pending -> sending -> sent | failed; cancelled by an admin."""

    PENDING = "pending"
    SENDING = "sending"  # left behind by a dead sender, it is sent again
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


def check(column: str, vocabulary: type[StrEnum]) -> str:
    """The SQL of a CHECK constraint that holds `column` to `vocabulary`."""
    return f"{column} IN ({', '.join(repr(str(v)) for v in vocabulary)})"
