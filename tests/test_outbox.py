"""Outbound mail through a real SMTP server (aiosmtpd): transports, retries, exactly once, loops."""
from __future__ import annotations

import datetime as dt
import json
import os
import signal
from collections import Counter
from pathlib import Path

import pytest
from support.mailfactory import make_mail, message_id_of
from support.mbcli import Mailbridge
from support.smtp import PASSWORD, USER, free_port

SMTP_PW_ENV = "MB_TEST_SMTP_PW"
ROSTER = "单位,姓名,电子信箱,单位类型\n卢氏县科协,张喆,lsxkx@163.com,county\n渑池县科协,李娜,mcxkx@163.com,county\n"


def installation(root: Path, server, *, auth: bool = False, env: dict | None = None,  # type: ignore[no-untyped-def]
                 mailboxes: list | None = None, **sections) -> Mailbridge:
    smtp = {"transport": "smtp", "host": "127.0.0.1", "port": server.port, "security": server.security,
            "max_per_minute": 6000}
    if auth:
        smtp.update(username=USER, password_env=SMTP_PW_ENV)
    env = {SMTP_PW_ENV: PASSWORD, "SSL_CERT_FILE": str(_cert()), **(env or {})}
    sections.setdefault("receipts", {"max_age_days": 0})
    sections.setdefault("outbox", {"retry_seconds": 1})
    mb = Mailbridge(root, mailboxes or [], env=env, smtp=smtp, **sections)
    roster = root / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    mb.ok("roster", "import", str(roster))
    return mb


_CERT: list[Path] = []


def _cert() -> Path:
    return _CERT[0] if _CERT else Path("/nonexistent")


@pytest.fixture(autouse=True)
def _trust_test_certificate(smtp_certs) -> None:  # type: ignore[no-untyped-def]
    _CERT[:] = [smtp_certs[0]]


