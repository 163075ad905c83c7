"""What a stranger's mail can do to outgoing mail: nothing stops the outbox, floods or reflects."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from mailfactory import make_mail, message_id_of
from support.smtp import free_port
from test_outbox import installation, outbox, write_mails

from mailbridge.config import load
from mailbridge.ledger.db import Database
from mailbridge.notify.sender import Sender
from mailbridge.notify.transport import SmtpTransport

EAI = "张三@example.com"  # a raw UTF-8 address (RFC 6531): real mail from EAI users


def from_address(n: int, address: str, unit: str = "卢氏县科协") -> bytes:
    """make_mail(n) with its From address replaced by raw bytes (whatever the sender wrote)."""
    return make_mail(n, unit=unit, sender="placeholder@example.com").replace(
        b"<placeholder@example.com>", f"<{address}>".encode())


def queue_only(mb, server, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """Import with the SMTP server out of reach: every receipt waits in the outbox, no attempt spent."""
    config = mb.config.read_text(encoding="utf-8")
    mb.config.write_text(config.replace(f"port = {server.port}", f"port = {free_port()}"), encoding="utf-8")
    assert mb.run("import", "--receipts", str(folder)).returncode == 3
    mb.config.write_text(config, encoding="utf-8")


def set_rows(mb, sql: str, *args: object) -> None:  # type: ignore[no-untyped-def]
    with sqlite3.connect(mb.db_path) as conn:
        conn.execute(sql, args)


# --- one unsendable mail never stops the others ---------------------------------------------

@pytest.mark.parametrize("smtputf8", [False, True])
def test_outbox_survives_unsendable_recipient(tmp_path: Path, smtp_server, smtputf8: bool) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server(smtputf8=smtputf8)
    mb = installation(tmp_path, server)
    done = mb.run("import", "--receipts", str(write_mails(tmp_path / "in", from_address(1, EAI), make_mail(2))))
    rows = outbox(mb)
    assert [r["recipients"] for r in rows] == [[EAI], ["lsxkx@163.com"]]
    if smtputf8:  # the server takes UTF-8 addresses: both receipts go
        assert done.returncode == 0, done.stderr
        assert [r["status"] for r in rows] == ["sent", "sent"]
        assert sorted(tuple(r.recipients) for r in server.received) == [("lsxkx@163.com",), (EAI,)]
        eai = next(r for r in server.received if r.recipients == [EAI])
        assert eai.message["To"] == EAI and eai.message["In-Reply-To"] == message_id_of(1, "placeholder@example.com")
        return
    # It cannot take one: that receipt fails with the reason, the next one is sent all the same.
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert [r["status"] for r in rows] == ["failed", "sent"]
    assert rows[0]["last_error"].startswith("no receipt: address not deliverable") and "SMTPUTF8" in rows[0]["last_error"]
    assert [r.recipients for r in server.received] == [["lsxkx@163.com"]]
    # Later flushes leave the failed one alone; nothing is stuck in `sending`.
    mb.ok("import", "--receipts", str(write_mails(tmp_path / "more", make_mail(3))))
    assert [r["status"] for r in outbox(mb)] == ["failed", "sent", "sent"]


def test_any_exception_fails_only_its_mail(tmp_path: Path, smtp_server, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server(smtputf8=False)
    mb = installation(tmp_path, server)
    queue_only(mb, server, write_mails(tmp_path / "in", from_address(1, EAI), make_mail(2)))
    # Without the SMTPUTF8 check smtplib raises what the issue saw (UnicodeEncodeError), mid-session.
    monkeypatch.setattr(SmtpTransport, "_utf8_options", lambda self, recipients: [])
    config = load(mb.config)
    db = Database(config.database.url)
    try:
        stats = Sender(config, db).flush(now=True)
    finally:
        db.dispose()
    assert (stats.sent, stats.failed) == (1, 1)
    rows = outbox(mb)
    assert [r["status"] for r in rows] == ["failed", "sent"]
    assert "UnicodeEncodeError" in rows[0]["last_error"]
    assert [r.recipients for r in server.received] == [["lsxkx@163.com"]]


def test_a_mail_that_keeps_killing_the_sender_is_given_up(tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server()
    mb = installation(tmp_path, server, outbox={"max_attempts": 3})
    queue_only(mb, server, write_mails(tmp_path / "in", make_mail(1), make_mail(2)))
    # Row 1 was claimed three times by senders that died on it: it is left `sending`.
    set_rows(mb, "UPDATE outbox SET status = 'sending', attempts = 3 WHERE id = 1")
    assert mb.run("outbox", "flush").returncode == 3
    rows = outbox(mb)
    assert [r["status"] for r in rows] == ["failed", "sent"]
    assert "gave up after 3 attempts" in rows[0]["last_error"]
    assert len(server.received) == 1


def test_outbox_cancel(tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server()
    mb = installation(tmp_path, server)
    queue_only(mb, server, write_mails(tmp_path / "in", make_mail(1), make_mail(2)))
    set_rows(mb, "UPDATE outbox SET status = 'sending' WHERE id = 2")  # a dead sender's
    for row_id in ("1", "2"):
        assert "cancelled" in mb.ok("outbox", "cancel", row_id)
    mb.ok("outbox", "flush")
    assert server.received == []
    assert [r["status"] for r in outbox(mb)] == ["cancelled", "cancelled"]
    assert json.loads(mb.ok("outbox", "list", "--json", "--status", "cancelled"))[0]["id"] == 1
    assert mb.run("outbox", "cancel", "99").returncode == 2
    mb.ok("outbox", "retry", "1")  # the admin changes their mind
    assert [r["status"] for r in outbox(mb)] == ["sent", "cancelled"]
    done = mb.run("outbox", "cancel", "1")
    assert done.returncode == 2 and "already sent" in done.stderr
