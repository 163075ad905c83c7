"""Commands that bring mail in: poll (IMAP), import (files), run (the daemon)."""
from __future__ import annotations

import logging
import sys
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from collections.abc import Callable, Iterator

import click

from mailbridge.app import App
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


def poll_all(app: App, mailbox: str | None) -> list[MailbridgeError]:
    """One pass over the mailboxes; each failure is reported (and shown by `status`), the others carry on."""
    from mailbridge.service import health
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
            health.record_failure(app.db, box.name, str(exc))
            click.echo(f"error: {exc}", err=True)
            continue
        if not stats.skipped:
            health.record_success(app.db, box.name, stats.new)
        if stats.skipped:
            click.echo(f"{box.name}: skipped: {stats.skipped}.")
        else:
            click.echo(f"{box.name}: {stats.fetched} fetched, {stats.new} new ({summary(Counter(stats.dispositions))}).")
    return failures


@click.command("poll")
@click.option("--once", is_flag=True, help="One pass over the mailboxes, then exit.")
@click.option("--mailbox", metavar="NAME", help="Only this mailbox (with --once).")
@click.pass_obj
def poll_cmd(app: App, once: bool, mailbox: str | None) -> None:
    """Fetch and process new mail (without --once: the daemon with polling jobs only)."""
    if not once:
        if mailbox:
            raise click.UsageError("--mailbox needs --once; the polling daemon polls every enabled mailbox.")
        from mailbridge.service.runner import Runner

        Runner(app.config_path, polling_only=True).run()
        return
    failures = poll_all(app, mailbox)
    flush_outbox(app)  # the receipts of this pass go out before we exit
    if failures:
        worst = ConfigError if all(isinstance(f, ConfigError) for f in failures) else TransientError
        raise worst(f"{len(failures)} mailbox(es) could not be polled; see above.")


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--receipts", is_flag=True,
              help="Answer imported mail with receipts too (off by default: back-fills are old mail).")
@click.pass_obj
def import_cmd(app: App, paths: tuple[Path, ...], receipts: bool = False) -> None:
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
def run_cmd(app: App) -> None:
    """The daemon: polling, the outbox, digests and health alerts; stops cleanly on SIGTERM."""
    from mailbridge.service.runner import Runner

    Runner(app.config_path).run()
