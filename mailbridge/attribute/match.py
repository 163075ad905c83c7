"""Which unit a submission belongs to, which category it is, and which earlier article it revises."""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from mailbridge.config import Config
from mailbridge.ledger.models import Address, Message, Submission, Unit
from mailbridge.ledger.vocab import SubmissionStatus
from mailbridge.parse.authres import verdicts

if TYPE_CHECKING:  # read commands (the scorecard) match units without loading the MIME parser
    from mailbridge.parse.mime import ParsedMail

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
# `*+`: marks once taken are not given back, so a subject of `Re: ` x 120,000 is read in one pass.
_PREFIX = re.compile(r"^\s*(?:(?:转发|回复|fwd?|fw|re)\s*[:：]\s*)*+(?:[【\[〔［]([^】\]〕］]{2,30})[】\]〕］]|([^\s:：，,]{2,24})[:：])", re.I)
_COMPARE_CHARS = 6000  # enough of an article to tell a revision from a new one, and bounded in cost


@lru_cache(maxsize=8192)  # a province roster is ~2,000 names, keyed again at every unknown sender's mail
def unit_key(name: str) -> str:
    """A unit name reduced for comparison: 三门峡市卢氏县科学技术协会 ~ 卢氏县科协 ~ 卢氏科协."""
    text = unicodedata.normalize("NFKC", name)
    text = text.replace("科学技术协会", "科协").replace("科技协会", "科协")
    text = _PUNCT.sub("", text)
    return re.sub(r"[县市区]", "", text)


# Run for every new submission: built once (building a statement costs more than running it).
_UNIT_OF_ADDRESS = select(Unit).join(Address, Address.unit_id == Unit.id).where(
    Address.address == bindparam("address"), Address.active.is_(True))
_ACTIVE_UNIT_NAMES = select(Unit.id, Unit.name).where(Unit.active.is_(True))


def unit_for_address(s: Session, address: str | None) -> Unit | None:
    if not address:
        return None
    return s.scalar(_UNIT_OF_ADDRESS, {"address": address.lower()})  # one query, not the address then its unit


def suggest_unit(s: Session, subject: str, sender_name: str | None, title: str) -> Unit | None:
    """The unit named by a subject prefix (【卢氏县科协】, 卢氏县科协：…), the display name or the title."""
    # Names only (not 2,000 Unit objects per mail); the one that matches is loaded.
    keyed = sorted(((unit_key(name), unit_id) for unit_id, name in s.execute(_ACTIVE_UNIT_NAMES)),
                   key=lambda ku: -len(ku[0]))
    candidates: list[str] = []
    match = _PREFIX.match(subject or "")
    if match:
        candidates.append(match.group(1) or match.group(2))
    candidates += [sender_name or "", title or "", subject or ""]
    for candidate in candidates:
        key = unit_key(candidate)
        if len(key) < 2:
            continue
        for unit_name, unit_id in keyed:
            if unit_name and (unit_name == key or (len(unit_name) >= 3 and unit_name in key)):
                return s.get(Unit, unit_id)
    return None


def categorise(config: Config, subject: str, title: str, text: str) -> str:
    fields = {"subject": subject or "", "title": title or "", "text": text or ""}
    for rule in config.categories:
        haystack = " ".join(fields[f] for f in rule.fields)
        if any(keyword in haystack for keyword in rule.keywords):
            return rule.id
    return config.attribution.default_category


def _comparable(sub: Submission) -> str:
    text = _PUNCT.sub("", unicodedata.normalize("NFKC", sub.text or ""))[:_COMPARE_CHARS]
    return text or _PUNCT.sub("", sub.title or "")


def similarity(a: str, b: str) -> float:
    """Dice coefficient of character trigrams: ~0.9 for a corrected version, near 0 for another article.

    Linear in the text length (difflib's ratio is quadratic, too slow for a back-fill of years).
    """
    if not a or not b:
        return 0.0
    if len(a) < 3 or len(b) < 3:
        return 1.0 if a == b else 0.0
    grams_a = {a[i : i + 3] for i in range(len(a) - 2)}
    grams_b = {b[i : i + 3] for i in range(len(b) - 2)}
    return 2 * len(grams_a & grams_b) / (len(grams_a) + len(grams_b))


