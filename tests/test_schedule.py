"""Scheduled mail under a controllable clock: each occurrence once, caught up once, never twice."""
from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
from email import message_from_bytes, policy
from pathlib import Path

import docx
import openpyxl
import pytest
from sqlalchemy import select
from support.books import CST, Books, at

from mailbridge.config import from_dict
from mailbridge.ledger.models import Address, Occurrence, Outgoing
from mailbridge.service import schedule
from support.database import database_url

ROOT = Path(__file__).resolve().parent


def _config(tmp_path: Path, **schedule_keys):  # type: ignore[no-untyped-def]
    return from_dict({"database": {"url": database_url(tmp_path, "books")},
                      "scorecards": {"recipients": ["leader@smxkx.example"]},
                      "schedule": schedule_keys}, base=tmp_path)


def _books(tmp_path: Path, config) -> Books:  # type: ignore[no-untyped-def]
    """Three units in November 2026: 卢氏 (county, 5) short by 3, 灵宝 (county) done, 医学会 (society) silent."""
    books = Books(tmp_path, config)
    for name, kind, address in (("卢氏县科协", "county", "lsxkx@163.com"), ("灵宝市科协", "county", "lbkx@163.com"),
                                ("市医学会", "society", "yxh@163.com"), ("无邮箱学会", "society", None)):
        unit = books.unit(name, kind)
        if address:
            books.s.add(Address(address=address, unit_id=unit.id, source="roster"))
    books.article("卢氏县科协", at("2026-11", 3), "卢氏县科协开展科普进校园活动")
    first = books.article("卢氏县科协", at("2026-11", 10), "卢氏县召开科协工作会议")
    books.adopt(first, "website")
    for day in range(2, 7):
        books.article("灵宝市科协", at("2026-11", day), f"灵宝市科协第{day}期信息")
    books.close()
    return books


def _mails(db, kind: str) -> list:  # type: ignore[no-untyped-def]
    with db.session() as s:
        rows = s.scalars(select(Outgoing).where(Outgoing.kind == kind).order_by(Outgoing.id))
        return [(r.key, r.recipients, message_from_bytes(r.data, policy=policy.default)) for r in rows]


def _hours(start: dt.datetime, end: dt.datetime, step: dt.timedelta = dt.timedelta(hours=1)):  # type: ignore[no-untyped-def]
    while start <= end:
        yield start
        start += step


def _live_through(db, config, start: dt.datetime, end: dt.datetime) -> None:  # type: ignore[no-untyped-def]
    """The daemon's ticks, hour by hour from start to end, and the whole run again (a restart)."""
    jobs = schedule.jobs(config)
    for _ in range(2):
        for now in _hours(start, end):
            schedule.tick(db, config, now, jobs)


