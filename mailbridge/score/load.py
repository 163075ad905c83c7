"""The rows a scorecard reads, loaded once as tuples: the 11 columns the engine uses, no ORM objects.

A year is ~100,000 submissions at province scale; building full Submission objects (article text
included) for them, and then again for their versions, was 88% of `scorecard --year`. Here:

1. every submission of the period's months, with its message's arrival time (one query);
2. the other versions of those articles, in other months: the first versions that rows of 1. point
   at (by id), and the resubmissions of other months (a few per cent of the books, by the index
   on version_of), kept when they point at an article of 1.;
3. the adoptions of all of them (the period's through a join on the month, the others by id).

What counts (the newest version, adoptions of any version, the period of the newest's arrival) is
the engine's rule (score/engine.py's docstring); `articles` applies it to these rows.
"""
from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from sqlalchemy import ColumnElement, Row, and_, select
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
    keys = {v.version_of or v.id for v in here if v.unit_id is not None}
    # The other versions of these articles, in other months: first versions that versions here
    # point at (by id), and versions pointing at the same first one (resubmissions are a few per
    # cent: the index on version_of, read outside the period's months only).
    outside = Submission.month.not_in(months)
    firsts = sorted({v.version_of for v in here if v.version_of is not None and v.unit_id is not None})
    found = [v for start in range(0, len(firsts), _CHUNK)
             for v in _versions(s, and_(outside, Submission.id.in_(firsts[start:start + _CHUNK])))]
    resubmitted = Submission.version_of > 0  # not IS NOT NULL: a range on the index, where SQLite scans the table
    found += [v for v in _versions(s, and_(outside, resubmitted)) if v.version_of in keys]
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


@contextmanager
def _no_collector_passes() -> Iterator[None]:
    """The cyclic garbage collector paused while rows are read: with 100,000 rows alive each of its
    passes walks them all (15% of a year's load), and rows and articles make no cycles to collect."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def articles(s: Session, config: Config, period: Period) -> dict[int, list[Article]]:
    """Each unit's articles whose newest version arrived in the period."""
    with _no_collector_passes():
        return _articles(s, config, period)


def _articles(s: Session, config: Config, period: Period) -> dict[int, list[Article]]:
    rows = versions(s, period)
    adopted = adoptions(s, period, rows)
    groups: dict[int, list[Version]] = defaultdict(list)
    for v in rows:
        groups[v.version_of or v.id].append(v)
    zone, superseded = config.ingest.zone, SubmissionStatus.SUPERSEDED
    out: dict[int, list[Article]] = defaultdict(list)
    for group in groups.values():
        # Most articles have one version: no choosing, and only their own adoptions.
        newest = group[0] if len(group) == 1 else max(group, key=lambda v: (v.status != superseded, v.id))
        sid, _, status, unit_id, receipt_no, title, month, category, chars, review_status, received_at = newest
        if unit_id is None or not counted(status):
            continue
        arrived = received_at.astimezone(zone).date()
        if not period.start <= arrived <= period.end:
            continue
        channels: dict[str, date] = {}
        for version in sorted(group, key=lambda v: v.id) if len(group) > 1 else group:
            for channel, on in adopted.get(version.id, ()):
                channels.setdefault(channel, on)
        out[unit_id].append(Article(sid, receipt_no, title, month, arrived, category, chars, review_status, channels))
    for arts in out.values():
        arts.sort(key=lambda a: (a.arrived, a.submission_id))
    return out
