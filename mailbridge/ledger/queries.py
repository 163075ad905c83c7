"""Counts that several jobs share (receipts, scorecards, reminders), defined once."""
from __future__ import annotations

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from mailbridge.ledger.models import Submission


def articles_in_month(s: Session, unit_id: int, month: str) -> int:
    """Articles a unit sent in a month (YYYY-MM, local time): versions of one article count once."""
    article = func.coalesce(Submission.version_of, Submission.id)
    return s.scalar(
        select(func.count(distinct(article))).where(Submission.unit_id == unit_id, Submission.month == month)
    ) or 0
