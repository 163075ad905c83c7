"""Health records of each mailbox, and incidents: one alert mail when a problem starts, one when it ends."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbridge.config import Config
from mailbridge.ledger.db import Database
from mailbridge.ledger.models import Incident, MailboxHealth, Message, Outgoing, utcnow
from mailbridge.ledger.vocab import Disposition, OutboxStatus
from mailbridge.service.alerts import queue_alert

log = logging.getLogger(__name__)


def record_success(db: Database, mailbox: str, new: int) -> datetime | None:
    """A poll went through; returns since when it had been failing (None: it was not)."""
    now = utcnow()
    with db.session() as s:
        row = s.get(MailboxHealth, mailbox) or MailboxHealth(mailbox=mailbox)
        s.add(row)
        failing_since = row.error_since if row.error else None
        row.error, row.error_since = None, None
        row.first_success_at = row.first_success_at or now
        row.last_success_at = now
        if new:
            row.last_new_mail_at = now
    return failing_since


def record_failure(db: Database, mailbox: str, error: str) -> bool:
    """A poll failed; True when this error is new (it started, or changed), so worth a log line."""
    with db.session() as s:
        row = s.get(MailboxHealth, mailbox) or MailboxHealth(mailbox=mailbox)
        s.add(row)
        changed = row.error != error
        if row.error is None:
            row.error_since = utcnow()
        row.error = error
    return changed


DATABASE_OUTAGE = "database_unreachable"


def record_database_outage(db: Database, since: datetime, until: datetime, error: str) -> None:
    """The daemon lost the database and has it back: an incident opened and closed at once, so
    `status` can tell an admin about it afterwards (while it lasts, status cannot read anything)."""
    seconds = round((until - since).total_seconds())
    with db.session() as s:
        s.add(Incident(key=DATABASE_OUTAGE, opened_at=since, resolved_at=until,
                       detail=f"the database was unreachable for about {seconds} s ({error})"))


def recent_database_outages(s: Session, now: datetime, days: int = 1) -> list[Incident]:
    return list(s.scalars(select(Incident).where(Incident.key == DATABASE_OUTAGE,
                                                 Incident.resolved_at >= now - timedelta(days=days))
                          .order_by(Incident.id)))


def _local(when: datetime | None) -> str:
    return when.isoformat(timespec="seconds") if when else "?"


@dataclass(frozen=True)
class Problem:
    """A state an admin must hear about: `key` names it, `kind` picks its words in alert.*."""

    key: str
    kind: str  # mailbox_failing | mailbox_silent | outbox_failed | quarantine
    subject: str  # the mailbox, or what is counted
    detail: str
    since: datetime | None = None
    count: int = 0


def problems(config: Config, s: Session, now: datetime | None = None, *, immediate: bool = False) -> list[Problem]:
    """What is wrong now. A failing mailbox counts after alert_after_minutes (at once with `immediate`)."""
    now = now or utcnow()
    found: list[Problem] = []
    grace = timedelta(minutes=0 if immediate else config.admin.alert_after_minutes)
    health = {h.mailbox: h for h in s.scalars(select(MailboxHealth))}
    for box in config.mailboxes:
        if not box.enabled:
            continue
        h = health.get(box.name)
        if h is None:
            continue
        if h.error and h.error_since and now - h.error_since >= grace:
            found.append(Problem(f"mailbox_failing:{box.name}", "mailbox_failing", box.name, h.error, h.error_since))
        quiet_since = h.last_new_mail_at or h.first_success_at
        if (config.admin.silent_days and not h.error and quiet_since
                and now - quiet_since >= timedelta(days=config.admin.silent_days)):
            found.append(Problem(f"mailbox_silent:{box.name}", "mailbox_silent", box.name,
                                 f"no new mail since {_local(quiet_since)}", quiet_since))
    failed = s.scalar(select(func.count()).select_from(Outgoing).where(Outgoing.status == OutboxStatus.FAILED)) or 0
    if failed:
        found.append(Problem("outbox_failed", "outbox_failed", "outbox", f"{failed} mail(s) failed", count=failed))
    quarantined = s.scalar(select(func.count()).select_from(Message)
                           .where(Message.disposition == Disposition.QUARANTINED)) or 0
    if quarantined:
        found.append(Problem("quarantine", "quarantine", "quarantine",
                             f"{quarantined} message(s) in quarantine", count=quarantined))
    return found


def check(config: Config, db: Database, now: datetime | None = None) -> int:
    """Open an incident (and queue its alert) for each new problem, close those that are over.

    The alert is written in the transaction that opens the incident: a crash never sends it twice.
    Returns how many mails were queued.
    """
    now = now or utcnow()
    queued = 0
    with db.session() as s:
        current = {p.key: p for p in problems(config, s, now)}
        open_ = {i.key: i for i in s.scalars(select(Incident).where(Incident.resolved_at.is_(None)))}
        for key, problem in current.items():
            if key in open_:
                continue
            incident = Incident(key=key, detail=problem.detail, opened_at=now)
            s.add(incident)
            s.flush()
            log.warning("incident: %s (%s)", key, problem.detail)
            queued += queue_alert(config, s, incident, problem, resolved=False)
        for key, incident in open_.items():
            if key in current:
                continue
            incident.resolved_at = now
            log.warning("incident over: %s", key)
            queued += queue_alert(config, s, incident, None, resolved=True)
    return queued
