"""`scorecard`: a period's scores per unit, as a table, JSON, an .xlsx workbook or a .docx bulletin."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from mailbridge.app import App
from mailbridge.commands.ledger import emit_json, emit_table
from mailbridge.errors import ConfigError

if TYPE_CHECKING:
    from mailbridge.score.engine import Scorecard
    from mailbridge.score.period import Period


@click.command("scorecard")
@click.option("--month", metavar="YYYY-MM", help="A calendar month, e.g. 2024-09.")
@click.option("--week", metavar="YYYY-Www", help="An ISO week, e.g. 2024-W37 (progress: quotas are monthly).")
@click.option("--quarter", metavar="YYYY-Qn", help="A quarter, e.g. 2024-Q3.")
@click.option("--year", metavar="YYYY", help="A year, e.g. 2024.")
@click.option("--unit", metavar="NAME", help="Explain one unit: every submission, adoption and point.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array, one object per unit (see CONTRACT.md).")
@click.option("--xlsx", type=click.Path(dir_okay=False, path_type=Path), help="Write an Excel workbook.")
@click.option("--docx", type=click.Path(dir_okay=False, path_type=Path), help="Write a Word bulletin (通报).")
@click.option("--send", is_flag=True, help="Mail the month's scorecard (.xlsx and .docx) to [scorecards] recipients, once.")
@click.option("--resend", is_flag=True, help="With --send: send it again although it was sent.")
@click.pass_obj
def scorecard(app: App, month: str | None, week: str | None, quarter: str | None, year: str | None,
              unit: str | None, as_json: bool, xlsx: Path | None, docx: Path | None, send: bool = False,
              resend: bool = False) -> None:
    """Scores of every unit for a period, by the configured rule profile ([scoring] profile)."""
    from mailbridge.score import period as period_mod
    from mailbridge.score.engine import evaluate
    from mailbridge.score.load import no_collector_passes
    from mailbridge.score.profile import load_profile

    given = [(k, v) for k, v in (("month", month), ("week", week), ("quarter", quarter), ("year", year)) if v]
    if len(given) != 1:
        raise ConfigError("give exactly one period: --month YYYY-MM, --week YYYY-Www, --quarter YYYY-Qn or "
                          "--year YYYY.")
    if sum(bool(x) for x in (as_json, xlsx, docx)) > 1:
        raise ConfigError("choose one output: --json, --xlsx FILE or --docx FILE.")
    period = period_mod.parse(*given[0])
    if send or resend:
        _send(app, period, resend)
        return
    profile = load_profile(app.config)
    with app.db.reading() as s, no_collector_passes(then_freeze=True):  # the command ends with the card
        card = evaluate(s, app.config, period, profile=profile)
    if unit is not None:
        _explain(app, card, unit, as_json)
        return
    if as_json:
        emit_json([u.record() for u in card.units])
    elif xlsx:
        from mailbridge.score.xlsx import write_xlsx

        write_xlsx(card, app.config, xlsx)
        click.echo(f"scorecard {period.label} written to {xlsx}")
    elif docx:
        from mailbridge.score.docx import write_docx

        write_docx(card, app.config, docx)
        click.echo(f"bulletin {period.label} written to {docx}")
    else:
        from mailbridge.score.text import words

        labels = words(app.config)
        emit_table(f"{labels.period(period)} — {profile.profile.name}", list(labels.rank_headers),
                   [[labels.rank(u, u.rank), u.unit, u.unit_type_name or "", u.submitted, u.quota,
                     labels.yes if u.quota_met else labels.no, u.adopted, labels.rate(u.rate),
                     ("—" if not u.assessed else f"{u.record()['points']}") + (f" {u.grade}" if u.grade else "")]
                    for u in card.units])


def _send(app: App, period: Period, resend: bool) -> None:
    from datetime import datetime

    from mailbridge.commands.outbox import flush_outbox
    from mailbridge.notify import scorecards

    if period.kind != "month":
        raise ConfigError("--send mails a month's scorecard: give --month YYYY-MM.")
    if not app.config.scorecards.recipients:
        raise ConfigError("[scorecards] recipients is empty; add the leaders' addresses to send the scorecard.")
    with app.db.session() as s:
        before = scorecards.sent_before(s, period.label)
        queued = scorecards.queue(s, app.config, period.label, datetime.now(app.config.ingest.zone).date(),
                                  resend=resend)
    if not queued and before is not None:
        when = before.sent_at or before.created_at
        click.echo(f"scorecard {period.label} was already sent ({when.isoformat(timespec='minutes')}, outbox "
                   f"{before.id}); use --resend to send it again.")
        return
    click.echo(f"scorecard {period.label}: {queued} mail(s) queued to {', '.join(app.config.scorecards.recipients)}")
    flush_outbox(app)


def _explain(app: App, card: Scorecard, name: str, as_json: bool) -> None:
    from mailbridge.score.text import render, words

    found = next((u for u in card.units if u.unit == name), None)
    if found is None:
        raise ConfigError(f"no unit named {name!r}; see 'mailbridge roster list'.")
    profile = card.profile
    explain = words(app.config, "score/explain.j2")
    if as_json:
        record = found.record()
        record["articles"] = [{"id": a.submission_id, "receipt_no": a.receipt_no, "title": a.title,
                               "month": a.month, "category": a.category, "body_chars": a.chars,
                               "review_status": a.review_status,
                               "adoptions": [{"channel": c, "date": d.isoformat()} for c, d in a.adoptions.items()]}
                              for a in found.articles]
        record["lines"] = [{"rule": ln.rule, "rule_name": ln.rule_name, "points": ln.points, "kind": ln.kind,
                            "part": ln.part, "submission_id": ln.article.submission_id if ln.article else None,
                            "receipt_no": ln.article.receipt_no if ln.article else None,
                            "channel": ln.channel.id if ln.channel else None, "month": ln.month, "note": ln.note,
                            "uncapped": ln.uncapped,
                            "text": explain.line(ln, app.config.category_names()).strip()}
                           for ln in found.lines]
        emit_json(record)
        return
    labels = words(app.config)
    click.echo(render(app.config, "score/unit.txt.j2", unit=found, period=card.period, profile=profile,
                      labels=labels, explain=explain, categories=app.config.category_names(),
                      channels={c.id: c.name for c in profile.channels}, statuses=labels.statuses), nl=False)


@click.group("scores")
def scores_group() -> None:
    """Score entries a clerk records: score items (加分/扣分), ratings and vetoes (一票否决)."""


@scores_group.command("add")
@click.argument("unit")
@click.argument("what")
@click.argument("points", type=float, required=False)
@click.option("--date", "on", metavar="YYYY-MM-DD", help="When it happened (default today); it counts in that period.")
@click.option("--note", help="What happened (事由).")
@click.option("--evidence", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A file backing it (表彰文件, 批示), archived with the entry.")
@click.option("--receipt", metavar="RECEIPT_NO", help="Or the receipt number of the submission backing it.")
@click.option("--effect", type=click.Choice(["bar", "exclude"]),
              help="A veto's effect: bar (no 特等/一等) or exclude (不予考核).")
@click.option("--by", help="Who records it (default: the login name).")
@click.pass_obj
def scores_add(app: App, unit: str, what: str, points: float | None, on: str | None, note: str | None,
               evidence: Path | None, receipt: str | None, effect: str | None, by: str | None) -> None:
    """Record a score item, a rating of a rated part, or a veto, for UNIT; WHAT is its id or name.

    POINTS: an item's points (default: the profile's, e.g. 2 for 扣2分/次) or the rating (0–100).
    """
    from mailbridge.commands.review import _actor, _date
    from mailbridge.score.entries import Evidence, entry_record, record
    from mailbridge.score.profile import load_profile

    profile = load_profile(app.config)
    with app.db.session() as s:
        entry = record(s, app.config, profile, unit, what, points, _date(on), _actor(by), "cli", note,
                       Evidence(evidence, receipt), effect)
        row = entry_record(entry)
    shown = "" if row["points"] is None else f" {row['points']:g}"
    click.echo(f"score entry {row['id']}: {row['unit']} {row['kind']} {row['key']}{shown} {row['date']}"
               + (f" ({row['effect']})" if row["effect"] else ""))


@scores_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would be recorded; change nothing.")
@click.option("--by", help="Who records it (default: the login name).")
@click.pass_obj
def scores_import(app: App, file: Path, dry_run: bool, by: str | None) -> None:
    """Import entries from an .xlsx sheet (单位, 项目, 分值, 日期, 说明, 依据, 处理); all rows or none."""
    from mailbridge.commands.review import _actor
    from mailbridge.commands.sheets import import_rows
    from mailbridge.score.entries import import_sheet
    from mailbridge.score.profile import load_profile

    profile = load_profile(app.config)
    result = import_rows(app, "scores", file, dry_run, lambda s: import_sheet(s, app.config, profile, file, _actor(by)))
    click.echo("dry run: nothing was changed" if dry_run else f"{len(result.lines)} entr(ies) recorded")


@scores_group.command("list")
@click.option("--unit", metavar="NAME", help="Only this unit's entries.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array, one object per entry.")
@click.pass_obj
def scores_list(app: App, unit: str | None, as_json: bool) -> None:
    """Every score entry, revoked ones included, oldest first."""
    from sqlalchemy import select

    from mailbridge.ledger.models import ScoreEntry
    from mailbridge.score.entries import entry_record, find_unit

    with app.db.session() as s:
        query = select(ScoreEntry).order_by(ScoreEntry.on, ScoreEntry.id)
        if unit:
            query = query.where(ScoreEntry.unit_id == find_unit(s, unit).id)
        rows = [entry_record(e) for e in s.scalars(query)]
    if as_json:
        emit_json(rows)
        return
    emit_table("score entries", ["id", "date", "unit", "kind", "item", "points", "evidence", "note"],
               [[r["id"], r["date"], r["unit"], r["kind"] + (" (revoked)" if r["revoked"] else ""), r["key"],
                 r["effect"] or ("" if r["points"] is None else f"{r['points']:g}"),
                 r["evidence"] or r["receipt_no"] or "", r["note"] or ""] for r in rows])


@scores_group.command("revoke")
@click.argument("entry_id", type=int)
@click.option("--note", help="Why it is taken back.")
@click.option("--by", help="Who takes it back (default: the login name).")
@click.pass_obj
def scores_revoke(app: App, entry_id: int, note: str | None, by: str | None) -> None:
    """Take back an entry recorded by mistake; it stays in the audit trail."""
    from mailbridge.commands.review import _actor
    from mailbridge.score.entries import revoke

    with app.db.session() as s:
        revoke(s, entry_id, _actor(by), "cli", note)
    click.echo(f"score entry {entry_id} revoked")
