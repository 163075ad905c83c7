"""Deadline collections: replies recognised at ingest by each rule, late ones marked, not scored;
their receipts; reminders only to units still missing; the closing report; the roster collection."""
from __future__ import annotations

import datetime as dt
import email
import json
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from support.formmail import XLSX_CT, form_mail, xlsx
from support.mailfactory import CST, DOCX_CT, make_docx, make_mail
from support.mbcli import PASSWORD_ENV, Mailbridge, _toml, mailbox

from mailbridge import config as config_mod
from mailbridge.collect.jobs import due_occurrences, queue_due, queue_reminders, queue_report
from mailbridge.errors import ConfigError
from mailbridge.ledger.db import Database
from support.database import database_url

ROSTER = ("单位,姓名,电子信箱,单位类型\n"
          "卢氏县科协,张喆,lsxkx@163.com,county\n"
          "渑池县科协,李娜,mcxkx@163.com,county\n"
          "陕州区科协,王芳,szkx@163.com,county\n"
          "市农学会,赵刚,nxh@163.com,society\n")
SUMMARY = {"id": "zongjie-2026", "name": "年度工作总结", "due": "2026-11-10", "opens": "2026-11-01",
           "subject_keywords": ["工作总结"], "filename_patterns": ["*自评表*"], "unit_types": ["county"]}


