"""The daemon as an admin runs it: `mailbridge run` in a subprocess against Dovecot and aiosmtpd."""
from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest
from support.daemon import Daemon
from support.mailfactory import make_mail
from support.mbcli import PASSWORD_ENV, Mailbridge, mailbox

POLL = 10  # the shortest poll interval the config allows


def _smtp(server) -> dict:  # type: ignore[no-untyped-def]
    return {"transport": "smtp", "host": "127.0.0.1", "port": server.port, "security": "plain",
            "max_per_minute": 6000}


def _install(root: Path, account, server, box: dict | None = None, **sections) -> Mailbridge:  # type: ignore[no-untyped-def]
    sections.setdefault("schedule", {"poll_interval_seconds": POLL})
    return Mailbridge(root, [box or mailbox(account)], env={PASSWORD_ENV: account.password},
                      smtp=_smtp(server), **sections)


def _daemon(mb: Mailbridge, *args: str) -> Daemon:
    daemon = Daemon(mb.argv(*(args or ("run",))), mb.root, mb.env)
    daemon.wait_for("mailbridge running")
    return daemon


def _receipts(server) -> list:  # type: ignore[no-untyped-def]
    return [r for r in server.received if str(r.message["Subject"]).startswith("回执")]


def _rows(mb: Mailbridge, sql: str) -> list[tuple]:
    return mb.rows(sql)


def test_receipt_leaves_right_after_the_poll_that_recorded_it(tmp_path: Path, imap_account, smtp_server) -> None:  # type: ignore[no-untyped-def]
    """Not at the next outbox round (60 s): within poll interval + 5 s of landing."""
    server = smtp_server()
    mb = _install(tmp_path, imap_account, server)
    daemon = _daemon(mb)
    try:
        imap_account.append(make_mail(1))
        [receipt] = server.wait_for(1, timeout=POLL + 5, match=lambda r: "回执" in str(r.message["Subject"]))
        assert receipt.recipients == ["lsxkx@163.com"]
    finally:
        assert daemon.stop() == 0, daemon.output


def test_idle_wakes_the_poller_within_seconds(tmp_path: Path, imap_account, smtp_server) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server()
    mb = _install(tmp_path, imap_account, server, mailbox(imap_account, idle=True),
                  schedule={"poll_interval_seconds": 3600})
    daemon = _daemon(mb)
    try:
        daemon.wait_for("waiting for new mail with IDLE")
        imap_account.append(make_mail(2))
        server.wait_for(1, timeout=8, match=lambda r: "回执" in str(r.message["Subject"]))
        imap_account.append(make_mail(3, sender="lbxkx@163.com", unit="灵宝市科协"))
        server.wait_for(2, timeout=8, match=lambda r: "回执" in str(r.message["Subject"]))
    finally:
        assert daemon.stop() == 0, daemon.output


def test_a_second_run_on_the_same_database_is_refused(tmp_path: Path, imap_account, smtp_server) -> None:  # type: ignore[no-untyped-def]
    mb = _install(tmp_path, imap_account, smtp_server())
    daemon = _daemon(mb)
    try:
        second = mb.run("run", timeout=60)
        assert second.returncode == 2
        assert f"pid {daemon.proc.pid}" in second.stderr and "since" in second.stderr
        assert "Traceback" not in second.stderr
        status = json.loads(mb.run("status", "--json").stdout)
        assert status["runner"]["running"] and status["runner"]["pid"] == daemon.proc.pid
        assert {j["id"] for j in status["jobs"]} >= {"poll:smxskx", "outbox", "health"}
        assert all(j["next_run_at"] for j in status["jobs"] if j["id"] != "health")
    finally:
        assert daemon.stop() == 0, daemon.output
    # A killed daemon's lock does not block the next start.
    daemon = _daemon(mb)
    daemon.kill()
    _daemon(mb).stop()


