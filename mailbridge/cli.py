"""The `mailbridge` command: the only place errors become exit codes (0 ok, 2 config, 3 operation, 4 bug)."""
from __future__ import annotations

import importlib
import platform
import sys
import traceback
from pathlib import Path

import click

from mailbridge import __version__
from mailbridge import logs
from mailbridge.app import App
from mailbridge.errors import MailbridgeError
from mailbridge.memory import return_freed_memory


# Each command is imported only when it runs, and `--help` lists them from here without importing
# any (tests/test_cli.py checks each line against the command's own help): `mailbridge --help` and
# `check-config` need neither SQLAlchemy nor Alembic.
LAZY: dict[str, tuple[str, str]] = {
    "demo": ("admin:demo", 'The whole pipeline on bundled sample mail, offline (SQLite, a local Maildir, mail as .eml files).'),
    "check-config": ("admin:check_config", 'Validate the config without touching the network.'),
    "doctor": ("admin:doctor", 'Connect to the database, every mailbox and the SMTP server, and say what works.'),
    "db": ("admin:db_group", 'Database schema.'),
    "poll": ("ingest:poll_cmd", 'Fetch and process new mail (without --once: the daemon with polling jobs only).'),
    "import": ("ingest:import_cmd", 'Ingest .eml files, Maildir folders or mbox files through the same pipeline.'),
    "run": ("ingest:run_cmd", 'The daemon: polling, the outbox, digests and health alerts; stops cleanly on SIGTERM.'),
    "status": ("service:status_cmd", 'Health of the service: exit 0 when healthy, 3 when something needs an admin.'),
    "messages": ("ledger:messages_group", 'The ingestion ledger: every message ever seen and what became of it.'),
    "submissions": ("ledger:submissions_group", 'Submissions: one per article received.'),
    "quarantine": ("ledger:quarantine_group", 'Messages that could not be processed, and reprocessing them.'),
    "roster": ("roster:roster_group", 'Units, their information officers (信息员) and addresses.'),
    "collections": ("collections:collections_group", 'Deadline collections (登记表, 总结, 统计表): who has sent, who is late, who has not.'),
    "outbox": ("outbox:outbox_group", 'Outgoing mail (receipts, digests, scorecards): what waits, send it now, resend.'),
    "digest": ("outbox:digest_cmd", 'Mail each review group the submissions routed to it since its last digest.'),
    "review": ("review:review_cmd", 'What waits for a decision, by reviewer group (pending, and with two-stage review: approval).'),
    "adopt": ("review:adopt_cmd", 'Record adoption (采用) of a submission (id or receipt number) by one or more channels.'),
    "reject": ("review:reject_cmd", 'Reject a submission (不予采用), with an optional note to the unit.'),
    "first-review": ("review:first_review_cmd", "Pass a submission's first review (初审); it then waits for a leader (review.two_stage)."),
    "approve": ("review:approve_cmd", "A leader's approval after first review (review.two_stage); it can then be adopted."),
    "accept-body": ("review:accept_body_cmd", 'Count a submission waiting for its 超大附件 file (待补交) from its mail body instead.'),
    "adoptions": ("review:adoptions_group", "Adoptions (采用): list them, or import the clerk's .xlsx sheet."),
    "remind": ("scheduled:remind_cmd", 'Remind (催报) every unit below its quota this month; a unit at most once a day.'),
    "progress": ("scheduled:progress_cmd", 'Send each unit its weekly progress: this month so far against its quota; once per week.'),
    "scorecard": ("score:scorecard", 'Scores of every unit for a period, by the configured rule profile ([scoring] profile).'),
    "scores": ("score:scores_group", 'Score entries a clerk records: score items (加分/扣分), ratings and vetoes (一票否决).'),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(LAZY)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in LAZY:
            return None
        module, attr = LAZY[name][0].split(":")
        return getattr(importlib.import_module(f"mailbridge.commands.{module}"), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_, short) in LAZY.items()])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path), default=None,
              help="Config file (default: $MAILBRIDGE_CONFIG, then ./config.toml).")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(__version__, prog_name="mailbridge")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, verbose: int) -> None:
    """Keep the books of a 科协 submission mailbox, from the mail itself."""
    logs.setup(verbose)
    ctx.obj = App(config_path)


def main(argv: list[str] | None = None) -> None:
    return_freed_memory()
    try:
        cli.main(args=argv, prog_name="mailbridge", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:  # usage errors: bad option, missing argument
        exc.show()
        sys.exit(2)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except MailbridgeError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except Exception:  # noqa: BLE001 - a bug: say so, with what a report needs
        click.echo(traceback.format_exc(), err=True)
        click.echo(
            f"mailbridge {__version__} hit an internal error (Python {platform.python_version()}, "
            f"{platform.platform()}). Please report it with the text above.",
            err=True,
        )
        sys.exit(4)
    sys.exit(0)
