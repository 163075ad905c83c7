"""The queries run for every ingested mail use the index made for them, with or without the
planner's statistics: their cost must not grow with the history (issue 15).

Each hot query is captured as the code really sends it (a cursor hook on the engine), then asked
for its plan with EXPLAIN QUERY PLAN on a ledger holding three years of skewed rows (most outbox
rows are receipts; one unit with a long history) — once with no statistics (a ledger nobody ever
ANALYZEd), once after `keep_statistics`.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import event, insert, select

from mailbridge.attribute.flood import made_before
from mailbridge.attribute.match import link_version, unit_for_address
from mailbridge.config import Config
from mailbridge.ledger.db import Database, ensure_schema, keep_statistics
from mailbridge.ledger.models import Address, Message, Outgoing, Submission, Unit
from mailbridge.ledger.queries import articles_in_month
from mailbridge.notify import outbox
from mailbridge.notify.sender import Sender
from mailbridge.pipeline.dispose import _ORIGINAL
from mailbridge.pipeline.writes import _FIND_HERE_OR_MOVED, _FIND_IMPORT
from mailbridge.score import load as score_load
from mailbridge.score.period import parse

UTC = dt.UTC
NOW = dt.datetime(2025, 6, 15, 10, tzinfo=UTC)
DAYS = 3 * 365
BIG = ("messages", "submissions", "outbox", "attachments", "adoptions")


def fill(db: Database) -> None:
    """Three years: 6 mails a day from 20 units (one unit sends half of them), a receipt for each."""
    with db.session() as s:
        s.execute(insert(Unit), [{"name": f"单位{i}", "type": "county", "active": True} for i in range(20)])
        s.execute(insert(Address), [{"address": f"u{i}@163.com", "unit_id": i + 1} for i in range(20)])
        messages, subs, mails = [], [], []
        n = 0
        for day in range(DAYS):
            for k in range(6):
                n += 1
                unit = 1 if k < 3 else 2 + (n % 19)
                when = NOW - dt.timedelta(days=DAYS - day, hours=k)
                messages.append({"id": n, "mailbox": "box", "folder": "INBOX", "uidvalidity": 1, "uid": n,
                                 "message_id": f"<{n}@x>", "sha256": f"{n:064x}", "content_hash": f"{n:064x}",
                                 "dedup_key": f"{n:064x}", "size": 1000, "received_at": when,
                                 "sender": f"u{unit - 1}@163.com", "state": "processed", "disposition": "submission"})
                subs.append({"id": n, "message_row_id": n, "receipt_no": f"SMX-{n}", "title": "t", "text": "正文" * 50,
                             "body_chars": 100, "unit_id": unit, "month": when.strftime("%Y-%m"), "status": "received"})
                mails.append({"key": f"receipt:{n}", "kind": "receipt", "recipients": [f"u{unit - 1}@163.com"],
                              "subject": "回执", "message_id": f"<r{n}@x>", "data": b"x" * 100, "status": "sent",
                              "created_at": when, "next_attempt_at": when, "sent_at": when, "message_row_id": n})
        s.execute(insert(Message), messages)
        s.execute(insert(Submission), subs)
        s.execute(insert(Outgoing), mails)
        s.execute(insert(Outgoing), [{"key": f"digest:{i}", "kind": "digest", "recipients": ["r@x"], "subject": "d",
                                      "message_id": f"<d{i}@x>", "data": b"", "status": "sent", "created_at": NOW,
                                      "next_attempt_at": NOW} for i in range(30)])


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Database:
    db = Database(f"sqlite:///{Path(tmp_path_factory.mktemp('plans')) / 'mb.db'}")
    ensure_schema(db.engine)
    fill(db)
    yield db
    db.dispose()


def plans_of(db: Database, run: Callable[[], object]) -> list[tuple[str, list[str]]]:
    """(SQL, plan lines) of every SELECT that `run` sends."""
    sent: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE")):
            sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    out = []
    with db.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        for statement, parameters in sent:
            rows = raw.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
            out.append((statement, [row[-1] for row in rows]))
    return out


def check(db: Database, run: Callable[[], object], index: str) -> None:
    """`index`: the index's name, or for a UNIQUE constraint (an automatic index) its search terms."""
    found = plans_of(db, run)
    assert found, "the code under test sent no query"
    lines = [line for _, plan in found for line in plan]
    assert any(index in line for line in lines), (index, found)
    for statement, plan in found:  # and no query reads a big table whole
        for line in plan:
            words = line.split()
            if words[:1] == ["SCAN"] and words[1] in BIG and "INDEX" not in line:
                raise AssertionError(f"full scan of {words[1]}: {line}\n{statement}")


def unit_sub(s, unit_id: int) -> Submission:  # type: ignore[no-untyped-def]
    """A new submission of a unit, arriving now (as attribute() sees it)."""
    message = Message(mailbox="box", folder="INBOX", uidvalidity=1, uid=10**7, sha256="f" * 64, size=1,
                      received_at=NOW, sender="u0@163.com", state="archived")
    sub = Submission(message=message, receipt_no="SMX-new", title="t", text="正文" * 50, body_chars=100,
                     unit_id=unit_id, month=NOW.strftime("%Y-%m"))
    s.add(sub)
    s.flush()
    return sub