def test_sigterm_in_a_backfill_exits_0_and_loses_nothing(tmp_path: Path, imap_account, smtp_server) -> None:  # type: ignore[no-untyped-def]
    total = 40
    for n in range(1, total + 1):
        imap_account.append(make_mail(n, sender=f"unit{n}@163.com"))
    mb = _install(tmp_path, imap_account, smtp_server(), mailbox(imap_account, batch_messages=2))
    daemon = Daemon(mb.argv("run"), mb.root, mb.env)
    daemon.wait_for(r"mailbox smxskx/INBOX: \d+ new message")
    while not _rows(mb, "SELECT id FROM submissions"):  # mid back-fill: some are in, not all
        daemon.wait_for(".", timeout=30, after=len(daemon.lines))
    daemon.signal(signal.SIGTERM)
    assert daemon.proc.wait(timeout=20) == 0, daemon.output
    assert "Traceback" not in daemon.output
    mb.poll()  # picks up where it stopped
    messages = _rows(mb, "SELECT uid, disposition FROM messages")
    assert sorted(uid for uid, _ in messages) == list(range(1, total + 1))
    assert {d for _, d in messages} == {"submission"}
    receipt_nos = [r for (r,) in _rows(mb, "SELECT receipt_no FROM submissions")]
    assert len(receipt_nos) == total == len(set(receipt_nos))
    keys = [k for (k,) in _rows(mb, "SELECT key FROM outbox")]
    assert len(keys) == len(set(keys)) == total


def test_sighup_reloads_a_good_config_and_keeps_the_old_one_for_a_bad(tmp_path: Path, imap_account, smtp_server) -> None:  # type: ignore[no-untyped-def]
    mb = _install(tmp_path, imap_account, smtp_server())
    good = mb.config.read_text(encoding="utf-8")
    daemon = _daemon(mb)
    try:
        mb.config.write_text(good + "\n[admin]\nsilent_dayz = 3\n", encoding="utf-8")
        daemon.signal(signal.SIGHUP)
        daemon.wait_for(r"keeping the old one.*silent_dayz")
        mb.config.write_text(good.replace(f"poll_interval_seconds = {POLL}", "poll_interval_seconds = 30"),
                             encoding="utf-8")
        daemon.signal(signal.SIGHUP)
        daemon.wait_for("config reloaded")
        assert daemon.proc.poll() is None
    finally:
        assert daemon.stop() == 0, daemon.output


def test_a_bug_in_a_job_stops_the_daemon_with_exit_4(tmp_path: Path, imap_account, smtp_server) -> None:  # type: ignore[no-untyped-def]
    """systemd restarts a daemon that exits 4; one that logs and carries on would look healthy."""
    mb = _install(tmp_path, imap_account, smtp_server())
    bug = ("import sys; from mailbridge.service import health\n"
           "def check(*a, **k): raise ZeroDivisionError('a bug in a job')\n"
           "health.check = check\n"
           "from mailbridge.cli import main; main(sys.argv[1:])\n")
    daemon = Daemon([sys.executable, "-c", bug, "-c", str(mb.config), "run"], mb.root, mb.env)
    assert daemon.proc.wait(timeout=60) == 4, daemon.output
    assert "ZeroDivisionError: a bug in a job" in daemon.output and "internal error" in daemon.output
    assert _rows(mb, "SELECT * FROM runners") == []  # the lock is released on the way out


def test_broken_config_is_refused_before_the_first_job(tmp_path: Path, imap_account, smtp_server) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "receipt.txt").write_text("{% if %}\n", encoding="utf-8")
    mb = _install(tmp_path, imap_account, smtp_server(), templates={"dir": str(tmp_path / "tpl")})
    done = mb.run("run", timeout=60)
    assert done.returncode == 2 and "receipt.txt:1" in done.stderr and "Traceback" not in done.stderr
    mb2 = _install(tmp_path / "p", imap_account, smtp_server(), scoring={"profile": "nowhere.toml"})
    done = mb2.run("run", timeout=60)
    assert done.returncode == 2 and "scoring.profile" in done.stderr


def test_status_says_what_needs_an_admin(tmp_path: Path, imap_account, smtp_server) -> None:  # type: ignore[no-untyped-def]
    mb = _install(tmp_path, imap_account, smtp_server())
    mb.env[PASSWORD_ENV] = "wrong"
    assert mb.run("poll", "--once").returncode == 3
    done = mb.run("status", "--json")
    assert done.returncode == 3
    status = json.loads(done.stdout)
    assert status["healthy"] is False
    [box] = status["mailboxes"]
    assert box["name"] == "smxskx" and "login refused" in box["error"] and box["error_since"]
    assert box["last_success_at"] is None
    assert status["outbox"] == {"pending": 0, "failed": 0, "sent": 0} and status["quarantined"] == 0
    assert status["runner"]["running"] is False and status["version"]
    mb.env[PASSWORD_ENV] = imap_account.password
    imap_account.append(make_mail(5))
    mb.poll()
    done = mb.run("status", "--json")
    assert done.returncode == 0, done.stdout
    [box] = json.loads(done.stdout)["mailboxes"]
    assert box["error"] is None and box["last_success_at"] and box["last_new_mail_at"]
    human = mb.run("status")
    assert human.returncode == 0 and "healthy" in human.stdout


