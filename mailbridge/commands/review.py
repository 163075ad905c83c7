"""Review commands: adopt, reject, first-review, approve, review (what waits), adoptions import/list."""
from __future__ import annotations

import getpass
from datetime import date
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from mailbridge.app import App
from mailbridge.commands.ledger import emit_json, emit_table
from mailbridge.errors import ConfigError
from mailbridge.ledger.listing import pages
from mailbridge.ledger.models import Message, Submission
from mailbridge.ledger.vocab import ReviewStatus, SubmissionStatus


def _actor(by: str | None) -> str:
    try:
        return by or f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry for this uid (containers)
        return "cli"


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--date {value!r} is not YYYY-MM-DD, e.g. 2024-09-15.") from None


by_option = click.option("--by", metavar="WHO", help="Who decides (default: cli:<login name>); kept in the audit trail.")


def _title(sub: Submission) -> str:
    return f"{sub.receipt_no} 《{sub.title[:40]}》"


@click.command("adopt")
@click.argument("submission")
@click.argument("channels", nargs=-1, required=True)
@click.option("--date", "on", metavar="YYYY-MM-DD", help="Adoption date (default: today).")
@click.option("--withdraw", is_flag=True, help="Take the adoptions by these channels back (a mistake).")
@by_option
@click.pass_obj
def adopt_cmd(app: App, submission: str, channels: tuple[str, ...], on: str | None, withdraw: bool,
              by: str | None) -> None:
    """Record adoption (采用) of a submission (id or receipt number) by one or more channels."""
    from mailbridge.review import decisions

    with app.db.session() as s:
        sub = decisions.find_submission(s, submission)
        if withdraw:
            gone = decisions.withdraw(s, app.config, sub, list(channels), _actor(by), "cli")
            click.echo(f"{_title(sub)}: adoption withdrawn: {', '.join(gone)}")
            return
        rows = decisions.adopt(s, app.config, sub, list(channels), _date(on), _actor(by), "cli")
        names = {c.id: c.name for c in decisions.load_profile(app.config).channels}
        for row in rows:
            state = "adopted" if row.recorded_now else "already recorded"
            click.echo(f"{_title(sub)}: {state}: {names[row.channel]} ({row.channel}) {row.adopted_on.isoformat()}")


@click.command("reject")
@click.argument("submission")
@click.option("--note", help="Why, for the unit (optional).")
@click.option("--undo", is_flag=True, help="Reopen a rejected submission for review.")
@by_option
@click.pass_obj
def reject_cmd(app: App, submission: str, note: str | None, undo: bool, by: str | None) -> None:
    """Reject a submission (不予采用), with an optional note to the unit."""
    from mailbridge.review import decisions

    with app.db.session() as s:
        sub = decisions.find_submission(s, submission)
        if undo:
            decisions.reopen(s, app.config, sub, _actor(by), "cli", note)
            click.echo(f"{_title(sub)}: reopened, waiting for review")
        else:
            decisions.reject(s, app.config, sub, _actor(by), "cli", note)
            click.echo(f"{_title(sub)}: rejected" + (f" ({note})" if note else ""))


@click.command("first-review")
@click.argument("submission")
@click.option("--note", help="Remarks (optional).")
@by_option
@click.pass_obj
def first_review_cmd(app: App, submission: str, note: str | None, by: str | None) -> None:
    """Pass a submission's first review (初审); it then waits for a leader (review.two_stage)."""
    from mailbridge.review import decisions

    with app.db.session() as s:
        sub = decisions.find_submission(s, submission)
        decisions.first_review(s, app.config, sub, _actor(by), "cli", note)
        click.echo(f"{_title(sub)}: first review passed, waiting for approval")


@click.command("approve")
@click.argument("submission")
@click.option("--note", help="Remarks (optional).")
@by_option
@click.pass_obj
def approve_cmd(app: App, submission: str, note: str | None, by: str | None) -> None:
    """A leader's approval after first review (review.two_stage); it can then be adopted."""
    from mailbridge.review import decisions

    with app.db.session() as s:
        sub = decisions.find_submission(s, submission)
        decisions.approve(s, app.config, sub, _actor(by), "cli", note)
        click.echo(f"{_title(sub)}: approved")


@click.command("accept-body")
@click.argument("submission")
@click.option("--note", help="Why (optional); kept in the audit trail.")
@by_option
@click.pass_obj
def accept_body_cmd(app: App, submission: str, note: str | None, by: str | None) -> None:
    """Count a submission waiting for its 超大附件 file (待补交) from its mail body instead."""
    from mailbridge.review import decisions

    with app.db.session() as s:
        sub = decisions.find_submission(s, submission)
        decisions.accept_body(s, app.config, sub, _actor(by), "cli", note)
        click.echo(f"{_title(sub)}: body accepted as the article; it counts now")


WAITING = (ReviewStatus.PENDING, ReviewStatus.REVIEWED, ReviewStatus.APPROVED)
REVIEW_PAGE = 200  # `review` shows this many by default: the next page is asked for with --after