def test_a_simulated_month_fires_each_job_when_it_should_and_once(tmp_path: Path) -> None:
    config = _config(tmp_path)
    books = _books(tmp_path, config)
    db = books.db
    # Every hour from 1 November to 2 December, and the whole run again: nothing new the second time.
    _live_through(db, config, dt.datetime(2026, 11, 1, tzinfo=CST), dt.datetime(2026, 12, 2, tzinfo=CST))
    with db.session() as s:
        fired = sorted((o.job, o.scheduled_at.astimezone(CST).strftime("%m-%d %H:%M"), o.mails)
                       for o in s.scalars(select(Occurrence)))
    mondays = [f"11-{d:02d} 09:00" for d in (2, 9, 16, 23, 30)]
    # The first tick also catches up the scorecards of 1 October and 1 November (always caught up):
    # they ran, and sent nothing, as September and October have no submissions.
    assert fired == sorted([("progress", m, 3) for m in mondays] + [("remind", "11-20 09:00", 2),
                                                                     ("remind", "11-25 09:00", 2),
                                                                     ("scorecard", "10-01 09:00", 0),
                                                                     ("scorecard", "11-01 09:00", 0),
                                                                     ("scorecard", "12-01 09:00", 1)])
    # 催报: only 卢氏 (2 of 5) on each day; 灵宝 met its quota, 医学会 has 0 of 1 and is reminded too.
    reminders = _mails(db, "remind")
    assert sorted((k.split(":")[-1], to) for k, to, _ in reminders) == sorted(
        [(day, ["lsxkx@163.com"]) for day in ("2026-11-20", "2026-11-25")]
        + [(day, ["yxh@163.com"]) for day in ("2026-11-20", "2026-11-25")])
    lushi = next(m for k, to, m in reminders if to == ["lsxkx@163.com"])
    text = lushi.get_body(("plain",)).get_content()
    assert "还差 3 篇" in str(lushi["Subject"]) and "已报送信息 2 篇" in text and "11月30日" in text
    # Weekly progress: one per unit with an address, per week (3 units x 5 Mondays).
    progress = _mails(db, "progress")
    assert len(progress) == 15 and len({k for k, _, _ in progress}) == 15
    week3 = next(m for k, to, m in progress if k.startswith("progress:2026-W46") and to == ["lsxkx@163.com"])
    body = week3.get_body(("plain",)).get_content()
    assert "本月已报送 2 篇" in body and "还差 3 篇" in body and "卢氏县召开科协工作会议" in body and "市科协官网" in body
    # The monthly scorecard, to the leaders, with the workbook and the bulletin attached.
    [(key, to, card)] = _mails(db, "scorecard")
    assert key == "scorecard:2026-11" and to == ["leader@smxkx.example"]
    assert "2026年11月" in str(card["Subject"])
    files = {part.get_filename(): part.get_content() for part in card.iter_attachments()}
    xlsx_name = next(n for n in files if n.endswith(".xlsx"))
    docx_name = next(n for n in files if n.endswith(".docx"))
    sheet = openpyxl.load_workbook(io.BytesIO(files[xlsx_name])).worksheets[0]
    assert "灵宝市科协" in [c.value for row in sheet.iter_rows() for c in row]
    bulletin = "\n".join(p.text for p in docx.Document(io.BytesIO(files[docx_name])).paragraphs)
    assert "2026年11月" in bulletin
    assert "未完成本月任务" in card.get_body(("plain",)).get_content()


def test_missed_occurrences_are_caught_up_once_within_the_grace(tmp_path: Path) -> None:
    config = _config(tmp_path, catch_up_hours=24)
    books = _books(tmp_path, config)
    db = books.db
    # Down from 19 Nov 08:00 to 20 Nov 20:00: the 20th's 催报 (11 h late) is sent once at the start.
    schedule.tick(db, config, dt.datetime(2026, 11, 19, 8, tzinfo=CST))
    assert schedule.tick(db, config, dt.datetime(2026, 11, 20, 20, tzinfo=CST)) == 2
    assert schedule.tick(db, config, dt.datetime(2026, 11, 20, 20, 30, tzinfo=CST)) == 0
    # Down from 24 Nov to 26 Nov 10:00: the 25th 09:00 one is 25 h old, past the grace: never sent.
    assert schedule.tick(db, config, dt.datetime(2026, 11, 26, 10, tzinfo=CST)) == 0
    assert len(_mails(db, "remind")) == 2
    # The monthly scorecard is always caught up: a week-long outage over the 1st still sends it, once.
    assert schedule.tick(db, config, dt.datetime(2026, 12, 7, 12, tzinfo=CST)) >= 1
    schedule.tick(db, config, dt.datetime(2026, 12, 7, 13, tzinfo=CST))
    assert [k for k, _, _ in _mails(db, "scorecard")] == ["scorecard:2026-11"]


def test_a_job_switched_off_never_fires_and_cron_weekdays_mean_what_cron_says(tmp_path: Path) -> None:
    config = _config(tmp_path, weekly_progress="0 9 * * 1", quota_reminders="", monthly_scorecard="")
    books = _books(tmp_path, config)
    [job] = schedule.jobs(config)
    assert job.id == "progress"
    # crontab's 1 is Monday (APScheduler's own numbering would make it Tuesday).
    assert job.next_after(dt.datetime(2026, 11, 1, tzinfo=CST)).astimezone(CST).date() == dt.date(2026, 11, 2)
    with pytest.raises(Exception, match=r"schedule\.quota_reminders"):
        schedule.jobs(_config(tmp_path, quota_reminders="0 99 * * *"))
    books.db.dispose()


