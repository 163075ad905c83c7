"""Scheduled mail by hand: `remind` (催报) and `progress` (weekly), previewed or queued and sent."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import click

from mailbridge.app import App
from mailbridge.commands.ledger import emit_json, emit_table
from mailbridge.commands.outbox import flush_outbox


def _today(app: App) -> date:
    return datetime.now(app.config.ingest.zone).date()


@click.command("remind")
@click.option("--month", metavar="YYYY-MM", help="The month (default: this month).")
@click.option("--dry-run", is_flag=True, help="List who would be reminded; queue nothing.")
@click.option("--send", is_flag=True, help="Queue the reminders and send them now (the default without --dry-run).")
@click.option("--json", "as_json", is_flag=True, help="A JSON array, one object per unit (see CONTRACT.md).")
@click.pass_obj
def remind_cmd(app: App, month: str | None, dry_run: bool, send: bool, as_json: bool) -> None:
    """Remind (催报) every unit below its quota this month; a unit at most once a day."""
    from mailbridge.notify import reminders
    from mailbridge.score import period

    if dry_run and send:
        raise click.UsageError("choose --dry-run or --send.")
    today = _today(app)
    month = month or today.strftime("%Y-%m")
    period.parse("month", month)  # a malformed month is a usage error naming the format
    with app.db.session() as s:
        found = reminders.due(s, app.config, month, today) if dry_run else reminders.queue(s, app.config, month, today)
    if as_json:
        emit_json([r.record() for r in found])
    else:
        emit_table(f"{month}: {len(found)} unit(s) below quota" + ("" if dry_run else ", reminded"),
                   ["unit", "submitted", "quota", "to"], [[r.unit, r.submitted, r.quota, ", ".join(r.to)] for r in found])
    if not dry_run:
        flush_outbox(app)


@click.command("progress")
@click.option("--week", metavar="YYYY-Www", help="The ISO week reported on (default: last week).")
@click.option("--dry-run", is_flag=True, help="List the reports; queue nothing.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array, one object per unit.")
@click.pass_obj
def progress_cmd(app: App, week: str | None, dry_run: bool, as_json: bool) -> None:
    """Send each unit its weekly progress: this month so far against its quota; once per week."""
    from mailbridge.notify import progress
    from mailbridge.score import period

    from mailbridge.collect.records import owed

    week = week or progress.week_of(_today(app))
    monday = period.parse("week", week).end + timedelta(days=1)  # the day the scheduler would send it
    with app.db.session() as s:
        debts = owed(s, app.config, monday)
        found = progress.due(s, app.config, week, debts) if dry_run else progress.queue(s, app.config, week, debts)
    if as_json:
        emit_json([p.record() for p in found])
    else:
        emit_table(f"{week}: {len(found)} progress report(s)" + ("" if dry_run else " queued"),
                   ["unit", "submitted", "quota", "missing", "points", "to"],
                   [[p.data["unit"], p.data["submitted"], p.data["quota"], p.data["missing"], p.data["points"],
                     ", ".join(p.to)] for p in found])
    if not dry_run:
        flush_outbox(app)
