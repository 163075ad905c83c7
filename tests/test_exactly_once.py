"""Crash test: a poller SIGKILLed at any moment loses nothing and records nothing twice.

60 messages wait on a real Dovecot (some with two .docx, i.e. two articles). `poll --once` is
started, and killed with SIGKILL once before it has recorded anything and then whenever the
ledger reaches 1, 7, 23 and 41 rows; each time a new poller is started, the way cron would.
A last poller runs to the end. Then the books must hold every server message exactly once,
fully processed, with exactly one submission per article and the raw bytes archived intact.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.exc import DBAPIError
from support.fixtures import ImapAccount
from support.mailfactory import CST, make_mail, message_id_of, title_of
from support.mbcli import PASSWORD_ENV, Mailbridge, mailbox

from mailbridge.ledger.db import head_revision

MESSAGES = 60
KILL_AT_ROWS = (1, 7, 23, 41)  # ledger rows (cumulative) at which a poller is killed
WATCH_EVERY = 0.005
RUN_LIMIT = 30.0  # one poller never needs this long for 60 small messages


def docs_of(n: int) -> int:
    """Articles in the n-th message: two .docx for every 4th, the body alone for every 9th."""
    if n % 9 == 0:
        return 0
    return 2 if n % 4 == 0 else 1


def article_mail(n: int) -> bytes:
    return make_mail(n, with_docx=docs_of(n) > 0, docs=max(docs_of(n), 1), photos=n % 3)


def ledger_rows(mb: Mailbridge) -> int:
    """Rows in the messages table (0 while the poller has not created the ledger)."""
    try:
        return int(mb.rows("SELECT count(*) FROM messages")[0][0])
    except (FileNotFoundError, DBAPIError):  # no file yet, no table yet
        return 0


def ledger_at_head(mb: Mailbridge, head: str) -> bool:
    """The poller has created the ledger and run every migration: the next thing it does is fetch."""
    try:
        return [tuple(r) for r in mb.rows("SELECT version_num FROM alembic_version")] == [(head,)]
    except (FileNotFoundError, DBAPIError):  # no file yet, no table yet
        return False


class Poller:
    """One `poll --once` in the background, its output kept in files for the failure message."""

    def __init__(self, mb: Mailbridge, run: int) -> None:
        self.out = mb.root / f"poller-{run}.out"
        with open(self.out, "wb") as out:
            self.proc = subprocess.Popen(mb.argv("poll", "--once"), cwd=mb.root, env=mb.env,
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        self.started = time.monotonic()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace")

    def close(self) -> None:
        if self.alive():
            self.kill()


def kill_when(mb: Mailbridge, run: int, ready: Callable[[], bool], what: str) -> int:
    """Start a poller and SIGKILL it as soon as `ready()` holds; the ledger rows then."""
    poller = Poller(mb, run)
    try:
        while poller.alive() and time.monotonic() - poller.started < RUN_LIMIT:
            if ready():
                poller.kill()
                return ledger_rows(mb)
            time.sleep(WATCH_EVERY)
        seen = ledger_rows(mb)
        raise AssertionError(f"poller {run} {'ended' if not poller.alive() else 'hung'} with {seen} "
                             f"ledger row(s) before {what} (exit {poller.proc.poll()}):\n"
                             f"{poller.output()}")
    finally:
        poller.close()


def kill_at_rows(mb: Mailbridge, run: int, rows: int) -> int:
    """Start a poller and SIGKILL it as soon as the ledger has `rows` rows; the rows then."""
    return kill_when(mb, run, lambda: ledger_rows(mb) >= rows, f"reaching {rows}")


def test_sigkill_at_any_moment_loses_nothing_and_repeats_nothing(tmp_path: Path,
                                                                 imap_account: ImapAccount) -> None:
    start = dt.datetime(2026, 11, 5, 8, 0, tzinfo=CST)
    uid_of = {n: imap_account.append(article_mail(n), internaldate=start + dt.timedelta(minutes=n))
              for n in range(1, MESSAGES + 1)}
    mb = Mailbridge(tmp_path, [mailbox(imap_account, batch_messages=5)],
                    env={PASSWORD_ENV: imap_account.password},
                    receipts={"max_age_days": 0, "max_per_sender_per_day": 0, "unknown_sender_days": 0},
                    outbox={"max_automatic_per_hour": 0, "max_automatic_per_day": 0},  # one receipt per mail
                    ingest={"max_submissions_per_sender_per_day": 1000})  # one sender, 60 mails in an hour

    # Killed once the ledger is at head, before the first message is recorded (a fetch of 5 mails
    # and their parse stand between the two; the watcher looks every 5 ms).
    head = head_revision()
    assert kill_when(mb, 0, lambda: ledger_at_head(mb, head), "the ledger reached head") == 0
    for run, rows in enumerate(KILL_AT_ROWS, start=1):
        reached = kill_at_rows(mb, run, rows)
        assert rows <= reached < MESSAGES
    mb.poll()

    # Every server message exactly once, by UID and by Message-ID, and fully processed.
    messages = mb.messages()
    server_uids = imap_account.uids()
    assert sorted(server_uids) == sorted(uid_of.values())
    assert sorted(m["uid"] for m in messages) == server_uids
    by_id = Counter(m["message_id"] for m in messages)
    assert by_id == Counter({message_id_of(n): 1 for n in uid_of})
    assert [m["uid"] for m in messages if m["disposition"] != "submission"] == []

    # One submission per article, each on its own message, with unique receipt numbers.
    submissions = mb.submissions()
    expected = {message_id_of(n): max(docs_of(n), 1) for n in uid_of}
    assert len(submissions) == sum(expected.values())
    assert {m["message_id"]: len(m["submission_ids"]) for m in messages} == expected
    assert Counter(s["message_id"] for s in submissions) == Counter(expected)
    receipts = Counter(s["receipt_no"] for s in submissions)
    assert [r for r, c in receipts.items() if c > 1] == []
    titles = Counter((s["message_id"], s["title"]) for s in submissions)
    assert titles == Counter({(message_id_of(n), title_of(n, index=i)): 1
                              for n in uid_of for i in range(1, max(docs_of(n), 1) + 1)})

    # One receipt per message, queued with its submissions and sent by the final poll.
    outbox = json.loads(mb.ok("outbox", "list", "--json"))
    assert Counter(o["message"] for o in outbox) == Counter({m["id"]: 1 for m in messages})
    assert {o["status"] for o in outbox} == {"sent"}
    assert len(list(mb.outbox.glob("*.eml"))) == len(messages)

    # The archive: each ledger row's raw bytes on disk, named by and matching their sha256.
    archived = {path.stem: hashlib.sha256(path.read_bytes()).hexdigest()
                for path in (mb.store / "raw").rglob("*.eml")}
    assert {name for name, digest in archived.items() if name != digest} == set()
    assert set(archived) == {m["sha256"] for m in messages}
    for uid in uid_of.values():
        assert hashlib.sha256(imap_account.fetch_raw(uid)).hexdigest() in archived
