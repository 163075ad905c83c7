"""Reviewer digests: each group gets the new submissions routed to it, with a token to reply with.

Every recipient (each reviewer, and with two-stage review each leader) gets a mail of their own
holding a token of their own (review/tokens.py): a token forwarded, leaked or read off another's
screen decides nothing under another From:, and no Cc shows one recipient's token to another.
The token is in the body only, never in the Subject (list views, logs, the outbox table).

Marking the submissions, issuing the tokens and queueing the mails happen in one transaction: a
submission is listed in exactly one digest, and a digest is never lost or sent twice by a crash.
"""
from __future__ import annotations

import logging
import mimetypes
from collections import defaultdict
from datetime import timedelta
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from mailbridge.config import Config, ReviewGroup
from mailbridge.ledger.archive import Archive
from mailbridge.ledger.db import Database
from mailbridge.ledger.models import Digest, Message, Submission, utcnow
from mailbridge.ledger.records import iso
from mailbridge.ledger.vocab import ReviewStatus, SubmissionStatus
from mailbridge.notify import outbox
from mailbridge.notify.compose import compose, from_address
from mailbridge.parse.html import expiry_words
from mailbridge.render import render_mail
from mailbridge.review import tokens
from mailbridge.review.routing import group_for
from mailbridge.score.profile import load_profile

log = logging.getLogger(__name__)


def waiting(s: Session, config: Config) -> list[Submission]:
    """Submissions no digest has listed yet, still to be decided, recent enough to be worth a mail."""
    since = utcnow() - timedelta(days=config.review.digest_max_age_days)
    return list(s.scalars(
        select(Submission).join(Message, Submission.message_row_id == Message.id)
        .where(Submission.digest_id.is_(None), Submission.status != SubmissionStatus.SUPERSEDED,
               Submission.review_status.in_((ReviewStatus.PENDING, ReviewStatus.REVIEWED)), Message.received_at >= since)
        .options(selectinload(Submission.unit), selectinload(Submission.message), selectinload(Submission.document))
        .order_by(Submission.id)))


def enqueue_digests(db: Database, config: Config) -> dict[str, int]:
    """Queue one digest per group with new submissions; returns group id -> submissions listed."""
    counts: dict[str, int] = {}
    with db.session() as s:
        by_group: dict[str, list[Submission]] = defaultdict(list)
        for sub in waiting(s, config):
            group = group_for(config, sub)
            if group is not None and (group.addresses or group.leaders):
                by_group[group.id].append(sub)
        for group_id, subs in by_group.items():
            group = config.review.group(group_id)
            assert group is not None  # group_id is the id of a configured group (group_for)
            subs = subs[: config.review.digest_max_items]
            digest = Digest(group=group_id)
            s.add(digest)
            s.flush()
            for sub in subs:
                sub.digest_id = digest.id
            items = _items(config, subs)
            files = _attach(config, subs, items)
            for n, address in enumerate(recipients(config, group), start=1):
                token = tokens.issue(s, digest, address, config.review.token_days)
                msg = _compose(config, group, digest, items, address, token)
                for name, data in files:
                    maintype, _, subtype = (mimetypes.guess_type(name)[0] or "application/octet-stream").partition("/")
                    msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
                outbox.enqueue(s, f"digest:{digest.id}:{n}", "digest", msg)
            counts[group_id] = len(subs)
    return counts


def recipients(config: Config, group: ReviewGroup) -> list[str]:
    """Who gets the group's digest: its reviewers, and its leaders when they must approve (or
    when the group has no reviewers of its own)."""
    leaders = group.leaders if config.review.two_stage or not group.addresses else []
    return list(dict.fromkeys([*group.addresses, *leaders]))


def _attach(config: Config, subs: list[Submission], items: list[dict]) -> list[tuple[str, bytes]]:
    """The listed documents to attach, in order, while they fit `review.digest_attach_mb` together;
    each item says whether its document is attached (`attached`: its name in the mail) or over the
    budget (`over_budget`). A document no longer in the archive is neither: the item says nothing."""
    budget = int(config.review.digest_attach_mb * 1024 * 1024)
    archive = Archive(config.storage.dir)
    used, files = 0, []
    for sub, item in zip(subs, items, strict=True):
        doc = sub.document
        if doc is None:
            continue
        path = archive.file_path(doc.sha256)
        if not path.is_file():
            continue
        if used + doc.size > budget:
            item["over_budget"] = True
            continue
        used += doc.size
        item["attached"] = f"{sub.receipt_no} {doc.filename}"
        files.append((item["attached"], path.read_bytes()))
    return files


def _items(config: Config, subs: list[Submission]) -> list[dict]:
    zone = config.ingest.zone
    return [{
        "receipt_no": sub.receipt_no,
        "title": sub.title,
        "unit": sub.unit.name if sub.unit else None,
        "sender": sub.message.sender,
        "received_at": iso(sub.message.received_at, zone)[:16].replace("T", " "),
        "category": config.category_name(sub.category),
        "body_chars": sub.body_chars,
        "flags": list(sub.flags or []),
        "excerpt": " ".join(sub.text.split())[:120],
        # A body-only article in full, by paragraph: there is no document to attach.
        "paragraphs": [p for p in sub.text.splitlines() if p.strip()] if sub.document_id is None else [],
        "review_status": sub.review_status,
        "awaiting_file": sub.status == SubmissionStatus.AWAITING_FILE,
        "document": sub.document.filename if sub.document is not None else None,
        "document_size": sub.document.size if sub.document is not None else 0,
        "links": [{"url": link.get("url", ""), "filename": link.get("filename", ""),
                   "expires": expiry_words(link.get("expires", ""), sub.message.received_at.astimezone(zone))}
                  for link in sub.links or []],
        "attached": None,
        "over_budget": False,
    } for sub in subs]


def _compose(config: Config, group: ReviewGroup, digest: Digest, items: list[dict], address: str,
             token: str) -> EmailMessage:
    profile = load_profile(config)
    subject, text, html = render_mail(
        config, "digest", group=group.name, items=items, token=token, digest_no=digest.id,
        two_stage=config.review.two_stage, address=address, attach_mb=f"{config.review.digest_attach_mb:g}",
        days=config.review.token_days, example=items[0]["receipt_no"],
        channels=[{"id": c.id, "name": c.name, "aliases": c.aliases} for c in profile.channels])
    return compose(config, [address], subject, text, html, reply_to=from_address(config))
