"""Pytest fixtures: a real Dovecot IMAP server, fresh accounts on it, and a NetEase-like proxy."""
from __future__ import annotations

import datetime as dt
import itertools
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterator, Sequence

import pytest
from imapclient import IMAPClient

from .dovecot import Dovecot
from .unsafe_proxy import UnsafeLoginProxy

_user_numbers = itertools.count(1)


def require_dovecot() -> None:
    """Skip when dovecot is not installed, but fail on CI where a skip would hide it."""
    if Dovecot.available():
        return
    reason = "dovecot is not installed (apt-get install dovecot-imapd)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the IMAP tests", pytrace=False)
    pytest.skip(reason)


SHARED = Path(__file__).resolve().parents[3] / "shared"  # beside the repository, in the workplace and on CI


def require_shared(path: Path) -> Path:
    """A folder of ../shared (the corpus): skip when it is missing, but fail on CI where a skip would hide it."""
    if path.is_dir():
        return path
    if os.environ.get("CI"):
        pytest.fail(f"{path} is missing: CI must run the shared corpus", pytrace=False)
    pytest.skip(f"{path} is missing (shared/ sits beside the repository in the workplace and on CI)")


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
