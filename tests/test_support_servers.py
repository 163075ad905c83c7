"""Tests of the test servers themselves: the private Dovecot and the NetEase-like proxy."""
from __future__ import annotations

import contextlib
import datetime as dt
import socket
from collections.abc import Iterator

import pytest
from imapclient import IMAPClient

from support.dovecot import CLIENT_ID, Dovecot
from support.fixtures import ImapAccount, require_dovecot
from support.unsafe_proxy import UNSAFE_LOGIN, UnsafeLoginProxy

# Subject 测试 as a GBK encoded-word, a UTF-8 line and a raw GBK line (你好，世界) in the body.
RAW = (b"From: =?GBK?B?1cXI/Q==?= <zhangsan@163.com>\r\n"
       b"To: submit@example.com\r\n"
       b"Subject: =?GBK?B?suLK1A==?=\r\n"
       b"Message-ID: <support-test-1@example.com>\r\n"
       b"MIME-Version: 1.0\r\n"
       b"Content-Type: text/plain; charset=GBK\r\n"
       b"Content-Transfer-Encoding: 8bit\r\n"
       b"\r\n"
       + "UTF-8: 朱镕基 喆 堃\r\n".encode()
       + "GBK: 你好，世界\r\n".encode("gbk"))


@contextlib.contextmanager
def _client(port: int) -> Iterator[IMAPClient]:
    """A connected client, logged out (or at least closed) afterwards."""
    client = IMAPClient("127.0.0.1", port, ssl=False, timeout=10)
    try:
        yield client
    finally:
        try:
            client.logout()
        except (IMAPClient.Error, OSError):
            # logout() closes the socket even when it raises; shutdown() may find it closed.
            with contextlib.suppress(OSError):
                client.shutdown()


@pytest.fixture
def proxied(unsafe_proxy: UnsafeLoginProxy, imap_account: ImapAccount) -> Iterator[IMAPClient]:
    """A client logged in through the proxy, without ID."""
    with _client(unsafe_proxy.port) as client:
        client.login(imap_account.user, imap_account.password)
        yield client


