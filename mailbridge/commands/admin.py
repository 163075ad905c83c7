"""Commands for the admin: check-config, doctor, db upgrade, and the offline demo."""
from __future__ import annotations

import os
import shutil
import tempfile
from importlib.resources import files
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mailbridge.app import App
from mailbridge.errors import MailbridgeError, TransientError

if TYPE_CHECKING:
    from mailbridge.config import MailboxConfig, SmtpConfig


@click.command("check-config")
@click.pass_obj
def check_config(app: App) -> None:
    """Validate the config without touching the network."""
    from mailbridge.render import check_templates
    from mailbridge.score.profile import load_profile

    config = app.config
    # A broken profile or template is a config error (exit 2) naming its file: checked before "valid".
    profile = load_profile(config)
    templates = check_templates(config, compile_all=False)
    click.echo(f"{config.source}: valid.")
    click.echo(f"  database: {config.database.safe_url}")
    click.echo(f"  storage:  {config.storage.dir}")
    for box in config.mailboxes:
        click.echo(f"  mailbox {box.name}: {box.username} at {box.host}:{box.effective_port} ({box.security}), "
                   f"folders {', '.join(box.folders)}, action {box.action}" + (", IDLE" if box.idle else ""))
        if box.missing():
            click.echo(f"  warning: mailbox {box.name}: {box.missing()}; polling it will fail until it is.")
        if box.loose_permissions():
            click.echo(f"  warning: mailbox {box.name}: {box.loose_permissions()}")
    click.echo(f"  smtp: {config.smtp.transport}" + (
        f" {config.smtp.host}:{config.smtp.effective_port} ({config.smtp.security})"
        if config.smtp.transport == "smtp" else f" to {config.smtp.dir}"))
    if config.smtp.transport == "smtp" and config.smtp.username and config.smtp.missing():
        click.echo(f"  warning: smtp: {config.smtp.missing()}; sending will fail until it is.")
    if config.smtp.transport == "smtp" and config.smtp.loose_permissions():
        click.echo(f"  warning: smtp: {config.smtp.loose_permissions()}")
    click.echo(f"  scoring: {profile.profile.name} ({config.scoring.profile}), {len(profile.channels)} channels, "
               f"{len(profile.rules)} rules")
    click.echo(f"  templates: {templates} checked" + (
        f", overrides from {config.templates.dir}" if config.templates.dir else ""))
    click.echo(f"  admin alerts: {', '.join(config.admin.addresses)}" if config.admin.addresses
               else "  admin alerts: none ([admin] addresses is empty)")
    if config.review.groups:
        click.echo(f"  review: {', '.join(f'{g.id} ({g.name})' for g in config.review.groups)}"
                   + ("; two-stage" if config.review.two_stage else ""))


@click.command("doctor")
@click.pass_obj
def doctor(app: App) -> None:
    """Connect to the database, every mailbox and the SMTP server, and say what works."""
    config = app.config
    problems = 0

    def report(what: str, check: Callable[[], str]) -> None:
        nonlocal problems
        try:
            detail = check()
            click.echo(f"ok    {what}: {detail}")
        except MailbridgeError as exc:
            problems += 1
            click.echo(f"FAIL  {what}: {exc}")
        except Exception as exc:  # noqa: BLE001 - doctor reports every check that fails, a bug too
            problems += 1
            click.echo(f"FAIL  {what}: {type(exc).__name__}: {exc}")

    report("database", lambda: f"{config.database.safe_url} at schema head" if app.db else "")
    report("storage", lambda: _check_storage(config.storage.dir))
    for box in config.mailboxes:
        report(f"mailbox {box.name}", partial(_check_mailbox, box))
    if config.smtp.transport == "smtp":
        report("smtp", lambda: _check_smtp(config.smtp))
    else:
        report("smtp", lambda: f"file transport, mail written to {_check_storage(config.smtp.dir)}")
    if problems:
        raise TransientError(f"{problems} check(s) failed; see above.")


def _check_storage(path: Path) -> str:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise TransientError(f"{path} is not writable ({exc.strerror}).") from None
    free = shutil.disk_usage(path).free // (1024 * 1024)
    return f"{path} writable, {free} MB free"


def _check_mailbox(box: MailboxConfig) -> str:
    from mailbridge.sources.imap import close, connect

    client = connect(box)
    try:
        found = []
        for folder in box.folders:
            info = client.select_folder(folder, readonly=True)
            found.append(f"{folder}: {info.get(b'EXISTS', '?')} messages")
        sent_id = "ID sent" if client.has_capability("ID") else "server has no ID"
        return f"login ok, {sent_id}; " + "; ".join(found)
    finally:
        close(client)


def _check_smtp(smtp_config: SmtpConfig) -> str:
    from mailbridge.notify.transport import SmtpTransport

    return SmtpTransport(smtp_config).check()


@click.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@click.pass_obj
def db_upgrade(app: App) -> None:
    """Upgrade the schema to head (SQLite and PostgreSQL)."""
    from mailbridge.ledger.db import Database, upgrade

    database = Database(app.config.database.url)
    before, after = upgrade(database.engine)
    database.dispose()
    click.echo(f"database schema: {before or 'empty'} -> {after}" if before != after else f"database schema at {after}.")


