"""The clerk's ledger (台账): `submissions list --month --xlsx` written, filled in by a clerk with
openpyxl, and read back by `adoptions import` — adoptions and points with no retyping."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest
from support.formmail import form_mail
from support.mailfactory import CST, make_mail
from support.mbcli import Mailbridge

ROSTER = "单位,姓名,电子信箱,单位类型\n卢氏县科协,张喆,lsxkx@163.com,county\n渑池县科协,李娜,mcxkx@163.com,county\n"
HEADERS = ["回执编号", "单位", "标题", "字数", "类别", "收稿时间", "发件人", "备注", "采用渠道", "采用日期"]


def installation(root: Path) -> Mailbridge:
    mb = Mailbridge(root, [])
    (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
    mb.ok("roster", "import", str(root / "roster.csv"))
    folder = root / "in"
    folder.mkdir()
    mails = [make_mail(1, docs=2), make_mail(3, unit="渑池县科协", sender="mcxkx@163.com"),
             # A sender's subject that Excel would run as a formula; and a mail of October, not listed.
             form_mail(4, "mcxkx@163.com", "=HYPERLINK(\"http://x\",\"点我\")科普讲座",
                       dt.datetime(2026, 11, 6, 9, tzinfo=CST), body="=HYPERLINK(\"http://x\",\"点我\")科普讲座\r\n" + "内容" * 80),
             form_mail(5, "lsxkx@163.com", "十月的稿件", dt.datetime(2026, 10, 30, 9, tzinfo=CST), body="十月的稿件\r\n正文")]
    for i, raw in enumerate(mails, start=1):
        (folder / f"{i:03d}.eml").write_bytes(raw)
    mb.ok("import", str(folder))
    return mb


def points(mb: Mailbridge) -> dict[str, float]:
    return {u["unit"]: u["points"] for u in json.loads(mb.ok("scorecard", "--month", "2026-11", "--json"))}


@pytest.mark.slow
def test_ledger_round_trip_through_adoptions_import(tmp_path: Path) -> None:
    mb = installation(tmp_path)
    subs = {s["receipt_no"]: s for s in mb.submissions() if s["month"] == "2026-11"}
    assert len(subs) == 4
    first, second, fourth, fifth = sorted(subs)  # 卢氏's two documents, 渑池's article, the formula
    mb.ok("adopt", first, "website", "--date", "2026-11-04")  # known before the export: shown in it
    ledger = tmp_path / "台账.xlsx"
    assert "4 submission(s) written" in mb.ok("submissions", "list", "--month", "2026-11", "--xlsx", str(ledger))

    book = openpyxl.load_workbook(ledger)
    sheet = book.active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == HEADERS
    by_no = {r[0]: r for r in rows[1:]}
    assert set(by_no) == set(subs)
    for no, sub in subs.items():
        assert by_no[no][1:6] == [sub["unit"], sub["title"], sub["body_chars"], sub["category_name"],
                                  sub["received_at"][:16].replace("T", " ")]
    assert by_no[first][8:] == ["市科协官网", "2026-11-04"]
    assert by_no[second][8:] == [None, None]
    formula = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(row=r, column=1).value == fifth)
    assert sheet.cell(row=formula, column=3).value.startswith("=HYPERLINK")
    assert sheet.cell(row=formula, column=3).data_type == "s"  # text, never a formula

    before = points(mb)
    # The clerk fills in two rows: names with 、, aliases with a comma, a typed date and a date cell.
    row_of = {sheet.cell(row=r, column=1).value: r for r in range(2, sheet.max_row + 1)}
    sheet.cell(row=row_of[second], column=9, value="公众号、中国科协网")
    sheet.cell(row=row_of[second], column=10, value="2026-11-20")
    sheet.cell(row=row_of[fourth], column=9, value="微博, 省科协网")
    sheet.cell(row=row_of[fourth], column=10, value=dt.date(2026, 11, 21))
    book.save(ledger)

    out = mb.ok("adoptions", "import", str(ledger))
    assert "4 adoption(s) recorded, 1 already known" in out
    adopted = {s["receipt_no"]: {(a["channel"], a["date"]) for a in s["adoptions"]}
               for s in (json.loads(mb.ok("submissions", "show", no, "--json")) for no in (first, second, fourth))}
    assert adopted == {first: {("website", "2026-11-04")},
                       second: {("wechat", "2026-11-20"), ("cast", "2026-11-20")},
                       fourth: {("weibo", "2026-11-21"), ("province_site", "2026-11-21")}}
    after = points(mb)  # sanmenxia (六): an article adopted by several channels scores its highest
    assert after[subs[second]["unit"]] - before[subs[second]["unit"]] == 20  # 中国科协网 over 公众号
    assert after[subs[fourth]["unit"]] - before[subs[fourth]["unit"]] == 10  # 河南省科协网 over 微博
    # Imported again, the sheet changes nothing.
    assert "0 adoption(s) recorded, 5 already known" in mb.ok("adoptions", "import", str(ledger))


@pytest.mark.slow
def test_ledger_of_an_empty_month_is_a_header_row(tmp_path: Path) -> None:
    mb = Mailbridge(tmp_path, [])
    ledger = tmp_path / "empty.xlsx"
    mb.ok("submissions", "list", "--month", "2026-01", "--xlsx", str(ledger))
    rows = list(openpyxl.load_workbook(ledger).active.iter_rows(values_only=True))
    assert rows == [tuple(HEADERS)]
    done = mb.run("submissions", "list", "--json", "--xlsx", str(ledger))
    assert done.returncode == 2 and "choose one output" in done.stderr
