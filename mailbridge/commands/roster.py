"""Commands for the roster: import, list, export, bind an address, and forms that came by mail."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from mailbridge.app import App
from mailbridge.commands.ledger import emit_json, emit_table
from mailbridge.errors import ConfigError
from mailbridge.ledger.models import Address, Attachment, Message, Officer, Unit
from mailbridge.ledger.queries import quota_of
from mailbridge.score.profile import type_quotas

if TYPE_CHECKING:
    from mailbridge.attribute.roster_files import RosterRead
    from mailbridge.config import Config


@click.group("roster")
def roster_group() -> None:
    """Units, their information officers (信息员) and addresses."""


def _read(filename: str, data: bytes) -> RosterRead:
    from mailbridge.attribute.roster_files import read_roster
    from mailbridge.parse.tables import TableFormatError

    try:
        return read_roster(filename, data)
    except TableFormatError as exc:
        raise ConfigError(str(exc)) from None


def _apply_and_report(app: App, read: RosterRead, dry_run: bool, partial: bool) -> None:
    from mailbridge.attribute.roster import apply

    with app.db.sessions() as s:
        plan = apply(s, app.config, read, partial=partial)
        blocked = bool(plan.errors) and not partial
        if dry_run or blocked:
            s.rollback()
        else:
            s.commit()
    click.echo(f"roster: {read.source}: {len(read.rows)} row(s)")
    for title, lines in (("add", plan.added), ("change", plan.changed), ("deactivate", plan.deactivated)):
        for line in lines:
            click.echo(f"  {title:<10} {line}")
    if plan.empty:
        click.echo("  no changes: the roster already matches the file")
    for error in plan.errors:
        click.echo(f"  error      {error.message}", err=True)
    if blocked:
        raise ConfigError(f"{len(plan.errors)} row(s) have errors; nothing was changed. Fix them and import again.")
    if plan.rebound:
        click.echo(f"  {plan.rebound} earlier submission(s) attributed to their unit")
    if dry_run:
        click.echo("dry run: nothing was changed")


@roster_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would be added, changed and deactivated; change nothing.")
@click.option("--partial", is_flag=True, help="Only the units in the file; deactivate nothing else.")
@click.pass_obj
def roster_import(app: App, file: Path, dry_run: bool, partial: bool) -> None:
    """Import the 信息员登记表 from .docx (its table), .xlsx or .csv; idempotent."""
    _apply_and_report(app, _read(file.name, file.read_bytes()), dry_run, partial)


def _units(app: App) -> list[Unit]:
    with app.db.reading() as s:
        return list(s.scalars(select(Unit).options(
            selectinload(Unit.officers).selectinload(Officer.addresses)).order_by(Unit.name)))


def _bound(app: App) -> dict[int, list[str]]:
    with app.db.reading() as s:
        rows = s.execute(select(Address.unit_id, Address.address).where(
            Address.officer_id.is_(None), Address.active.is_(True))).all()
    out: dict[int, list[str]] = {}
    for unit_id, address in rows:
        out.setdefault(unit_id, []).append(address)
    return out


def unit_record(unit: Unit, config: Config, bound: list[str]) -> dict:
    kind = config.unit_type(unit.type) if unit.type else None
    return {
        "name": unit.name,
        "type": unit.type,
        "type_name": kind.name if kind else None,
        "quota": quota_of(config, unit, type_quotas(config)),
        "active": unit.active,
        "officers": [
            {"name": o.name, "phone": o.phone, "active": o.active,
             "addresses": [a.address for a in o.addresses if a.active]}
            for o in unit.officers
        ],
        "addresses": sorted({a.address for o in unit.officers for a in o.addresses if a.active} | set(bound)),
    }


@roster_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.option("--all", "show_all", is_flag=True, help="Include deactivated units.")
@click.pass_obj
def roster_list(app: App, as_json: bool, show_all: bool) -> None:
    """List units with their type, monthly quota, officers and addresses."""
    bound = _bound(app)
    records = [unit_record(u, app.config, bound.get(u.id, [])) for u in _units(app) if show_all or u.active]
    if as_json:
        emit_json(records)
        return
    emit_table(f"{len(records)} unit(s)", ["unit", "type", "quota", "officers", "addresses"],
               [[r["name"] + ("" if r["active"] else " (inactive)"), r["type_name"] or r["type"] or "—", r["quota"],
                 ", ".join(o["name"] for o in r["officers"] if o["active"]), ", ".join(r["addresses"])]
                for r in records])


@roster_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def roster_export(app: App, file: Path) -> None:
    """Write the roster to an .xlsx in the 登记表's columns (re-importable)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from mailbridge.sheets import active, append

    book = Workbook()
    sheet = active(book)
    sheet.title = "信息员登记表"
    append(sheet, ["单位（部门）", "单位类型", "姓名", "联系电话", "电子信箱", "任务数"])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    bound = _bound(app)
    for unit in _units(app):
        if not unit.active:
            continue
        for officer in [o for o in unit.officers if o.active]:
            emails = [a.address for a in officer.addresses if a.active]
            append(sheet, [unit.name, unit.type or "", officer.name, officer.phone, "；".join(emails), unit.quota])
        if bound.get(unit.id):  # addresses bound to the unit but to no officer
            append(sheet, [unit.name, unit.type or "", "", "", "；".join(bound.get(unit.id, [])), unit.quota])
    for column, width in zip("ABCDEF", (30, 12, 10, 16, 40, 8), strict=True):
        sheet.column_dimensions[column].width = width
    book.save(file)
    click.echo(f"roster written to {file}")


