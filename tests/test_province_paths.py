"""The fast read paths of issue 15 give what the straightforward ones gave, and reads never wait
for (nor hold up) a writer.

The straightforward paths are written out here as they were: full ORM objects with selectinload,
one `json.dumps(indent=2)` of the whole list, the scorecard's rows loaded twice.
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections import defaultdict
from pathlib import Path

import pytest
from support.books import Books, at
from support.mailfactory import make_mail
from support.mbcli import Mailbridge
from sqlalchemy import distinct, func, or_, select
from sqlalchemy.orm import selectinload

from mailbridge.config import Config, load
from mailbridge.ledger.db import WAL_CHECKPOINT_PAGES, Database
from mailbridge.ledger.models import Message, Submission
from mailbridge.ledger.vocab import COUNTED_STATUSES
from mailbridge.ledger.records import iso
from mailbridge.score import load as score_load
from mailbridge.score.period import parse
from mailbridge.score.rules import Article

ROSTER = ("单位,姓名,电子信箱,单位类型\n卢氏县科协,张喆,lsxkx@163.com,county\n渑池县科协,李娜,mcxkx@163.com,county\n"
          "灵宝市科协,王敏,lbskx@163.com,county\n")


def ledger(tmp_path: Path) -> Mailbridge:
    """Real mail through `import`: known and unknown senders, two documents, a body-only article,
    a resubmission, a duplicate; then an adoption and a rejection."""
    mb = Mailbridge(tmp_path, [])
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    mb.ok("roster", "import", str(tmp_path / "roster.csv"))
    inbox = tmp_path / "in"
    inbox.mkdir()
    mails = [make_mail(1), make_mail(2, unit="渑池县科协", sender="mcxkx@163.com", docs=2),
             make_mail(3, with_docx=False), make_mail(4, unit="灵宝市科协", sender="stranger@qq.com"),
             make_mail(1, message_id="<again.1@163.com>"),  # the same article again: a new version
             make_mail(5, unit="灵宝市科协", sender="lbskx@163.com", photos=3)]
    for i, raw in enumerate(mails + [mails[0]], start=1):  # and the first mail twice: a duplicate
        (inbox / f"{i:02d}.eml").write_bytes(raw)
    mb.ok("import", str(inbox))
    current = [s for s in mb.submissions() if s["status"] != "superseded" and s["unit"]]
    mb.ok("adopt", current[0]["receipt_no"], "website", "wechat")
    mb.ok("reject", current[1]["receipt_no"], "--note", "重复")
    return mb


def dumps(records: list) -> str:
    return json.dumps(records, ensure_ascii=False, indent=2) + "\n"


def old_message_records(db: Database, config: Config, *where) -> str:  # type: ignore[no-untyped-def]
    zone = config.ingest.zone
    with db.session() as s:
        rows = s.scalars(select(Message).options(selectinload(Message.submissions)).order_by(Message.id).where(*where))
        return dumps([{
            "id": r.id, "mailbox": r.mailbox, "folder": r.folder, "uidvalidity": r.uidvalidity, "uid": r.uid,
            "message_id": r.message_id, "sha256": r.sha256, "size": r.size, "received_at": iso(r.received_at, zone),
            "sender": r.sender, "sender_name": r.sender_name, "subject": r.subject, "state": r.state,
            "disposition": r.disposition, "reason": r.reason, "duplicate_of": r.duplicate_of,
            "action_pending": r.action_pending, "submission_ids": [x.id for x in r.submissions]} for r in rows])


def old_submission_records(db: Database, config: Config, *where) -> str:  # type: ignore[no-untyped-def]
    zone = config.ingest.zone
    with db.session() as s:
        subs = s.scalars(select(Submission).options(
            selectinload(Submission.message).selectinload(Message.attachments), selectinload(Submission.document),
            selectinload(Submission.unit), selectinload(Submission.suggested_unit),
            selectinload(Submission.adoptions)).order_by(Submission.id).where(*where))
        return dumps([{
            "id": sub.id, "receipt_no": sub.receipt_no, "message_id": sub.message.message_id,
            "message": sub.message.id, "mailbox": sub.message.mailbox,
            "received_at": iso(sub.message.received_at, zone), "month": sub.month, "sender": sub.message.sender,
            "sender_name": sub.message.sender_name, "subject": sub.message.subject, "title": sub.title,
            "body_chars": sub.body_chars, "category": sub.category, "category_name": config.category_name(sub.category),
            "unit": sub.unit.name if sub.unit else None, "unit_type": sub.unit.type if sub.unit else None,
            "suggested_unit": sub.suggested_unit.name if sub.suggested_unit else None, "version_of": sub.version_of,
            "status": sub.status, "flags": list(sub.flags or []),
            "document": sub.document.filename if sub.document else None,
            "attachments": [{"filename": a.filename, "content_type": a.content_type, "size": a.size,
                             "sha256": a.sha256, "kind": a.kind, "inline": a.inline} for a in sub.message.attachments],
            "links": list(sub.links or []), "problem": sub.problem, "review_status": sub.review_status,
            "review_group": sub.review_group,
            "adoptions": [{"channel": a.channel, "date": a.adopted_on.isoformat(), "actor": a.actor, "via": a.via}
                          for a in sub.adoptions]} for sub in subs])


def test_streamed_lists_are_byte_for_byte_the_orm_lists(tmp_path: Path) -> None:
    mb = ledger(tmp_path)
    config = load(mb.config)
    db = Database(config.database.url)
    dispositions = {m["disposition"] for m in mb.messages()}
    assert {"submission", "duplicate"} <= dispositions
    subs = mb.submissions()
    assert any(s["version_of"] for s in subs) and any(s["suggested_unit"] for s in subs)
    assert any(s["adoptions"] for s in subs) and any(len(s["attachments"]) > 2 for s in subs)
    assert mb.ok("messages", "list", "--json") == old_message_records(db, config)
    assert mb.ok("messages", "list", "--json", "--disposition", "duplicate") == old_message_records(
        db, config, Message.disposition == "duplicate")
    assert mb.ok("quarantine", "list", "--json") == old_message_records(db, config, Message.disposition == "quarantined")
    assert mb.ok("submissions", "list", "--json") == old_submission_records(db, config)
    month = subs[0]["month"]
    assert mb.ok("submissions", "list", "--json", "--month", month) == old_submission_records(
        db, config, Submission.month == month)
    assert mb.ok("submissions", "list", "--json", "--unit", "卢氏县科协") == old_submission_records(
        db, config, Submission.unit_id == 1)
    assert mb.ok("submissions", "list", "--json", "--month", "1999-01") == "[]\n"
    db.dispose()


def test_review_is_paged(tmp_path: Path) -> None:
    mb = ledger(tmp_path)
    everything = json.loads(mb.ok("review", "--json", "--limit", "1000"))
    assert len(everything) >= 4
    seen, after, pages = [], 0, 0
    while True:
        done = mb.run("review", "--json", "--limit", "2", "--after", str(after))
        assert done.returncode == 0, done.stderr
        page = json.loads(done.stdout)
        seen += page
        pages += 1
        if "next page with --after" not in done.stderr:
            break
        assert len(page) == 2
        after = page[-1]["id"]
        assert f"--after {after}" in done.stderr
    assert seen == everything and pages == (len(everything) + 1) // 2


def old_articles(s, config: Config, period) -> dict[int, list[Article]]:  # type: ignore[no-untyped-def]
    """score/engine._articles before issue 15: ORM objects, the versions loaded a second time."""
    subs = list(s.scalars(select(Submission).where(Submission.unit_id.is_not(None), Submission.month.in_(period.months))))
    keys = list({sub.version_of or sub.id for sub in subs})
    versions: dict[int, list[Submission]] = defaultdict(list)
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        for sub in s.scalars(select(Submission).where(or_(Submission.id.in_(chunk), Submission.version_of.in_(chunk)))):
            versions[sub.version_of or sub.id].append(sub)
    out: dict[int, list[Article]] = defaultdict(list)
    for group in versions.values():
        newest = max(group, key=lambda v: (v.status != "superseded", v.id))
        arrived = newest.message.received_at.astimezone(config.ingest.zone).date()
        if not (period.start <= arrived <= period.end) or newest.unit_id is None \
                or newest.status not in COUNTED_STATUSES:  # issue 13: one waiting for its file counts not
            continue
        adoptions: dict[str, dt.date] = {}
        for version in sorted(group, key=lambda v: v.id):
            for adoption in version.adoptions:
                adoptions.setdefault(adoption.channel, adoption.adopted_on)
        out[newest.unit_id].append(Article(newest.id, newest.receipt_no, newest.title, newest.month, arrived,
                                           newest.category, newest.body_chars, newest.review_status, adoptions))
    for arts in out.values():
        arts.sort(key=lambda a: (a.arrived, a.submission_id))
    return out


def old_counts(s, months: list[str]) -> dict[tuple[int, str], int]:  # type: ignore[no-untyped-def]
    """ledger.queries.articles_per_unit_month, the scorecard's second query before issue 15."""
    article = func.coalesce(Submission.version_of, Submission.id)
    rows = s.execute(select(Submission.unit_id, Submission.month, func.count(distinct(article)))
                     .where(Submission.unit_id.is_not(None), Submission.month.in_(months),
                            Submission.status.in_(COUNTED_STATUSES))
                     .group_by(Submission.unit_id, Submission.month))
    return {(unit_id, month): count for unit_id, month, count in rows}