DEMO_CONFIG = """\
# Written by `mailbridge demo`: everything local, nothing sent.
[database]
url = "sqlite:///mailbridge.db"

[storage]
dir = "store"

[smtp]
transport = "file"
dir = "outbox"
from = "三门峡市科协信息宣传 <smxskx@163.com>"

[receipts]
max_age_days = 0     # the sample mail is old: answer it anyway
contact = "市科协调宣部 0398-2822345"

[review]
default_group = "dxb"
digest_max_age_days = 3650   # the sample mail is old: list it anyway

[[review.groups]]
id = "dxb"
name = "调宣部"
addresses = ["dxb@smxkx.example"]

[[review.groups]]
id = "kpb"
name = "科普部"
addresses = ["kpb@smxkx.example"]

[[review.routes]]
group = "kpb"
keywords = ["科普"]

[scorecards]
recipients = ["leader@smxkx.example"]   # the monthly scorecard and 通报, and collection reports

# A deadline collection: two units must each send their 全国科普日 report by 20 September.
[[collections]]
id = "kepuri-2026"
name = "全国科普日活动信息"
due = "2026-09-20"
subject_keywords = ["科普日"]
units = ["市科协科普部", "卢氏县科协"]
remind_days_before = [3]
counts_as_submission = true   # the report is also a news article

[scoring]
issuer = "三门峡市科学技术协会"
"""


@click.command("demo")
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=Path("mailbridge-demo"),
              show_default=True, help="Where the demo writes its database, archive and mail.")
@click.pass_context
def demo(ctx: click.Context, directory: Path) -> None:
    """The whole pipeline on bundled sample mail, offline (SQLite, a local Maildir, mail as .eml files)."""
    from mailbridge.app import App

    directory = directory.resolve()
    maildir = directory / "maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    samples = sorted((p for p in files("mailbridge.demo").joinpath("mail").iterdir() if p.name.endswith(".eml")),
                     key=lambda p: p.name)
    for sample in samples:
        target = maildir / "new" / f"{sample.name.removesuffix('.eml')}.demo:2,"
        if not target.exists():
            target.write_bytes(sample.read_bytes())
    config_path = directory / "config.toml"
    if not config_path.exists():
        config_path.write_text(DEMO_CONFIG, encoding="utf-8")
    click.echo(f"demo: {len(samples)} sample mails from units of 三门峡市科协 in {maildir}")
    app = App(config_path)
    ctx.obj = app
    from mailbridge.commands.ingest import import_cmd
    from mailbridge.commands.outbox import digest_cmd
    from mailbridge.commands.ledger import messages_list, submissions_list
    from mailbridge.commands.roster import roster_import

    roster = directory / "roster.csv"
    roster.write_bytes(files("mailbridge.demo").joinpath("roster.csv").read_bytes())
    ctx.invoke(roster_import, file=roster, dry_run=False, partial=False)
    ctx.invoke(import_cmd, paths=(maildir,), receipts=True)
    ctx.invoke(digest_cmd, no_send=False)
    from mailbridge.demo.reply import reviewer_reply

    reply = reviewer_reply(app.config, app.db)  # a reviewer answers its digest: two articles adopted
    if reply is not None:
        answered = maildir / "new" / "90-dxb-reply.demo:2,"
        if not answered.exists():
            answered.write_bytes(reply)
        ctx.invoke(import_cmd, paths=(answered,), receipts=True)
    ctx.invoke(messages_list, as_json=False, disposition=None, mailbox=None)
    ctx.invoke(submissions_list, month=None, unit=None, as_json=False)
    from mailbridge.commands.outbox import flush_outbox
    from mailbridge.demo.month import simulate

    month, scheduled = simulate(app.config, app.db)  # the month passes on a simulated clock
    flush_outbox(app)
    click.echo(f"demo: the month {month} passed on a simulated clock; scheduled mail queued: "
               + (", ".join(f"{kind} {n}" for kind, n in sorted(scheduled.items())) or "none (already sent)"))
    from mailbridge.commands.collections import collections_show

    ctx.invoke(collections_show, collection_id="kepuri-2026", as_json=False, xlsx=None)
    prefix = f"mailbridge -c {os.path.relpath(config_path)}"
    click.echo(f"""
Outputs:
  database   {directory / 'mailbridge.db'}
  archive    {directory / 'store'} (raw mail under raw/, attachments under files/)
  config     {config_path}
  roster     {roster} (信息员登记表, imported first)
  outbox     {directory / 'outbox'} (every mail as an .eml file instead of being sent: receipts,
             reviewer digests and the answer to a reviewer's reply, each Monday's progress
             (progress), 催报 (remind), the collection's reminder and closing report, and the
             monthly scorecard with its .xlsx and .docx attached (scorecard))
Try:
  {prefix} submissions list --json
  {prefix} submissions show 1
  {prefix} messages list
  {prefix} roster list
  {prefix} collections show kepuri-2026
  {prefix} scorecard --month {month or 'YYYY-MM'}""")

