"""The monthly scorecard mail: the 通报's summary in the body, the .xlsx and the .docx attached."""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from io import BytesIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbridge.config import Config
from mailbridge.ledger.models import Outgoing, Submission, Unit, utcnow
from mailbridge.ledger.queries import unit_addresses
from mailbridge.notify import outbox
from mailbridge.notify.compose import compose
from mailbridge.render import render_mail
from mailbridge.score import period as period_mod
from mailbridge.score.docx import write_docx
from mailbridge.score.engine import Scorecard, evaluate
from mailbridge.score.xlsx import write_xlsx

log = logging.getLogger(__name__)
XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
DOCX = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")


def key(month: str) -> str:
    return f"scorecard:{month}"


def sent_before(s: Session, month: str) -> Outgoing | None:
    """The month's scorecard mail if it was queued already (by the schedule or by hand)."""
    return s.scalar(select(Outgoing).where(Outgoing.key == key(month)))


def _summary(card: Scorecard) -> dict:
    units = card.units
    with_quota = [u for u in units if u.quota]
    return {
        "units": len(units), "sending": sum(1 for u in units if u.submitted),
        "submitted": sum(u.submitted for u in units), "adopted": sum(u.adopted for u in units),
        "met": sum(1 for u in with_quota if u.quota_met), "with_quota": len(with_quota),
        "top": [u.record() for u in units if u.rank and u.points > 0][:5], "below": [u.unit for u in units if u.below_quota],
    }


def queue(s: Session, config: Config, month: str, today: date, resend: bool = False) -> int:
    """Queue the month's scorecard to [scorecards] recipients (and, with unit_lines, each unit its line).

    Once per month: a second call queues nothing unless `resend`. Returns how many mails were queued.
    """
    if not config.scorecards.recipients:
        log.warning("scorecard %s: [scorecards] recipients is empty; nothing sent", month)
        return 0
    if not resend and sent_before(s, month) is not None:
        return 0
    card = evaluate(s, config, period_mod.parse("month", month), today=today)
    year, mon = int(month[:4]), int(month[5:])
    xlsx, docx = BytesIO(), BytesIO()
    write_xlsx(card, config, xlsx)
    write_docx(card, config, docx)
    subject, text, html = render_mail(config, "scorecard", year=year, month=mon, profile=card.profile.profile.name,
                                      issuer=config.scoring.issuer, **_summary(card))
    msg = compose(config, list(config.scorecards.recipients), subject, text, html)
    stem = f"{year}年{mon}月信息报送"
    msg.add_attachment(xlsx.getvalue(), *XLSX, filename=f"{stem}得分表.xlsx")
    msg.add_attachment(docx.getvalue(), *DOCX, filename=f"{stem}通报.docx")
    queued = int(outbox.enqueue(s, key(month) + (f":resend:{utcnow().isoformat()}" if resend else ""),
                                "scorecard", msg))
    if config.scorecards.unit_lines and not resend:
        queued += _unit_lines(s, config, card, month, year, mon)
    return queued


def _unit_lines(s: Session, config: Config, card: Scorecard, month: str, year: int, mon: int) -> int:
    ids = dict(s.execute(select(Unit.name, Unit.id)).all())
    queued = 0
    for score in card.units:
        to = unit_addresses(s, ids[score.unit]) if score.unit in ids else []
        if not to:
            continue
        subject, text, html = render_mail(config, "scorecard_unit", year=year, month=mon, u=score.record(),
                                          missing=max((score.quota or 0) - score.submitted, 0))
        queued += outbox.enqueue(s, f"{key(month)}:unit:{ids[score.unit]}", "scorecard",
                                 compose(config, to, subject, text, html))
    return queued


def queue_monthly(s: Session, config: Config, at: datetime) -> int:
    """The scheduler's job: on the 1st, the month before; nothing for a month without submissions."""
    local = at.astimezone(config.ingest.zone).date()
    month = (local.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    if not s.scalar(select(func.count()).select_from(Submission).where(Submission.month == month)):
        log.info("scorecard %s: no submissions that month; nothing sent", month)
        return 0
    return queue(s, config, month, local)
