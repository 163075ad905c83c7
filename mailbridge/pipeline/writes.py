"""The pipeline's ledger writes: a message's row, its attachments, its submissions and their
receipt numbers, and the row's final state."""
from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timezone
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Row, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement, CompoundSelect

from mailbridge.ledger.bounds import fit_to, fit_values
from mailbridge.ledger.db import Database
from mailbridge.ledger.models import Attachment, Counter, Message, Submission, utcnow
from mailbridge.ledger.vocab import Disposition, MessageState, SubmissionStatus
from mailbridge.parse import mime
from mailbridge.parse.article import Draft
from mailbridge.sources.sink import Fingerprint, Origin

log = logging.getLogger(__name__)

# The statements run for every message, built once: on SQLite, building a statement and its cache
# key costs several times what running it does.
_M, _A = Message.__table__, Attachment.__table__
_RECORD = insert(_M)
# `mailbox || ''` keeps the location index out of the lookups by sha256: without statistics SQLite
# may otherwise walk every row of the folder by (mailbox, folder) instead of reading the one sha256.
_FIND_IMPORT = select(_M.c.id).where(
    _M.c.mailbox.concat("") == bindparam("mailbox"), _M.c.folder == bindparam("folder"),
    _M.c.sha256 == bindparam("sha256"))


def _here_or_moved(same_message_id: ColumnElement[bool]) -> CompoundSelect:
    """The row at this location, and rows of the same message under an older UIDVALIDITY: one round
    trip, each half on its own index (location, sha256)."""
    columns = (_M.c.id, _M.c.uidvalidity, _M.c.uid)
    here = select(*columns).where(_M.c.mailbox == bindparam("mailbox"), _M.c.folder == bindparam("folder"),
                                  _M.c.uidvalidity == bindparam("uidvalidity"), _M.c.uid == bindparam("uid"))
    # The moved half reads by sha256 (`mailbox || ''`: see _FIND_IMPORT).
    moved = select(*columns).where(_M.c.mailbox.concat("") == bindparam("mailbox"), _M.c.folder == bindparam("folder"),
                                   _M.c.uidvalidity != bindparam("uidvalidity"),
                                   _M.c.sha256 == bindparam("sha256"), same_message_id)
    return here.union_all(moved)


_FIND_HERE_OR_MOVED = _here_or_moved(_M.c.message_id == bindparam("message_id"))
_FIND_HERE_OR_MOVED_NO_ID = _here_or_moved(_M.c.message_id.is_(None))
_ATTACH = insert(_A).returning(_A.c.id, _A.c.position, _A.c.sha256)
_C = Counter.__table__
_BUMP_COUNTER = update(_C).where(_C.c.name == bindparam("counter")).values(value=_C.c.value + 1).returning(_C.c.value)


def record(db: Database, fp: Fingerprint, origin: Origin, count_attempt: bool = False) -> tuple[int, bool]:
    """Create the ledger row of archived bytes. Returns (row id, whether it is new).

    With `count_attempt` a new row is created with its first processing attempt already counted
    (the caller parses it next).
    """
    if fp.message_id:  # the sender's text: stored and looked up as the ledger's bounds fit it
        fp = dataclasses.replace(fp, message_id=fit_to(fp.message_id, _M.c.message_id))
    try:
        with db.engine.begin() as conn:
            existing = _find(conn, origin, fp)
            if existing is not None:
                return existing, False
            inserted = conn.execute(_RECORD, fit_values(_M, dict(
                mailbox=origin.mailbox,
                folder=origin.folder,
                uidvalidity=origin.uidvalidity,
                uid=origin.uid,
                message_id=fp.message_id,
                sha256=fp.sha256,
                content_hash=fp.content_hash,
                size=fp.size,
                received_at=origin.arrived or utcnow(),
                state=MessageState.ARCHIVED,
                attempts=1 if count_attempt else 0,
            ))).inserted_primary_key
            assert inserted is not None  # an INSERT of one row has its primary key
            return inserted[0], True
    except IntegrityError:  # another poller recorded it a moment ago
        with db.engine.begin() as conn:
            found = _find(conn, origin, fp)
        if found is None:
            raise
        return found, False


