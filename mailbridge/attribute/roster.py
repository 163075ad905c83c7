"""The roster in the database: a file's rows become units, officers and addresses, idempotently."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from mailbridge.attribute.match import rebind
from mailbridge.attribute.roster_files import RosterError, RosterRead
from mailbridge.config import Config
from mailbridge.ledger.models import Address, Officer, Unit


@dataclass
class Plan:
    """What an import adds, changes and deactivates; with the rows it could not take."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    errors: list[RosterError] = field(default_factory=list)
    rebound: int = 0

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.deactivated)


def apply(s: Session, config: Config, read: RosterRead, partial: bool = False) -> Plan:
    """Bring the database in line with the file; the caller commits (or rolls back for --dry-run).

    A full import deactivates what the file no longer lists; a partial one (a unit's own form
    that came by mail) touches only the units it names. Nothing is ever deleted.
    """
    plan = Plan(errors=list(read.errors))
    units = {u.name: u for u in s.scalars(select(Unit).options(
        selectinload(Unit.officers).selectinload(Officer.addresses)))}
    addresses = {a.address: a for a in s.scalars(select(Address))}
    seen_units: set[str] = set()
    seen_officers: set[int] = set()
    seen_addresses: set[str] = set()
    for row in read.rows:
        kind = None
        if row.unit_type:
            kind = config.unit_type(row.unit_type)
            if kind is None:
                known = ", ".join(f"{k.id} ({k.name})" for k in config.unit_types)
                plan.errors.append(RosterError(row.line, f"row {row.line} ({row.unit}): unknown unit type "
                                                         f"{row.unit_type!r}; use one of {known}"))
                continue
        unit = units.get(row.unit)
        if unit is None:
            unit = Unit(name=row.unit, type=kind.id if kind else None, quota=row.quota, active=True)
            s.add(unit)
            units[row.unit] = unit
            plan.added.append(f"unit {row.unit}" + (f" ({kind.id})" if kind else ""))
        else:
            _update(plan, f"unit {row.unit}", unit, active=True,
                    type=kind.id if kind else unit.type, quota=row.quota if row.quota is not None else unit.quota)
        seen_units.add(row.unit)
        officer = None
        if row.name:
            officer = next((o for o in unit.officers if o.name == row.name), None)
            if officer is None:
                officer = Officer(name=row.name, phone=row.phone, active=True)
                unit.officers.append(officer)
                plan.added.append(f"officer {row.name} of {row.unit}")
            else:
                _update(plan, f"officer {row.name} of {row.unit}", officer, active=True,
                        phone=row.phone or officer.phone)
            s.flush()
            seen_officers.add(officer.id)
        s.flush()
        for email in row.emails:
            seen_addresses.add(email)
            known_address = addresses.get(email)
            if known_address is None:
                known_address = Address(address=email, unit_id=unit.id, officer_id=officer.id if officer else None,
                                        source="roster", active=True)
                s.add(known_address)
                addresses[email] = known_address
                plan.added.append(f"address {email} for {row.unit}")
                plan.rebound += rebind(s, config, email, unit)
            elif known_address.unit_id != unit.id or not known_address.active or (
                    officer and known_address.officer_id != officer.id):
                moved = known_address.unit_id != unit.id
                known_address.unit_id, known_address.active = unit.id, True
                known_address.officer_id = officer.id if officer else known_address.officer_id
                known_address.source = "roster"
                plan.changed.append(f"address {email}: now {row.unit}" + (f" ({row.name})" if row.name else ""))
                if moved:
                    plan.rebound += rebind(s, config, email, unit)
    if plan.errors and not partial:
        return plan  # deactivating against a file that was not fully read would be wrong
    in_scope = (lambda name: name in seen_units) if partial else (lambda name: True)
    for unit in units.values():
        if not in_scope(unit.name):
            continue
        if unit.name not in seen_units and unit.active:
            unit.active = False
            plan.deactivated.append(f"unit {unit.name}")
        for officer in unit.officers:
            if officer.id not in seen_officers and officer.active:
                officer.active = False
                plan.deactivated.append(f"officer {officer.name} of {unit.name}")
    for address in addresses.values():
        if (address.active and address.source == "roster" and address.address not in seen_addresses
                and in_scope(address.unit.name)):
            address.active = False
            plan.deactivated.append(f"address {address.address} of {address.unit.name}")
    return plan


def _update(plan: Plan, what: str, obj: object, **values: object) -> None:
    changes = [f"{k} {getattr(obj, k)!r} -> {v!r}" for k, v in values.items() if getattr(obj, k) != v]
    if changes:
        for key, value in values.items():
            setattr(obj, key, value)
        plan.changed.append(f"{what}: " + ", ".join(changes))
