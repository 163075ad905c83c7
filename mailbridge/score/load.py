"""The rows a scorecard reads, loaded once as tuples: the 11 columns the engine uses, no ORM objects.

A year is ~100,000 submissions at province scale; building full Submission objects (article text
included) for them, and then again for their versions, was 88% of `scorecard --year`. Here:

1. every submission of the period's months, with its message's arrival time (one query);
2. the other versions of those articles that arrived in other months (two queries, usually few
   rows, never one fetched in 1.);
3. the adoptions of all of them (the period's through a join on the month, the others by id).

What counts (the newest version, adoptions of any version, the period of the newest's arrival) is
the engine's rule (score/engine.py's docstring); `articles` applies it to these rows.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import ColumnElement, Row, and_, func, select
from sqlalchemy.orm import Session

from mailbridge.config import Config
from mailbridge.ledger.vocab import SubmissionStatus, counted
from mailbridge.ledger.models import Adoption, Message, Submission
from mailbridge.score.period import Period
from mailbridge.score.rules import Article

_CHUNK = 500  # ids per IN (...): well under SQLite's 32,766 bound parameters, and PostgreSQL's


_COLUMNS = (Submission.id, Submission.version_of, Submission.status, Submission.unit_id, Submission.receipt_no,
            Submission.title, Submission.month, Submission.category, Submission.body_chars,
            Submission.review_status, Message.received_at)
Version = Row  # one of _COLUMNS' rows: .id, .version_of, .status, .unit_id, … .received_at


def _versions(s: Session, where: ColumnElement[bool]) -> list[Version]:
    query = select(*_COLUMNS).join(Message, Submission.message_row_id == Message.id).where(where)
    return list(s.execute(query))


def versions(s: Session, period: Period) -> list[Version]:
    """Every version of every article that has a version credited to a unit in the period's months."""
    months = list(period.months)
    here = _versions(s, Submission.month.in_(months))
    credited = and_(Submission.month.in_(months), Submission.unit_id.is_not(None))
    keys = {v.version_of or v.id for v in here if v.unit_id is not None}
    # The other versions of these articles, in other months: later or earlier versions pointing at
    # the same first one, and first versions that later ones here point at. Two queries whatever
    # the size of the period (the keys stay in the database, as subqueries).
    outside = Submission.month.not_in(months)
    key_of = func.coalesce(Submission.version_of, Submission.id)
    found = _versions(s, and_(outside, Submission.version_of.in_(select(key_of).where(credited))))
    found += _versions(s, and_(outside, Submission.id.in_(
        select(Submission.version_of).where(credited, Submission.version_of.is_not(None)))))
    unique = {v.id: v for v in found}
    return [v for v in here if (v.version_of or v.id) in keys] + list(unique.values())


def adoptions(s: Session, period: Period, rows: list[Version]) -> dict[int, list[tuple[str, date]]]:
    """(channel, adopted on) of each submission among `rows`, in the order they were recorded."""
    months = list(period.months)
    out: dict[int, list[tuple[int, str, date]]] = defaultdict(list)
    query = select(Adoption.id, Adoption.submission_id, Adoption.channel, Adoption.adopted_on)
    for aid, sid, channel, on in s.execute(query.join(Submission).where(Submission.month.in_(months))):
        out[sid].append((aid, channel, on))
    elsewhere = sorted(v.id for v in rows if v.month not in months)
    for start in range(0, len(elsewhere), _CHUNK):
        for aid, sid, channel, on in s.execute(query.where(Adoption.submission_id.in_(elsewhere[start:start + _CHUNK]))):
            out[sid].append((aid, channel, on))
    return {sid: [(channel, on) for _, channel, on in sorted(found)] for sid, found in out.items()}


def articles(s: Session, config: Config, period: Period) -> dict[int, list[Article]]:
    """Each unit's articles whose newest version arrived in the period."""
    rows = versions(s, period)
    adopted = adoptions(s, period, rows)
    groups: dict[int, list[Version]] = defaultdict(list)
    for v in rows:
        groups[v.version_of or v.id].append(v)
    zone = config.ingest.zone
    out: dict[int, list[Article]] = defaultdict(list)
    for group in groups.values():
        newest = max(group, key=lambda v: (v.status != SubmissionStatus.SUPERSEDED, v.id))
        arrived = newest.received_at.astimezone(zone).date()
        if not counted(newest.status) or not (period.start <= arrived <= period.end) or newest.unit_id is None:
            continue
        channels: dict[str, date] = {}
        for version in sorted(group, key=lambda v: v.id):
            for channel, on in adopted.get(version.id, ()):
                channels.setdefault(channel, on)
        out[newest.unit_id].append(Article(
            newest.id, newest.receipt_no, newest.title, newest.month, arrived, newest.category,
            newest.body_chars, newest.review_status, channels))
    for arts in out.values():
        arts.sort(key=lambda a: (a.arrived, a.submission_id))
    return out
