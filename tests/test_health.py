"""Incidents and alert mails: one when a problem starts, one when it is over, never one per poll."""
from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

from sqlalchemy import select

from mailbridge.config import from_dict
from mailbridge.ledger.db import Database, ensure_schema
from mailbridge.ledger.models import Incident, Message, Outgoing, utcnow
from mailbridge.service import health
from support.database import database_url


def _setup(tmp_path: Path, **admin):  # type: ignore[no-untyped-def]
    config = from_dict({
        "database": {"url": database_url(tmp_path, "h")},
        "mailboxes": [{"name": "smxskx", "host": "imap.163.com", "username": "smxskx@163.com",
                       "password_env": "X"}],
        "admin": {"addresses": ["it@smxkx.example"], **admin},
    }, base=tmp_path)
    db = Database(config.database.url)
    ensure_schema(db.engine)
    return config, db


def _alerts(db: Database) -> list[tuple[str, str]]:
    with db.session() as s:
        rows = s.scalars(select(Outgoing).where(Outgoing.kind == "alert").order_by(Outgoing.id))
        return [(r.key, str(message_from_bytes(r.data, policy=policy.default)["Subject"])) for r in rows]


def test_failing_mailbox_alerts_after_the_grace_then_recovers(tmp_path: Path) -> None:
    config, db = _setup(tmp_path, alert_after_minutes=60)
    now = utcnow()
    health.record_success(db, "smxskx", 1)
    health.record_failure(db, "smxskx", "login refused")
    assert health.check(config, db, now + timedelta(minutes=30)) == 0  # within the grace: quiet
    assert health.check(config, db, now + timedelta(minutes=61)) == 1
    for minutes in (62, 90, 600):  # every later poll sees the same failure: no new mail
        health.record_failure(db, "smxskx", "login refused")
        assert health.check(config, db, now + timedelta(minutes=minutes)) == 0
    health.record_success(db, "smxskx", 0)
    assert health.check(config, db, now + timedelta(minutes=601)) == 1
    [(opened, opened_subject), (closed, closed_subject)] = _alerts(db)
    assert opened.endswith(":opened") and "需处理" in opened_subject and "smxskx" in opened_subject
    assert closed.endswith(":resolved") and "已恢复" in closed_subject
    with db.session() as s:
        [incident] = s.scalars(select(Incident))
        assert incident.key == "mailbox_failing:smxskx" and incident.resolved_at is not None


def test_a_silent_mailbox_is_an_incident_until_mail_comes(tmp_path: Path) -> None:
    """An expired 163 authorization code can look exactly like a quiet mailbox."""
    config, db = _setup(tmp_path, silent_days=7)
    now = utcnow()
    health.record_success(db, "smxskx", 1)
    assert health.check(config, db, now + timedelta(days=6)) == 0
    assert health.check(config, db, now + timedelta(days=8)) == 1
    assert health.check(config, db, now + timedelta(days=9)) == 0
    health.record_success(db, "smxskx", 2)  # new mail
    assert health.check(config, db) == 1
    subjects = [subject for _, subject in _alerts(db)]
    assert "7 天没有收到新邮件" in subjects[0] and "已恢复" in subjects[1]


def test_failed_mail_and_quarantine_are_incidents(tmp_path: Path) -> None:
    config, db = _setup(tmp_path, silent_days=0)
    with db.session() as s:
        s.add(Outgoing(key="receipt:1", kind="receipt", recipients=["a@b.example"], subject="x", message_id="<m@x>",
                       data=b"x", status="failed"))
        s.add(Message(mailbox="import", folder="", sha256="0" * 64, size=1, received_at=utcnow(), state="processed",
                      disposition="quarantined", reason="broken"))
    assert health.check(config, db) == 2
    assert health.check(config, db) == 0
    with db.session() as s:
        assert {p.key for p in health.problems(config, s)} == {"outbox_failed", "quarantine"}


def test_no_admin_address_means_incidents_without_mail(tmp_path: Path) -> None:
    config, db = _setup(tmp_path, addresses=[], alert_after_minutes=0)
    health.record_failure(db, "smxskx", "connection refused")
    assert health.check(config, db) == 0
    with db.session() as s:
        assert [i.key for i in s.scalars(select(Incident))] == ["mailbox_failing:smxskx"]
