"""Which database the suite runs on, and a fresh one per test.

`--db=postgresql` (or MAILBRIDGE_TEST_DB=postgresql) runs the ledger on the session's private
PostgreSQL server; the default is a SQLite file in the test's folder. Tests get their URL from
`database_url()`, never by writing `sqlite:///` themselves.
"""
from __future__ import annotations

import atexit
import os
from pathlib import Path
from typing import Any

ENV = "MAILBRIDGE_TEST_DB"
BACKENDS = ("sqlite", "postgresql")

_server: Any = None  # the session's Postgres, started on first use


def backend() -> str:
    name = os.environ.get(ENV, "sqlite").strip().lower() or "sqlite"
    name = {"postgres": "postgresql", "pg": "postgresql"}.get(name, name)
    if name not in BACKENDS:
        raise ValueError(f"{ENV}={name!r}: use one of {', '.join(BACKENDS)}")
    return name


def shared_postgres():  # type: ignore[no-untyped-def]
    """One PostgreSQL server per test session, started when a test first needs it."""
    global _server
    if _server is None:
        from .postgres import Postgres

        server = Postgres()
        server.start()
        atexit.register(server.close)  # also when the session is interrupted
        _server = server
    return _server


def stop_shared_postgres() -> None:
    global _server
    if _server is not None:
        _server.close()
        _server = None


def database_url(root: Path, name: str = "mb", kind: str | None = None) -> str:
    """An empty database for one test: a SQLite file under `root`, or a new PostgreSQL database."""
    if (kind or backend()) == "postgresql":
        return shared_postgres().create_database()
    return f"sqlite:///{root}/{name}.db"


def shifted(dialect: str, value: str, delta: str) -> str:
    """SQL for a timestamp column (or 'now') moved by `delta` ('-61 minutes'), on either database;
    `dialect` is a dialect's name or a database URL."""
    if dialect.split(":")[0].split("+")[0] == "postgresql":
        return f"({'now()' if value == 'now' else value} + interval '{delta}')"
    return f"datetime({repr(value) if value == 'now' else value}, '{delta}')"


def _json_as_text(dbapi_conn: Any, _record: Any) -> None:
    # psycopg decodes json columns; SQLite hands back the text. Tests compare text on both.
    from psycopg.types.string import TextLoader

    for oid in ("json", "jsonb"):
        dbapi_conn.adapters.register_loader(oid, TextLoader)


def rows(url: str, sql: str, *args: Any) -> list[tuple]:
    """Run one statement (`?` placeholders) outside mailbridge; its rows, JSON as text."""
    from sqlalchemy import create_engine, event

    engine = create_engine(url)
    if engine.dialect.name == "sqlite" and not Path(engine.url.database or "").exists():
        raise FileNotFoundError(engine.url.database)  # no ledger yet; creating it here would skew its mode
    try:
        if engine.dialect.name == "postgresql":
            event.listen(engine, "connect", _json_as_text)
            sql = sql.replace("%", "%%").replace("?", "%s")
        with engine.begin() as conn:
            result = conn.exec_driver_sql(sql, tuple(args))
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        engine.dispose()
