"""Scheduled mail as admins see it: by hand from the CLI, and from `run` after a restart (aiosmtpd)."""
from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import docx
import openpyxl
from support.daemon import Daemon
from support.mailfactory import make_mail
from support.mbcli import PASSWORD_ENV, Mailbridge, mailbox

ROSTER = ("单位,姓名,电子信箱,单位类型\n卢氏县科协,张喆,lsxkx@163.com,county\n"
          "灵宝市科协,张丽,lbskx@126.com,county\n市医学会,王伟,yxh@163.com,society\n")


def _install(root: Path, server, mailboxes: list | None = None, env: dict | None = None, **sections) -> Mailbridge:  # type: ignore[no-untyped-def]
    smtp = {"transport": "smtp", "host": "127.0.0.1", "port": server.port, "security": "plain",
            "max_per_minute": 6000}
    mb = Mailbridge(root, mailboxes or [], env=env, smtp=smtp, receipts={"enabled": False},
                    scorecards={"recipients": ["leader@smxkx.example"]}, **sections)
    (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
    mb.ok("roster", "import", str(root / "roster.csv"))
    return mb


def _import_one_each(mb: Mailbridge) -> None:
    """One article from 卢氏 and one from 灵宝 (November 2026); the 医学会 sends nothing."""
    for n, unit, sender in ((1, "卢氏县科协", "lsxkx@163.com"), (2, "灵宝市科协", "lbskx@126.com")):
        path = mb.root / f"m{n}.eml"
        path.write_bytes(make_mail(n, unit=unit, sender=sender))
        mb.ok("import", str(path))


def test_remind_lists_then_reminds_units_below_quota_once_a_day(tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server()
    mb = _install(tmp_path, server)
    month = "2026-11"  # make_mail's dates are in November 2026
    _import_one_each(mb)
    preview = json.loads(mb.ok("remind", "--month", month, "--dry-run", "--json"))
    assert {r["unit"]: (r["submitted"], r["quota"], r["to"]) for r in preview} == {
        "卢氏县科协": (1, 5, ["lsxkx@163.com"]), "灵宝市科协": (1, 5, ["lbskx@126.com"]), "市医学会": (0, 1, ["yxh@163.com"])}
    card = {u["unit"]: u["submitted"] for u in json.loads(mb.ok("scorecard", "--month", month, "--json"))}
    assert all(card[r["unit"]] == r["submitted"] for r in preview)  # the scorecard's own count
    assert server.received == []  # a dry run sends nothing
    mb.ok("remind", "--month", month, "--send")
    got = server.wait_for(3, timeout=30)
    lushi = next(r for r in got if r.recipients == ["lsxkx@163.com"]).message
    assert "还差 4 篇" in str(lushi["Subject"]) and "已报送信息 1 篇" in lushi.get_body(("plain",)).get_content()
    again = json.loads(mb.ok("remind", "--month", month, "--json"))
    assert again == [] and len(server.received) == 3  # at most once a day


def test_scorecard_send_once_with_its_workbook_and_bulletin(tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server()
    mb = _install(tmp_path, server)
    _import_one_each(mb)
    out = mb.ok("scorecard", "--month", "2026-11", "--send")
    assert "1 mail(s) queued" in out
    [mail] = server.wait_for(1, timeout=30)
    assert mail.recipients == ["leader@smxkx.example"]
    files = {p.get_filename(): p.get_content() for p in mail.message.iter_attachments()}
    book = openpyxl.load_workbook(io.BytesIO(next(v for k, v in files.items() if k.endswith(".xlsx"))))
    assert "卢氏县科协" in [c.value for row in book.worksheets[0].iter_rows() for c in row]
    bulletin = docx.Document(io.BytesIO(next(v for k, v in files.items() if k.endswith(".docx"))))
    assert any("卢氏县科协" in c.text for t in bulletin.tables for row in t.rows for c in row.cells)
    second = mb.ok("scorecard", "--month", "2026-11", "--send")
    assert "already sent" in second and "--resend" in second and len(server.received) == 1
    mb.ok("scorecard", "--month", "2026-11", "--send", "--resend")
    server.wait_for(2, timeout=30)


def test_progress_for_a_week(tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server()
    mb = _install(tmp_path, server)
    _import_one_each(mb)
    preview = json.loads(mb.ok("progress", "--week", "2026-W45", "--dry-run", "--json"))
    assert {p["unit"]: (p["submitted"], p["missing"]) for p in preview}["卢氏县科协"] == (1, 4)
    assert server.received == []
    mb.ok("progress", "--week", "2026-W45")
    got = server.wait_for(3, timeout=30)
    lushi = next(r for r in got if r.recipients == ["lsxkx@163.com"]).message
    assert "还差 4 篇" in lushi.get_body(("plain",)).get_content()
    mb.ok("progress", "--week", "2026-W45")
    assert len(server.received) == 3  # once per week
    # 19-25 October: its month is October, with nothing sent yet.
    assert json.loads(mb.ok("progress", "--week", "2026-W43", "--dry-run", "--json"))[0]["submitted"] == 0


def test_run_catches_up_a_missed_occurrence_once_across_kill_9(tmp_path: Path, imap_account, smtp_server) -> None:  # type: ignore[no-untyped-def]
    """The daemon was down at the hour the weekly progress was due: it goes at start, and never again."""
    server = smtp_server()
    local = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))) - dt.timedelta(hours=1)
    cron = f"{local.minute} {local.hour} * * *"
    mb = _install(tmp_path, server, [mailbox(imap_account)], env={PASSWORD_ENV: imap_account.password},
                  schedule={"weekly_progress": cron, "quota_reminders": "", "monthly_scorecard": ""})
    daemon = Daemon(mb.argv("run"), mb.root, mb.env)
    got = server.wait_for(3, timeout=60)
    assert {r.recipients[0] for r in got} == {"lsxkx@163.com", "lbskx@126.com", "yxh@163.com"}
    # kill -9 once the outbox has recorded them as sent (between the server's 250 and that record a
    # crash sends the mail again: the outbox is at-least-once there, see notify/sender.py).
    daemon.wait_for(r"outbox: 3 sent")
    daemon.kill()
    daemon = Daemon(mb.argv("run"), mb.root, mb.env)
    daemon.wait_for("scheduled mail: 0 caught up; next: progress")  # the restart's first tick has run
    status = json.loads(mb.run("status", "--json").stdout)
    assert daemon.stop() == 0
    assert len(server.received) == 3
    assert "progress" in {j["id"] for j in status["jobs"]}