def installation(root: Path, *collections: dict[str, Any], mailboxes: list | None = None,
                 env: dict | None = None, **sections: dict[str, Any]) -> Mailbridge:
    sections.setdefault("receipts", {"max_age_days": 0})
    mb = Mailbridge(root, mailboxes or [], env=env, **sections)
    lines = []
    for collection in collections:
        lines.append("[[collections]]")
        lines += [f"{key} = {_toml(value)}" for key, value in collection.items()]
    with mb.config.open("a", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
    mb.ok("roster", "import", str(root / "roster.csv"))
    return mb


def on(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, 0, tzinfo=CST)


def import_mails(mb: Mailbridge, *mails: bytes) -> None:
    folder = mb.root / f"in{len(list(mb.root.glob('in*')))}"
    folder.mkdir()
    for i, raw in enumerate(mails, start=1):
        (folder / f"{i:03d}.eml").write_bytes(raw)
    mb.ok("import", "--receipts", str(folder))


def outgoing(mb: Mailbridge, kind: str | None = None) -> list[tuple[list[str], EmailMessage]]:
    """Queued or sent mail, from the outbox table, parsed."""
    rows = mb.rows("SELECT kind, key, recipients, data FROM outbox ORDER BY id")
    return [(json.loads(to), email.message_from_bytes(data, policy=policy.default))
            for k, key, to, data in rows if kind is None or k == kind]


def text_of(msg: EmailMessage) -> str:
    return msg.get_body(("plain",)).get_content()


def show(mb: Mailbridge, collection_id: str) -> dict[str, dict]:
    return {r["unit"]: r for r in json.loads(mb.ok("collections", "show", collection_id, "--json"))}


@pytest.mark.slow
def test_replies_recognised_by_subject_and_filename_late_marked_and_not_scored(tmp_path: Path) -> None:
    mb = installation(tmp_path, SUMMARY)
    summary = make_docx("卢氏县科协2026年度工作总结", ("一年来，我们……",))
    import_mails(mb,
                 form_mail(1, "lsxkx@163.com", "卢氏县科协2026年度工作总结", on(9), [("工作总结.docx", summary, DOCX_CT)]),
                 # no keyword in the subject: the file name (full-width, upper case) is what matches
                 form_mail(2, "mcxkx@163.com", "报送材料", on(12), [("渑池县科协ＸＬＳＸ自评表.xlsx",
                                                                   xlsx([["项目", "得分"]]), XLSX_CT)]),
                 form_mail(3, "nxh@163.com", "市农学会工作总结", on(9), [("总结.docx", summary, DOCX_CT)]),
                 form_mail(4, "lsxkx@163.com", "卢氏县科协工作总结（修改稿）", on(11), [("总结2.docx", summary, DOCX_CT)]),
                 form_mail(5, "lsxkx@163.com", "工作总结", dt.datetime(2026, 10, 30, 10, tzinfo=CST)),  # before opens
                 make_mail(1))
    messages = mb.messages()
    assert [m["disposition"] for m in messages] == ["collection", "collection", "submission", "collection",
                                                    "submission", "submission"]
    assert "zongjie-2026" in messages[0]["reason"] and "late" in messages[1]["reason"]
    assert all(m["submission_ids"] == [] for m in messages if m["disposition"] == "collection")
    records = show(mb, "zongjie-2026")
    assert set(records) == {"卢氏县科协", "渑池县科协", "陕州区科协"}  # county units only: not 市农学会
    assert records["卢氏县科协"]["status"] == "sent" and records["卢氏县科协"]["files"] == ["工作总结.docx"]
    assert records["卢氏县科协"]["received_at"].startswith("2026-11-09T10:00")
    assert records["卢氏县科协"]["message_id"] == messages[0]["message_id"]
    assert records["卢氏县科协"]["replies"] == 2  # the later one is kept; the earliest decides
    assert records["渑池县科协"]["status"] == "late"
    assert records["陕州区科协"] == {**records["陕州区科协"], "status": "missing", "received_at": None, "files": [],
                                     "message_id": None}
    # Not news: the scorecard counts only 卢氏's one article, and nothing of 渑池.
    card = {u["unit"]: u for u in json.loads(mb.ok("scorecard", "--month", "2026-11", "--json"))}
    assert card["卢氏县科协"]["submitted"] == 1 and card["渑池县科协"]["submitted"] == 0
    assert card["市农学会"]["submitted"] == 1  # outside the collection's scope: its mail is an article
    # Nothing is lost: the reply's files are in the ledger and the archive.
    stored = mb.rows("SELECT filename, sha256 FROM attachments WHERE message_row_id = ?", messages[1]["id"])
    assert [name for name, _ in stored] == ["渑池县科协ＸＬＳＸ自评表.xlsx"]
    assert list(mb.store.rglob(f"{stored[0][1]}*"))
    listed = {c["id"]: c for c in json.loads(mb.ok("collections", "list", "--json"))}
    assert (listed["zongjie-2026"]["sent"], listed["zongjie-2026"]["late"], listed["zongjie-2026"]["missing"]) == (1, 1, 1)


@pytest.mark.slow
def test_a_reply_gets_its_own_receipt(tmp_path: Path) -> None:
    mb = installation(tmp_path, SUMMARY, receipts={"max_age_days": 0, "contact": "调宣部 0398-2822345"})
    import_mails(mb, form_mail(1, "lsxkx@163.com", "年度工作总结<b>", on(9), [("总结.docx", make_docx("总结", ()), DOCX_CT)]),
                 form_mail(2, "mcxkx@163.com", "工作总结", on(12), [("自评表.xlsx", xlsx([["a"]]), XLSX_CT)]))
    receipts = outgoing(mb, "receipt")
    assert [to for to, _ in receipts] == [["lsxkx@163.com"], ["mcxkx@163.com"]]
    (_, first), (_, late) = receipts
    assert first["Subject"] == "回执：已收到卢氏县科协报送的年度工作总结"
    assert first["Auto-Submitted"] == "auto-replied" and first["In-Reply-To"] == mb.messages()[0]["message_id"]
    text, html = text_of(first), first.get_body(("html",)).get_content()
    assert "已登记为按时报送" in text and "总结.docx" in text and "不计入信息报送篇数" in text and "调宣部" in text
    assert "年度工作总结&lt;b&gt;" in html and "年度工作总结<b>" not in html  # the subject is the sender's
    assert "截止日期为2026年11月10日，本次报送已逾期" in text_of(late)
    assert "回执编号" not in text  # a form is not an article: no receipt number


@pytest.mark.slow
def test_counts_as_submission_makes_it_an_article_too(tmp_path: Path) -> None:
    mb = installation(tmp_path, {**SUMMARY, "counts_as_submission": True})
    import_mails(mb, form_mail(1, "lsxkx@163.com", "工作总结", on(9),
                               [("总结.docx", make_docx("卢氏县科协年度工作总结", ("正文内容。",)), DOCX_CT)]))
    [message] = mb.messages()
    assert message["disposition"] == "submission" and len(message["submission_ids"]) == 1
    assert show(mb, "zongjie-2026")["卢氏县科协"]["status"] == "sent"
    assert sorted(key for key in _keys(mb)) == [f"collection-receipt:{message['id']}", f"receipt:{message['id']}"]


def _keys(mb: Mailbridge) -> list[str]:
    return [k for (k,) in mb.rows("SELECT key FROM outbox")]


def test_units_list_and_a_mailbox_or_folder_of_its_own(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    imap_account.create_folder("Forms")
    box = mailbox(imap_account, folders=["INBOX", "Forms"])
    stats = {"id": "tongji", "name": "关注情况统计表", "due": "2026-12-20", "units": ["卢氏县科协", "市农学会"],
             "mailboxes": ["smxskx"], "folders": ["Forms"]}
    mb = installation(tmp_path, stats, mailboxes=[box], env={PASSWORD_ENV: imap_account.password})
    # In INBOX the same kind of mail is an article; in Forms anything from a unit listed is a reply.
    imap_account.append(form_mail(1, "lsxkx@163.com", "统计表", on(20)), folder="INBOX")
    imap_account.append(form_mail(2, "lsxkx@163.com", "十二月材料", on(21), [("表.xlsx", xlsx([["x"]]), XLSX_CT)]),
                        folder="Forms")
    imap_account.append(form_mail(3, "mcxkx@163.com", "统计表", on(21)), folder="Forms")  # not a listed unit
    mb.poll()
    by_folder = {(m["folder"], m["sender"]): m["disposition"] for m in mb.messages()}
    assert by_folder == {("INBOX", "lsxkx@163.com"): "submission", ("Forms", "lsxkx@163.com"): "collection",
                         ("Forms", "mcxkx@163.com"): "submission"}
    records = show(mb, "tongji")
    assert {u: r["status"] for u, r in records.items()} == {"卢氏县科协": "sent", "市农学会": "missing"}
    assert records["卢氏县科协"]["files"] == ["表.xlsx"]


def _session(mb: Mailbridge):  # type: ignore[no-untyped-def]
    config = config_mod.load(mb.config)
    return config, Database(config.database.url)


def test_reminders_go_only_to_units_still_missing_once_per_occurrence(tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server()
    mb = installation(tmp_path, SUMMARY, smtp={"transport": "smtp", "host": "127.0.0.1", "port": server.port,
                                               "security": "plain", "max_per_minute": 6000})
    import_mails(mb, form_mail(1, "lsxkx@163.com", "工作总结", on(5)))
    config, db = _session(mb)
    with db.session() as s:
        assert queue_reminders(s, config, "zongjie-2026", "collection-remind:zongjie-2026@2026-11-07T09:00",
                               dt.date(2026, 11, 7)) == 2
    with db.session() as s:  # the same occurrence again (a restart): nothing more
        assert queue_reminders(s, config, "zongjie-2026", "collection-remind:zongjie-2026@2026-11-07T09:00",
                               dt.date(2026, 11, 7)) == 0
    db.dispose()
    mb.ok("outbox", "flush")
    got = server.wait_for(3, timeout=30)  # the receipt and two reminders
    reminders = [r for r in got if r.message["Subject"].startswith("提醒")]
    assert sorted(r.recipients[0] for r in reminders) == ["mcxkx@163.com", "szkx@163.com"]  # not 卢氏, not 农学会
    msg = reminders[0].message
    assert msg["Subject"] == "提醒：请于2026年11月10日前报送年度工作总结"
    text = text_of(msg)
    assert "还有 3 天" in text and "smxskx@163.com" in text and "工作总结" in text and "已有 1 个单位报送" in text
    assert msg["Auto-Submitted"] == "auto-generated"


@pytest.mark.slow
def test_closing_report_lists_sent_late_and_missing(tmp_path: Path) -> None:
    mb = installation(tmp_path, SUMMARY, scorecards={"recipients": ["leader@smxkx.example"]})
    import_mails(mb, form_mail(1, "lsxkx@163.com", "工作总结", on(5), [("总结.docx", make_docx("总结", ()), DOCX_CT)]),
                 form_mail(2, "mcxkx@163.com", "工作总结", on(11)))
    config, db = _session(mb)
    occurrence = "collection-report:zongjie-2026@2026-11-11T09:00"
    with db.session() as s:
        assert queue_report(s, config, "zongjie-2026", occurrence) == 1
    with db.session() as s:
        assert queue_report(s, config, "zongjie-2026", occurrence) == 0
    db.dispose()
    [(to, report)] = outgoing(mb, "collection_report")
    assert to == ["leader@smxkx.example"]
    assert report["Subject"] == "年度工作总结报送情况：按时 1，逾期 1，未报送 1"
    text = text_of(report)
    sent, rest = text.split("逾期报送（1）", 1)
    assert "卢氏县科协　2026-11-05 10:00　总结.docx" in sent
    late, missing = rest.split("未报送（1）", 1)
    assert "渑池县科协　2026-11-11 10:00" in late and "陕州区科协" in missing
    html = report.get_body(("html",)).get_content()
    assert html.count("<tr>") == 3 and "未报送" in html  # a row per unit, under the header


def test_due_occurrences_are_local_mornings() -> None:
    config = config_mod.from_dict({"collections": [SUMMARY]}, base=Path("."))
    times = due_occurrences(config, config.collections[0])
    assert [t.isoformat() for t in times] == ["2026-11-07T09:00:00+08:00", "2026-11-09T09:00:00+08:00",
                                              "2026-11-11T09:00:00+08:00"]


@pytest.mark.parametrize(("collection", "expected"), [
    ({"subject_keywords": []}, "needs subject_keywords, filename_patterns, mailboxes or folders"),
    ({"unit_types": ["town"]}, "collections[0].unit_types names 'town'"),
    ({"opens": "2026-12-01"}, "opens 2026-12-01 is after due 2026-11-10"),
    ({"mailboxes": ["forms"]}, "collections[0].mailboxes names 'forms'"),
    ({"id": "年度"}, "key 'collections[0].id'"),
    ({"due": "11月10日"}, "key 'collections[0].due'"),
    ({"subject_keywords": [""]}, "would match every mail"),
])
def test_collection_mistakes_are_one_sentence(collection: dict, expected: str) -> None:
    body = {**SUMMARY, "filename_patterns": [], **collection}
    with pytest.raises(ConfigError) as info:
        config_mod.from_dict({"collections": [body]}, base=Path("."))
    assert expected in str(info.value) and "\n" not in str(info.value)


@pytest.mark.slow
def test_show_xlsx_keeps_sender_text_as_text(tmp_path: Path) -> None:
    mb = installation(tmp_path, SUMMARY)
    import_mails(mb, form_mail(1, "lsxkx@163.com", "工作总结", on(9), [("=HYPERLINK(1)自评表.xlsx", xlsx([["a"]]), XLSX_CT)]))
    out = tmp_path / "zongjie.xlsx"
    mb.ok("collections", "show", "zongjie-2026", "--xlsx", str(out))
    sheet = openpyxl.load_workbook(out).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][:4] == ["单位", "报送情况", "收到时间", "文件"]
    assert rows[1][:4] == ["卢氏县科协", "按时报送", "2026-11-09 10:00", "=HYPERLINK(1)自评表.xlsx"]
    assert sheet.cell(row=2, column=4).data_type == "s"
    assert [r[1] for r in rows[2:]] == ["未报送", "未报送"]


ROSTER_COLLECTION = {"id": "dengjibiao-2026", "name": "信息员登记表", "due": "2026-11-14",
                     "filename_patterns": ["*登记表*"], "roster_form": True}


@pytest.mark.slow
def test_roster_collection_proposes_changes_and_applies_them(tmp_path: Path) -> None:
    mb = installation(tmp_path, ROSTER_COLLECTION)
    form = xlsx([["信息员登记表"], ["单位（部门）", "姓名", "联系电话", "电子信箱"],
                 ["卢氏县科协", "张喆", "13912345678", "lsxkx@163.com"],
                 ["卢氏县科协", "刘洋", "13800000000", "liuyang@qq.com"]])
    # A form only the roster reader recognises (no keyword, no pattern in its name) counts too.
    plain = xlsx([["单位", "姓名", "电子信箱"], ["渑池县科协", "李娜", "mcxkx@163.com；lina@126.com"]])
    # A new officer writes from an address the roster does not know: the form says for which unit.
    newcomer = xlsx([["单位（部门）", "姓名", "电子信箱"], ["陕州区科协", "孙悦", "sunyue@qq.com"]])
    import_mails(mb, form_mail(1, "lsxkx@163.com", "报送信息员", on(10), [("卢氏县信息员登记表.xlsx", form, XLSX_CT)]),
                 form_mail(2, "mcxkx@163.com", "名单", on(16), [("名单.xlsx", plain, XLSX_CT)]),
                 form_mail(3, "sunyue@qq.com", "信息员登记", on(12), [("登记表.xlsx", newcomer, XLSX_CT)]),
                 form_mail(4, "stranger@qq.com", "登记表", on(12), [("登记表.xlsx", xlsx([["单位", "电子信箱"],
                                                                   ["某某镇", "x@qq.com"]]), XLSX_CT)]))
    assert [m["disposition"] for m in mb.messages()] == ["collection", "collection", "collection", "ignored"]
    assert {u: r["status"] for u, r in show(mb, "dengjibiao-2026").items()} == {
        "卢氏县科协": "sent", "渑池县科协": "late", "陕州区科协": "sent", "市农学会": "missing"}
    assert [to for to, _ in outgoing(mb, "receipt")] == [["lsxkx@163.com"], ["mcxkx@163.com"], ["sunyue@qq.com"]]
    shown = mb.ok("collections", "show", "dengjibiao-2026")
    assert "proposed roster changes from 3 form(s)" in shown
    assert "officer 刘洋 of 卢氏县科协" in shown and "address liuyang@qq.com for 卢氏县科协" in shown
    assert "address lina@126.com for 渑池县科协" in shown
    assert "deactivate officer 王芳 of 陕州区科协" in shown  # the admin sees what a form would take away
    roster = {u["name"]: u for u in json.loads(mb.ok("roster", "list", "--json"))}
    assert roster["卢氏县科协"]["addresses"] == ["lsxkx@163.com"]  # only proposed so far
    applied = mb.ok("collections", "apply", "dengjibiao-2026")
    assert "address liuyang@qq.com for 卢氏县科协" in applied
    roster = {u["name"]: u for u in json.loads(mb.ok("roster", "list", "--json"))}
    assert roster["卢氏县科协"]["addresses"] == ["liuyang@qq.com", "lsxkx@163.com"]
    assert roster["渑池县科协"]["addresses"] == ["lina@126.com", "mcxkx@163.com"]
    assert roster["陕州区科协"]["addresses"] == ["sunyue@qq.com"]  # the form is the unit's whole list
    assert roster["市农学会"]["active"]  # a unit's form touches only that unit
    assert "no roster form waits to be applied" in mb.ok("collections", "show", "dengjibiao-2026")
    assert "no roster form waits to be applied" in mb.ok("collections", "apply", "dengjibiao-2026")


@pytest.mark.slow
def test_apply_refuses_a_collection_that_is_not_the_roster(tmp_path: Path) -> None:
    mb = installation(tmp_path, SUMMARY)
    done = mb.run("collections", "apply", "zongjie-2026")
    assert done.returncode == 2 and "roster_form = true" in done.stderr
    done = mb.run("collections", "show", "nope")
    assert done.returncode == 2 and "no collection 'nope'" in done.stderr and "zongjie-2026" in done.stderr


def test_migration_0008_downgrades_and_upgrades_again(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from mailbridge.ledger.db import alembic_config, upgrade

    db = Database(database_url(tmp_path, "m"))
    upgrade(db.engine)
    cfg = alembic_config(db.engine)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0007")
    assert "collection_replies" not in inspect(db.engine).get_table_names()
    assert upgrade(db.engine)[0] == "0007"
    assert "collection_replies" in inspect(db.engine).get_table_names()
    db.dispose()


@pytest.mark.slow
def test_reminders_and_report_by_hand(tmp_path: Path) -> None:
    mb = installation(tmp_path, SUMMARY, scorecards={"recipients": ["leader@smxkx.example"]})
    import_mails(mb, form_mail(1, "lsxkx@163.com", "工作总结", on(5)))
    would = json.loads(mb.ok("collections", "remind", "zongjie-2026", "--dry-run", "--json"))
    assert would == [{"unit": "渑池县科协", "to": ["mcxkx@163.com"]}, {"unit": "陕州区科协", "to": ["szkx@163.com"]}]
    assert outgoing(mb, "collection_reminder") == []
    assert "2 reminder(s) queued" in mb.ok("collections", "remind", "zongjie-2026")
    assert "0 reminder(s) queued" in mb.ok("collections", "remind", "zongjie-2026")  # once a day
    assert sorted(to for to, _ in outgoing(mb, "collection_reminder")) == [["mcxkx@163.com"], ["szkx@163.com"]]
    printed = mb.ok("collections", "report", "zongjie-2026")
    assert printed.startswith("年度工作总结报送情况：按时 1，逾期 0，未报送 2") and "陕州区科协" in printed
    assert "report queued" in mb.ok("collections", "report", "zongjie-2026", "--send")
    assert "already queued" in mb.ok("collections", "report", "zongjie-2026", "--send")
    assert [to for to, _ in outgoing(mb, "collection_report")] == [["leader@smxkx.example"]]


@pytest.mark.slow
def test_each_occurrence_queues_its_own_mail_once(tmp_path: Path) -> None:
    mb = installation(tmp_path, SUMMARY, scorecards={"recipients": ["leader@smxkx.example"]})
    import_mails(mb, form_mail(1, "lsxkx@163.com", "工作总结", on(5)))
    config, db = _session(mb)
    first, second, report = due_occurrences(config, config.collections[0])
    with db.session() as s:
        assert [queue_due(s, config, "zongjie-2026", at) for at in (first, second, report)] == [2, 2, 1]
    with db.session() as s:  # caught up again after a restart: nothing twice
        assert [queue_due(s, config, "zongjie-2026", at) for at in (first, second, report)] == [0, 0, 0]
    db.dispose()
    days = [text_of(msg).split("，", 2)[1].split("。")[0] for _, msg in outgoing(mb, "collection_reminder")]
    assert days == ["还有 3 天", "还有 3 天", "还有 1 天", "还有 1 天"]
    assert len(outgoing(mb, "collection_report")) == 1


@pytest.mark.slow
def test_a_reply_that_failed_dmarc_is_credited_to_no_unit(tmp_path: Path) -> None:
    mb = installation(tmp_path, SUMMARY)
    failed = (b"Authentication-Results: mx.163.com; spf=softfail smtp.mailfrom=lsxkx@163.com;"
              b" dmarc=fail (p=none dis=none) header.from=163.com\r\n")
    import_mails(mb, failed + form_mail(1, "lsxkx@163.com", "工作总结", on(9)))
    [message] = mb.messages()
    assert message["disposition"] == "submission"  # an article of no unit, for the clerk to look at
    assert show(mb, "zongjie-2026")["卢氏县科协"]["status"] == "missing"
    assert outgoing(mb, "collection_reminder") == [] and all("collection-receipt" not in k for k in _keys(mb))
