"""The admins' alert mails, in the words of templates/alert.*."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from mailbridge.config import Config
from mailbridge.ledger.models import Incident
from mailbridge.notify.compose import compose
from mailbridge.notify.outbox import enqueue
from mailbridge.render import render_mail

if TYPE_CHECKING:  # health imports this module
    from mailbridge.service.health import Problem


def queue_alert(config: Config, s: Session, incident: Incident, problem: Problem | None, resolved: bool) -> int:
    """Queue one alert (or recovery notice) to [admin] addresses; 0 when there is nobody to tell."""
    if not config.admin.addresses:
        return 0
    kind, _, subject = incident.key.partition(":")
    zone = config.ingest.zone
    data = {
        "kind": kind,
        "subject": subject,
        "resolved": resolved,
        "detail": incident.detail or "",
        "opened_at": incident.opened_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        "resolved_at": incident.resolved_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if resolved and incident.resolved_at else "",
        "since": problem.since.astimezone(zone).strftime("%Y-%m-%d %H:%M") if problem and problem.since else "",
        "alert_after_minutes": config.admin.alert_after_minutes,
        "silent_days": config.admin.silent_days,
    }
    title, text, html = render_mail(config, "alert", **data)
    msg = compose(config, list(config.admin.addresses), title, text, html)
    key = f"alert:{incident.id}:{'resolved' if resolved else 'opened'}"
    return int(enqueue(s, key, "alert", msg))