@roster_group.command("bind")
@click.argument("address")
@click.argument("unit_name")
@click.pass_obj
def roster_bind(app: App, address: str, unit_name: str) -> None:
    """Bind a sender address to a unit, and attribute its past submissions to that unit."""
    from mailbridge.attribute.match import rebind

    address = address.strip().lower()
    if "@" not in address:
        raise ConfigError(f"{address!r} is not an e-mail address.")
    with app.db.session() as s:
        unit = s.scalar(select(Unit).where(Unit.name == unit_name))
        if unit is None:
            raise ConfigError(f"no unit named {unit_name!r}; see 'mailbridge roster list'.")
        known = s.scalar(select(Address).where(Address.address == address))
        if known is None:
            s.add(Address(address=address, unit_id=unit.id, source="bind", active=True))
        else:
            known.unit_id, known.active = unit.id, True
        s.flush()
        count = rebind(s, app.config, address, unit)
    click.echo(f"{address} now speaks for {unit_name}; {count} submission(s) attributed.")


@roster_group.command("forms")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def roster_forms(app: App, as_json: bool) -> None:
    """Filled 登记表 forms that arrived by mail, to apply with `roster apply-form`."""
    with app.db.session() as s:
        rows = s.execute(select(Attachment, Message).join(Message).order_by(Attachment.id)).all()
    forms = [(a, m) for a, m in rows if "roster_form" in (a.flags or [])]
    records: list[dict[str, Any]] = [{"id": a.id, "filename": a.filename, "message": m.id, "sender": m.sender,
                "received_at": m.received_at.isoformat(), "applied": "roster_applied" in a.flags} for a, m in forms]
    if as_json:
        emit_json(records)
        return
    emit_table(f"{len(records)} form(s)", ["id", "received", "sender", "file", "applied"],
               [[r["id"], r["received_at"][:16], r["sender"], r["filename"], "yes" if r["applied"] else "no"]
                for r in records])


@roster_group.command("apply-form")
@click.argument("form_id", type=int)
@click.option("--dry-run", is_flag=True)
@click.pass_obj
def roster_apply_form(app: App, form_id: int, dry_run: bool) -> None:
    """Apply a mailed form (see `roster forms`) to the units it names."""
    with app.db.session() as s:
        form = s.get(Attachment, form_id)
        if form is None or "roster_form" not in (form.flags or []):
            raise ConfigError(f"no roster form {form_id}; see 'mailbridge roster forms'.")
        filename, digest = form.filename, form.sha256
    data = app.pipeline.archive.file_path(digest).read_bytes()
    _apply_and_report(app, _read(filename, data), dry_run, partial=True)
    if not dry_run:
        with app.db.session() as s:
            form = s.get_one(Attachment, form_id)
            form.flags = sorted(set(form.flags) | {"roster_applied"})
