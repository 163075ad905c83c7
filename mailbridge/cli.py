"""The `mailbridge` command: the only place errors become exit codes (0 ok, 2 config, 3 operation, 4 bug)."""
from __future__ import annotations

import importlib
import logging
import platform
import sys
import traceback
from functools import cached_property
from pathlib import Path

import click

from mailbridge import __version__
from mailbridge import config as config_mod
from mailbridge.errors import MailbridgeError
from mailbridge.memory import return_freed_memory


class App:
    """What a command needs, built on first use: commands that need no config never read one."""

    def __init__(self, config_path: Path | None) -> None:
        self.config_path = config_path

    @cached_property
    def config(self) -> config_mod.Config:
        return config_mod.load(self.config_path)

    @cached_property
    def db(self):  # type: ignore[no-untyped-def]
        from mailbridge.ledger.db import Database, ensure_schema

        database = Database(self.config.database.url)
        ensure_schema(database.engine)
        return database

    @cached_property
    def pipeline(self):  # type: ignore[no-untyped-def]
        from mailbridge.pipeline import Pipeline

        return Pipeline(self.config, self.db)


# Each command is imported only when it runs: `mailbridge check-config` need not load SQLAlchemy.
LAZY = {
    "demo": "admin:demo",
    "check-config": "admin:check_config",
    "doctor": "admin:doctor",
    "db": "admin:db_group",
    "poll": "ingest:poll_cmd",
    "import": "ingest:import_cmd",
    "run": "ingest:run_cmd",
    "messages": "ledger:messages_group",
    "submissions": "ledger:submissions_group",
    "quarantine": "ledger:quarantine_group",
    "roster": "roster:roster_group",
    "outbox": "outbox:outbox_group",
    "digest": "outbox:digest_cmd",
    "review": "review:review_cmd",
    "adopt": "review:adopt_cmd",
    "reject": "review:reject_cmd",
    "first-review": "review:first_review_cmd",
    "approve": "review:approve_cmd",
    "adoptions": "review:adoptions_group",
    "scorecard": "score:scorecard",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(LAZY)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in LAZY:
            return None
        module, attr = LAZY[name].split(":")
        return getattr(importlib.import_module(f"mailbridge.commands.{module}"), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path), default=None,
              help="Config file (default: $MAILBRIDGE_CONFIG, then ./config.toml).")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(__version__, prog_name="mailbridge")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, verbose: int) -> None:
    """Keep the books of a 科协 submission mailbox, from the mail itself."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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
    except Exception:  # a bug: say so, with what a report needs
        click.echo(traceback.format_exc(), err=True)
        click.echo(
            f"mailbridge {__version__} hit an internal error (Python {platform.python_version()}, "
            f"{platform.platform()}). Please report it with the text above.",
            err=True,
        )
        sys.exit(4)
    sys.exit(0)
