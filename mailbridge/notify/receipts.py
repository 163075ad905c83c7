"""Receipts (回执): one per accepted mail, queued in the transaction that records its submissions."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbridge.config import Config, MailboxConfig
from mailbridge.errors import ConfigError, TransientError
from mailbridge.ledger.models import Address, Message, Submission, utcnow
from mailbridge.ledger.queries import articles_in_month, quota_of
from mailbridge.ledger.vocab import SubmissionStatus
from mailbridge.notify import outbox, roster_form
from mailbridge.notify.compose import compose, from_address, one_address
from mailbridge.parse.article import clean_subject
from mailbridge.parse.html import expiry_words
from mailbridge.parse.mime import ParsedMail
from mailbridge.render import render_mail
from mailbridge.score.profile import type_quotas

log = logging.getLogger(__name__)
UNDELIVERABLE = "address not deliverable"


class Credited(Protocol):
    """What why_not reads of a submission (a collection reply passes just its unit)."""

    @property
    def unit_id(self) -> int | None: ...


def why_not(config: Config, row: Message, mail: ParsedMail, subs: Sequence[Credited],
            imports: bool, s: Session) -> str | None:
    """The reason no receipt goes to this mail, or None when one is owed (loop protection first)."""
    reason, sender = _why_not_by_rules(config, row, mail, subs, imports)
    return reason or _why_not_by_books(config, sender, subs, s)


def _why_not_by_rules(config: Config, row: Message, mail: ParsedMail, subs: Sequence[Credited],
                      imports: bool) -> tuple[str | None, str]:
    """why_not's checks of the mail and the config alone (no query): (the reason or None, the
    address a receipt would go to)."""
    rules = config.receipts
    sender = (row.sender or "").lower()
    if not rules.enabled:
        return "receipts.enabled is false", sender
    if row.uid is None and not imports:
        return "imported mail (use import --receipts to answer it)", sender
    box = _mailbox(config, row)
    if row.uid is not None and (box is None or not box.receipts):
        return f"receipts are off for mailbox {row.mailbox} (or it is no longer configured)", sender
    if not sender or "@" not in sender:
        return "no sender address", sender
    try:
        sender = one_address(sender).lower()
    except ValueError as exc:
        return f"{UNDELIVERABLE} ({exc})", sender
    if sender in config.own_addresses:
        return "sent by this system", sender
    if mail.no_reply:
        return mail.no_reply, sender
    known = any(sub.unit_id for sub in subs)
    if not known and not rules.unknown_senders:
        return "unknown sender and receipts.unknown_senders is false", sender
    if rules.max_age_days and row.received_at < utcnow() - timedelta(days=rules.max_age_days):
        return f"arrived more than {rules.max_age_days} days ago (receipts.max_age_days)", sender
    return None, sender


def _why_not_by_books(config: Config, sender: str, subs: Sequence[Credited], s: Session) -> str | None:
    """why_not's checks of what the outbox already holds."""
    rules = config.receipts
    known = any(sub.unit_id for sub in subs)
    now = utcnow()
    # A forged From costs nothing: a stranger's address is answered once in a while, not per mail.
    days = rules.unknown_sender_days
    if not known and days and outbox.sent_to_since(s, "receipt", sender, now - timedelta(days=days)):
        return f"unknown sender {sender} already had a receipt in the last {days} days (receipts.unknown_sender_days)"
    cap = rules.max_per_sender_per_day
    if cap and outbox.sent_to_since(s, "receipt", sender, now - timedelta(days=1)) >= cap:
        return f"{cap} receipts already sent to {sender} today (receipts.max_per_sender_per_day)"
    return outbox.over_cap(s, config)


def _mailbox(config: Config, row: Message) -> MailboxConfig | None:
    return next((b for b in config.mailboxes if b.name == row.mailbox), None)


