"""May this reply decide? Exactly one token, sent to this very address, unexpired; a sender that
keeps failing is refused unread; and an aligned DKIM pass when the receiving server checks DKIM.

A From: can be forged by anyone and a token can be forwarded, so neither decides alone: the token
names the address it was sent to (a reviewer cannot use his own token under the leader's From:),
and DKIM ties the From: to the domain that signed the mail (RFC 6376, aligned as in RFC 7489).
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbridge.config import Config, ReviewGroup
from mailbridge.ledger.models import Digest, Message, ReviewToken, utcnow
from mailbridge.parse.authres import verdicts
from mailbridge.parse.mime import ParsedMail
from mailbridge.review.codes import ReplyRefusal
from mailbridge.review.routing import is_reviewer
from mailbridge.review.tokens import distinct_tokens, lookup

REFUSED = "reviewer reply refused: "
# Refusals that look like guessing or a stolen token: counted against the sender (the throttle).
FAILURES = (ReplyRefusal.SEVERAL_TOKENS, ReplyRefusal.BAD_TOKEN, ReplyRefusal.TOKEN_NOT_YOURS, ReplyRefusal.DKIM_FAIL,
            ReplyRefusal.DKIM_MISSING)


@dataclass(frozen=True)
class Grant:
    """A reply allowed to decide: as `actor`, on the submissions of `digest` only."""

    actor: str
    token: ReviewToken
    digest: Digest
    group: ReviewGroup


def failures_since(s: Session, sender: str | None, hours: int = 1) -> int:
    """Replies of this sender refused for a bad token (or DKIM) in the last hours, by our clock."""
    since = utcnow() - timedelta(hours=hours)
    who = Message.sender.is_(None) if not sender else Message.sender == sender
    return s.scalar(select(func.count(Message.id)).where(
        who, Message.created_at >= since, Message.reason.in_([REFUSED + code for code in FAILURES]))) or 0


def check(s: Session, config: Config, row: Message, mail: ParsedMail) -> Grant | ReplyRefusal:
    """The grant of a reply, or the refusal code (see FAILURES, plus throttled, not_reviewer,
    no_token, wrong_group)."""
    sender = (mail.sender or "").strip().lower()
    if failures_since(s, row.sender) >= config.review.max_token_failures_per_hour:
        return ReplyRefusal.THROTTLED  # nothing of the mail is looked at: guessing costs one query per mail
    if not is_reviewer(config, sender):
        return ReplyRefusal.NOT_REVIEWER
    found = distinct_tokens(f"{mail.subject or ''}\n{mail.text or ''}")
    if not found:
        return ReplyRefusal.NO_TOKEN
    if len(found) > 1:
        return ReplyRefusal.SEVERAL_TOKENS
    token = lookup(s, found[0])
    if token is None:
        return ReplyRefusal.BAD_TOKEN  # never issued, or expired (review.token_days)
    if not hmac.compare_digest(token.address.encode(), sender.encode()):
        return ReplyRefusal.TOKEN_NOT_YOURS
    group = config.review.group(token.digest.group)
    if group is None or not is_reviewer(config, sender, group):
        return ReplyRefusal.WRONG_GROUP  # the address left the group since the digest was sent
    refused = dkim_refusal(config, mail, sender)
    if refused:
        return refused
    return Grant(sender, token, token.digest, group)


def dkim_refusal(config: Config, mail: ParsedMail, sender: str) -> ReplyRefusal | None:
    """`dkim_fail` / `dkim_missing` when review.require_dkim asks for an aligned DKIM pass it lacks."""
    mode = config.review.require_dkim
    if mode == "never":
        return None
    found = verdicts(mail.auth_results, config.ingest.trusted_authserv_ids)
    if not found.present:
        return ReplyRefusal.DKIM_MISSING if mode == "always" else None
    # The server records authentication: its DKIM verdict must be a pass for the From: domain
    # (a server that checks DKIM writes dkim=none for an unsigned mail, so absence is no pass).
    return None if found.dkim_aligned(sender) else ReplyRefusal.DKIM_FAIL
