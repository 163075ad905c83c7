"""`collections`: deadline collections ([[collections]]), who has sent, who is late, who has not."""
from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy.orm import Session

from mailbridge.app import App
from mailbridge.commands.ledger import emit_json, emit_table
from mailbridge.errors import ConfigError

STATUS_WORDS = {"sent": "按时报送", "late": "逾期报送", "missing": "未报送"}


@click.group("collections")
def collections_group() -> None:
    """Deadline collections (登记表, 总结, 统计表): who has sent, who is late, who has not."""


@collections_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="A JSON array, one object per collection.")
@click.pass_obj
def collections_list(app: App, as_json: bool) -> None:
    """List the configured collections with their counts."""
    from mailbridge.collect.records import statuses

    records = []
    with app.db.reading() as s:
        for c in app.config.collections:
            rows = statuses(s, c)
            records.append({
                "id": c.id, "name": c.name, "opens": c.opens.isoformat() if c.opens else None,
                "due": c.due.isoformat(), "closes": c.last_day.isoformat(), "units": len(rows),
                **{k: sum(1 for r in rows if r.status == k) for k in ("sent", "late", "missing")},
                "counts_as_submission": c.counts_as_submission, "roster_form": c.roster_form})
    if as_json:
        emit_json(records)
        return
    emit_table(f"{len(records)} collection(s)", ["id", "name", "due", "units", "sent", "late", "missing"],
               [[r["id"], r["name"], r["due"], r["units"], r["sent"], r["late"], r["missing"]] for r in records])


@collections_group.command("show")
@click.argument("collection_id")
@click.option("--json", "as_json", is_flag=True, help="A JSON array, one object per unit (see CONTRACT.md).")
@click.option("--xlsx", type=click.Path(dir_okay=False, path_type=Path), help="Write the list as an Excel sheet.")
@click.pass_obj
def collections_show(app: App, collection_id: str, as_json: bool, xlsx: Path | None) -> None:
    """Each unit a collection applies to: sent on time, late or missing (and a roster form's changes)."""
    from mailbridge.collect.records import local_time, statuses, unknown_units

    if as_json and xlsx:
        raise ConfigError("choose one output: --json or --xlsx FILE.")
    collection = app.config.collection(collection_id)
    with app.db.reading() as s:
        rows = statuses(s, collection)
        records = [r.record(app.config) for r in rows]
        unknown = unknown_units(s, collection)
    for name in unknown:
        click.echo(f"warning: collection {collection.id} names unit {name!r}, which is not in the roster", err=True)
    if as_json:
        emit_json(records)
        return
    if xlsx:
        from mailbridge.ledger.xlsx import write_sheet

        write_sheet(xlsx, collection.name, ["单位", "报送情况", "收到时间", "文件", "邮件 Message-ID"],
                    [[r.unit.name, STATUS_WORDS[r.status], local_time(r.first.received_at, app.config) if r.first
                      else "", "、".join(r.first.files) if r.first else "",
                      r.first.message.message_id or "" if r.first else ""] for r in rows],
                    widths=(30, 10, 18, 50, 40))
        click.echo(f"collection {collection.id}: {len(rows)} unit(s) written to {xlsx}")
        return
    emit_table(f"{collection.name} ({collection.id}), due {collection.due.isoformat()}",
               ["unit", "status", "received", "files", "replies"],
               [[r["unit"], r["status"], (r["received_at"] or "")[:16], ", ".join(r["files"]), r["replies"]]
                for r in records])
    counts = {k: sum(1 for r in records if r["status"] == k) for k in STATUS_WORDS}
    click.echo(f"sent {counts['sent']}, late {counts['late']}, missing {counts['missing']}")
    if collection.roster_form:
        _proposals(app, collection.id)


def _forms(s: Session, collection_id: str, pending_only: bool) -> list[tuple[int, str, str, str, str]]:
    """The roster forms of a collection's replies, oldest first: (attachment id, file, sha256, unit, when)."""
    from mailbridge.collect.records import replies

    out = []
    for reply in replies(s, collection_id):
        for a in reply.message.attachments:
            flags = a.flags or []
            if "roster_form" in flags and not (pending_only and "roster_applied" in flags):
                out.append((a.id, a.filename, a.sha256, reply.unit.name, reply.received_at.isoformat()))
    return out