def _find(conn: Connection, origin: Origin, fp: Fingerprint) -> int | None:
    if origin.uid is None:  # imports: the same bytes from the same file are the same message
        return conn.scalar(_FIND_IMPORT, dict(mailbox=origin.mailbox, folder=origin.folder, sha256=fp.sha256))
    # After a UIDVALIDITY change the server renumbers the folder: the same bytes under the same
    # Message-ID are the message we already have, so its row is re-keyed, not duplicated (mbsync).
    rows = conn.execute(_FIND_HERE_OR_MOVED if fp.message_id else _FIND_HERE_OR_MOVED_NO_ID, dict(
        mailbox=origin.mailbox, folder=origin.folder, uidvalidity=origin.uidvalidity, uid=origin.uid,
        sha256=fp.sha256, message_id=fp.message_id)).all()
    for row_id, uidvalidity, uid in rows:
        if (uidvalidity, uid) == (origin.uidvalidity, origin.uid):
            return row_id
    if not rows:
        return None
    row_id, uidvalidity, uid = rows[0]
    log.info("message %s re-keyed: uidvalidity %s uid %s -> %s/%s",
             row_id, uidvalidity, uid, origin.uidvalidity, origin.uid)
    conn.execute(update(_M).where(_M.c.id == row_id).values(uidvalidity=origin.uidvalidity, uid=origin.uid))
    return row_id


# Core statements on the session's connection: they need none of the ORM's pending changes, so none
# is flushed for them, and the row's changes go out in one UPDATE at the commit's flush.
def add_attachments(s: Session, row: Message, parts: list[mime.Part]) -> dict[str, Row]:
    """Record a message's files in one multi-row INSERT (the ORM inserts them one by one); returns
    the rows it returned (id, position, sha256) by sha256, the last of equal files winning."""
    if not parts:
        return {}
    rows = s.connection().execute(_ATTACH, [
        fit_values(_A, dict(message_row_id=row.id, position=i, filename=p.filename, content_type=p.content_type,
                            size=p.size, sha256=p.sha256, kind=p.kind, inline=p.inline, flags=sorted(p.flags)))
        for i, p in enumerate(parts, start=1)
    ])
    return {a.sha256: a for a in sorted(rows, key=lambda a: a.position)}  # RETURNING has no set order


def add_submission(s: Session, row: Message, draft: Draft, by_sha: dict[str, Row],
                   zone: ZoneInfo, prefix: str) -> Submission:
    month = row.received_at.astimezone(zone).strftime("%Y-%m")
    number = _next(s, f"receipt:{prefix}:{month}")
    sub = Submission(
        message_row_id=row.id,
        document_id=by_sha[draft.document.sha256].id if draft.document else None,
        receipt_no=f"{prefix}-{month}-{number:04d}",
        title=draft.title,
        text=draft.text,
        body_chars=draft.body_chars,
        flags=sorted(draft.flags),
        links=[vars(link) for link in draft.links],
        problem=draft.problem,
        month=month,
        status=SubmissionStatus.AWAITING_FILE if draft.awaiting_file else SubmissionStatus.RECEIVED,
    )
    s.add(sub)
    return sub


def _next(s: Session, name: str) -> int:
    # UPDATE first: the row lock (PostgreSQL) / write lock (SQLite) makes numbers unique.
    bumped = s.connection().execute(_BUMP_COUNTER, {"counter": name}).scalar()
    if bumped is None:
        s.add(Counter(name=name, value=1))
        s.flush()
        return 1
    return bumped


def finish(row: Message, actions: Mapping[str, str]) -> None:
    """Mark the row processed. `actions`: each mailbox's server-side action; only a mailbox with one
    owes it (imports and action "none" never do)."""
    row.state = MessageState.PROCESSED
    row.processed_at = datetime.now(timezone.utc)
    row.action_pending = row.uid is not None and actions.get(row.mailbox, "none") != "none"


def quarantine(db: Database, row_id: int, reason: str, actions: Mapping[str, str]) -> str:
    with db.session() as s:
        row = s.get_one(Message, row_id)
        row.disposition, row.reason = Disposition.QUARANTINED, reason
        finish(row, actions)
    return Disposition.QUARANTINED
