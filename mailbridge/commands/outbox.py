"""Commands for outgoing mail: outbox list / flush / retry / cancel."""
from __future__ import annotations

import click
from sqlalchemy import select

from mailbridge.app import App
from mailbridge.errors import ConfigError, TransientError
from mailbridge.ledger.models import Outgoing
from mailbridge.ledger.vocab import OutboxStatus


def flush_outbox(app: App, now: bool = False) -> None:
    """Send what is due (`now`: all that waits) and say how it went; exit 3 when some could not go."""
    from mailbridge.notify.sender import Sender

    stats = Sender(app.config, app.db).flush(now)
    if stats.busy:
        click.echo("outbox: another process is sending; it will send what waits.")
        return
    if stats.sent or stats.retrying or stats.failed:
        click.echo(f"outbox: {stats.sent} sent, {stats.retrying} waiting to retry, {stats.failed} failed.")
    for error in stats.errors:
        click.echo(f"warning: {error}", err=True)
    if stats.retrying or stats.failed:
        raise TransientError(f"{stats.retrying + stats.failed} mail(s) not sent; see 'mailbridge outbox list'.")


@click.group("outbox")
def outbox_group() -> None:
    """Outgoing mail (receipts, digests, scorecards): what waits, send it now, resend."""


@outbox_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="A JSON array, one object per mail.")
@click.option("--status", type=click.Choice([v.value for v in OutboxStatus]), help="Only this status.")
@click.pass_obj
def outbox_list(app: App, as_json: bool, status: str | None) -> None:
    """Every outgoing mail and its state."""
    # Here, not at the top: `poll` and `run` import this module for flush_outbox, and the ledger
    # listings (rich tables, the streamed JSON) cost a poll ~0.3 s of start-up it never uses.
    from mailbridge.commands.ledger import emit_json, emit_table
    from mailbridge.notify.outbox import record

    with app.db.reading() as s:
        query = select(Outgoing).order_by(Outgoing.id)
        rows = list(s.scalars(query.where(Outgoing.status == status) if status else query))
    if as_json:
        emit_json([record(r) for r in rows])
        return
    emit_table(f"{len(rows)} outgoing mail(s)", ["id", "kind", "to", "subject", "status", "attempts", "error"],
               [[r.id, r.kind, ", ".join(r.recipients), r.subject, r.status, r.attempts, r.last_error] for r in rows])


@outbox_group.command("flush")
@click.pass_obj
def outbox_flush(app: App) -> None:
    """Send every mail that waits, now (failed ones need 'outbox retry')."""
    flush_outbox(app, now=True)


@outbox_group.command("retry")
@click.argument("mail_id", type=int)
@click.pass_obj
def outbox_retry(app: App, mail_id: int) -> None:
    """Send a failed mail again (a sent one too, if asked), now."""
    from mailbridge.notify.sender import retry

    row = retry(app.db, mail_id)
    if row is None:
        raise ConfigError(f"no outgoing mail with id {mail_id}; see 'mailbridge outbox list'.")
    click.echo(f"outbox {mail_id} ({row.kind} to {', '.join(row.recipients)}) is due now.")
    flush_outbox(app)


@outbox_group.command("cancel")
@click.argument("mail_id", type=int)
@click.pass_obj
def outbox_cancel(app: App, mail_id: int) -> None:
    """Give up a mail that has not been sent; 'outbox retry' sends it after all."""
    from mailbridge.notify.sender import cancel

    row = cancel(app.db, mail_id)
    if row is None:
        raise ConfigError(f"no outgoing mail with id {mail_id}; see 'mailbridge outbox list'.")
    click.echo(f"outbox {mail_id} ({row.kind} to {', '.join(row.recipients)}) cancelled; it will not be sent.")


@click.command("digest")
@click.option("--no-send", is_flag=True, help="Only queue the digests; the next flush sends them.")
@click.pass_obj
def digest_cmd(app: App, no_send: bool) -> None:
    """Mail each review group the submissions routed to it since its last digest."""
    from mailbridge.review.digest import enqueue_digests

    counts = enqueue_digests(app.db, app.config)
    if not counts:
        click.echo("digest: nothing new for any review group.")
    for group, count in counts.items():
        click.echo(f"digest: {count} submission(s) for {group}.")
    if counts and not no_send:
        flush_outbox(app)
