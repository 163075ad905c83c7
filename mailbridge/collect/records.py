"""Where a collection stands: each unit it applies to, sent on time, late or missing.

The earliest reply of a unit decides its status (CONTRACT.md); later ones are kept and listed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from mailbridge.attribute.match import unit_key
from mailbridge.collect.rules import applies_to
from mailbridge.config import CollectionConfig, Config
from mailbridge.ledger.models import CollectionReply, Unit
from mailbridge.ledger.records import iso


@dataclass
class UnitStatus:
    unit: Unit
    status: str  # sent | late | missing
    replies: list[CollectionReply] = field(default_factory=list)  # earliest first

    @property
    def first(self) -> CollectionReply | None:
        return self.replies[0] if self.replies else None

    def record(self, config: Config) -> dict:
        """The `collections show ID --json` object of CONTRACT.md."""
        first, zone = self.first, config.ingest.zone
        return {
            "unit": self.unit.name,
            "unit_type": self.unit.type,
            "status": self.status,
            "received_at": iso(first.received_at, zone) if first else None,
            "files": list(first.files) if first else [],
            "message_id": first.message.message_id if first else None,
            "message": first.message_row_id if first else None,
            "replies": len(self.replies),
        }


def units_in_scope(s: Session, collection: CollectionConfig) -> list[Unit]:
    units = s.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.id))
    return [u for u in units if applies_to(collection, u)]


def unknown_units(s: Session, collection: CollectionConfig) -> list[str]:
    """Names in the collection's `units` that match no active unit of the roster (a typo, or not imported)."""
    known = {unit_key(u.name) for u in s.scalars(select(Unit).where(Unit.active.is_(True)))}
    return [name for name in collection.units if unit_key(name) not in known]


def replies(s: Session, collection_id: str) -> list[CollectionReply]:
    return list(s.scalars(select(CollectionReply).options(selectinload(CollectionReply.message))
                          .where(CollectionReply.collection == collection_id)
                          .order_by(CollectionReply.received_at, CollectionReply.id)))


def statuses(s: Session, collection: CollectionConfig) -> list[UnitStatus]:
    """One entry per unit the collection applies to, in roster order."""
    by_unit: dict[int, list[CollectionReply]] = {}
    for reply in replies(s, collection.id):
        by_unit.setdefault(reply.unit_id, []).append(reply)
    out = []
    for unit in units_in_scope(s, collection):
        got = by_unit.get(unit.id, [])
        status = "missing" if not got else ("late" if got[0].late else "sent")
        out.append(UnitStatus(unit, status, got))
    return out


def local_time(when: datetime | None, config: Config) -> str | None:
    return when.astimezone(config.ingest.zone).strftime("%Y-%m-%d %H:%M") if when else None


def owed(s: Session, config: Config, day: date) -> dict[int, list[dict]]:
    """Unit id -> the open collections it has not answered yet on `day` (for weekly progress)."""
    out: dict[int, list[dict]] = {}
    for collection in config.collections:
        if (collection.opens and day < collection.opens) or day > collection.due:
            continue
        for row in statuses(s, collection):
            if row.status == "missing":
                out.setdefault(row.unit.id, []).append({"name": collection.name, "due": collection.due.isoformat()})
    return out