def test_scorecard_rows_as_tuples_score_what_the_orm_rows_scored(tmp_path: Path) -> None:
    """Versions across months (an old first version, a later one after the period), adoptions of
    old versions, unattributed mail in the period: the same articles, month, quarter and year."""
    books = Books(tmp_path, Config())
    for name in ("卢氏县科协", "渑池县科协", "灵宝市科协"):
        books.unit(name, "county")
    first = books.article("卢氏县科协", at("2025-05", 30), "五月初稿")
    books.adopt(first, "website", on=dt.date(2025, 6, 2))
    second = books.article("卢氏县科协", at("2025-06", 3), "五月初稿（修改）", revises=first)
    books.adopt(second, "wechat", on=dt.date(2025, 6, 4))
    june = books.article("渑池县科协", at("2025-06", 10), "六月稿")
    books.article("渑池县科协", at("2025-07", 2), "六月稿（七月修改）", revises=june)  # newest after June
    for day in range(1, 29):
        sub = books.article("灵宝市科协", at("2025-06", day, 9), f"灵宝{day}")
        if day % 3 == 0:
            books.adopt(sub, "cast", "website", on=dt.date(2025, 6, day))
    stray = books.article("灵宝市科协", at("2025-06", 15, 11), "无单位稿")
    stray.unit_id = None
    books.article("灵宝市科协", at("2025-06", 16, 11), "超大附件待补交").status = "awaiting_file"
    books.article("渑池县科协", at("2025-06", 20), "六月稿（重发）", revises=june).status = "superseded"
    books.article("灵宝市科协", at("2025-09", 1), "九月稿")
    books.s.flush()
    for kind, label in (("month", "2025-06"), ("month", "2025-07"), ("quarter", "2025-Q2"), ("quarter", "2025-Q3"),
                        ("year", "2025"), ("week", "2025-W23")):
        period = parse(kind, label)
        fast = score_load.read(books.s, books.config, period)
        assert fast.articles == old_articles(books.s, books.config, period), label
        assert fast.counts == old_counts(books.s, list(period.months)), label
    june_books = score_load.read(books.s, books.config, parse("month", "2025-06"))
    assert sum(len(a) for a in june_books.articles.values()) == 29
    assert june_books.counts[(books.units["渑池县科协"].id, "2025-06")] == 1  # two versions of one article
    assert june_books.counts[(books.units["灵宝市科协"].id, "2025-06")] == 28  # not the stray, not the one waiting
    books.close()


