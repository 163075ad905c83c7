"""催报: a reminder to each unit below this month's quota, to its officers, at most once a day."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbridge.config import Config
from mailbridge.ledger.models import Unit
from mailbridge.ledger.queries import unit_addresses
from mailbridge.notify import outbox
from mailbridge.notify.compose import compose, from_address
from mailbridge.render import render_mail
from mailbridge.score import period as period_mod
from mailbridge.score.engine import evaluate


@dataclass(frozen=True)
class Reminder:
    unit_id: int
    unit: str
    submitted: int
    quota: int
    to: list[str]

    def record(self) -> dict:
        """The `remind --dry-run --json` record of CONTRACT.md."""
        return {"unit": self.unit, "submitted": self.submitted, "quota": self.quota, "to": self.to}


def due(s: Session, config: Config, month: str, today: date) -> list[Reminder]:
    """Units below their quota that month by the scorecard's own count, with somewhere to write."""
    card = evaluate(s, config, period_mod.parse("month", month), today=today)
    ids = dict(s.execute(select(Unit.name, Unit.id)).all())
    out = []
    for score in card.units:
        if not score.below_quota or score.unit not in ids:
            continue
        to = unit_addresses(s, ids[score.unit])
        if to:
            out.append(Reminder(ids[score.unit], score.unit, score.submitted, score.quota or 0, to))
    return out


def queue(s: Session, config: Config, month: str, today: date) -> list[Reminder]:
    """Queue the 催报 of `month`; a unit already reminded today is not reminded again."""
    year, mon = int(month[:4]), int(month[5:])
    end = period_mod.month_end(month)
    sent = []
    for r in due(s, config, month, today):
        subject, text, html = render_mail(
            config, "remind", unit=r.unit, submitted=r.submitted, quota=r.quota, missing=r.quota - r.submitted,
            year=year, month=mon, deadline=f"{end.month}月{end.day}日",
            address=submission_address(config), contact=config.receipts.contact)
        msg = compose(config, r.to, subject, text, html)
        if outbox.enqueue(s, f"remind:{month}:{r.unit_id}:{today.isoformat()}", "remind", msg):
            sent.append(r)
    return sent


def queue_scheduled(s: Session, config: Config, at: datetime) -> int:
    """The scheduler's job: this month's 催报 on the day of the occurrence."""
    local = at.astimezone(config.ingest.zone)
    return len(queue(s, config, local.strftime("%Y-%m"), local.date()))


def submission_address(config: Config) -> str:
    """Where units send articles: the first mailbox (the official address), else our From."""
    return next((b.username for b in config.mailboxes if b.enabled and "@" in b.username), from_address(config))
