"""The database: engine, sessions, and the schema kept at the migrations' head."""
from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mailbridge.config import masked
from mailbridge.errors import ConfigError, TransientError
from mailbridge.ledger.archive import private_dir

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

T = TypeVar("T")

# The newest migration (mailbridge/migrations/versions); tests/test_migrations.py holds it to
# alembic's head. Every command checks the schema: at head, that is one query, without importing
# alembic and reading its scripts (a tenth of a second of each command's start).
SCHEMA_HEAD = "0011_indexes"


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
                and not parsed.database.startswith("file:"):
            _private_sqlite_file(Path(parsed.database))  # %-escapes in the URL decoded, as SQLite opens it
        # A server's connections go stale (a restart, an idle timeout): each is pinged when taken from
        # the pool. A SQLite connection is a file opened in this process, nothing to lose: no ping,
        # which was a `SELECT 1` for every session (several a mail).
        engine = create_engine(parsed, future=True, pool_pre_ping=parsed.get_backend_name() != "sqlite")
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
        event.listen(engine, "begin", _sqlite_begin)
    return engine


READ = "mailbridge_read"  # execution option of a read session's connections (Database.reading)


def _sqlite_begin(conn: Connection) -> None:
    # pysqlite starts transactions lazily and DEFERRED: a read that later writes can then fail
    # with "database is locked" against a second poller. A writer's BEGIN IMMEDIATE takes the write
    # lock up front, so busy_timeout queues writers instead. A read session must not: in WAL mode a
    # DEFERRED transaction that only reads takes no write lock at all, sees one snapshot, and never
    # blocks (nor waits for) the poller (sqlite.org/wal.html "Concurrency").
    conn.exec_driver_sql("BEGIN DEFERRED" if conn.get_execution_options().get(READ) else "BEGIN IMMEDIATE")


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


WAL_CHECKPOINT_PAGES = 10_000


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
    # WAL lets readers (messages list) run while a poller writes; busy_timeout rides out the
    # short write locks of a second process instead of failing with "database is locked".
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    # The commit that takes the WAL past this many pages copies them into the database and waits
    # for two fsyncs, in the poller's main thread. SQLite's 1,000 pages (4 MB) came every ~50 mails
    # of a back-fill; 10,000 (40 MB at most, the file is reused) makes them ten times rarer: the
    # 2,000-mail ingest bench 9-19% faster (README, "Ingest").
    cur.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
    cur.close()


def alembic_config(engine: Engine | None = None) -> AlembicConfig:
    """Alembic's config. The engine goes in as an attribute, never as the `sqlalchemy.url`
    option: that is a configparser value, where a '%' (a password's '@' written '%40') breaks
    interpolation and the error quotes the whole URL, password included."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(files("mailbridge.migrations")))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None  # the chain of migrations/versions has one head
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.execution_options(**{READ: True}).connect() as conn:  # every command asks: no write lock
        return _revision(conn)


def _revision(conn: Connection) -> str | None:
    """What alembic's MigrationContext.get_current_revision reads: the one row of alembic_version
    (none: no table, or an empty one)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


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
    from alembic import command

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
                before = _revision(conn)
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
    if before is not None:  # new indexes, a schema that may change the plans (an empty ledger has nothing to count)
        keep_statistics(engine)
    return before, head_revision()


def keep_statistics(engine: Engine) -> None:
    """Refresh the query planner's statistics (SQLite: ANALYZE, bounded by analysis_limit).

    Without them SQLite chooses among indexes by rules of thumb, and once picked the index on
    `outbox.kind` for the receipt cap, reading every receipt ever queued. The indexes fit the hot
    queries (tests/test_query_plans.py), so this is a second line; analysis_limit keeps it to a
    few hundred milliseconds on a gigabyte-sized ledger (sqlite.org/lang_analyze.html "Approximate
    ANALYZE"). Run after an upgrade and every few hours by the daemon; PostgreSQL's autovacuum
    does its own.

    In a transaction of its own, begun IMMEDIATE (`_sqlite_begin`), so it holds the write lock
    from its first step: a statement that reads a snapshot and only then asks for the lock (as
    `PRAGMA optimize` in autocommit did) fails at once with "database is locked" when a poller
    commits in between (SQLITE_BUSY_SNAPSHOT; busy_timeout cannot help a stale snapshot). Through
    SQLAlchemy, a lock that outlasts busy_timeout is its OperationalError, which the daemon logs
    and retries like any database outage.
    """
    if engine.dialect.name != "sqlite":
        return
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA analysis_limit=1000")
        conn.exec_driver_sql("ANALYZE")


def ensure_schema(engine: Engine) -> None:
    """Create an empty database at head; refuse one whose schema is behind (exit 2)."""
    current = _guard(lambda: current_revision(engine), engine)
    if current == SCHEMA_HEAD:
        return
    from alembic.script import ScriptDirectory

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
    except Exception:  # noqa: BLE001 - alembic raises for a revision it has never heard of
        known = False
    if not known:
        raise ConfigError(
            f"the database schema ({current}) is newer than this mailbridge ({head}); upgrade mailbridge."
        )
    raise ConfigError(
        f"the database schema ({current}) is behind this mailbridge ({head}); run 'mailbridge db upgrade'."
    )


def _guard(fn: Callable[[], T], engine: Engine) -> T:
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
        # Same pool, other BEGIN: the option reaches the "begin" event of each connection.
        self._readers = sessionmaker(self.engine.execution_options(**{READ: True}), expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back when it raises."""
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read transaction (one snapshot) for commands and jobs that only read: on SQLite it
        takes no write lock, so a long `scorecard --year` never holds up the poller. Rolled back at
        the end (its objects detached first, as loaded, like a write session's after commit); a
        write in it is a bug (on SQLite it may fail with "database is locked")."""
        with self._readers() as session:
            session.begin()
            try:
                yield session
            finally:
                session.expunge_all()  # a rollback would expire them
                session.rollback()

    def dispose(self) -> None:
        self.engine.dispose()