def _apply_forms(app: App, collection_id: str, dry_run: bool, intro: str = "") -> None:
    """Each roster form not yet applied, oldest first (a later form wins), through the roster import."""
    from mailbridge.commands.roster import _apply_and_report, _read
    from mailbridge.ledger.archive import Archive
    from mailbridge.ledger.models import Attachment

    with app.db.session() as s:
        forms = _forms(s, collection_id, pending_only=True)
    if not forms:
        click.echo("no roster form waits to be applied")
        return
    if intro:
        click.echo(intro.format(count=len(forms)))
    archive = Archive(app.config.storage.dir)
    for form_id, filename, sha, unit, _when in forms:
        click.echo(f"form {form_id} ({filename}) from {unit}:")
        _apply_and_report(app, _read(filename, archive.file_path(sha).read_bytes()), dry_run=dry_run, partial=True)
        if not dry_run:
            with app.db.session() as s:
                form = s.get_one(Attachment, form_id)
                form.flags = sorted(set(form.flags) | {"roster_applied"})


def _proposals(app: App, collection_id: str) -> None:
    _apply_forms(app, collection_id, dry_run=True, intro="proposed roster changes from {count} form(s); apply "
                 f"them with 'mailbridge collections apply {collection_id}':")


@collections_group.command("apply")
@click.argument("collection_id")
@click.option("--dry-run", is_flag=True, help="Show the changes; change nothing.")
@click.pass_obj
def collections_apply(app: App, collection_id: str, dry_run: bool) -> None:
    """Apply the roster forms received for a roster collection (roster_form = true), oldest first."""
    collection = app.config.collection(collection_id)
    if not collection.roster_form:
        raise ConfigError(f"collection {collection.id} is not the roster collection; set roster_form = true "
                          "in its [[collections]] table to read its replies as roster forms.")
    _apply_forms(app, collection.id, dry_run)


@collections_group.command("remind")
@click.argument("collection_id")
@click.option("--dry-run", is_flag=True, help="List who would be reminded; queue nothing.")
@click.option("--json", "as_json", is_flag=True, help="With --dry-run: a JSON array of {unit, to}.")
@click.pass_obj
def collections_remind(app: App, collection_id: str, dry_run: bool, as_json: bool) -> None:
    """Queue a reminder to every unit that has not sent a collection (at most once a day by hand)."""
    from mailbridge.collect.jobs import queue_reminders
    from mailbridge.collect.records import statuses
    from mailbridge.ledger.queries import unit_addresses
    from mailbridge.review.decisions import today

    collection = app.config.collection(collection_id)
    day = today(app.config)
    with app.db.session() as s:
        if not dry_run:
            count = queue_reminders(s, app.config, collection.id, f"manual:{day.isoformat()}", day)
            click.echo(f"collection {collection.id}: {count} reminder(s) queued (sent by the outbox)")
            return
        rows = [{"unit": r.unit.name, "to": unit_addresses(s, r.unit.id)} for r in statuses(s, collection)
                if r.status == "missing"]
    rows = [r for r in rows if r["to"]]
    if as_json:
        emit_json(rows)
        return
    emit_table(f"{len(rows)} unit(s) would be reminded", ["unit", "to"], [[r["unit"], ", ".join(r["to"])] for r in rows])


@collections_group.command("report")
@click.argument("collection_id")
@click.option("--send", is_flag=True, help="Queue the closing report to [scorecards] recipients (once a day).")
@click.pass_obj
def collections_report(app: App, collection_id: str, send: bool) -> None:
    """The closing report of a collection: print it, or queue it with --send."""
    from mailbridge.collect.jobs import queue_report, report_data
    from mailbridge.render import render_mail
    from mailbridge.review.decisions import today

    collection = app.config.collection(collection_id)
    with app.db.session() as s:
        if send:
            if not app.config.scorecards.recipients:
                raise ConfigError("[scorecards] recipients is empty; add the addresses the report goes to.")
            count = queue_report(s, app.config, collection.id, f"manual:{today(app.config).isoformat()}")
            click.echo(f"collection {collection.id}: " + ("report queued" if count else "report already queued today"))
            return
        subject, text, _ = render_mail(app.config, "collection_report", **report_data(s, app.config, collection))
    click.echo(subject)
    click.echo("")
    click.echo(text, nl=False)
