"""Scheduled mail, each occurrence exactly once: weekly progress, the monthly scorecard, 催报,
and each deadline collection's reminders and closing report.

A job's occurrences are the fire times of its crontab in the configured zone. `tick(now)` runs
every occurrence in (now - catch_up, now] that is not yet recorded, each in one transaction with
the mail it queues (ledger.models.Occurrence). The daemon ticks every half minute, so a new
occurrence runs within a minute of its time; at start the same tick catches up what was missed
while it was down, if younger than [schedule] catch_up_hours (the monthly scorecard within 35
days: it is always caught up), and never again after that. Tests drive `tick` with their own clock.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailbridge.config import Config
from mailbridge.errors import ConfigError
from mailbridge.ledger.db import Database
from mailbridge.ledger.models import Occurrence

log = logging.getLogger(__name__)
ALWAYS = timedelta(days=35)  # "always caught up": a month's 通报 missed by an outage of weeks still goes
LATE = timedelta(minutes=10)  # the least window: an occurrence is never lost to a slow tick
_WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class Trigger(Protocol):
    """What a job needs of its trigger: APScheduler 3's CronTrigger (untyped) and _Times have it."""

    def get_next_fire_time(self, previous: datetime | None, now: datetime) -> datetime | None: ...


def cron_trigger(expr: str, config: Config, key: str) -> Trigger:
    """An APScheduler CronTrigger from crontab(5) fields; a bad one is a ConfigError naming the key.

    crontab counts weekdays from Sunday = 0 (7 too); APScheduler 3 from Monday = 0, so numbers in
    the weekday field are turned into names first and mean what an admin who knows cron expects.
    """
    from apscheduler.triggers.cron import CronTrigger

    fields = expr.split()
    if len(fields) == 5:
        fields[4] = re.sub(r"\d+", lambda m: _WEEKDAYS[int(m.group())] if int(m.group()) < 8 else m.group(),
                           fields[4])
    try:
        return CronTrigger.from_crontab(" ".join(fields), timezone=config.ingest.zone)
    except ValueError as exc:
        raise ConfigError(f"{key} = {expr!r} is not a crontab time ({exc}); write five fields, "
                          "e.g. \"0 9 * * mon\".") from None


@dataclass(frozen=True)
class Job:
    """`run(session, config, at)` queues the occurrence's mail in the session; returns how many."""

    id: str
    trigger: Trigger
    run: Callable[[Session, Config, datetime], int]
    window: timedelta

    def times(self, start: datetime, end: datetime) -> list[datetime]:
        """Fire times in (start, end], oldest first."""
        out: list[datetime] = []
        at = self.trigger.get_next_fire_time(None, start + timedelta(microseconds=1))
        while at is not None and at <= end:
            out.append(at)
            at = self.trigger.get_next_fire_time(at, at + timedelta(microseconds=1))
        return out

    def next_after(self, now: datetime) -> datetime | None:
        return self.trigger.get_next_fire_time(None, now + timedelta(microseconds=1))


class _Times:
    """A trigger of given fire times: a collection's reminder mornings and its report."""

    def __init__(self, times: list[datetime]) -> None:
        self._times = sorted(times)

    def get_next_fire_time(self, previous: datetime | None, now: datetime) -> datetime | None:
        return next((t for t in self._times if t >= now), None)


def _weekly_progress(s: Session, config: Config, at: datetime) -> int:
    """Weekly progress, with the collections each unit still owes."""
    from mailbridge.collect.records import owed
    from mailbridge.notify import progress

    return progress.queue_weekly(s, config, at, owed(s, config, at.astimezone(config.ingest.zone).date()))


def _queue_collection(collection_id: str, s: Session, config: Config, at: datetime) -> int:
    from mailbridge.collect import jobs as collect_jobs

    return collect_jobs.queue_due(s, config, collection_id, at)


def jobs(config: Config) -> list[Job]:
    """The scheduled-mail jobs this config switches on, and each collection's reminders and report."""
    from mailbridge.collect import jobs as collect_jobs
    from mailbridge.notify import reminders, scorecards

    catch_up = max(timedelta(hours=config.schedule.catch_up_hours), LATE)
    wanted = [
        ("progress", config.schedule.weekly_progress, _weekly_progress, catch_up),
        ("scorecard", config.schedule.monthly_scorecard, scorecards.queue_monthly, ALWAYS),
        ("remind", config.schedule.quota_reminders, reminders.queue_scheduled, catch_up),
    ]
    return [Job(job_id, cron_trigger(expr, config, f"schedule.{key}"), run, window)
            for (job_id, expr, run, window), key in zip(wanted, ("weekly_progress", "monthly_scorecard",
                                                                 "quota_reminders"), strict=True)
            if expr] + [
        Job(f"collection:{c.id}", _Times(collect_jobs.due_occurrences(config, c)),
            partial(_queue_collection, c.id), catch_up)
        for c in config.collections]


def fire(db: Database, config: Config, job: Job, at: datetime) -> int | None:
    """One occurrence, exactly once: None when it was already done (here or by another runner)."""
    try:
        with db.session() as s:
            if s.scalar(select(Occurrence.id).where(Occurrence.job == job.id, Occurrence.scheduled_at == at)):
                return None
            occurrence = Occurrence(job=job.id, scheduled_at=at)
            s.add(occurrence)
            s.flush()  # the unique (job, scheduled_at) pair: a concurrent runner stops here
            occurrence.mails = job.run(s, config, at)
    except IntegrityError:
        return None
    log.info("%s at %s: %d mail(s) queued", job.id, at.isoformat(timespec="minutes"), occurrence.mails)
    return occurrence.mails


def tick(db: Database, config: Config, now: datetime, only: list[Job] | None = None) -> int:
    """Run every due, unrecorded occurrence of every job; returns how many mails were queued."""
    queued = 0
    for job in only if only is not None else jobs(config):
        due = job.times(now - job.window, now)
        if not due:
            continue
        with db.reading() as s:  # most ticks find every due occurrence done: one query, no writes
            done = set(s.scalars(select(Occurrence.scheduled_at).where(Occurrence.job == job.id,
                                                                       Occurrence.scheduled_at >= due[0])))
        for at in due:
            if at not in done:
                queued += fire(db, config, job, at) or 0
    return queued