def test_a_failing_mailbox_alerts_once_and_says_when_it_recovers(tmp_path: Path, dovecot, smtp_server) -> None:  # type: ignore[no-untyped-def]
    from support.fixtures import ImapAccount

    dovecot.add_user("box", "pw")
    account = ImapAccount(dovecot, "box", "pw")
    server = smtp_server()
    mb = _install(tmp_path, account, server, admin={"addresses": ["it@smxkx.example"], "alert_after_minutes": 0})

    def alerts(word: str):  # type: ignore[no-untyped-def]
        return lambda r: word in str(r.message["Subject"])

    daemon = _daemon(mb)
    try:
        daemon.wait_for("incident|poll|outbox", timeout=30)
        dovecot.stop()
        [alert] = server.wait_for(1, timeout=POLL * 3, match=alerts("需处理"))
        assert alert.recipients == ["it@smxkx.example"]
        assert "smxskx" in str(alert.message["Subject"])
        body = alert.message.get_body(("plain",)).get_content()
        assert "授权码" in body and "mailbridge status" in body
        # The failing polls that follow send nothing more.
        with pytest.raises(TimeoutError):
            server.wait_for(2, timeout=POLL * 2 + 2, match=alerts("需处理"))
        status = json.loads(mb.run("status", "--json").stdout)
        assert status["healthy"] is False and status["incidents"][0]["key"] == "mailbox_failing:smxskx"
        dovecot.start()
        [recovered] = server.wait_for(1, timeout=POLL * 3, match=alerts("已恢复"))
        assert "恢复" in recovered.message.get_body(("plain",)).get_content()
        assert len([r for r in server.received if "需处理" in str(r.message["Subject"])]) == 1
    finally:
        assert daemon.stop() == 0, daemon.output


def test_journald_lines_carry_a_priority_and_no_timestamp(tmp_path: Path, imap_account, smtp_server) -> None:  # type: ignore[no-untyped-def]
    mb = _install(tmp_path, imap_account, smtp_server())
    mb.env["JOURNAL_STREAM"] = "8:12345"
    daemon = _daemon(mb)
    assert daemon.stop() == 0
    running = next(line for line in daemon.lines if "mailbridge running" in line)
    assert running.startswith("<4>mailbridge.service.runner: mailbridge running")
    assert imap_account.password not in daemon.output


def test_password_from_a_systemd_credential(tmp_path: Path, imap_account, smtp_server) -> None:  # type: ignore[no-untyped-def]
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "smxskx").write_text(imap_account.password + "\n", encoding="utf-8")
    box = {k: v for k, v in mailbox(imap_account).items() if k != "password_env"}
    mb = _install(tmp_path, imap_account, smtp_server(), {**box, "password_credential": "smxskx"})
    imap_account.append(make_mail(6))
    done = mb.run("poll", "--once")  # not started by systemd: a config error that says so
    assert done.returncode == 2 and "LoadCredential" in done.stderr
    mb.env["CREDENTIALS_DIRECTORY"] = str(creds)
    mb.poll()
    assert len(mb.submissions()) == 1


def test_systemd_is_told_ready_and_pinged(tmp_path: Path, imap_account, smtp_server) -> None:  # type: ignore[no-untyped-def]
    import socket

    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(30)
    mb = _install(tmp_path, imap_account, smtp_server())
    mb.env.update(NOTIFY_SOCKET=path, WATCHDOG_USEC="2000000")
    daemon = Daemon(mb.argv("run"), mb.root, mb.env)
    try:
        got = [sock.recv(4096).decode() for _ in range(3)]
        assert got[0].startswith("READY=1")
        assert got[1] == got[2] == "WATCHDOG=1"
    finally:
        assert daemon.stop() == 0, daemon.output
        assert "STOPPING=1" in sock.recv(4096).decode()
        sock.close()


def test_poll_without_once_is_the_daemon_with_polling_jobs_only(tmp_path: Path, imap_account, smtp_server) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server()
    mb = _install(tmp_path, imap_account, server)
    imap_account.append(make_mail(7))
    daemon = _daemon(mb, "poll")
    try:
        assert "(polling only)" in daemon.output
        server.wait_for(1, timeout=POLL + 5, match=lambda r: "回执" in str(r.message["Subject"]))
        status = json.loads(mb.run("status", "--json").stdout)
        assert status["runner"]["running"]
    finally:
        assert daemon.stop() == 0, daemon.output
