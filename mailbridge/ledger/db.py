"""The database: engine, sessions, and the schema kept at the migrations' head."""
from __future__ import annotations

import os
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mailbridge.config import masked
from mailbridge.errors import ConfigError, TransientError
from mailbridge.ledger.archive import private_dir


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
                and not parsed.database.startswith("file:"):
            _private_sqlite_file(Path(parsed.database))  # %-escapes in the URL decoded, as SQLite opens it
        engine = create_engine(parsed, future=True, pool_pre_ping=True)
    except (ArgumentError, ValueError, TypeError):  # ValueError: e.g. a port that is not a number
        raise ConfigError(f"database.url {masked(url)} is not a valid SQLAlchemy URL; "
                          "check its form, e.g. postgresql+psycopg://user:password@host/dbname "
                          "(a password with @ or % written as %40 or %25).") from None
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"database.url needs the Python module {exc.name!r}; for PostgreSQL install "
            "'mailbridge[postgres]'."
        ) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite starts transactions lazily and DEFERRED: a read that later writes can then fail
        # with "database is locked" against a second poller. BEGIN IMMEDIATE takes the write lock
        # up front, so busy_timeout queues writers instead.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    return engine


def _private_sqlite_file(path: Path) -> None:
    """Create the ledger file 0600 (and its folder 0700) before SQLite does under the umask; SQLite
    gives the -wal and -shm files the database file's mode."""
    private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise ConfigError(f"cannot create the database file {path} ({exc.strerror}); "
                          "fix database.url or the folder's permissions.") from None


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    dbapi_conn.isolation_level = None  # type: ignore[attr-defined]  # we issue BEGIN ourselves
    # WAL lets readers (messages list) run while a poller writes; busy_timeout rides out the
    # short write locks of a second process instead of failing with "database is locked".
    cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def alembic_config(engine: Engine | None = None) -> AlembicConfig:
    """Alembic's config. The engine goes in as an attribute, never as the `sqlalchemy.url`
    option: that is a configparser value, where a '%' (a password's '@' written '%40') breaks
    interpolation and the error quotes the whole URL, password included."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(files("mailbridge.migrations")))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()  # type: ignore[return-value]


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


# One key for "the schema is being changed" in PostgreSQL's advisory-lock space (any fixed bigint;
# this one is b"mbschema" read as a number, so it does not collide with the run locks').
SCHEMA_LOCK_KEY = int.from_bytes(b"mbschema", "big") >> 1


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to head; returns (before, after)."""
    return _upgrade_locked(engine, empty_only=False)


def _upgrade_locked(engine: Engine, empty_only: bool) -> tuple[str | None, str]:
    """Upgrade under a database-wide lock, re-reading the revision once it is held.

    Two upgraders started together (two `db upgrade` in two units' ExecStartPre, two pollers on an
    empty database) would otherwise both create alembic_version and the first tables; the loser
    exits with a UniqueViolation. On PostgreSQL the lock is a transaction-level advisory lock
    (released by the COMMIT that publishes the new schema; DDL is transactional there). On SQLite
    the transaction's BEGIN IMMEDIATE (see make_engine) takes the file's write lock up front, which
    serializes upgraders the same way.
    """
    _guard(lambda: current_revision(engine), engine)  # a clear error when the server is down
    cfg = alembic_config(engine)
    with engine.connect() as conn:
        # SQLite batch migrations rebuild a table (copy, DROP, rename); with foreign keys enforced
        # the DROP fails once other tables' rows point at it. SQLite's own recipe (lang_altertable
        # "12 steps") turns enforcement off around the change and checks the keys before commit;
        # the pragma is ignored inside a transaction, so it goes to the driver before BEGIN.
        raw = conn.connection.dbapi_connection if engine.dialect.name == "sqlite" else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                if engine.dialect.name == "postgresql":
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK_KEY})")
                before = MigrationContext.configure(conn).get_current_revision()
                if before is None and empty_only and set(inspect(conn).get_table_names()) - {"alembic_version"}:
                    raise ConfigError(
                        "the database has tables but no mailbridge schema version; point database.url at "
                        "an empty database or a mailbridge one."
                    )
                if before != head_revision():
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all() if raw is not None else []
                if broken:
                    raise RuntimeError(f"migration left {len(broken)} broken foreign key(s), e.g. {broken[0]}")
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")
    return before, head_revision()


def ensure_schema(engine: Engine) -> None:
    """Create an empty database at head; refuse one whose schema is behind (exit 2)."""
    current = _guard(lambda: current_revision(engine), engine)
    head = head_revision()
    if current == head:
        return
    if current is None:
        # Checked again under the schema lock: another process may be creating it right now.
        _guard(lambda: _upgrade_locked(engine, empty_only=True), engine)
        return
    script = ScriptDirectory.from_config(alembic_config())
    try:
        known = script.get_revision(current) is not None
    except Exception:  # alembic raises for a revision it has never heard of
        known = False
    if not known:
        raise ConfigError(
            f"the database schema ({current}) is newer than this mailbridge ({head}); upgrade mailbridge."
        )
    raise ConfigError(
        f"the database schema ({current}) is behind this mailbridge ({head}); run 'mailbridge db upgrade'."
    )


def _guard(fn, engine: Engine):  # type: ignore[no-untyped-def]
    try:
        return fn()
    except OperationalError as exc:
        raise TransientError(
            f"cannot open the database {masked(engine.url)}: "
            f"{exc.orig}; check database.url and that the server is running."
        ) from None


class Database:
    """An engine plus a session factory; one per process."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back when it raises."""
        with self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