def receipt_data(s: Session, config: Config, row: Message, subs: list[Submission]) -> dict:
    """What the receipt templates show; plain data, the wording is in templates/receipt.*."""
    unit = next((sub.unit for sub in subs if sub.unit is not None), None)
    suggested = next((sub.suggested_unit for sub in subs if sub.suggested_unit is not None), None)
    local: datetime = row.received_at.astimezone(config.ingest.zone)
    month = subs[0].month if subs else local.strftime("%Y-%m")
    unit_type = config.unit_type(unit.type) if unit and unit.type else None
    by_id = {sub.id: sub for sub in subs}
    return {
        "sender": row.sender,
        # The roster's name of the officer, not the mail's display name (a QQ nickname, say).
        "sender_name": _officer_name(s, row.sender) or row.sender_name or "",
        "subject": row.subject or "",
        "received_at": local.strftime("%Y-%m-%d %H:%M"),
        "unit": unit.name if unit else None,
        "unit_type": unit_type.name if unit_type else None,
        "suggested_unit": suggested.name if suggested and not unit else None,
        "year": int(month[:4]),
        "month": int(month[5:]),
        "count": articles_in_month(s, unit.id, month) if unit else None,
        "quota": quota_of(config, unit, type_quotas(config)) if unit else None,
        "submissions": [
            {
                "receipt_no": sub.receipt_no,
                # Without the sender's Re:/转发:/投稿： marks (a document's own title may carry them).
                "title": clean_subject(sub.title) if sub.title else sub.title,
                "body_chars": sub.body_chars,
                "category": config.category_name(sub.category),
                "document": sub.document.filename if sub.document else None,
                "flags": list(sub.flags or []),
                "links": [dict(link, expires=expiry_words(link.get("expires", ""), local))
                          for link in sub.links or []],
                "from_body": sub.document_id is None,
                "awaiting_file": sub.status == SubmissionStatus.AWAITING_FILE,
                # One line: the template makes a "※" bullet of every line it is given.
                "excerpt": " ".join(sub.text.split())[:80],
                "version_of": _first_title(s, sub, by_id),
            }
            for sub in subs
        ],
        "attachments": [
            {"filename": a.filename, "size": a.size, "kind": a.kind, "flags": list(a.flags or [])}
            for a in row.attachments if not a.inline
        ],
        "contact": config.receipts.contact,
        "address": box.username if (box := _mailbox(config, row)) else from_address(config),
    }


def _officer_name(s: Session, sender: str | None) -> str | None:
    if not sender:
        return None
    found = s.scalar(select(Address).where(Address.address == sender.lower(), Address.active.is_(True)))
    officer = found.officer if found is not None else None
    return officer.name if officer is not None and officer.active and officer.name else None


def _first_title(s: Session, sub: Submission, by_id: dict[int, Submission]) -> str | None:
    if sub.version_of is None:
        return None
    first = by_id.get(sub.version_of) or s.get(Submission, sub.version_of)
    return first.title if first else None


def enqueue_receipt(s: Session, config: Config, row: Message, mail: ParsedMail, subs: list[Submission],
                    imports: bool = False) -> bool:
    """Queue the receipt of one accepted mail (idempotent per message); False when none is owed.

    Runs in a savepoint of the caller's transaction: whatever a sender put in the mail, a receipt
    that cannot be composed is logged and noted on the message, and the submissions still commit.
    A mail that the rules alone refuse a receipt (most of a back-fill: older than
    receipts.max_age_days) is told so before any savepoint: those checks only read the mail and
    the config, so there is nothing for a savepoint to undo.
    """
    try:
        reason, sender = _why_not_by_rules(config, row, mail, subs, imports)
        if reason:
            return _refused(row, reason)
        with s.begin_nested():
            return _enqueue(s, config, row, mail, subs, sender)
    except (ConfigError, TransientError):  # a broken template override, a locked database: not this mail's doing
        raise
    except Exception as exc:
        log.warning("message %s: no receipt: it cannot be composed", row.id, exc_info=True)
        row.reason = f"no receipt: cannot be composed ({type(exc).__name__}: {exc})"[:1000]
        return False


def _refused(row: Message, reason: str) -> bool:
    log.info("message %s: no receipt: %s", row.id, reason)
    if reason.startswith(UNDELIVERABLE):  # the clerk may want to answer by hand: say why not
        row.reason = f"no receipt: {reason}"[:1000]
    return False


def _enqueue(s: Session, config: Config, row: Message, mail: ParsedMail, subs: list[Submission],
             sender: str) -> bool:
    """The receipt of a mail the rules allow one (`sender`: their address): the books' checks, then it."""
    reason = _why_not_by_books(config, sender, subs, s)
    if reason:
        return _refused(row, reason)
    data = receipt_data(s, config, row, subs)
    subject, text, html = render_mail(config, "receipt", **data)
    to = one_address(row.sender or "")
    msg = compose(config, [to], subject, text, html, auto="auto-replied",
                  in_reply_to=row.message_id, references=mail.references)
    if not data["unit"]:  # the receipt asks an unknown sender for the form: it comes with it
        msg.add_attachment(roster_form.roster_form(config, data["address"], to), *roster_form.DOCX,
                           filename=roster_form.filename(config, data["address"]))
    return outbox.enqueue(s, f"receipt:{row.id}", "receipt", msg, message_row_id=row.id)  # caps: why_not