class _RawImap:
    """Line-level IMAP over a socket, to see exactly what the proxy answers."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.file = self.sock.makefile("rb")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def line(self) -> bytes:
        return self.file.readline()

    def until_tagged(self, tag: bytes) -> list[bytes]:
        lines = []
        while True:
            line = self.line()
            assert line, "connection closed"
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines

    def close(self) -> None:
        self.file.close()
        self.sock.close()


# -- Dovecot ---------------------------------------------------------------------------


def test_append_fetch_round_trips_8bit_bytes(imap_account: ImapAccount) -> None:
    when = dt.datetime(2024, 3, 5, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    uid = imap_account.append(RAW, flags=[b"\\Seen"], internaldate=when)
    assert imap_account.uids() == [uid]
    client = imap_account.connect()
    try:
        client.select_folder("INBOX", readonly=True)
        data = client.fetch([uid], ["BODY.PEEK[]", "INTERNALDATE", "FLAGS"])[uid]
    finally:
        client.logout()
    assert data[b"BODY[]"] == RAW
    assert b"\\Seen" in data[b"FLAGS"]
    assert data[b"INTERNALDATE"].astimezone(dt.timezone.utc) == when.astimezone(dt.timezone.utc)


def test_flags_and_several_messages(imap_account: ImapAccount) -> None:
    first = imap_account.append(RAW)
    second = imap_account.append(RAW.replace(b"support-test-1", b"support-test-2"),
                                 flags=[b"\\Flagged", b"$Processed"])
    assert imap_account.uids() == [first, second]
    flags = imap_account.flags()
    assert b"\\Seen" not in flags[first]
    assert {b"\\Flagged", b"$Processed"} <= set(flags[second])


def test_chinese_folder_names_round_trip(imap_account: ImapAccount) -> None:
    imap_account.create_folder("已处理")
    imap_account.create_folder("垃圾邮件")
    assert {"INBOX", "已处理", "垃圾邮件"} <= set(imap_account.folders())
    uid = imap_account.append(RAW, folder="垃圾邮件")
    assert imap_account.uids("垃圾邮件") == [uid]
    assert imap_account.fetch_raw(uid, "垃圾邮件") == RAW
    assert imap_account.uids("已处理") == []
    # On the wire and on disk the name is modified UTF-7, as on NetEase.
    path = imap_account.server.maildir_path(imap_account.user, "垃圾邮件")
    assert path.name == ".&V4NXPpCuTvY-" and path.is_dir()


@pytest.mark.parametrize("folder", ["INBOX", "已处理"])
def test_reset_uidvalidity_keeps_messages(imap_account: ImapAccount, folder: str) -> None:
    if folder != "INBOX":
        imap_account.create_folder(folder)
    imap_account.append(RAW, folder=folder, flags=[b"\\Seen"])
    imap_account.append(RAW.replace(b"support-test-1", b"support-test-2"), folder=folder)
    before = imap_account.uidvalidity(folder)
    bodies = {imap_account.fetch_raw(uid, folder) for uid in imap_account.uids(folder)}

    after = imap_account.reset_uidvalidity(folder)

    assert after != before
    assert imap_account.uidvalidity(folder) == after
    uids = imap_account.uids(folder)
    assert len(uids) == 2
    assert {imap_account.fetch_raw(uid, folder) for uid in uids} == bodies
    assert sorted(b"\\Seen" in f for f in imap_account.flags(folder).values()) == [False, True]


def test_new_user_logs_in_at_once_and_wrong_password_fails(dovecot_server: Dovecot) -> None:
    dovecot_server.add_user("fresh-user", "secret")
    assert dovecot_server.folder_uids("fresh-user", "INBOX") == []
    with _client(dovecot_server.port) as client, pytest.raises(IMAPClient.Error):
        client.login("fresh-user", "wrong")


def test_private_server_restarts_on_same_port(dovecot: Dovecot) -> None:
    dovecot.add_user("alice", "pw")
    uid = dovecot.append("alice", "INBOX", RAW)
    port = dovecot.port
    dovecot.stop()
    assert not dovecot.running
    dovecot.start()
    assert dovecot.port == port
    assert dovecot.fetch_raw("alice", "INBOX", uid) == RAW


def test_missing_dovecot_skips_locally_and_fails_on_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Dovecot, "binary", staticmethod(lambda: None))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="dovecot"):
        require_dovecot()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="dovecot"):
        require_dovecot()


# -- the NetEase-like proxy ------------------------------------------------------------


def test_proxy_passes_greeting_and_capabilities(unsafe_proxy: UnsafeLoginProxy) -> None:
    with _client(unsafe_proxy.port) as client:
        assert b"ID" in client.capabilities()
    assert unsafe_proxy.connections == 1


@pytest.mark.parametrize("readonly", [False, True])
def test_select_without_id_is_unsafe_login(proxied: IMAPClient, unsafe_proxy: UnsafeLoginProxy,
                                           readonly: bool) -> None:
    with pytest.raises(IMAPClient.Error, match="Unsafe Login"):
        proxied.select_folder("INBOX", readonly=readonly)
    assert unsafe_proxy.refused == 1
    assert unsafe_proxy.id_seen == 0
    # The connection stays usable; ID afterwards makes SELECT work, as on NetEase.
    proxied.id_(CLIENT_ID)
    assert proxied.select_folder("INBOX")[b"EXISTS"] == 0


def test_unsafe_login_reply_is_exact(unsafe_proxy: UnsafeLoginProxy,
                                     imap_account: ImapAccount) -> None:
    raw = _RawImap(unsafe_proxy.port)
    try:
        assert raw.line().startswith(b"* OK")
        raw.send(f"a1 LOGIN {imap_account.user} {imap_account.password}\r\n".encode())
        assert raw.until_tagged(b"a1")[-1].startswith(b"a1 OK")
        raw.send(b"a2 SELECT INBOX\r\n")
        assert raw.until_tagged(b"a2") == [b"a2 " + UNSAFE_LOGIN + b"\r\n"]
        assert UNSAFE_LOGIN == b"NO SELECT Unsafe Login. Please contact kefu@188.com for help"
        # A synchronising literal in a refused command gets its go-ahead, then the NO.
        raw.send(b"a3 EXAMINE {5}\r\n")
        assert raw.line().startswith(b"+ ")
        raw.send(b"INBOX\r\n")
        assert raw.until_tagged(b"a3") == [b"a3 " + UNSAFE_LOGIN + b"\r\n"]
        raw.send(b"a4 LOGOUT\r\n")
        assert raw.until_tagged(b"a4")[-1].startswith(b"a4 OK")
    finally:
        raw.close()


def test_id_before_login_does_not_count(unsafe_proxy: UnsafeLoginProxy,
                                        imap_account: ImapAccount) -> None:
    with _client(unsafe_proxy.port) as client:
        client.id_(CLIENT_ID)
        client.login(imap_account.user, imap_account.password)
        with pytest.raises(IMAPClient.Error, match="Unsafe Login"):
            client.select_folder("INBOX")
    assert unsafe_proxy.id_seen == 1


def test_id_after_login_selects_and_fetches(unsafe_proxy: UnsafeLoginProxy,
                                            imap_account: ImapAccount) -> None:
    uid = imap_account.append(RAW)
    with _client(unsafe_proxy.port) as client:
        client.login(imap_account.user, imap_account.password)
        server_id = client.id_({"name": "proxy-test-client", "version": "7.1"})
        assert server_id  # Dovecot answers with its own ID
        client.select_folder("INBOX", readonly=True)
        assert client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"] == RAW
    assert unsafe_proxy.id_seen == 1
    assert unsafe_proxy.refused == 0
    log = imap_account.server.wait_for_log("name=proxy-test-client")
    assert f"imap({imap_account.user})" in log
    assert "ID sent: name=proxy-test-client, version=7.1" in log


def test_literals_pass_through_untouched(unsafe_proxy: UnsafeLoginProxy,
                                         imap_account: ImapAccount) -> None:
    # A body line that looks like a SELECT must travel as literal data, not be answered.
    tricky = RAW + b"a9 SELECT INBOX\r\n{12}\r\nb1 ID NIL\r\n"
    with _client(unsafe_proxy.port) as client:
        client.login(imap_account.user, imap_account.password)
        client.append("INBOX", tricky)  # imapclient sends the message as a {N} literal
        client.create_folder("已处理")
        client.id_(CLIENT_ID)
        client.select_folder("INBOX")
        uid = client.search("ALL")[0]
        assert client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"] == tricky
    assert unsafe_proxy.refused == 0
    assert unsafe_proxy.id_seen == 1
    assert "已处理" in imap_account.folders()


def test_login_with_literals_then_id(unsafe_proxy: UnsafeLoginProxy,
                                     imap_account: ImapAccount) -> None:
    raw = _RawImap(unsafe_proxy.port)
    user, password = imap_account.user.encode(), imap_account.password.encode()
    try:
        raw.line()
        # LITERAL+ for the user name, a synchronising literal for the password.
        raw.send(b"a1 LOGIN {%d+}\r\n%s {%d}\r\n" % (len(user), user, len(password)))
        assert raw.line().startswith(b"+ ")
        raw.send(password + b"\r\n")
        assert raw.until_tagged(b"a1")[-1].startswith(b"a1 OK")
        raw.send(b'a2 ID ("name" "raw")\r\na3 EXAMINE INBOX\r\n')
        assert raw.until_tagged(b"a3")[-1].startswith(b"a3 OK")
    finally:
        raw.close()
    assert unsafe_proxy.id_seen == 1


def test_proxy_stop_closes_connections(dovecot_server: Dovecot, imap_account: ImapAccount) -> None:
    proxy = UnsafeLoginProxy(dovecot_server.host, dovecot_server.port)
    proxy.start()
    try:
        with _client(proxy.port) as client:
            client.login(imap_account.user, imap_account.password)
            proxy.stop()
            with pytest.raises((OSError, IMAPClient.AbortError)):
                client.noop()
    finally:
        proxy.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", proxy.port), timeout=1).close()