@pytest.fixture(params=["no statistics", "analyzed"])
def db(request: pytest.FixtureRequest, ledger: Database) -> Database:
    if request.param == "analyzed":
        keep_statistics(ledger.engine)
    else:  # a ledger nobody ever analyzed (ensure_schema's ANALYZE ran on it empty)
        with ledger.engine.connect() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS sqlite_stat1")
            conn.exec_driver_sql("DROP TABLE IF EXISTS sqlite_stat4")
            conn.commit()
        ledger.engine.dispose()  # connections that read the statistics forget them
    return ledger


def test_receipt_caps_read_one_kind_over_the_last_day(db: Database) -> None:
    with db.reading() as s:
        check(db, lambda: outbox.sent_to_since(s, "receipt", "u0@163.com", NOW - dt.timedelta(days=1)),
              "ix_outbox_kind_created_at")
        check(db, lambda: outbox.automatic_since(s, NOW - dt.timedelta(hours=1)), "ix_outbox_kind_created_at")
        check(db, lambda: s.scalar(select(Outgoing.id).where(Outgoing.key == "receipt:5")), "INDEX sqlite_autoindex_outbox_1 (key=?)")


def test_resubmission_check_and_monthly_count_read_the_window_only(db: Database) -> None:
    config = Config()
    with db.sessions() as s:
        sub = unit_sub(s, 1)  # the unit with half of three years' mail
        check(db, lambda: link_version(s, config, sub, NOW), "ix_submissions_unit_id_month")
        check(db, lambda: articles_in_month(s, 1, "2025-06"), "ix_submissions_unit_id_month")
        s.rollback()


def test_dedup_and_location_lookups_use_their_unique_indexes(db: Database) -> None:
    with db.engine.connect() as conn:
        check(db, lambda: conn.execute(_ORIGINAL, {"dedup_key": "a" * 64, "row_id": 1}).first(),
              "(dedup_key=?)")
        args = {"mailbox": "box", "folder": "INBOX", "uidvalidity": 1, "uid": 5, "sha256": "a" * 64, "message_id": "<5@x>"}
        check(db, lambda: conn.execute(_FIND_HERE_OR_MOVED, args).all(), "(mailbox=? AND folder=? AND uidvalidity=? AND uid=?)")
        check(db, lambda: conn.execute(_FIND_HERE_OR_MOVED, args).all(), "ix_messages_sha256")
        check(db, lambda: conn.scalar(_FIND_IMPORT, {"mailbox": "import", "folder": "x", "sha256": "a" * 64}),
              "ix_messages_sha256")


def test_roster_match_and_daily_flood_cap_use_their_indexes(db: Database) -> None:
    with db.sessions() as s:
        check(db, lambda: unit_for_address(s, "u0@163.com"), "(address=?)")
        row = s.get(Message, 100)
        check(db, lambda: made_before(s, row), "ix_messages_sender_received_at")
        s.rollback()


def test_outbox_claim_reads_what_waits_not_what_was_sent(db: Database) -> None:
    sender = Sender(Config(), db)
    check(db, lambda: sender._claim("test", False, after=0), "ix_outbox_")


def test_scorecard_reads_its_months_and_the_resubmissions_only(db: Database) -> None:
    with db.reading() as s:
        check(db, lambda: score_load.read(s, Config(), parse("month", "2025-06")), "ix_submissions_version_of (version_of>?)")


def test_refreshing_statistics_holds_the_write_lock_from_its_first_step(tmp_path: Path) -> None:
    """The daemon's upkeep runs beside a poller. Had a poller's commit fallen between the upkeep's
    read and its write, the upkeep failed at once ("database is locked": a CI run's daemon stopped
    on it). Here the poller tries to commit between every step of every statement it runs."""
    db = Database(f"sqlite:///{tmp_path / 'mb.db'}")
    ensure_schema(db.engine)
    db.engine.dispose()
    poller = sqlite3.connect(tmp_path / "mb.db", isolation_level=None, timeout=0)
    poller.execute("CREATE TABLE polled (n INTEGER)")
    tries: list[str] = []

    def poller_commits() -> int:  # called between the steps of a statement, on the upkeep's thread
        try:
            poller.execute("INSERT INTO polled VALUES (1)")
            tries.append("committed")
        except sqlite3.OperationalError as exc:
            tries.append(str(exc))
        return 0

    @event.listens_for(db.engine, "connect")
    def watch(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        def arm(sql: str) -> None:  # from the upkeep's first statement on, to its COMMIT
            if sql.startswith(("PRAGMA", "ANALYZE")):
                dbapi_conn.set_progress_handler(poller_commits, 1)
            elif sql == "COMMIT":
                dbapi_conn.set_progress_handler(None, 0)
        dbapi_conn.set_trace_callback(arm)

    keep_statistics(db.engine)
    assert tries and set(tries) == {"database is locked"}
    poller.close()
    db.dispose()