KILLED = """
import datetime as dt, os, signal, sys
sys.path.insert(0, {tests!r})
from support.books import CST
from mailbridge.config import from_dict
from mailbridge.ledger.db import Database
from mailbridge.service import schedule
config = from_dict(json_config, base=__import__("pathlib").Path({root!r}))
db = Database(config.database.url)
now = dt.datetime(2026, 11, 1, tzinfo=CST)
while now <= dt.datetime(2026, 12, 2, tzinfo=CST):
    if schedule.tick(db, config, now) and {kill}:
        os.kill(os.getpid(), signal.SIGKILL)  # kill -9 right after an occurrence committed
    now += dt.timedelta(hours=1)
"""


@pytest.mark.slow
def test_kill_9_in_the_middle_and_a_restart_send_nothing_twice(tmp_path: Path) -> None:
    config = _config(tmp_path)
    books = _books(tmp_path, config)
    raw = {"database": {"url": config.database.url}, "scorecards": {"recipients": ["leader@smxkx.example"]}}

    def run(kill: bool) -> int:
        script = f"json_config = {json.dumps(raw)!r}\nimport json\njson_config = json.loads(json_config)\n"
        script += KILLED.format(tests=str(ROOT), root=str(tmp_path), kill=kill)
        return subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=False).returncode

    assert run(kill=True) == -9
    first = len(_mails(books.db, "progress")) + len(_mails(books.db, "remind"))
    assert 0 < first < 20
    assert run(kill=False) == 0
    with books.db.session() as s:
        keys = list(s.scalars(select(Outgoing.key)))
        occurrences = list(s.scalars(select(Occurrence)))
    assert len(keys) == len(set(keys)) == 15 + 4 + 1
    assert len(occurrences) == len({(o.job, o.scheduled_at) for o in occurrences}) == 10


def test_a_collection_reminds_before_its_due_date_and_reports_after_once_each(tmp_path: Path) -> None:
    config = from_dict({"database": {"url": database_url(tmp_path, "books")},
                        "scorecards": {"recipients": ["leader@smxkx.example"]},
                        "schedule": {"monthly_scorecard": "", "quota_reminders": ""},
                        "collections": [{"id": "tongji-2026", "name": "关注情况统计表", "due": "2026-11-14",
                                         "subject_keywords": ["统计表"], "remind_days_before": [3, 1]}]},
                       base=tmp_path)
    books = _books(tmp_path, config)
    db = books.db
    _live_through(db, config, dt.datetime(2026, 11, 1, tzinfo=CST), dt.datetime(2026, 11, 17, tzinfo=CST))
    with db.session() as s:
        fired = sorted(o.scheduled_at.astimezone(CST).strftime("%m-%d %H:%M")
                       for o in s.scalars(select(Occurrence).where(Occurrence.job == "collection:tongji-2026")))
    assert fired == ["11-11 09:00", "11-13 09:00", "11-15 09:00"]
    reminders = _mails(db, "collection_reminder")
    assert len(reminders) == 6 and {tuple(to) for _, to, _ in reminders} == {("lsxkx@163.com",), ("lbkx@163.com",),
                                                                              ("yxh@163.com",)}
    [(_, to, report)] = _mails(db, "collection_report")
    assert to == ["leader@smxkx.example"] and "关注情况统计表" in str(report["Subject"])
    # The weekly progress of 9 November tells each unit what it still owes.
    monday = next(m for k, to, m in _mails(db, "progress") if k.startswith("progress:2026-W45") and to == ["yxh@163.com"])
    assert "待报送材料：关注情况统计表（2026-11-14 前）" in monday.get_body(("plain",)).get_content()
