"""The one place review decisions are recorded: the CLI, the sheet import and mail replies all call here.

Every function checks first and writes after, so a refused decision changes nothing; each
decision written adds a `Decision` row (the audit trail: who, when, how, why). The caller owns
the transaction. States of `Submission.review_status`:

    pending --first_review--> reviewed --approve--> approved      (only when review.two_stage)
    pending | approved --adopt--> adopted --withdraw (last channel)--> pending | approved
    pending | reviewed | approved --reject--> rejected --reopen--> pending

`accept_body` decides on `Submission.status`, not the review: a submission waiting for its
超大附件 file (awaiting_file, 待补交) is counted from its mail body instead (-> received).
"""
from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import NoReturn

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbridge.config import Config
from mailbridge.errors import MailbridgeError
from mailbridge.ledger.models import Adoption, Decision, Submission
from mailbridge.ledger.vocab import ReviewStatus, SubmissionStatus
from mailbridge.review.codes import Refusal
from mailbridge.review.routing import group_for
from mailbridge.score.profile import Channel, load_profile

VIA = ("cli", "mail", "sheet")


class DecisionError(MailbridgeError):
    """A decision that cannot be recorded; `code` (review/codes.py) says why, for replies in the
    reviewer's words."""

    exit_code = 2

    def __init__(self, code: Refusal, message: str, **context: object) -> None:
        super().__init__(message, code=code, **context)
        self.code = code


def find_submission(s: Session, ref: str) -> Submission:
    """A submission by numeric id or receipt number (SMX-2024-09-0012; full-width and case tolerated)."""
    key = unicodedata.normalize("NFKC", ref).strip().upper()
    if key.isdigit():
        sub = s.get(Submission, int(key))
    else:
        sub = s.scalar(select(Submission).where(func.upper(Submission.receipt_no) == key))
    if sub is None:
        raise DecisionError(Refusal.UNKNOWN_SUBMISSION,
                            f"no submission {ref!r}; give its id or receipt number (see 'mailbridge review').",
                            ref=ref)
    return sub


def channel_for(config: Config, name_or_alias: str) -> Channel:
    """A channel of the scoring profile by id, Chinese name or alias."""
    profile = load_profile(config)
    channel = profile.channel(unicodedata.normalize("NFKC", name_or_alias))
    if channel is None:
        raise DecisionError(Refusal.UNKNOWN_CHANNEL,
                            f"unknown channel {name_or_alias!r}; use one of: {profile.channel_names()}.",
                            channel=name_or_alias)
    return channel


def today(config: Config) -> date:
    return datetime.now(config.ingest.zone).date()


def _record(s: Session, config: Config, sub: Submission, action: str, actor: str, via: str,
            note: str | None = None, channel: str | None = None, on: date | None = None) -> Decision:
    if via not in VIA:
        raise ValueError(f"via must be one of {VIA}")
    if sub.review_group is None:  # the group that decides first keeps the submission
        group = group_for(config, sub)
        sub.review_group = group.id if group else None
    decision = Decision(submission=sub, action=action, channel=channel, adopted_on=on, actor=actor, via=via,
                        note=note or None, review_group=sub.review_group)
    s.add(decision)
    return decision


def _not_superseded(s: Session, sub: Submission) -> None:
    if sub.status != SubmissionStatus.SUPERSEDED:
        return
    article = sub.version_of or sub.id
    newest = s.scalar(select(Submission).where(
        (Submission.version_of == article) | (Submission.id == article), Submission.status != SubmissionStatus.SUPERSEDED,
    ).order_by(Submission.id.desc()).limit(1))
    newer = f" {newest.receipt_no}" if newest is not None else ""
    raise DecisionError(Refusal.SUPERSEDED, f"{sub.receipt_no} was replaced by a newer version{newer}; decide on "
                                            "that one instead.", newest=newest.receipt_no if newest else None)


def _refuse(sub: Submission, code: Refusal, message: str) -> NoReturn:
    raise DecisionError(code, f"{sub.receipt_no}: {message}", receipt_no=sub.receipt_no)


def adopt(s: Session, config: Config, sub: Submission, channels: list[str], on: date | None, actor: str,
          via: str) -> list[Adoption]:
    """Record adoption (采用) by each channel; a channel already recorded is kept as it was.

    Returns the adoptions of the channels asked for; `recorded_now` is True on those added now.
    """
    _not_superseded(s, sub)
    if sub.status == SubmissionStatus.AWAITING_FILE:  # adopted, it would still count for nothing: say so instead
        _refuse(sub, Refusal.AWAITING_FILE, "its article is behind a 超大附件 link and has not arrived; accept the body "
                                      "first (mailbridge accept-body) or adopt the unit's file when it comes.")
    if not channels:
        _refuse(sub, Refusal.NO_CHANNEL, "name at least one channel to adopt it by.")
    wanted = list(dict.fromkeys(channel_for(config, c).id for c in channels))
    if sub.review_status == ReviewStatus.REJECTED:
        _refuse(sub, Refusal.ALREADY_REJECTED, "it was rejected; reopen it first (mailbridge reject --undo).")
    if config.review.two_stage and sub.review_status == ReviewStatus.PENDING:
        _refuse(sub, Refusal.NOT_REVIEWED, "it has had no first review (初审) yet; two-stage review needs that first.")
    if config.review.two_stage and sub.review_status == ReviewStatus.REVIEWED:
        _refuse(sub, Refusal.NOT_APPROVED, "it passed first review but no leader has approved it yet.")
    on = on or today(config)
    arrived = sub.message.received_at.astimezone(config.ingest.zone).date()
    if on < arrived or on > today(config):
        _refuse(sub, Refusal.BAD_DATE, f"adoption date {on.isoformat()} is outside {arrived.isoformat()} (arrival) "
                                       f"to {today(config).isoformat()} (today).")
    have = {a.channel: a for a in sub.adoptions}
    out = []
    for channel in wanted:
        adoption = have.get(channel)
        if adoption is None:
            adoption = Adoption(submission=sub, channel=channel, adopted_on=on, actor=actor, via=via)
            adoption.recorded_now = True
            s.add(adoption)
            _record(s, config, sub, "adopt", actor, via, channel=channel, on=on)
        else:
            adoption.recorded_now = False
        out.append(adoption)
    sub.review_status = ReviewStatus.ADOPTED
    s.flush()
    return out


