"""Pytest fixtures: a real Dovecot IMAP server, fresh accounts on it, and a NetEase-like proxy."""
from __future__ import annotations

import datetime as dt
import inspect
import itertools
import os
import secrets
import types
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn
from collections.abc import Iterator, Sequence

import pytest
from imapclient import IMAPClient

from . import database
from .dovecot import Dovecot
from .postgres import Postgres
from .unsafe_proxy import UnsafeLoginProxy

_user_numbers = itertools.count(1)


def missing(reason: str, on_ci: str) -> NoReturn:
    """A test's server or data is missing: skip here, but fail on CI, where a skip would hide it."""
    if os.environ.get("CI"):
        pytest.fail(on_ci, pytrace=False)
    pytest.skip(reason)


def require_dovecot() -> None:
    if not Dovecot.available():
        reason = "dovecot is not installed (apt-get install dovecot-imapd)"
        missing(reason, f"{reason}; CI must run the IMAP tests")


def require_postgres() -> None:
    if not Postgres.available():
        reason = "the PostgreSQL server is not installed (apt-get install postgresql)"
        missing(reason, f"{reason}; CI must run the PostgreSQL tests")


# --- which database: `--db=sqlite|postgresql` -----------------------------------------------------
# A test touches the ledger when it reaches one of these names, directly or through the tests'
# own helpers, classes and fixtures: those run again on PostgreSQL; the rest (parsers, config,
# servers) run once.
_LEDGER_NAMES = {"Mailbridge", "Books", "Database", "database_url", "ensure_schema", "db_url", "postgres"}
_TESTS = Path(__file__).resolve().parents[1]


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names) | set(code.co_varnames)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _touches_ledger(obj: object, seen: set[int]) -> bool:
    """`obj` (a function or class of the tests) reaches a ledger name, following the tests' own code."""
    if id(obj) in seen:
        return False
    seen.add(id(obj))
    obj = inspect.unwrap(getattr(obj, "__wrapped__", obj)) if callable(obj) else obj
    if isinstance(obj, type):
        return any(_touches_ledger(v, seen) for v in vars(obj).values() if inspect.isfunction(v))
    code = getattr(obj, "__code__", None)
    if code is None:
        return False
    names = _code_names(code)
    if names & _LEDGER_NAMES:
        return True
    scope = getattr(obj, "__globals__", {})
    for name in names:
        value = scope.get(name)
        source = getattr(inspect.getmodule(value), "__file__", None) if value is not None else None
        if source and Path(source).resolve().is_relative_to(_TESTS) and (
                inspect.isfunction(value) or inspect.isclass(value)) and _touches_ledger(value, seen):
            return True
    return False


