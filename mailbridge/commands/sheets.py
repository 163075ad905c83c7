"""Importing a clerk's sheet (adoptions, score entries): every row recorded, or none."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

import click
from sqlalchemy.orm import Session

from mailbridge.app import App
from mailbridge.errors import ConfigError


class SheetResult(Protocol):
    rows: int
    lines: list[str]
    errors: list[str]


R = TypeVar("R", bound=SheetResult)


def import_rows(app: App, what: str, file: Path, dry_run: bool, read: Callable[[Session], R]) -> R:
    """Run `read` in one transaction, committed only when no row has an error and it is no dry
    run; print each row's line and error. A sheet with errors is a config error (exit 2)."""
    with app.db.sessions() as s:
        result = read(s)
        if result.errors or dry_run:
            s.rollback()
        else:
            s.commit()
    click.echo(f"{what}: {file.name}: {result.rows} row(s)")
    for line in result.lines:
        click.echo(f"  {line}")
    for error in result.errors:
        click.echo(f"  error  {error}", err=True)
    if result.errors:
        raise ConfigError(f"{len(result.errors)} row(s) have errors; nothing was imported. Fix them and import again.")
    return result
