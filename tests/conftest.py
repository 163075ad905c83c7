"""Shared pytest fixtures (real servers live in tests/support/) and the markers that select them.

A test that uses a real server is marked by the fixture it asks for: `imap` (Dovecot), `smtp`
(aiosmtpd). `slow` is set by hand on tests over ~5 s. So `pytest -m "not imap and not smtp and
not slow"` is the unit subset (README, Testing). A test that starts a server without those fixtures
fails until it carries the marker, so the subset never needs a server.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.daemon import Daemon
from support.dovecot import Dovecot
from support.smtp import SmtpServer

pytest_plugins = ["support.fixtures"]

SERVER_FIXTURES = {
    "imap": {"dovecot_server", "dovecot", "imap_account", "unsafe_proxy"},
    "smtp": {"smtp_certs", "smtp_server"},
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for marker, fixtures in SERVER_FIXTURES.items():
            if used & fixtures:
                item.add_marker(marker)


@pytest.fixture(autouse=True)
def _servers_only_under_their_marker(request: pytest.FixtureRequest,
                                     monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(marker: str):  # type: ignore[no-untyped-def]
        def start(*args: object, **kwargs: object) -> None:
            pytest.fail(f"{request.node.nodeid} starts a server: use its fixture or mark it {marker}")
        return start

    if request.node.get_closest_marker("imap") is None:
        monkeypatch.setattr(Dovecot, "start", refuse("imap"))
    if request.node.get_closest_marker("smtp") is None:
        monkeypatch.setattr(SmtpServer, "__init__", refuse("smtp"))
    yield


@pytest.fixture(autouse=True)
def _no_daemon_outlives_its_test() -> Iterator[None]:
    yield
    Daemon.leftovers()