@click.command("review")
@click.option("--json", "as_json", is_flag=True, help="A JSON array, one object per waiting submission.")
@click.option("--group", metavar="ID", help="Only this reviewer group.")
@click.option("--limit", type=click.IntRange(1, 10000), default=REVIEW_PAGE, show_default=True,
              help="At most this many submissions (the oldest first).")
@click.option("--after", metavar="ID", type=click.IntRange(0), default=0,
              help="Only submissions with a larger id: the last id of the previous page.")
@click.pass_obj
def review_cmd(app: App, as_json: bool, group: str | None, limit: int, after: int) -> None:
    """What waits for a decision, by reviewer group (pending, and with two-stage review: approval).

    One page at a time, oldest first; when more wait, stderr says how to get the next page."""
    from mailbridge.ledger.records import iso
    from mailbridge.review.routing import group_for

    config = app.config
    if group is not None and config.review.group(group) is None:
        known = ", ".join(g.id for g in config.review.groups) or "none configured in [review]"
        raise ConfigError(f"no reviewer group {group!r} (known: {known}).")
    rows: list[dict[str, Any]] = []
    more = False
    with app.db.reading() as s:
        query = (select(Submission).where(Submission.review_status.in_(WAITING), Submission.status != SubmissionStatus.SUPERSEDED)
                 .options(selectinload(Submission.message), selectinload(Submission.unit)))
        # Routing is decided in Python (keywords may read the text), so pages of the waiting
        # submissions are read until `limit` of them are this group's: memory stays one page.
        for page in pages(s, query, Submission.id, size=max(limit, 100), after=after, entities=True):
            for sub in page:
                found = group_for(config, sub)
                if group is not None and (found is None or found.id != group):
                    continue
                if len(rows) == limit:
                    more = True
                    break
                rows.append({"id": sub.id, "receipt_no": sub.receipt_no, "group": found.id if found else None,
                             "group_name": found.name if found else None, "review_status": sub.review_status,
                             "received_at": iso(sub.message.received_at, config.ingest.zone),
                             "unit": sub.unit.name if sub.unit else None, "title": sub.title,
                             "category": sub.category, "body_chars": sub.body_chars})
            s.expunge_all()  # the page's objects (article text included) go once read
            if more:
                break
    if more:
        click.echo(f"more submissions wait: next page with --after {rows[-1]['id']}", err=True)
    if as_json:
        emit_json(rows)
        return
    rows.sort(key=lambda r: (r["group"] or "~", r["id"]))
    emit_table(f"{len(rows)} submission(s) waiting" + (" (more: see --after)" if more else ""),
               ["group", "id", "receipt", "received", "unit", "title", "status"],
               [[r["group_name"] or "—", r["id"], r["receipt_no"], r["received_at"][:16], r["unit"] or "",
                 r["title"][:40], r["review_status"]] for r in rows])


@click.group("adoptions")
def adoptions_group() -> None:
    """Adoptions (采用): list them, or import the clerk's .xlsx sheet."""


@adoptions_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would be recorded; change nothing.")
@by_option
@click.pass_obj
def adoptions_import(app: App, file: Path, dry_run: bool, by: str | None) -> None:
    """Import adoptions from an .xlsx sheet (编号/回执号 or 标题+单位, 采用渠道, 采用日期); all rows or none."""
    from mailbridge.commands.sheets import import_rows
    from mailbridge.review.sheet import import_sheet

    result = import_rows(app, "adoptions", file, dry_run,
                         lambda s: import_sheet(s, app.config, file.name, file.read_bytes(), _actor(by)))
    click.echo(f"dry run: nothing was changed ({result.new} adoption(s) would be recorded)" if dry_run
               else f"{result.new} adoption(s) recorded, {result.known} already known")


@adoptions_group.command("list")
@click.option("--month", metavar="YYYY-MM", help="Only submissions of this month.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def adoptions_list(app: App, month: str | None, as_json: bool) -> None:
    """Every adoption recorded, with its submission."""
    from mailbridge.ledger.models import Adoption

    with app.db.reading() as s:
        query = (select(Adoption, Submission).join(Submission).options(
            selectinload(Submission.unit), selectinload(Submission.message.of_type(Message)))
            .order_by(Adoption.id))
        if month:
            query = query.where(Submission.month == month)
        rows: list[dict[str, Any]] = [{"submission_id": sub.id, "receipt_no": sub.receipt_no, "unit": sub.unit.name if sub.unit else None,
                 "title": sub.title, "channel": a.channel, "date": a.adopted_on.isoformat(), "actor": a.actor,
                 "via": a.via} for a, sub in s.execute(query)]
    if as_json:
        emit_json(rows)
        return
    emit_table(f"{len(rows)} adoption(s)", ["receipt", "unit", "title", "channel", "date", "by", "via"],
               [[r["receipt_no"], r["unit"] or "", r["title"][:40], r["channel"], r["date"], r["actor"], r["via"]]
                for r in rows])