def write_mails(folder: Path, *mails: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, raw in enumerate(mails, start=1):
        (folder / f"{i:03d}.eml").write_bytes(raw)
    return folder


def outbox(mb: Mailbridge) -> list[dict]:
    return json.loads(mb.ok("outbox", "list", "--json"))


@pytest.mark.parametrize(("security", "auth"), [("plain", False), ("ssl", True), ("starttls", True)])
def test_receipt_arrives_over_each_transport(tmp_path: Path, smtp_server, security: str, auth: bool) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server(security, auth=auth)
    mb = installation(tmp_path, server, auth=auth)
    out = mb.ok("import", "--receipts", str(write_mails(tmp_path / "in", make_mail(1, docs=2))))
    assert "outbox: 1 sent" in out
    [got] = server.received
    msg = got.message
    assert got.recipients == ["lsxkx@163.com"]
    assert got.sender == "smxskx@163.com"
    assert msg["In-Reply-To"] == message_id_of(1)
    assert message_id_of(1) in msg["References"]
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["Subject"].startswith("回执：SMX-2026-11-0001等2篇《第1篇：卢氏县科协")
    assert "=?" not in str(msg["Subject"]) and b"=?utf-8?" in got.data.split(b"\r\n\r\n")[0]
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    subs = mb.submissions()
    for sub in subs:
        assert sub["receipt_no"] in text and sub["receipt_no"] in html
        assert sub["title"] in text
        assert f"{sub['body_chars']} 字" in text
    assert "报送单位：卢氏县科协" in text
    assert "已报送 2 篇，月度任务 5 篇，还差 3 篇" in text
    assert [o["status"] for o in outbox(mb)] == ["sent"]


@pytest.mark.parametrize(("wrong", "reason"), [
    ("the-account-password", "refused the login (535 "),  # the server says no
    ("密码是abc", "the SMTP password for smxskx@163.com contains non-ASCII characters"),  # refused before it is sent
])
def test_login_refused_is_one_sentence_and_spends_no_attempt(tmp_path: Path, smtp_server, wrong: str,  # type: ignore[no-untyped-def]
                                                             reason: str) -> None:
    server = smtp_server("ssl", auth=True)
    mb = installation(tmp_path, server, auth=True, env={SMTP_PW_ENV: wrong})
    done = mb.run("import", "--receipts", str(write_mails(tmp_path / "in", make_mail(1))))
    assert done.returncode == 3, done.stderr
    assert reason in done.stderr and "授权码" in done.stderr, done.stderr
    assert wrong not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
    [row] = outbox(mb)
    assert (row["status"], row["attempts"]) == ("pending", 0)
    mb.env[SMTP_PW_ENV] = PASSWORD
    mb.ok("outbox", "flush")
    assert len(server.received) == 1


def _wait_of(row: dict) -> float:
    return (dt.datetime.fromisoformat(row["next_attempt_at"]) - dt.datetime.now(dt.UTC)).total_seconds()


def test_transient_errors_are_retried_with_backoff(tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server()
    mb = installation(tmp_path, server, outbox={"retry_seconds": 30})
    server.fail_next("451 4.7.1 DT:RBL Please try again later")
    done = mb.run("import", "--receipts", str(write_mails(tmp_path / "a", make_mail(1))))
    assert done.returncode == 3 and "451" in done.stderr
    [row] = outbox(mb)
    assert (row["status"], row["attempts"]) == ("pending", 1) and "451" in row["last_error"]
    assert 15 < _wait_of(row) <= 30
    # Automatic flushes (poll, import, the daemon) respect the backoff: only the new receipt goes.
    mb.ok("import", "--receipts", str(write_mails(tmp_path / "b", make_mail(2))))
    assert [r.message["In-Reply-To"] for r in server.received] == [message_id_of(2)]
    assert outbox(mb)[0]["attempts"] == 1
    # `outbox flush` by hand sends now; a second failure doubles the wait.
    server.fail_next("421 4.3.2 HL:ICC too many connections")
    assert mb.run("outbox", "flush").returncode == 3
    row = outbox(mb)[0]
    assert (row["status"], row["attempts"]) == ("pending", 2) and "421" in row["last_error"]
    assert 45 < _wait_of(row) <= 60
    mb.ok("outbox", "flush")
    row = outbox(mb)[0]
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 3, None)
    assert Counter(r.message["In-Reply-To"] for r in server.received) == {message_id_of(1): 1, message_id_of(2): 1}


def test_permanent_refusal_fails_visibly_and_retry_resends(tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server()
    server.fail_next("550 5.7.1 DT:SPM 发送的邮件内容包含了未被许可的信息".encode().decode())
    mb = installation(tmp_path, server)
    done = mb.run("import", "--receipts", str(write_mails(tmp_path / "in", make_mail(1))))
    assert done.returncode == 3
    [row] = outbox(mb)
    assert row["status"] == "failed" and "550" in row["last_error"]
    assert "550" in mb.ok("outbox", "list")
    mb.ok("outbox", "flush")  # a failed mail is not sent again by itself
    assert server.received == []
    out = mb.ok("outbox", "retry", str(row["id"]))
    assert "1 sent" in out
    assert outbox(mb)[0]["status"] == "sent" and len(server.received) == 1
    assert mb.run("outbox", "retry", "999").returncode == 2


def test_163_throttling_with_a_5xx_code_is_retried(tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server()
    server.fail_next("550 MI:STC 发件人当天内累计邮件数量超过限制")
    mb = installation(tmp_path, server)
    assert mb.run("import", "--receipts", str(write_mails(tmp_path / "in", make_mail(1)))).returncode == 3
    [row] = outbox(mb)
    assert row["status"] == "pending" and "MI:STC" in row["last_error"]
    mb.ok("outbox", "flush")
    assert outbox(mb)[0]["status"] == "sent" and len(server.received) == 1


def test_gives_up_after_max_attempts(tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server()
    server.fail_next(*["451 4.3.0 try later"] * 3)
    mb = installation(tmp_path, server, outbox={"max_attempts": 2})
    mb.run("import", "--receipts", str(write_mails(tmp_path / "in", make_mail(1))))
    assert mb.run("outbox", "flush").returncode == 3
    [row] = outbox(mb)
    assert row["status"] == "failed" and row["attempts"] == 2 and "gave up after 2 attempts" in row["last_error"]


def test_unreachable_server_keeps_the_mail(tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server()
    server.stop()  # nothing listens there any more
    mb = installation(tmp_path, server)
    done = mb.run("import", "--receipts", str(write_mails(tmp_path / "in", make_mail(1))))
    assert done.returncode == 3 and "cannot reach the SMTP server" in done.stderr
    [row] = outbox(mb)
    assert row["status"] == "pending"
    assert len(mb.submissions()) == 1  # the ingest itself is done


def test_sigkill_mid_batch_loses_nothing_and_resends_at_most_one(tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server()
    count = 24
    senders = {n: "lsxkx@163.com" if n % 2 else "mcxkx@163.com" for n in range(1, count + 1)}
    mails = [make_mail(n, unit="卢氏县科协" if n % 2 else "渑池县科协", sender=senders[n]) for n in senders]
    mb = installation(tmp_path, server, receipts={"max_age_days": 0, "max_per_sender_per_day": 0})
    config = mb.config.read_text(encoding="utf-8")
    # First the server is unreachable: every receipt waits in the outbox, no attempt spent.
    mb.config.write_text(config.replace(f"port = {server.port}", f"port = {free_port()}"), encoding="utf-8")
    assert mb.run("import", "--receipts", str(write_mails(tmp_path / "in", *mails))).returncode == 3
    assert [(r["status"], r["attempts"]) for r in outbox(mb)] == [("pending", 0)] * count
    # Then it is back, and the sender is killed twice mid-batch (300 a minute: ~5 s for the batch).
    mb.config.write_text(config.replace("max_per_minute = 6000", "max_per_minute = 300"), encoding="utf-8")
    kills = 0
    for _ in range(2):  # killed each time 3 more mails have arrived: mid-batch, whatever the machine's speed
        proc = mb.popen("outbox", "flush")
        server.wait_for(len(server.received) + 3, timeout=60)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
    assert kills == 2, "the sender finished before it could be killed; slow it down"
    assert 0 < len(server.received) < count
    mb.ok("outbox", "flush")
    rows = outbox(mb)
    assert len(rows) == count and {r["status"] for r in rows} == {"sent"}
    got = Counter(r.message["In-Reply-To"] for r in server.received)
    assert set(got) == {message_id_of(n, sender) for n, sender in senders.items()}
    assert sum(c - 1 for c in got.values()) <= kills  # at worst the one in flight at each kill


def test_server_text_in_gbk_is_decoded() -> None:
    from mailbridge.notify.transport import _text

    qq_535 = "Error: 请使用授权码登录。详情请看: http://service.mail.qq.com/".encode("gbk")
    assert _text(qq_535) == "Error: 请使用授权码登录。详情请看: http://service.mail.qq.com/"
    assert _text("550 用户不存在".encode()) == "550 用户不存在"


def test_doctor_reports_the_smtp_server_in_plain_words(tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server("starttls", auth=True)
    mb = installation(tmp_path, server, auth=True)
    done = mb.run("doctor")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"ok    smtp: 127.0.0.1:{server.port} (starttls) login ok" in done.stdout
    mb.env[SMTP_PW_ENV] = "wrong-code"
    done = mb.run("doctor")
    assert done.returncode == 3
    assert "FAIL  smtp: the SMTP server" in done.stdout and "refused the login (535" in done.stdout
