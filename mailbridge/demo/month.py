"""The demo's month passing in seconds: the scheduler's ticks on a simulated clock, hour by hour."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import func, select

from mailbridge.config import Config
from mailbridge.ledger.db import Database
from mailbridge.ledger.models import Outgoing, Submission
from mailbridge.service import schedule


def simulate(config: Config, db: Database) -> tuple[str, Counter]:
    """Tick from the 1st of the sample mail's month to 10:00 on the 1st of the next; mail queued by kind.

    The same `schedule.tick` the daemon runs every half minute, so each weekly progress, 催报 and
    the monthly scorecard is queued exactly once, also when the demo runs again.
    """
    with db.session() as s:
        month = s.scalar(select(func.max(Submission.month)))
        before = Counter(dict(s.execute(select(Outgoing.kind, func.count()).group_by(Outgoing.kind)).all()))
    if month is None:
        return "", Counter()
    zone = config.ingest.zone
    now = datetime(int(month[:4]), int(month[5:]), 1, tzinfo=zone)
    end = (now + timedelta(days=32)).replace(day=1, hour=10)
    jobs = schedule.jobs(config)
    while now <= end:
        schedule.tick(db, config, now, jobs)
        now += timedelta(hours=1)
    with db.session() as s:
        after = Counter(dict(s.execute(select(Outgoing.kind, func.count()).group_by(Outgoing.kind)).all()))
    return month, after - before
