"""Several instances on one set of books: schema creation races, side-by-side daemons, restarts.

The race tests take the database from the run's backend (`--db`), so they run on SQLite and on
PostgreSQL; the ones that compare both databases or need a server of their own are marked `once`.
"""
from __future__ import annotations

import json
import secrets
import subprocess
import time
from pathlib import Path

import pytest
from support.mailfactory import make_mail
from support.mbcli import PASSWORD_ENV, Mailbridge, mailbox
from support.daemon import Daemon
from support.fixtures import ImapAccount

from mailbridge.service.lock import HEARTBEAT_SECONDS

RACES = 4  # the race lost 4 of 4 times before the schema lock


@pytest.mark.parametrize("command", [("db", "upgrade"), ("poll", "--once")], ids=["db-upgrade", "poll"])
def test_two_processes_creating_the_schema_together_both_succeed(tmp_path: Path, imap_account, command) -> None:  # type: ignore[no-untyped-def]
    for run in range(RACES):
        mb = Mailbridge(tmp_path / f"run{run}", [mailbox(imap_account)], env={PASSWORD_ENV: imap_account.password})
        procs = [subprocess.Popen(mb.argv(*command), cwd=mb.root, env=mb.env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        results = [(p.wait(120), *p.communicate()) for p in procs]
        for code, out, err in results:
            assert code == 0, f"run {run}: {' '.join(command)} exited {code}\n{out}\n{err}"
        assert mb.ok("db", "upgrade").startswith("database schema at "), "not at head after the race"


# --- instances side by side on one PostgreSQL database ----------------------------------------

POLL = 10  # the shortest poll interval the config allows


def _account(dovecot_server) -> ImapAccount:  # type: ignore[no-untyped-def]
    user, password = f"pg{secrets.token_hex(4)}", secrets.token_hex(8)
    dovecot_server.add_user(user, password)
    return ImapAccount(dovecot_server, user, password)


def _site(root: Path, url: str, smtp, *boxes: tuple[str, ImapAccount]) -> Mailbridge:  # type: ignore[no-untyped-def]
    env = {f"MB_PW_{name.upper()}": account.password for name, account in boxes}
    return Mailbridge(root, [mailbox(account, name, password_env=f"MB_PW_{name.upper()}") for name, account in boxes],
                      env=env, db_url=url, schedule={"poll_interval_seconds": POLL},
                      receipts={"unknown_sender_days": 0},  # a receipt for every mail: each one counted
                      smtp={"transport": "smtp", "host": "127.0.0.1", "port": smtp.port, "security": "plain",
                            "max_per_minute": 6000})


def _start(mb: Mailbridge) -> Daemon:
    daemon = Daemon(mb.argv("run"), mb.root, mb.env)
    daemon.wait_for("mailbridge running")
    return daemon


def _receipt(r) -> bool:  # type: ignore[no-untyped-def]
    return str(r.message["Subject"]).startswith("回执")


def _wait_until(condition, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    """A state of the books the daemon reaches on its own; bounded."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the books did not reach the expected state in time"
        time.sleep(0.2)


def _assert_books(mb: Mailbridge, mails: int) -> None:
    """Every mail once, one submission each, receipt numbers unique and gap-free per month."""
    messages, subs = mb.messages(), mb.submissions()
    assert len(messages) == mails and len({m["message_id"] for m in messages}) == mails
    assert len(subs) == mails
    by_month: dict[str, list[int]] = {}
    for sub in subs:
        prefix, _, number = sub["receipt_no"].rpartition("-")
        by_month.setdefault(prefix, []).append(int(number))
    for prefix, numbers in by_month.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), (prefix, sorted(numbers))


@pytest.mark.once
def test_two_daemons_on_one_database_each_poll_their_own_mailbox(tmp_path: Path, postgres, dovecot_server,
                                                               smtp_server) -> None:  # type: ignore[no-untyped-def]
    url, server = postgres.create_database(), smtp_server()
    east, west = _account(dovecot_server), _account(dovecot_server)
    a = _site(tmp_path / "a", url, server, ("east", east))
    b = _site(tmp_path / "b", url, server, ("west", west))
    a.ok("db", "upgrade")
    daemons = [_start(a), _start(b)]
    try:
        for n in range(1, 5):  # both mailboxes at once: receipt numbers drawn concurrently
            east.append(make_mail(n, sender="lsxkx@163.com", unit="卢氏县科协"))
            west.append(make_mail(100 + n, sender="lbxkx@163.com", unit="灵宝市科协"))
        server.wait_for(8, timeout=4 * POLL + 30, match=_receipt)
    finally:
        codes = [d.stop() for d in daemons]
    assert codes == [0, 0], "\n".join(d.output for d in daemons)
    _assert_books(a, 8)
    assert {m["mailbox"] for m in a.messages()} == {"east", "west"}
    assert len([r for r in server.received if _receipt(r)]) == 8  # none twice


@pytest.mark.once
def test_a_second_daemon_with_the_same_mailboxes_is_refused_another_set_runs(tmp_path: Path, postgres, dovecot_server,
                                                                            smtp_server) -> None:  # type: ignore[no-untyped-def]
    url, server, east = postgres.create_database(), smtp_server(), _account(dovecot_server)
    a = _site(tmp_path / "a", url, server, ("east", east))
    daemon = _start(a)
    try:
        second = _site(tmp_path / "b", url, server, ("east", east)).run("run", timeout=60)
        assert second.returncode == 2 and f"pid {daemon.proc.pid}" in second.stderr, second.stderr
        assert "set of mailboxes" in second.stderr
    finally:
        assert daemon.stop() == 0, daemon.output


@pytest.mark.once
def test_a_shared_mailbox_is_taken_over_after_kill_9_nothing_lost_nothing_twice(tmp_path: Path, postgres, dovecot_server,
                                                                               smtp_server) -> None:  # type: ignore[no-untyped-def]
    url, server = postgres.create_database(), smtp_server()
    shared, own = _account(dovecot_server), _account(dovecot_server)
    a = _site(tmp_path / "a", url, server, ("shared", shared))
    b = _site(tmp_path / "b", url, server, ("shared", shared), ("own", own))
    a.ok("db", "upgrade")
    first, second = _start(a), _start(b)
    try:
        for n in range(1, 4):
            shared.append(make_mail(n))
            own.append(make_mail(200 + n, sender="lbxkx@163.com", unit="灵宝市科协"))
        server.wait_for(6, timeout=4 * POLL + 30, match=_receipt)
        first.kill()  # SIGKILL: its lease and run row stay behind
        for n in range(4, 7):
            shared.append(make_mail(n))
        server.wait_for(9, timeout=4 * POLL + 30, match=_receipt)
        assert "mailbox shared" in second.output or len(b.messages()) == 9
    finally:
        assert second.stop() == 0, second.output
    _assert_books(b, 9)
    assert len([r for r in server.received if _receipt(r)]) == 9  # no receipt twice


# --- the same books on both databases --------------------------------------------------------

ROSTER = ("单位,姓名,电子信箱,单位类型\n卢氏县科协,张喆,lsxkx@163.com,county\n"
          "灵宝市科协,李娜,lbxkx@163.com,county\n渑池县科协,王强,mcxkx@163.com,county\n")


def _mails(folder: Path) -> Path:
    folder.mkdir()
    mails = [make_mail(n) for n in range(1, 4)]
    mails += [make_mail(10 + n, sender="lbxkx@163.com", unit="灵宝市科协", with_docx=n % 2 == 0) for n in range(3)]
    # Dates in three zones, one at 23:30 China time on the last day of a month (local month != UTC month).
    mails.append(make_mail(30, sender="mcxkx@163.com", unit="渑池县科协").replace(
        b"Date: ", b"Date: Sat, 31 Oct 2026 15:30:00 +0000\r\nX-Old-Date: ", 1))
    mails.append(make_mail(31, sender="mcxkx@163.com", unit="渑池县科协").replace(
        b"Date: ", b"Date: Mon, 02 Nov 2026 09:15:00 -0500\r\nX-Old-Date: ", 1))
    for i, raw in enumerate(mails):
        (folder / f"{i:03d}.eml").write_bytes(raw)
    (folder / "roster.csv").write_text(ROSTER, encoding="utf-8")
    return folder


def _books(root: Path, url: str, folder: Path) -> dict[str, object]:
    """Import the same roster and mails, adopt one; the three JSON records."""
    mb = Mailbridge(root, [], db_url=url)
    mb.ok("roster", "import", str(folder / "roster.csv"))
    mb.ok("import", str(folder))
    subs = mb.submissions()
    current = next(s for s in subs if s["status"] != "superseded")
    mb.ok("adopt", str(current["id"]), "website", "--date", "2026-11-10")
    records = {"messages": mb.messages(), "submissions": mb.submissions()}
    for month in sorted({s["received_at"][:7] for s in subs} | {"2026-10", "2026-11"}):
        records[f"scorecard {month}"] = json.loads(mb.ok("scorecard", "--month", month, "--json"))
    return records


@pytest.mark.once
def test_json_records_are_identical_on_sqlite_and_postgresql(tmp_path: Path, postgres) -> None:  # type: ignore[no-untyped-def]
    folder = _mails(tmp_path / "in")
    lite = _books(tmp_path / "sqlite", f"sqlite:///{tmp_path}/books.db", folder)
    pg = _books(tmp_path / "pg", postgres.create_database(), folder)
    assert len(lite["submissions"]) == 8  # type: ignore[arg-type]
    assert {s["received_at"][-6:] for s in lite["submissions"]} == {"+08:00"}  # type: ignore[union-attr,index]
    for key in lite:
        assert pg[key] == lite[key], key


@pytest.mark.once
def test_the_database_restarted_under_a_running_daemon_loses_nothing(tmp_path: Path, private_postgres, dovecot_server,
                                                                    smtp_server) -> None:  # type: ignore[no-untyped-def]
    url, server, east = private_postgres.create_database(), smtp_server(), _account(dovecot_server)
    mb = _site(tmp_path, url, server, ("east", east))
    daemon = _start(mb)
    try:
        east.append(make_mail(1))
        server.wait_for(1, timeout=2 * POLL + 30, match=_receipt)
        # Stopped once the receipt is marked sent: a send whose mark is lost with the database is
        # sent again (at least once, same Message-ID) — not what this test is about.
        _wait_until(lambda: mb.rows("SELECT count(*) FROM outbox WHERE status = 'sent'") == [(1,)])
        private_postgres.stop()
        daemon.wait_for("database unreachable", timeout=HEARTBEAT_SECONDS + 30)
        down = mb.run("status")
        assert down.returncode == 3 and "cannot open the database" in down.stderr, down.stderr
        assert "Traceback" not in down.stderr
        east.append(make_mail(2))  # lands while the books are away
        private_postgres.start()
        daemon.wait_for("database back", timeout=HEARTBEAT_SECONDS + 30)
        server.wait_for(2, timeout=2 * POLL + 30, match=_receipt)
        status = json.loads(mb.run("status", "--json").stdout)
        assert status["runner"]["running"] is True
        [outage] = status["database_outages"]
        assert outage["from"] < outage["to"] and "unreachable" in outage["detail"]
        assert "database outage" in mb.run("status").stdout
    finally:
        code = daemon.stop()
    assert code == 0, daemon.output
    _assert_books(mb, 2)
    assert len([r for r in server.received if _receipt(r)]) == 2


@pytest.mark.once
def test_a_lease_whose_release_was_lost_with_the_database_is_taken_back_at_once(private_postgres) -> None:  # type: ignore[no-untyped-def]
    """Without this the next poll of the same process waited out the lease's 5 minutes."""
    from sqlalchemy.exc import OperationalError

    from mailbridge.ledger import lease
    from mailbridge.ledger.db import Database, ensure_schema

    db = Database(private_postgres.create_database())
    ensure_schema(db.engine)
    assert lease.acquire(db, "poll:east", "here:1:first")
    private_postgres.stop()
    with pytest.raises(OperationalError):
        lease.release(db, "poll:east", "here:1:first")
    private_postgres.start()
    assert lease.acquire(db, "poll:east", "here:1:second")  # the same process, another poll thread
    assert not lease.acquire(db, "poll:east", "here:1:third")  # but a live holder still holds it
    db.dispose()
