"""The object every command is handed (`click.pass_obj`): the config, the database and the
pipeline, each built on first use, so that commands that need no config never read one and
`--help` imports neither pydantic nor SQLAlchemy."""
from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailbridge.config import Config
    from mailbridge.ledger.db import Database
    from mailbridge.pipeline import Pipeline


class App:
    def __init__(self, config_path: Path | None) -> None:
        self.config_path = config_path

    @cached_property
    def config(self) -> Config:
        from mailbridge import config as config_mod

        return config_mod.load(self.config_path)

    @cached_property
    def db(self) -> Database:
        from mailbridge.ledger.db import Database, ensure_schema

        database = Database(self.config.database.url)
        ensure_schema(database.engine)
        return database

    @cached_property
    def pipeline(self) -> Pipeline:
        from mailbridge.pipeline import Pipeline

        return Pipeline(self.config, self.db)
