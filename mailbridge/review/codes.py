"""Why a decision or a reviewer's reply was refused: the codes, named once.

`Refusal` is `DecisionError.code`; each has its words, in the reviewer's language, in exactly one
place: the `problem` macro of templates/_review.j2 (tests/test_vocab.py ties the two). A
`ReplyRefusal` (review/trust.py) is never answered, so that a forger learns nothing: it has no
words, only the ledger reason and the log.
"""
from __future__ import annotations

from enum import StrEnum


class Refusal(StrEnum):
    UNKNOWN_SUBMISSION = "unknown_submission"
    AMBIGUOUS = "ambiguous"  # the sheet names a title that several submissions share
    UNKNOWN_CHANNEL = "unknown_channel"
    NO_CHANNEL = "no_channel"
    SUPERSEDED = "superseded"
    ALREADY_REJECTED = "already_rejected"
    ALREADY_ADOPTED = "already_adopted"
    ALREADY_REVIEWED = "already_reviewed"
    ALREADY_APPROVED = "already_approved"
    NOT_REVIEWED = "not_reviewed"
    NOT_APPROVED = "not_approved"
    NOT_TWO_STAGE = "not_two_stage"
    NOT_ADOPTED = "not_adopted"
    NOT_REJECTED = "not_rejected"
    BAD_DATE = "bad_date"
    AWAITING_FILE = "awaiting_file"  # 待补交: the article is still behind a 超大附件 link
    NOT_AWAITING_FILE = "not_awaiting_file"
    # From mail replies only (review/replies.py).
    NOT_ALLOWED = "not_allowed"
    NOT_IN_DIGEST = "not_in_digest"
    NO_REFERENCE = "no_reference"


class ReplyRefusal(StrEnum):
    THROTTLED = "throttled"
    NOT_REVIEWER = "not_reviewer"
    NO_TOKEN = "no_token"
    SEVERAL_TOKENS = "several_tokens"
    BAD_TOKEN = "bad_token"  # never issued, or expired (review.token_days)
    TOKEN_NOT_YOURS = "token_not_yours"
    WRONG_GROUP = "wrong_group"  # the address left the group since the digest was sent
    DKIM_FAIL = "dkim_fail"
    DKIM_MISSING = "dkim_missing"