def months_between(start: datetime, end: datetime, zone: ZoneInfo) -> list[str]:
    """The YYYY-MM months (local time) from `start` to `end`, both included."""
    first, last = start.astimezone(zone), end.astimezone(zone)
    year, month, out = first.year, first.month, []
    while (year, month) <= (last.year, last.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def link_version(s: Session, config: Config, sub: Submission, received_at: datetime) -> None:
    """Make `sub` the newest version of a near-identical earlier article of the same unit.

    A submission waiting for its 超大附件 file is no article yet: it is neither linked here (two
    cover notes alike are not versions of one article) nor linked to; `complete_waiting` links it.
    """
    if sub.unit_id is None or sub.status == SubmissionStatus.AWAITING_FILE:
        return
    since = received_at - timedelta(days=config.attribution.resubmission_days)
    earlier = s.scalars(
        select(Submission).join(Message, Submission.message_row_id == Message.id).where(
            Submission.unit_id == sub.unit_id,
            # Implied by the dates below (`month` is the local month of arrival), and what lets the
            # (unit_id, month) index read only the window, not the unit's whole history.
            Submission.month.in_(months_between(since, received_at, config.ingest.zone)),
            Submission.id != sub.id,
            Submission.message_row_id != sub.message_row_id,
            Submission.status.not_in((SubmissionStatus.SUPERSEDED, SubmissionStatus.AWAITING_FILE)),
            Message.received_at >= since,
            Message.received_at <= received_at,
        )
    )
    mine = _comparable(sub)
    best, score = None, 0.0
    for other in earlier:
        value = similarity(mine, _comparable(other))
        if value > score:
            best, score = other, value
    if best is None or score < config.attribution.similarity:
        return
    _supersede(best, sub, "resubmission")


def _supersede(old: Submission, new: Submission, flag: str) -> None:
    old.status = SubmissionStatus.SUPERSEDED
    new.version_of = old.version_of or old.id
    new.flags = sorted(set(new.flags) | {flag})


def complete_waiting(s: Session, config: Config, subs: list[Submission], received_at: datetime) -> None:
    """The documents of a later mail of the same unit are the files its waiting (超大附件)
    submissions lacked: each waiting one, oldest first, becomes an earlier version of one document
    (flag `file_arrived`), the one whose name or title is closest to the link's file name.

    Within attribution.resubmission_days, as for revisions; waiting ones of other units, or with
    no document left to match, keep waiting.
    """
    docs = [sub for sub in subs if sub.document_id is not None and sub.unit_id is not None
            and sub.version_of is None]
    if not docs:
        return
    since = received_at - timedelta(days=config.attribution.resubmission_days)
    waiting = list(s.scalars(
        select(Submission).join(Message, Submission.message_row_id == Message.id).where(
            Submission.unit_id == docs[0].unit_id,
            Submission.status == SubmissionStatus.AWAITING_FILE,
            Submission.message_row_id != docs[0].message_row_id,
            Message.received_at >= since,
            Message.received_at <= received_at,
        ).order_by(Message.received_at, Submission.id)))
    for old in waiting:
        if not docs:
            return
        names = [unit_key(link.get("filename", "").rsplit(".", 1)[0]) for link in old.links or []]
        best = max(docs, key=lambda d: max((similarity(n, unit_key(_doc_name(d))) for n in names if n), default=0.0))
        docs.remove(best)
        _supersede(old, best, "file_arrived")


def _doc_name(sub: Submission) -> str:
    name = sub.document.filename if sub.document is not None else ""
    return (name.rsplit(".", 1)[0] + " " + (sub.title or "")).strip()


def attribute(s: Session, config: Config, message: Message, subs: list[Submission],
              mail: ParsedMail | None = None) -> None:
    """Unit, category and version of each new submission of one message.

    The submissions may be pending (added, not yet inserted): they are credited first, so that each
    is inserted with its unit and category in one statement, then flushed (their ids), then linked
    to the earlier versions they revise.

    A mail whose receiving server recorded `dmarc=fail` (Authentication-Results, RFC 7489) did not
    come from its From: domain: it is credited to no unit (flag `dmarc_fail`); the unit of the
    address it claims is only suggested, for the clerk to confirm.
    """
    with s.no_autoflush:  # the roster is read, nothing this transaction writes
        claimed = unit_for_address(s, message.sender)
        failed = mail is not None and verdicts(mail.auth_results, config.ingest.trusted_authserv_ids).dmarc_failed
        unit = None if failed else claimed
        flags = ({"dmarc_fail"} if failed else set()) | ({"unknown_sender"} if claimed is None else set())
        suggestion = claimed if failed and claimed else (
            None if unit else suggest_unit(s, message.subject or "", message.sender_name, subs[0].title if subs else ""))
    for sub in subs:
        sub.category = categorise(config, message.subject or "", sub.title, sub.text)
        if unit is not None:
            sub.unit_id = unit.id
        else:
            sub.flags = sorted(set(sub.flags) | flags)
            sub.suggested_unit_id = suggestion.id if suggestion else None
    s.flush()
    if unit is not None:
        for sub in subs:
            link_version(s, config, sub, message.received_at)
        complete_waiting(s, config, subs, message.received_at)


def rebind(s: Session, config: Config, address: str, unit: Unit) -> int:
    """Attribute the past submissions of an address that had no unit; returns how many.

    Submissions already credited to a unit keep it: a roster that later moves an address to
    another unit must not rewrite the scorecards of past months. Mail that failed DMARC was not
    sent by that address: binding the address does not credit it.
    """
    subs = [sub for sub in s.scalars(
        select(Submission).join(Message, Submission.message_row_id == Message.id)
        .where(Message.sender == address.lower(), Submission.unit_id.is_(None))
        .order_by(Message.received_at, Submission.id)) if "dmarc_fail" not in (sub.flags or [])]
    for sub in subs:
        sub.unit_id = unit.id
        sub.suggested_unit_id = None
        sub.flags = sorted(set(sub.flags) - {"unknown_sender"})
        s.flush()
        link_version(s, config, sub, sub.message.received_at)
    return len(subs)
