"""Commands that bring mail in: poll (IMAP), import (files), run (the daemon)."""
from __future__ import annotations

import logging
import signal
import sys
import threading
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import click

from mailbridge.commands.outbox import flush_outbox
from mailbridge.errors import ConfigError, MailbridgeError, TransientError

log = logging.getLogger(__name__)
PARSE_WORKER_FROM = 10  # messages; `import` of fewer parses them in this process


@contextmanager
def progress_bar(label: str, total: int | None) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on a terminal (long back-fills); silent when output is piped."""
    if not sys.stderr.isatty():
        yield lambda done, total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def summary(counts: Counter) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing new"


def poll_all(app, mailbox: str | None) -> list[MailbridgeError]:  # type: ignore[no-untyped-def]
    """One pass over the mailboxes; each failure is reported and the others carry on."""
    from mailbridge.sources.imap import ImapSource

    boxes = [app.config.mailbox(mailbox)] if mailbox else [b for b in app.config.mailboxes if b.enabled]
    if not boxes:
        raise ConfigError("no mailboxes to poll; add [[mailboxes]] to the config.")
    failures: list[MailbridgeError] = []
    for box in boxes:
        try:
            with progress_bar(f"poll {box.name}", None) as progress:
                stats = ImapSource(box, app.pipeline, progress).poll()
        except (TransientError, ConfigError) as exc:  # this mailbox only: the others carry on
            failures.append(exc)
            click.echo(f"error: {exc}", err=True)
            continue
        if stats.skipped:
            click.echo(f"{box.name}: skipped: {stats.skipped}.")
        else:
            click.echo(f"{box.name}: {stats.fetched} fetched, {stats.new} new ({summary(Counter(stats.dispositions))}).")
    return failures


@click.command("poll")
@click.option("--once", is_flag=True, help="One pass over the mailboxes, then exit.")
@click.option("--mailbox", metavar="NAME", help="Only this mailbox.")
@click.pass_obj
def poll_cmd(app, once: bool, mailbox: str | None) -> None:  # type: ignore[no-untyped-def]
    """Fetch and process new mail from the IMAP mailboxes."""
    if once:
        failures = poll_all(app, mailbox)
        flush_outbox(app)  # the receipts of this pass go out before we exit
        if failures:
            worst = ConfigError if all(isinstance(f, ConfigError) for f in failures) else TransientError
            raise worst(f"{len(failures)} mailbox(es) could not be polled; see above.")
        return
    stop = _stop_on_signals()
    while not stop.is_set():
        poll_all(app, mailbox)
        _flush_quietly(app)
        stop.wait(app.config.schedule.poll_interval_seconds)


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _flush_quietly(app) -> None:  # type: ignore[no-untyped-def]
    """The daemon's outbox job: a failure is logged and retried on the next run, never fatal."""
    try:
        flush_outbox(app)
    except MailbridgeError as exc:
        log.warning("outbox: %s", exc)


def _digest_quietly(app) -> None:  # type: ignore[no-untyped-def]
    from mailbridge.notify.digest import enqueue_digests

    try:
        log.info("digests queued: %s", enqueue_digests(app.db, app.config))
    except MailbridgeError as exc:
        log.warning("digest: %s", exc)
    _flush_quietly(app)


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--receipts", is_flag=True,
              help="Answer imported mail with receipts too (off by default: back-fills are old mail).")
@click.pass_obj
def import_cmd(app, paths: tuple[Path, ...], receipts: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Ingest .eml files, Maildir folders or mbox files through the same pipeline."""
    from mailbridge.pipeline import Origin
    from mailbridge.sources import local

    pipeline = app.pipeline
    pipeline.answer_imports = receipts
    pipeline.resume("import")
    total = sum(1 for _ in local.messages(list(paths), read=False))
    counts: Counter = Counter()
    seen = 0
    stream = ((raw, Origin("import", where), None) for where, raw in local.messages(list(paths)))
    # A second interpreter for the parse stage pays off over many messages, not over a few.
    parallel = total >= PARSE_WORKER_FROM
    with progress_bar("import", total) as progress:
        for done, outcome in enumerate(pipeline.ingest_many(stream, parallel=parallel), start=1):
            if outcome.new:
                counts[outcome.disposition] += 1
            else:
                seen += 1
            progress(done, total)
    click.echo(f"import: {total} message(s) read; new: {summary(counts)}; already in the ledger: {seen}.")
    if receipts:
        flush_outbox(app)


@click.command("run")
@click.pass_obj
def run_cmd(app) -> None:  # type: ignore[no-untyped-def]
    """The daemon: scheduled polling of every mailbox; stops cleanly on SIGTERM."""
    from apscheduler.schedulers.background import BackgroundScheduler

    config = app.config
    app.db  # noqa: B018 - open and check the database before the first job
    scheduler = BackgroundScheduler(timezone=config.ingest.timezone)
    for box in config.mailboxes:
        if box.enabled:
            scheduler.add_job(poll_all, "interval", args=[app, box.name], id=f"poll:{box.name}",
                              seconds=config.schedule.poll_interval_seconds, max_instances=1,
                              coalesce=True, next_run_time=_now(config))
    scheduler.add_job(_flush_quietly, "interval", args=[app], id="outbox", max_instances=1, coalesce=True,
                      seconds=config.schedule.outbox_interval_seconds, next_run_time=_now(config))
    for at in config.schedule.digest_times:
        hour, minute = at.split(":")
        scheduler.add_job(_digest_quietly, "cron", args=[app], id=f"digest:{at}", hour=int(hour),
                          minute=int(minute), max_instances=1, coalesce=True)
    stop = _stop_on_signals()
    scheduler.start()
    log.warning("mailbridge running: %d mailbox(es), polling every %ss",
                sum(1 for box in config.mailboxes if box.enabled), config.schedule.poll_interval_seconds)
    stop.wait()
    scheduler.shutdown(wait=True)  # the job in progress finishes its message, then we exit


def _now(config):  # type: ignore[no-untyped-def]
    from datetime import datetime

    return datetime.now(config.ingest.zone)

