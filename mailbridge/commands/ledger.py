"""Commands that read the books: messages, submissions, quarantine."""
from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from sqlalchemy import ColumnElement, Row, select
from sqlalchemy.orm import selectinload

from mailbridge.app import App
from mailbridge.errors import ConfigError
from mailbridge.ledger import listing
from mailbridge.ledger.models import Message, Submission, Unit
from mailbridge.ledger.records import iso, submission_record
from mailbridge.ledger.vocab import Disposition, SubmissionStatus

# Bidirectional overrides and isolates reorder what the admin reads (CVE-2021-42574 "Trojan Source").
_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def for_terminal(value: object, multiline: bool = False) -> str:
    """A sender's text made harmless for the admin's terminal: escape sequences (ESC, CSI, OSC…),
    other C0/C1 controls, line separators and bidi controls are shown escaped (`\\x1b`), never
    executed. `multiline` keeps newlines and tabs. JSON output stays exact; this is for text only."""
    text = "" if value is None else str(value)
    keep = "\n\t" if multiline else ""
    return "".join(
        c if c in keep or not (unicodedata.category(c) in ("Cc", "Zl", "Zp") or c in _BIDI)
        else (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
        for c in text)


def emit_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


_SCALAR = json.JSONEncoder(ensure_ascii=False).encode  # the C encoder: json's indent= path is pure Python


def _indented(value: object, pad: str) -> str:
    """json.dumps(value, ensure_ascii=False, indent=2) at depth `pad`, for records of str-keyed
    dicts, lists and scalars: the same bytes, each scalar encoded in C (about 4x faster)."""
    if isinstance(value, dict):
        if not value:
            return "{}"
        inner = pad + "  "
        return "{\n" + ",\n".join(f"{inner}{_SCALAR(key)}: {_indented(item, inner)}" for key, item in value.items()) \
            + "\n" + pad + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        inner = pad + "  "
        return "[\n" + ",\n".join(inner + _indented(item, inner) for item in value) + "\n" + pad + "]"
    return _SCALAR(value)


def emit_json_stream(records: Iterable[dict]) -> None:
    """`emit_json(list(records))`, byte for byte, written as the records come (memory: one record)."""
    first = True
    for record in records:
        click.echo(("[\n  " if first else ",\n  ") + _indented(record, "  "), nl=False)
        first = False
    click.echo("[]" if first else "\n]")


def emit_table(title: str, columns: list[str], rows: list[list[object]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(for_terminal(v) for v in row))
    # Piped output (a log, a script) gets a wide table instead of rich's default 80 columns.
    Console(width=None if sys.stdout.isatty() else 200).print(table)


def _list_messages(app: App, where: list[ColumnElement[bool]], title: str, columns: list[str],
                   cells: Callable[[Row, ZoneInfo], list[object]], as_json: bool) -> None:
    """Stream the messages matching `where` as JSON records, or a table of `cells(row, zone)`."""
    zone = app.config.ingest.zone
    with app.db.reading() as s:
        if as_json:
            emit_json_stream(listing.message_records(s, where, app.config))
            return
        rows = [cells(r, zone) for r in listing.message_rows(s, where)]
    emit_table(f"{len(rows)} {title}", columns, rows)


@click.group("messages")
def messages_group() -> None:
    """The ingestion ledger: every message ever seen and what became of it."""


@messages_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="A JSON array (see CONTRACT.md).")
@click.option("--disposition", help="Only messages with this disposition.")
@click.option("--mailbox", help="Only this mailbox ('import' for imported files).")
@click.pass_obj
def messages_list(app: App, as_json: bool, disposition: str | None, mailbox: str | None) -> None:
    """List every message in the ledger."""
    where = []
    if disposition:
        where.append(Message.disposition == disposition)
    if mailbox:
        where.append(Message.mailbox == mailbox)
    _list_messages(app, where, "message(s)", ["id", "received", "mailbox", "sender", "subject", "disposition", "reason"],
                   lambda r, zone: [r.id, iso(r.received_at, zone)[:16], r.mailbox, r.sender, (r.subject or "")[:40],
                                    r.disposition, (r.reason or "")[:50]], as_json)


@click.group("submissions")
def submissions_group() -> None:
    """Submissions: one per article received."""


def _submissions(app: App, where: list[ColumnElement[bool]]) -> list[Submission]:
    """Full ORM objects (text, decisions): for `submissions show`, one row."""
    with app.db.reading() as s:
        query = (select(Submission).options(
            selectinload(Submission.message).selectinload(Message.attachments), selectinload(Submission.document),
            selectinload(Submission.unit), selectinload(Submission.suggested_unit),
            selectinload(Submission.adoptions), selectinload(Submission.decisions))
            .order_by(Submission.id))
        return list(s.scalars(query.where(*where)))


@submissions_group.command("list")
@click.option("--month", metavar="YYYY-MM", help="Only submissions that arrived in this month.")
@click.option("--unit", metavar="NAME", help="Only this unit's submissions.")
@click.option("--json", "as_json", is_flag=True, help="A JSON array (see CONTRACT.md).")
@click.option("--xlsx", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the clerk's ledger (台账) as an .xlsx; `adoptions import` reads it back.")
@click.pass_obj
def submissions_list(app: App, month: str | None, unit: str | None, as_json: bool,
                     xlsx: Path | None) -> None:
    """List submissions."""
    if as_json and xlsx:
        raise ConfigError("choose one output: --json or --xlsx FILE.")
    where = []
    if month:
        if len(month) != 7 or month[4] != "-" or not (month[:4] + month[5:]).isdigit():
            raise ConfigError(f"--month {month!r} is not YYYY-MM, e.g. 2024-09.")
        where.append(Submission.month == month)
    if unit:
        where.append(Submission.unit.has(Unit.name == unit))
    zone = app.config.ingest.zone
    with app.db.reading() as s:
        if as_json:
            emit_json_stream(listing.submission_records(s, where, app.config))
            return
        if xlsx:
            _write_ledger(app, listing.submission_rows(s, where), xlsx, month)
            return
        rows = [[r.id, r.receipt_no, iso(r.received_at, zone)[:16], r.sender, r.unit or "", r.title[:40], r.body_chars,
                 ",".join(r.flags)] for r, _, _ in listing.submission_rows(s, where)]
    emit_table(f"{len(rows)} submission(s)", ["id", "receipt", "received", "sender", "unit", "title", "chars", "flags"],
               rows)


# The clerk's ledger (台账). The adoption columns come last and are named as review/sheet.py reads
# them: the clerk fills in 采用渠道 (names or aliases, separated by 、 or commas) and 采用日期.
LEDGER_HEADERS = ["回执编号", "单位", "标题", "字数", "类别", "收稿时间", "发件人", "备注", "采用渠道", "采用日期"]


def _write_ledger(app: App, subs: Iterable[tuple[Row, list[Row], list[Row]]], path: Path,
                  month: str | None) -> None:
    from mailbridge.ledger.xlsx import write_sheet
    from mailbridge.score.profile import load_profile

    names = {c.id: c.name for c in load_profile(app.config).channels}
    zone = app.config.ingest.zone
    rows = []
    for sub, _, adopted in subs:
        adoptions = sorted(adopted, key=lambda a: a.adopted_on)  # stable: recorded order within a day
        notes = {SubmissionStatus.SUPERSEDED: "已被新版本替代", SubmissionStatus.AWAITING_FILE: "待补交"}
        note = notes.get(SubmissionStatus(sub.status)) or ("修改稿" if sub.version_of else "")
        rows.append([sub.receipt_no, sub.unit or "", sub.title, sub.body_chars,
                     app.config.category_name(sub.category) or "",
                     sub.received_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"), sub.sender or "",
                     note, "、".join(names.get(a.channel, a.channel) for a in adoptions),
                     adoptions[-1].adopted_on.isoformat() if adoptions else ""])
    count = write_sheet(path, f"{month or '全部'}台账", LEDGER_HEADERS, rows,
                        widths=(18, 24, 50, 8, 14, 17, 26, 14, 24, 12))
    click.echo(f"{count} submission(s) written to {path}")


@submissions_group.command("show")
@click.argument("submission_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def submissions_show(app: App, submission_id: str, as_json: bool) -> None:
    """One submission with its text and attachments (ID or receipt number)."""
    key = Submission.id == int(submission_id) if submission_id.isdigit() else Submission.receipt_no == submission_id
    subs = _submissions(app, [key])
    if not subs:
        raise ConfigError(f"no submission {submission_id}; see 'mailbridge submissions list'.")
    record = submission_record(subs[0], app.config, full=True)
    if as_json:
        emit_json(record)
        return
    def line(label: str, text: str) -> None:
        click.echo(f"{label:>12}: {for_terminal(text)}")

    for field in ("receipt_no", "received_at", "sender", "sender_name", "subject", "title", "unit", "suggested_unit",
                  "category_name", "status", "version_of", "body_chars", "flags", "problem"):
        line(field, record[field])
    for a in record["attachments"]:
        line("attachment", f"{a['filename']} ({a['content_type']}, {a['size']} bytes)")
    for link in record["links"]:
        line("large file", f"{link['filename']} {link['url']} expires {link['expires'] or '?'}")
    line("review", f"{record['review_status']}" + (f" ({record['review_group']})" if record["review_group"] else ""))
    for d in record["decisions"]:
        what = " ".join(x for x in (d["action"], d["channel"], d["date"]) if x)
        line("decision", f"{d['at'][:16]} {what} by {d['actor']} via {d['via']}" + (f": {d['note']}" if d["note"] else ""))
    click.echo("")
    click.echo(for_terminal(record["text"], multiline=True))


@submissions_group.command("set-category")
@click.argument("submission_id")
@click.argument("category")
@click.pass_obj
def submissions_set_category(app: App, submission_id: str, category: str) -> None:
    """A reviewer's decision on the category (id or Chinese name, e.g. research or 工作研究/调研)."""
    names = app.config.category_names()
    wanted = next((cid for cid, name in names.items() if category in (cid, name)), None)
    if wanted is None:
        raise ConfigError(f"unknown category {category!r}; use one of: "
                          + ", ".join(f"{cid} ({name})" for cid, name in names.items()) + ".")
    key = Submission.id == int(submission_id) if submission_id.isdigit() else Submission.receipt_no == submission_id
    with app.db.session() as s:
        sub = s.scalar(select(Submission).where(key))
        if sub is None:
            raise ConfigError(f"no submission {submission_id}; see 'mailbridge submissions list'.")
        before, sub.category = sub.category, wanted
    click.echo(f"submission {submission_id}: category {before} -> {wanted} ({names[wanted]})")


@click.group("quarantine")
def quarantine_group() -> None:
    """Messages that could not be processed, and reprocessing them."""


@quarantine_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def quarantine_list(app: App, as_json: bool) -> None:
    """List quarantined messages with the reason."""
    _list_messages(app, [Message.disposition == Disposition.QUARANTINED], "quarantined message(s)",
                   ["id", "received", "mailbox", "sender", "reason"],
                   lambda r, zone: [r.id, iso(r.received_at, zone)[:16], r.mailbox, r.sender, r.reason], as_json)


@quarantine_group.command("retry")
@click.argument("message_ids", nargs=-1, required=True, type=int)
@click.pass_obj
def quarantine_retry(app: App, message_ids: tuple[int, ...]) -> None:
    """Reprocess quarantined messages from their archived bytes (after a fix)."""
    for message_id in message_ids:
        try:
            result = app.pipeline.retry(message_id)
        except LookupError:
            raise ConfigError(f"no message {message_id}; see 'mailbridge quarantine list'.") from None
        click.echo(f"message {message_id}: {result}")