def uses_ledger(item: pytest.Item) -> bool:
    if item.get_closest_marker("db"):
        return True
    seen: set[int] = set()
    if _touches_ledger(getattr(item, "function", None), seen):
        return True
    defs = getattr(item, "_fixtureinfo", None)
    for name in getattr(item, "fixturenames", ()):
        if name in _LEDGER_NAMES:
            return True
        for fixturedef in (defs.name2fixturedefs.get(name, ()) if defs else ()):
            func = fixturedef.func
            source = getattr(inspect.getmodule(func), "__file__", None)
            if source and Path(source).resolve().is_relative_to(_TESTS) and \
                    Path(source).resolve() != Path(__file__).resolve() and _touches_ledger(func, seen):
                return True
    return False


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", choices=database.BACKENDS, default=None,
                     help=f"run the ledger tests on this database (default: ${database.ENV} or sqlite); "
                          "with postgresql only the tests that touch the ledger are collected")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--db"):
        os.environ[database.ENV] = config.getoption("--db")
    config.addinivalue_line("markers", "db: the test touches the ledger (run on every database)")
    config.addinivalue_line("markers", "sqlite_only: reads SQLite itself (not collected with --db=postgresql)")
    config.addinivalue_line("markers", "once: picks its databases itself (not collected again with --db=postgresql)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if database.backend() != "postgresql":
        return
    if not Postgres.available():
        raise pytest.UsageError("--db=postgresql needs the PostgreSQL server binaries (apt-get install postgresql)")
    keep = [i for i in items if uses_ledger(i) and not (i.get_closest_marker("sqlite_only") or i.get_closest_marker("once"))]
    kept = set(keep)
    dropped = [i for i in items if i not in kept]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = keep


@pytest.fixture(autouse=True)
def _close_databases(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every Database a test opens in-process is closed when the test ends. A leaked SQLite
    engine goes unnoticed; a leaked PostgreSQL one holds server connections and, collected later,
    raises psycopg's ResourceWarning inside whatever test runs then."""
    from sqlalchemy.orm import close_all_sessions

    from mailbridge.ledger import db as ledger_db

    opened: list = []  # strong references: a Database collected before teardown would leak its pool
    init = ledger_db.Database.__init__

    def tracked(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        init(self, *args, **kwargs)
        opened.append(self)

    monkeypatch.setattr(ledger_db.Database, "__init__", tracked)
    yield
    close_all_sessions()
    for opened_db in opened:
        opened_db.dispose()


@pytest.fixture(scope="session", autouse=True)
def _stop_shared_postgres() -> Iterator[None]:
    yield
    database.stop_shared_postgres()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """An empty database for this test on the selected backend."""
    return database.database_url(tmp_path)


@pytest.fixture
def postgres() -> Postgres:
    """The session's PostgreSQL server, whichever backend the run selected (for PostgreSQL-only tests)."""
    require_postgres()
    return database.shared_postgres()


@pytest.fixture
def private_postgres() -> Iterator[Postgres]:
    """A PostgreSQL server of this test's own, free to be restarted or stopped."""
    require_postgres()
    with Postgres() as server:
        yield server


SHARED = Path(__file__).resolve().parents[3] / "shared"  # beside the repository, in the workplace and on CI


def require_shared(path: Path) -> Path:
    """A folder of ../shared (the corpus), or `missing`."""
    if not path.is_dir():
        missing(f"{path} is missing (shared/ sits beside the repository in the workplace and on CI)",
                f"{path} is missing: CI must run the shared corpus")
    return path


@dataclass
class ImapAccount:
    """A fresh user on the shared Dovecot, with helpers that act like another mail client."""

    server: Dovecot
    user: str
    password: str

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    def connect(self) -> IMAPClient:
        """A logged-in IMAPClient that has sent ID; the caller must logout()."""
        return self.server.connect(self.user)

    def append(self, raw: bytes, folder: str = "INBOX", flags: Sequence[str | bytes] = (),
               internaldate: dt.datetime | None = None) -> int:
        """APPEND a message (use CRLF line ends) and return its UID."""
        return self.server.append(self.user, folder, raw, flags=flags, internaldate=internaldate)

    def create_folder(self, name: str) -> None:
        self.server.create_folder(self.user, name)

    def folders(self) -> list[str]:
        return self.server.list_folders(self.user)

    def uids(self, folder: str = "INBOX") -> list[int]:
        return self.server.folder_uids(self.user, folder)

    def flags(self, folder: str = "INBOX") -> dict[int, tuple[bytes, ...]]:
        return self.server.folder_flags(self.user, folder)

    def fetch_raw(self, uid: int, folder: str = "INBOX") -> bytes:
        return self.server.fetch_raw(self.user, folder, uid)

    def uidvalidity(self, folder: str = "INBOX") -> int:
        return self.server.uidvalidity(self.user, folder)

    def reset_uidvalidity(self, folder: str = "INBOX") -> int:
        """New UIDVALIDITY, same messages; restarts the shared server (same port)."""
        return self.server.reset_uidvalidity(self.user, folder)

    def set_password(self, password: str) -> None:
        """Change the password, like revoking an authorization code (takes up to 1 s)."""
        self.server.set_password(self.user, password)
        self.password = password


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[Dovecot]:
    """One Dovecot for the whole session; use imap_account for a fresh user per test."""
    require_dovecot()
    with Dovecot() as server:
        yield server


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    """A private Dovecot for one test, free to be stopped, restarted or broken."""
    require_dovecot()
    with Dovecot() as server:
        yield server


@pytest.fixture
def imap_account(dovecot_server: Dovecot) -> ImapAccount:
    """A new user with an empty INBOX on the session Dovecot."""
    # A previous test may have stopped the shared server (start() is a no-op if running).
    dovecot_server.start()
    user = f"user{next(_user_numbers)}"
    password = secrets.token_hex(8)
    dovecot_server.add_user(user, password)
    return ImapAccount(dovecot_server, user, password)


@pytest.fixture
def unsafe_proxy(dovecot_server: Dovecot) -> Iterator[UnsafeLoginProxy]:
    """A NetEase-like proxy before the session Dovecot: SELECT without ID gets "Unsafe Login"."""
    dovecot_server.start()
    with UnsafeLoginProxy(dovecot_server.host, dovecot_server.port) as proxy:
        yield proxy


@pytest.fixture(scope="session")
def smtp_certs(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from .smtp import make_certificate

    return make_certificate(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def smtp_server(smtp_certs):  # type: ignore[no-untyped-def]
    """A factory: smtp_server(security='plain'|'ssl'|'starttls', auth=False, smtputf8=True) -> a running SmtpServer."""
    from .smtp import SmtpServer

    servers: list[SmtpServer] = []

    def start(security: str = "plain", auth: bool = False, smtputf8: bool = True) -> SmtpServer:
        server = SmtpServer(security, auth, smtp_certs, smtputf8=smtputf8)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
