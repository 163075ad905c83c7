"""[outbox] keep_sent_days: a sent mail's bytes go after that time, its record stays (issue 15)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from mailbridge.errors import ConfigError
from mailbridge.ledger.db import Database, ensure_schema
from mailbridge.ledger.models import Outgoing
from mailbridge.notify import sender
from mailbridge.notify.outbox import drop_sent_bytes
from mailbridge.service.runner import Runner

NOW = dt.datetime.now(dt.UTC)
RECORD = ("key", "kind", "recipients", "subject", "message_id", "status", "created_at", "sent_at", "attempts")


def mail(key: str, status: str, days_ago: int | None) -> dict:
    sent = NOW - dt.timedelta(days=days_ago) if days_ago is not None else None
    return {"key": key, "kind": "receipt", "recipients": [f"{key}@163.com"], "subject": "回执", "attempts": 1,
            "message_id": f"<{key}@smxkx>", "data": b"From: x\r\n\r\n" + b"x" * 5000, "status": status,
            "created_at": NOW - dt.timedelta(days=(days_ago or 0) + 1), "next_attempt_at": NOW, "sent_at": sent}


def outbox_db(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path}/mb.db")
    ensure_schema(db.engine)
    with db.session() as s:
        s.execute(insert(Outgoing), [mail("old", "sent", 91), mail("recent", "sent", 89), mail("old2", "sent", 400),
                                     mail("failed", "failed", None), mail("pending", "pending", None)])
    return db


def rows(db: Database) -> dict[str, Outgoing]:
    with db.session() as s:
        return {r.key: r for r in s.scalars(select(Outgoing))}


def test_old_sent_mail_loses_its_bytes_and_keeps_its_record(tmp_path: Path) -> None:
    db = outbox_db(tmp_path)
    before = rows(db)
    with db.session() as s:
        assert drop_sent_bytes(s, 90) == 2
    with db.session() as s:
        assert drop_sent_bytes(s, 90) == 0  # done once
        assert drop_sent_bytes(s, 0) == 0  # 0: kept for ever
    after = rows(db)
    assert {k for k, r in after.items() if not r.data} == {"old", "old2"}
    for key, row in after.items():
        assert [getattr(row, f) for f in RECORD] == [getattr(before[key], f) for f in RECORD]
    with pytest.raises(ConfigError, match="keep_sent_days"):
        sender.retry(db, after["old"].id)
    assert sender.retry(db, after["recent"].id).status == "pending"  # its bytes are still there
    db.dispose()


def test_dropping_goes_in_small_transactions(tmp_path: Path) -> None:
    db = outbox_db(tmp_path)
    with db.session() as s:
        s.execute(insert(Outgoing), [mail(f"m{i}", "sent", 100) for i in range(5)])
    done = []
    while True:
        with db.session() as s:
            done.append(drop_sent_bytes(s, 90, batch=3))
        if done[-1] < 3:
            break
    assert done == [3, 3, 1]
    db.dispose()


def test_the_daemons_outbox_job_drops_them(tmp_path: Path) -> None:
    db = outbox_db(tmp_path)
    config = tmp_path / "mailbridge.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/mb.db"\n[storage]\ndir = "{tmp_path}/store"\n'
                      f'[smtp]\ntransport = "file"\ndir = "{tmp_path}/sent"\n[outbox]\nkeep_sent_days = 300\n',
                      encoding="utf-8")
    runner = Runner(config)
    try:
        runner._outbox()  # one round of the job: flush, then (at start) the upkeep
    finally:
        runner.db.dispose()
    after = rows(db)
    assert {k for k, r in after.items() if not r.data} == {"old2"}
    assert after["pending"].status == "sent"  # the flush ran too
    db.dispose()