def withdraw(s: Session, config: Config, sub: Submission, channels: list[str], actor: str, via: str,
             note: str | None = None) -> list[str]:
    """Take back adoptions recorded by mistake; returns the channel ids withdrawn."""
    wanted = list(dict.fromkeys(channel_for(config, c).id for c in channels))
    have = {a.channel: a for a in sub.adoptions}
    missing = [c for c in wanted if c not in have]
    if missing or not wanted:
        _refuse(sub, Refusal.NOT_ADOPTED, f"it has no adoption by {', '.join(missing) or 'any channel'} to withdraw.")
    for channel in wanted:
        sub.adoptions.remove(have[channel])
        s.delete(have[channel])
        _record(s, config, sub, "withdraw", actor, via, note=note, channel=channel)
    if not sub.adoptions:
        sub.review_status = ReviewStatus.APPROVED if config.review.two_stage else ReviewStatus.PENDING
    s.flush()
    return wanted


def reject(s: Session, config: Config, sub: Submission, actor: str, via: str, note: str | None = None) -> Decision:
    """Reject (不予采用), with an optional note to the unit."""
    _not_superseded(s, sub)
    if sub.review_status == ReviewStatus.REJECTED:
        _refuse(sub, Refusal.ALREADY_REJECTED, "it was already rejected.")
    if sub.review_status == ReviewStatus.ADOPTED:
        _refuse(sub, Refusal.ALREADY_ADOPTED, "it has been adopted; withdraw the adoptions first (mailbridge "
                                              "adopt --withdraw).")
    decision = _record(s, config, sub, "reject", actor, via, note=note)
    sub.review_status = ReviewStatus.REJECTED
    s.flush()
    return decision


def reopen(s: Session, config: Config, sub: Submission, actor: str, via: str, note: str | None = None) -> Decision:
    """Undo a rejection: the submission waits for review again."""
    if sub.review_status != ReviewStatus.REJECTED:
        _refuse(sub, Refusal.NOT_REJECTED, f"it is {sub.review_status}, not rejected.")
    decision = _record(s, config, sub, "reopen", actor, via, note=note)
    sub.review_status = ReviewStatus.PENDING
    s.flush()
    return decision


def _two_stage(config: Config, sub: Submission) -> None:
    if not config.review.two_stage:
        _refuse(sub, Refusal.NOT_TWO_STAGE, "review.two_stage is off, so there is no first review or approval; "
                                            "adopt or reject it directly.")


def first_review(s: Session, config: Config, sub: Submission, actor: str, via: str,
                 note: str | None = None) -> Decision:
    """The group's first review (初审) passed: it now waits for a leader's approval."""
    _two_stage(config, sub)
    _not_superseded(s, sub)
    if sub.review_status == ReviewStatus.REJECTED:
        _refuse(sub, Refusal.ALREADY_REJECTED, "it was rejected; reopen it first.")
    if sub.review_status != ReviewStatus.PENDING:
        _refuse(sub, Refusal.ALREADY_REVIEWED, f"it has had its first review already ({sub.review_status}).")
    decision = _record(s, config, sub, "first_review", actor, via, note=note)
    sub.review_status = ReviewStatus.REVIEWED
    s.flush()
    return decision


def approve(s: Session, config: Config, sub: Submission, actor: str, via: str, note: str | None = None) -> Decision:
    """A leader's approval after first review (seed 004: 报请分管领导审核通过后再上传)."""
    _two_stage(config, sub)
    _not_superseded(s, sub)
    if sub.review_status == ReviewStatus.REJECTED:
        _refuse(sub, Refusal.ALREADY_REJECTED, "it was rejected; reopen it first.")
    if sub.review_status == ReviewStatus.PENDING:
        _refuse(sub, Refusal.NOT_REVIEWED, "it has had no first review (初审) yet.")
    if sub.review_status in (ReviewStatus.APPROVED, ReviewStatus.ADOPTED):
        _refuse(sub, Refusal.ALREADY_APPROVED, "it was approved already.")
    decision = _record(s, config, sub, "approve", actor, via, note=note)
    sub.review_status = ReviewStatus.APPROVED
    s.flush()
    return decision


def accept_body(s: Session, config: Config, sub: Submission, actor: str, via: str,
                note: str | None = None) -> Decision:
    """A reviewer accepts the mail body of a submission waiting for its 超大附件 file as the
    article: it counts from now on (quota, scorecard, 通报) as if it had come complete."""
    _not_superseded(s, sub)
    if sub.status != SubmissionStatus.AWAITING_FILE:
        _refuse(sub, Refusal.NOT_AWAITING_FILE, "it is not waiting for a file (待补交); its body counts already.")
    decision = _record(s, config, sub, "accept_body", actor, via, note=note)
    sub.status = SubmissionStatus.RECEIVED
    s.flush()
    return decision
