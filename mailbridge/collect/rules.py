"""Which collection a mail answers: the sender's unit, the mail's place, subject and file names.

Recognition runs in the ingest transaction (pipeline.dispose); the reply is recorded, and its
receipt queued, in the same transaction as the message's disposition.
"""
from __future__ import annotations

import fnmatch
import logging
import unicodedata
from datetime import date
from types import SimpleNamespace

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbridge.attribute.match import unit_for_address, unit_key
from mailbridge.attribute.roster_files import read_roster
from mailbridge.parse.tables import TableFormatError
from mailbridge.config import CollectionConfig, Config
from mailbridge.ledger.archive import Archive
from mailbridge.ledger.models import CollectionReply, Message, Unit
from mailbridge.ledger.vocab import Disposition
from mailbridge.notify import outbox
from mailbridge.notify.compose import compose
from mailbridge.notify.receipts import why_not
from mailbridge.render import render_mail
from mailbridge.parse.authres import verdicts
from mailbridge.parse.mime import ParsedMail

log = logging.getLogger(__name__)


def _fold(text: str) -> str:
    """Full-width letters and digits as ASCII, lower case: 163 and WPS write both."""
    return unicodedata.normalize("NFKC", text).casefold()


def applies_to(collection: CollectionConfig, unit: Unit) -> bool:
    """Whether a unit owes this collection: named in `units`, else of one of `unit_types`, else all."""
    if not unit.active:
        return False
    if collection.units:
        return unit_key(unit.name) in {unit_key(name) for name in collection.units}
    return not collection.unit_types or unit.type in collection.unit_types


def files_of(mail: ParsedMail) -> list[str]:
    """The names of every file that came with the mail (inline pictures of the body excluded)."""
    return [p.filename for p in mail.parts if not p.inline and p.filename]


def matches(collection: CollectionConfig, row: Message, mail: ParsedMail, local_day: date) -> bool:
    """The collection's window, place (mailbox, folder) and recognition rules, for one mail."""
    if collection.opens is not None and local_day < collection.opens:
        return False
    if local_day > collection.last_day:
        return False
    if collection.mailboxes and row.mailbox not in collection.mailboxes:
        return False
    if collection.folders and row.folder not in collection.folders:
        return False
    has_rules = collection.subject_keywords or collection.filename_patterns or collection.roster_form
    if not has_rules:
        return True  # a mailbox or folder of its own: everything that arrives there is a reply
    subject = _fold(mail.subject or "")
    if any(_fold(word) in subject for word in collection.subject_keywords):
        return True
    names = [_fold(name) for name in files_of(mail)]
    if any(fnmatch.fnmatchcase(name, _fold(pattern)) for pattern in collection.filename_patterns for name in names):
        return True
    return collection.roster_form and any("roster_form" in p.flags for p in mail.parts)


def _form_unit(s: Session, config: Config, mail: ParsedMail) -> Unit | None:
    """The one unit of the roster that the mail's 登记表 forms name, or None.

    A new officer sends the form from an address the roster does not know yet (seed 000): the
    form itself says which unit it speaks for.
    """
    archive = Archive(config.storage.dir)
    names: set[str] = set()
    for part in mail.parts:
        if "roster_form" not in part.flags:
            continue
        try:
            read = read_roster(part.filename, archive.file_path(part.sha256).read_bytes())
        except (TableFormatError, OSError):
            continue
        names |= {unit_key(row.unit) for row in read.rows}
    if not names:
        return None
    units = [u for u in s.scalars(select(Unit).where(Unit.active.is_(True))) if unit_key(u.name) in names]
    return units[0] if len(units) == 1 else None


def reply_of(s: Session, config: Config, row: Message, mail: ParsedMail) -> tuple[CollectionConfig, Unit] | None:
    """The first configured collection this mail answers, and the unit it answers for; or None.

    The unit is the sender's (by its address, as for submissions; none for mail that failed
    DMARC); for the roster collection a form from an unknown address speaks for the one unit it
    names. Only a collection that unit owes is answered.
    """
    if not config.collections:
        return None
    if verdicts(mail.auth_results, config.ingest.trusted_authserv_ids).dmarc_failed:
        return None  # not sent by its From: address (RFC 7489): credited to no unit, as for articles
    unit = unit_for_address(s, row.sender)
    local_day = row.received_at.astimezone(config.ingest.zone).date()
    form_unit, form_read = None, False
    for collection in config.collections:
        owner = unit
        if owner is None and collection.roster_form:
            if not form_read:
                form_unit, form_read = _form_unit(s, config, mail), True
            owner = form_unit
        if owner is not None and applies_to(collection, owner) and matches(collection, row, mail, local_day):
            return collection, owner
    return None


def recognise(s: Session, config: Config, row: Message, mail: ParsedMail) -> str | None:
    """The id of the collection this mail answers (see reply_of), or None."""
    found = reply_of(s, config, row, mail)
    return found[0].id if found else None


def record_reply(s: Session, config: Config, row: Message, mail: ParsedMail, collection_id: str,
                 imports: bool = False) -> tuple[str, str]:
    """Record a recognised reply and queue its receipt; returns the message's (disposition, reason).

    The disposition is `collection`, or `submission` for a collection with counts_as_submission
    (the pipeline then makes its submissions as for any article).
    """
    found = reply_of(s, config, row, mail)
    assert found is not None and found[0].id == collection_id, (found, collection_id)
    collection, unit = found
    local = row.received_at.astimezone(config.ingest.zone)
    late = local.date() > collection.due
    reply = CollectionReply(collection=collection.id, unit_id=unit.id, message_row_id=row.id,
                            received_at=row.received_at, files=files_of(mail), late=late)
    s.add(reply)
    s.flush()
    _enqueue_receipt(s, config, row, mail, collection, unit, reply, imports)
    reason = f"reply to collection {collection.id} ({collection.name}) from {unit.name}" + (" (late)" if late else "")
    return (Disposition.SUBMISSION if collection.counts_as_submission else Disposition.COLLECTION), reason


def _enqueue_receipt(s: Session, config: Config, row: Message, mail: ParsedMail, collection: CollectionConfig,
                     unit: Unit, reply: CollectionReply, imports: bool) -> bool:
    # The receipts' loop protection and daily cap apply as they are (the sender's unit is known).
    reason = why_not(config, row, mail, [SimpleNamespace(unit_id=unit.id)], imports, s)
    if reason:
        log.info("message %s: no collection receipt: %s", row.id, reason)
        return False
    local = row.received_at.astimezone(config.ingest.zone)
    subject, text, html = render_mail(
        config, "collection_receipt", collection=collection.name, unit=unit.name, subject=row.subject or "",
        received_at=local.strftime("%Y-%m-%d %H:%M"), due=collection.due.isoformat(), late=reply.late,
        files=reply.files, roster_form=collection.roster_form, contact=config.receipts.contact)
    msg = compose(config, [row.sender or ""], subject, text, html, auto="auto-replied",
                  in_reply_to=row.message_id, references=mail.references)
    return outbox.enqueue(s, f"collection-receipt:{row.id}", "receipt", msg, message_row_id=row.id)