def test_read_commands_take_no_write_lock(tmp_path: Path) -> None:
    """With a writer holding SQLite's write lock (BEGIN IMMEDIATE, as the poller does), every read
    command still answers at once: it would otherwise wait busy_timeout (30 s) and fail."""
    mb = ledger(tmp_path)
    month = mb.submissions()[0]["month"]
    writer = sqlite3.connect(mb.db_path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        for args in (("messages", "list", "--json"), ("submissions", "list", "--json"), ("review", "--json"),
                     ("scorecard", "--month", month, "--json"), ("submissions", "show", "1", "--json"),
                     ("adoptions", "list", "--json"), ("outbox", "list", "--json"), ("roster", "list", "--json")):
            done = mb.run(*args, timeout=20)
            assert done.returncode == 0, (args, done.stderr)
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_a_long_read_does_not_hold_up_an_import(tmp_path: Path) -> None:
    """A read transaction stays open (one snapshot) while `import` writes a mail: the import
    completes (a BEGIN IMMEDIATE reader would have made it wait, then fail after busy_timeout)."""
    mb = ledger(tmp_path)
    db = Database(load(mb.config).database.url)
    (tmp_path / "new.eml").write_bytes(make_mail(9, unit="灵宝市科协", sender="lbskx@163.com"))
    with db.reading() as s:
        before = s.scalar(select(func.count()).select_from(Message))  # the snapshot is taken here
        done = mb.run("import", str(tmp_path / "new.eml"), timeout=25)
        assert done.returncode == 0, done.stderr
        if db.engine.dialect.name == "sqlite":  # one snapshot per transaction; PostgreSQL's READ
            # COMMITTED (the default) takes one per statement, and its reads never block a write either
            assert s.scalar(select(func.count()).select_from(Message)) == before
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == before + 1
    db.dispose()


def test_the_streamed_json_is_json_dumps_with_indent() -> None:
    """emit_json_stream's encoder against json.dumps(indent=2) on random nested records: strings
    with quotes, newlines, controls, U+2028 and Chinese; floats, bools, None; empty containers."""
    import random

    from mailbridge.commands.ledger import _indented

    rng = random.Random(15)

    def value(depth: int = 0) -> object:
        roll = rng.random()
        if depth < 3 and roll < 0.2:
            return {f"k{i}\n\"é": value(depth + 1) for i in range(rng.randint(0, 3))}
        if depth < 3 and roll < 0.4:
            return [value(depth + 1) for _ in range(rng.randint(0, 3))]
        return rng.choice([None, True, False, 0, -5, 1.5, 1e20, 0.1, "中文\u2028\x1b", "", 'a"b\\', 2**70])

    for _ in range(2000):
        record = {"id": value(), "items": [value(), value()]}
        assert _indented(record, "") == json.dumps(record, ensure_ascii=False, indent=2)


@pytest.mark.sqlite_only
def test_commits_do_not_copy_the_wal_into_the_database_every_thousand_pages(tmp_path: Path) -> None:
    """SQLite's default checkpoints (and fsyncs) at 1,000 pages of WAL, inside a commit of the
    poller; the ledger lets the WAL grow to WAL_CHECKPOINT_PAGES first."""
    db = Database(f"sqlite:///{tmp_path / 'mb.db'}")
    with db.engine.begin() as conn:
        page = conn.exec_driver_sql("PRAGMA page_size").scalar()
        conn.exec_driver_sql("CREATE TABLE filler (data BLOB)")
    for _ in range(30):  # ~3,000 pages, committed as a poller commits: a transaction at a time
        with db.engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO filler VALUES (zeroblob(?))", (100 * page,))
    wal = (tmp_path / "mb.db-wal").stat().st_size
    assert 2_500 * page < wal < WAL_CHECKPOINT_PAGES * page * 1.1  # not reset after page 1,000
    assert (tmp_path / "mb.db").stat().st_size < 100 * page  # nothing copied into the database yet
