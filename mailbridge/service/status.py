"""`mailbridge status`: the health of the service, read from the database alone (no network)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from mailbridge import __version__
from mailbridge.config import Config
from mailbridge.ledger.db import Database
from mailbridge.ledger.models import Incident, MailboxHealth, Message, Outgoing, utcnow
from mailbridge.ledger.vocab import Disposition, MessageState, OutboxStatus
from mailbridge.service import lock, schedule
from mailbridge.service.health import problems, recent_database_outages


def _iso(when: datetime | None) -> str | None:
    return when.isoformat(timespec="seconds") if when else None


def report(config: Config, db: Database) -> dict:
    """The `status --json` record (CONTRACT.md): `healthy` is False when something needs an admin."""
    now = utcnow()
    with db.reading() as s:
        health = {h.mailbox: h for h in s.scalars(select(MailboxHealth))}
        waiting = dict(s.execute(select(Message.mailbox, func.count()).where(Message.state == MessageState.ARCHIVED)
                                 .group_by(Message.mailbox)).all())
        outbox = dict(s.execute(select(Outgoing.status, func.count()).group_by(Outgoing.status)).all())
        quarantined = s.scalar(select(func.count()).select_from(Message)
                               .where(Message.disposition == Disposition.QUARANTINED)) or 0
        found = problems(config, s, now, immediate=True)
        incidents = [{"key": i.key, "detail": i.detail, "opened_at": _iso(i.opened_at)}
                     for i in s.scalars(select(Incident).where(Incident.resolved_at.is_(None)).order_by(Incident.id))]
        outages = [{"from": _iso(i.opened_at), "to": _iso(i.resolved_at), "detail": i.detail}
                   for i in recent_database_outages(s, now)]
    runner = lock.current(db, lock.name_for(db, [b.name for b in config.mailboxes]))
    running = runner is not None and lock.holder_alive(runner, now)
    issues = [p.detail if p.kind in ("outbox_failed", "quarantine") else f"mailbox {p.subject}: {p.detail}"
              for p in found]
    if runner is not None and not running:
        issues.append(f"the daemon (host {runner.host}, pid {runner.pid}) stopped without a clean exit; "
                      f"last seen {_iso(runner.heartbeat_at)}")
    jobs = dict(runner.jobs) if running and runner is not None else {}
    return {
        "healthy": not issues,
        "problems": issues,
        "version": __version__,
        "database": config.database.safe_url,
        "runner": {"running": running, "host": runner.host if runner else None, "pid": runner.pid if runner else None,
                   "since": _iso(runner.started_at) if runner else None,
                   "heartbeat_at": _iso(runner.heartbeat_at) if runner else None},
        "mailboxes": [
            {"name": box.name, "enabled": box.enabled,
             "last_success_at": _iso(health[box.name].last_success_at) if box.name in health else None,
             "last_new_mail_at": _iso(health[box.name].last_new_mail_at) if box.name in health else None,
             "error": health[box.name].error if box.name in health else None,
             "error_since": _iso(health[box.name].error_since) if box.name in health else None,
             "waiting": waiting.get(box.name, 0)}
            for box in config.mailboxes
        ],
        "outbox": {"pending": outbox.get(OutboxStatus.PENDING, 0) + outbox.get(OutboxStatus.SENDING, 0),
                   "failed": outbox.get(OutboxStatus.FAILED, 0), "sent": outbox.get(OutboxStatus.SENT, 0)},
        "quarantined": quarantined,
        "incidents": incidents,
        "database_outages": outages,  # the last day's, as the daemon saw them (over: not a problem now)
        # The running daemon's own jobs (`poll` without --once has fewer), else what `run` would schedule.
        "jobs": [{"id": job_id, "next_run_at": jobs.get(job_id)} for job_id in (jobs or job_ids(config))],
    }


def job_ids(config: Config, polling_only: bool = False) -> list[str]:
    """The daemon's jobs for this config, by id (the runner schedules exactly these)."""
    ids = [f"poll:{b.name}" for b in config.mailboxes if b.enabled] + ["outbox"]
    if not polling_only:
        ids += [f"digest:{at}" for at in config.schedule.digest_times] + ["health", "schedule"]
        ids += [job.id for job in schedule.jobs(config)]
    return ids
