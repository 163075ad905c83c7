"""Weekly progress: each unit its month so far, short enough to read on a phone."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbridge.config import Config
from mailbridge.ledger.models import Unit
from mailbridge.ledger.queries import unit_addresses
from mailbridge.notify import outbox
from mailbridge.notify.compose import compose
from mailbridge.render import render_mail
from mailbridge.score import period as period_mod
from mailbridge.score.engine import Scorecard, UnitScore, evaluate
from mailbridge.score.text import words


@dataclass(frozen=True)
class Progress:
    unit_id: int
    to: list[str]
    data: dict  # what templates/progress.* show

    def record(self) -> dict:
        return {"unit": self.data["unit"], "to": self.to, "submitted": self.data["submitted"],
                "quota": self.data["quota"], "missing": self.data["missing"], "adopted": self.data["adopted"],
                "points": self.data["points"], "type_rank": self.data["type_rank"]}


def week_of(day: date) -> str:
    """The ISO week before `day` (the week a Monday's progress reports on), as YYYY-Www."""
    year, week, _ = (day - timedelta(days=7)).isocalendar()
    return f"{year}-W{week:02d}"


def due(s: Session, config: Config, week: str, owed: dict[int, list[dict]] | None = None) -> list[Progress]:
    """One progress report per active unit with an address: the month of the week's last day, so far.

    `owed`: unit id -> the collections it still has to send (collect.records.owed), shown too.
    """
    period = period_mod.parse("week", week)
    last = period.end
    month = last.strftime("%Y-%m")
    card = evaluate(s, config, period_mod.parse("month", month), today=last + timedelta(days=1))
    labels = words(config)
    channels = {c.id: c.name for c in card.profile.channels}
    ids = dict(s.execute(select(Unit.name, Unit.id).where(Unit.active.is_(True))).all())
    out = []
    for score in card.units:
        to = unit_addresses(s, ids[score.unit]) if score.unit in ids else []
        if to:
            data = _data(config, card, score, last, labels, channels)
            data["owed"] = (owed or {}).get(ids[score.unit], [])
            out.append(Progress(ids[score.unit], to, data))
    return out


def _data(config: Config, card: Scorecard, u: UnitScore, last: date, labels: Any, channels: dict) -> dict:
    record = u.record()
    peers = [x for x in card.units if x.unit_type == u.unit_type and x.type_rank]
    rules = card.profile.units.get(u.unit)
    wanted = {k: v for r in card.profile.rules if r.type == "required" for k, v in r.required.items()}
    wanted |= dict(rules.required) if rules else {}
    names = config.category_names()
    missing_items = [{"category": names.get(cat, cat), "missing": count - n}
                     for cat, count in wanted.items()
                     if (n := sum(1 for a in u.articles if a.category == cat)) < count]
    return {
        "unit": u.unit, "year": last.year, "month": last.month, "through": f"{last.month}月{last.day}日",
        "submitted": u.submitted, "quota": u.quota, "missing": max((u.quota or 0) - u.submitted, 0),
        "adopted": u.adopted, "points": record["points"], "type_rank": u.type_rank, "peers": len(peers),
        "unit_type": u.unit_type_name,
        "articles": [{"receipt_no": a.receipt_no, "title": a.title, "status": labels.statuses.get(a.review_status,
                                                                                               a.review_status),
                      "adoptions": [channels.get(c, c) for c in a.adoptions]} for a in u.articles],
        "required_missing": missing_items,
    }


def queue(s: Session, config: Config, week: str, owed: dict[int, list[dict]] | None = None) -> list[Progress]:
    """Queue the week's progress mails; a unit gets one per week, however often this runs."""
    sent = []
    for p in due(s, config, week, owed):
        subject, text, html = render_mail(config, "progress", **p.data)
        if outbox.enqueue(s, f"progress:{week}:{p.unit_id}", "progress", compose(config, p.to, subject, text, html)):
            sent.append(p)
    return sent


def queue_weekly(s: Session, config: Config, at: datetime, owed: dict[int, list[dict]] | None = None) -> int:
    """The scheduler's job: on Monday, the week that ended."""
    return len(queue(s, config, week_of(at.astimezone(config.ingest.zone).date()), owed))
