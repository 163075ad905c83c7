"""Counts that several jobs share (receipts, scorecards, reminders), defined once."""
from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from mailbridge.config import Config
from mailbridge.ledger.models import Address, Submission, Unit
from mailbridge.ledger.vocab import COUNTED_STATUSES


def quota_of(config: Config, unit: Unit, by_type: Mapping[str, int] | None = None) -> int | None:
    """A unit's monthly quota: its own (roster 任务数), else its type's — the config's `quota` where
    set, else the scoring profile's (`by_type`, from its [types]); None for a unit with no type."""
    if unit.quota is not None:
        return unit.quota
    kind = config.unit_type(unit.type) if unit.type else None
    if kind is None:
        return None
    return kind.quota if kind.quota is not None else (by_type or {}).get(kind.id)


def articles_in_month(s: Session, unit_id: int, month: str) -> int:
    """Articles a unit sent in a month (YYYY-MM, local time): versions of one article count once;
    a submission still waiting for its file (not COUNTED_STATUSES) counts not at all."""
    article = func.coalesce(Submission.version_of, Submission.id)
    return s.scalar(
        select(func.count(distinct(article))).where(Submission.unit_id == unit_id, Submission.month == month,
                                                    Submission.status.in_(COUNTED_STATUSES))
    ) or 0


def unit_addresses(s: Session, unit_id: int) -> list[str]:
    """The active addresses of a unit's officers (and those bound to the unit), lower-case, in roster order."""
    rows = s.scalars(select(Address.address).where(Address.unit_id == unit_id, Address.active.is_(True))
                     .order_by(Address.id))
    return list(dict.fromkeys(rows))
