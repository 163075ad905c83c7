"""The rows a scorecard reads, loaded once as tuples: the 11 columns the engine uses, no ORM objects.

A year is ~100,000 submissions at province scale; building full Submission objects (article text
included) for them, and then again for their versions, was 88% of `scorecard --year`. Here:

1. every submission of the period's months, with its message's arrival time (one query);
2. the other versions of those articles, in other months: the first versions that rows of 1. point
   at (by id), and the resubmissions of other months (a few per cent of the books, by the index
   on version_of), kept when they point at an article of 1.;
3. the adoptions of all of them (the period's through a join on the month, the others by id).

What counts (the newest version, adoptions of any version, the period of the newest's arrival) is
the engine's rule (score/engine.py's docstring); `read` applies it to these rows, and counts each
unit's articles a month for the quotas from the rows of 1. (what a COUNT(DISTINCT) grouped by unit
and month over the same months gives, without reading them a second time).

The rows are read through the session's connection (SQLAlchemy Core): the ORM's row loading adds
nothing to tuples of columns and cost a quarter of the year's load.
"""
from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import NamedTuple

from sqlalchemy import ColumnElement, Row, and_, select
from sqlalchemy.orm import Session

from mailbridge.config import Config
from mailbridge.ledger.vocab import COUNTED_STATUSES, SubmissionStatus
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
    return list(s.connection().execute(query))


def versions(s: Session, period: Period) -> tuple[list[Version], list[Version]]:
    """(every version of every article that has a version credited to a unit in the period's
    months, the period's months' own rows)."""
    months = list(period.months)
    here = _versions(s, Submission.month.in_(months))
    credited = [(sid, version_of) for sid, version_of, _, unit_id, *_ in here if unit_id is not None]
    keys = {version_of or sid for sid, version_of in credited}
    # The other versions of these articles, in other months: first versions that versions here
    # point at (by id), and versions pointing at the same first one (resubmissions are a few per
    # cent: the index on version_of, read outside the period's months only).
    outside = Submission.month.not_in(months)
    firsts = sorted({version_of for _, version_of in credited if version_of is not None})
    found = [v for start in range(0, len(firsts), _CHUNK)
             for v in _versions(s, and_(outside, Submission.id.in_(firsts[start:start + _CHUNK])))]
    resubmitted = Submission.version_of > 0  # not IS NOT NULL: a range on the index, where SQLite scans the table
    found += [v for v in _versions(s, and_(outside, resubmitted)) if v[1] in keys]
    unique = {v[0]: v for v in found}
    return [v for v in here if (v[1] or v[0]) in keys] + list(unique.values()), here


def counts(here: list[Version]) -> dict[tuple[int, str], int]:
    """{(unit id, YYYY-MM): articles} of the months' rows (versions of one article once, counted
    statuses only), from rows already read."""
    seen: dict[tuple[int, str], set[int]] = defaultdict(set)
    for sid, version_of, status, unit_id, _, _, month, *_ in here:
        if unit_id is not None and status in COUNTED_STATUSES:
            seen[unit_id, month].add(version_of or sid)
    return {key: len(articles) for key, articles in seen.items()}


def adoptions(s: Session, period: Period, rows: list[Version]) -> dict[int, list[tuple[str, date]]]:
    """(channel, adopted on) of each submission among `rows`, in the order they were recorded."""
    months = list(period.months)
    out: dict[int, list[tuple[int, str, date]]] = defaultdict(list)
    query = select(Adoption.id, Adoption.submission_id, Adoption.channel, Adoption.adopted_on)
    conn = s.connection()
    for aid, sid, channel, on in conn.execute(query.join(Submission).where(Submission.month.in_(months))):
        out[sid].append((aid, channel, on))
    elsewhere = sorted(v[0] for v in rows if v[6] not in months)
    for start in range(0, len(elsewhere), _CHUNK):
        for aid, sid, channel, on in conn.execute(query.where(Adoption.submission_id.in_(elsewhere[start:start + _CHUNK]))):
            out[sid].append((aid, channel, on))
    return {sid: [(channel, on) for _, channel, on in sorted(found)] for sid, found in out.items()}


@contextmanager
def no_collector_passes(then_freeze: bool = False) -> Iterator[None]:
    """The cyclic garbage collector paused while a card is read and scored: with 100,000 rows and
    articles alive each of its passes walks them all (a third of a year's card), and rows,
    articles and lines make no cycles to collect. It runs again when the card is done.

    `then_freeze`, for a command that writes the card and exits: what is alive is moved out of
    the collector's sight (gc.freeze) before it runs again, or its first passes walk it all
    anyway. Frozen objects are still freed when no longer referenced; only cycles among them
    stay, which a one-shot process need not mind (a daemon must not freeze)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if then_freeze:
                gc.freeze()
            gc.enable()


class Rows(NamedTuple):
    articles: dict[int, list[Article]]  # unit id -> its articles whose newest version arrived in the period
    counts: dict[tuple[int, str], int]  # (unit id, YYYY-MM) -> articles sent that month, for quotas


def read(s: Session, config: Config, period: Period) -> Rows:
    """Each unit's articles whose newest version arrived in the period, and its articles a month."""
    rows, here = versions(s, period)
    return Rows(_articles(s, config, period, rows), counts(here))


def _articles(s: Session, config: Config, period: Period, rows: list[Version]) -> dict[int, list[Article]]:
    adopted = adoptions(s, period, rows)
    groups: dict[int, list[Version]] = defaultdict(list)
    for v in rows:
        groups[v[1] or v[0]].append(v)
    zone, superseded, start, end = config.ingest.zone, SubmissionStatus.SUPERSEDED, period.start, period.end
    out: dict[int, list[Article]] = defaultdict(list)
    for group in groups.values():
        # Most articles have one version: no choosing, and only their own adoptions.
        newest = group[0] if len(group) == 1 else max(group, key=lambda v: (v[2] != superseded, v[0]))
        sid, _, status, unit_id, receipt_no, title, month, category, chars, review_status, received_at = newest
        if unit_id is None or status not in COUNTED_STATUSES:
            continue
        arrived = received_at.astimezone(zone).date()
        if not start <= arrived <= end:
            continue
        channels: dict[str, date] = {}
        for version in sorted(group, key=lambda v: v[0]) if len(group) > 1 else group:
            for channel, on in adopted.get(version[0], ()):
                channels.setdefault(channel, on)
        out[unit_id].append(Article(sid, receipt_no, title, month, arrived, category, chars, review_status, channels))
    for arts in out.values():
        arts.sort(key=lambda a: (a.arrived, a.submission_id))
    return out
