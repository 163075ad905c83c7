"""Review and adoption through the CLI (as clerks use it), the sheet import, routing and the audit trail."""
from __future__ import annotations

import datetime as dt
import io
import json
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import docx
import openpyxl
import pytest
from openpyxl.chart import BarChart
from support.books import CST, Books, at
from support.mailfactory import make_docx
from support.mbcli import Mailbridge

from mailbridge.config import Config, from_dict
from mailbridge.ledger.models import Message, Submission, Unit
from mailbridge.review import decisions
from mailbridge.review.routing import group_for, is_leader, is_reviewer

ROSTER = ("单位（部门）,单位类型,姓名,联系电话,电子信箱\n"
          "卢氏县科协,county,杨晓红,13839821576,lsxkx@163.com\n"
          "渑池县科协,县（市、区）科协,王建军,13603986142,mcxkx@163.com\n"
          "三门峡市医学会,society,郭敏,0398-2818026,smxyxh@163.com\n")
PARAGRAPHS = ("{day}日，{subject}。本次活动由单位主要负责同志主持，{n}位专家参加并作交流发言，发放资料{n}00余份。",
              "{subject}，受到各方欢迎，下一步将结合第{n}项重点工作继续深入基层开展服务。")
MAILS = [  # sender, subject (the document title too), day of September 2024
    ("lsxkx@163.com", "卢氏县科协开展科普进社区活动", 3),
    ("lsxkx@163.com", "卢氏县召开科协工作会议", 5),
    ("smxyxh@163.com", "市医学会举办学术年会", 8),
    ("mcxkx@163.com", "关于渑池县科技人才队伍建设的调研报告", 12),
]
REVIEW = """
[review]
default_group = "dxb"
two_stage = {two_stage}
[[review.groups]]
id = "dxb"
name = "调宣部"
addresses = ["dxb@kx.cn"]
leaders = ["boss@kx.cn"]
[[review.groups]]
id = "kpb"
name = "科普部"
addresses = ["kpb@kx.cn"]
leaders = ["boss@kx.cn"]
[[review.groups]]
id = "xhb"
name = "学会部"
addresses = ["xhb@kx.cn"]
leaders = ["boss@kx.cn"]
[[review.routes]]
group = "kpb"
keywords = ["科普"]
[[review.routes]]
group = "xhb"
unit_types = ["society"]
[scoring]
issuer = "三门峡市科学技术协会"
"""


def mail(sender: str, subject: str, day: int) -> bytes:
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = Address("信息员", addr_spec=sender)
    msg["To"] = "smxskx@163.com"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(dt.datetime(2024, 9, day, 9, 30, tzinfo=CST))
    msg["Message-ID"] = f"<{abs(hash((sender, subject)))}@review.test>"
    msg.set_content("稿件见附件。\n")
    text = tuple(p.format(day=day, subject=subject, n=day * 7) for p in PARAGRAPHS)
    msg.add_attachment(make_docx(subject, text), "application",
                       "vnd.openxmlformats-officedocument.wordprocessingml.document", filename="稿件.docx")
    return msg.as_bytes()


def setup(tmp_path: Path, two_stage: bool = False) -> tuple[Mailbridge, list[dict]]:
    mb = Mailbridge(tmp_path, [])
    with mb.config.open("a", encoding="utf-8") as out:
        out.write(REVIEW.format(two_stage="true" if two_stage else "false"))
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    mb.ok("roster", "import", str(tmp_path / "roster.csv"))
    paths = []
    for n, (sender, subject, day) in enumerate(MAILS):
        path = tmp_path / f"{n}.eml"
        path.write_bytes(mail(sender, subject, day))
        paths.append(str(path))
    mb.ok("import", *paths)
    subs = sorted(mb.submissions(), key=lambda s: s["id"])
    assert [s["title"] for s in subs] == [m[1] for m in MAILS]
    return mb, subs


def refused(mb: Mailbridge, *args: str) -> str:
    done = mb.run(*args)
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
    return done.stderr


def show(mb: Mailbridge, ref: str) -> dict:
    return json.loads(mb.ok("submissions", "show", ref, "--json"))


@pytest.mark.slow
def test_adopt_reject_review_and_the_audit_trail(tmp_path: Path) -> None:
    mb, subs = setup(tmp_path)
    kepu, meeting, yixuehui, research = (s["receipt_no"] for s in subs)
    waiting = json.loads(mb.ok("review", "--json"))
    # seed 004: 科普 topics → 科普部, societies → 学会部, the rest → 调宣部
    assert {w["receipt_no"]: w["group_name"] for w in waiting} == {
        kepu: "科普部", meeting: "调宣部", yixuehui: "学会部", research: "调宣部"}
    out = mb.ok("adopt", kepu, "官网", "公众号", "--date", "2024-09-10")
    assert "adopted: 市科协官网 (website) 2024-09-10" in out and "adopted: 公众号 (wechat)" in out
    assert "already recorded: 市科协官网 (website) 2024-09-10" in mb.ok("adopt", kepu, "website", "--date", "2024-09-11")
    error = refused(mb, "adopt", kepu, "头条")
    assert "unknown channel '头条'" in error and "website (市科协官网)" in error and "city_briefing" in error
    assert "no submission 'SMX-2024-09-9999'" in refused(mb, "adopt", "SMX-2024-09-9999", "website")
    assert "YYYY-MM-DD" in refused(mb, "adopt", meeting, "website", "--date", "2024-13-01")
    assert "outside" in refused(mb, "adopt", meeting, "website", "--date", "2024-09-01")  # before it arrived
    mb.ok("reject", meeting, "--note", "内容与上期重复")
    assert "rejected" in refused(mb, "adopt", meeting, "website")
    assert "already rejected" in refused(mb, "reject", meeting)
    mb.ok("adopt", research, "省级媒体")
    assert {w["receipt_no"] for w in json.loads(mb.ok("review", "--json"))} == {yixuehui}
    assert json.loads(mb.ok("review", "--json", "--group", "kpb")) == []
    assert "no reviewer group 'nope'" in refused(mb, "review", "--group", "nope")

    mb.ok("adopt", kepu, "wechat", "--withdraw")
    record = show(mb, kepu)
    assert record["review_status"] == "adopted" and record["review_group"] == "kpb"
    assert [(a["channel"], a["date"], a["via"]) for a in record["adoptions"]] == [("website", "2024-09-10", "cli")]
    assert [(d["action"], d["channel"], d["group"], d["via"]) for d in record["decisions"]] == [
        ("adopt", "website", "kpb", "cli"), ("adopt", "wechat", "kpb", "cli"), ("withdraw", "wechat", "kpb", "cli")]
    assert all(d["actor"].startswith("cli") and d["at"] for d in record["decisions"])
    rejected = show(mb, meeting)
    assert rejected["review_status"] == "rejected" and rejected["decisions"][0]["note"] == "内容与上期重复"
    mb.ok("reject", meeting, "--undo")
    assert show(mb, meeting)["review_status"] == "pending"
    assert next(s["adoptions"] for s in mb.submissions()) == record["adoptions"]

    # The month's scorecard (sanmenxia): 渑池 省级媒体 10 + research 5 = 15; 卢氏 官网 5, 2 of 5
    # sent; 医学会 nothing adopted, but its quota of 1 met: +3.
    card = json.loads(mb.ok("scorecard", "--month", "2024-09", "--json"))
    assert [(u["unit"], u["unit_type"], u["submitted"], u["quota"], u["quota_met"], u["adopted"], u["points"],
             u["rank"]) for u in card] == [
        ("渑池县科协", "county", 1, 5, False, 1, 15, 1),
        ("卢氏县科协", "county", 2, 5, False, 1, 5, 2),
        ("三门峡市医学会", "society", 1, 1, True, 0, 3, 3)]
    explained = mb.ok("scorecard", "--month", "2024-09", "--unit", "渑池县科协")
    assert research in explained and "+10分  信息采用" in explained and "省级媒体采用" in explained
    assert "+5分  工作研究/调研类加分（加分）" in explained and "合计：15分，第1名" in explained
    lines = json.loads(mb.ok("scorecard", "--month", "2024-09", "--unit", "卢氏县科协", "--json"))["lines"]
    assert [(ln["rule"], ln["receipt_no"], ln["points"]) for ln in lines] == [("adoption", kepu, 5)]
    assert "--month '2024-9' is not YYYY-MM" in refused(mb, "scorecard", "--month", "2024-9")
    assert "exactly one period" in refused(mb, "scorecard")
    assert "no unit named '无名'" in refused(mb, "scorecard", "--month", "2024-09", "--unit", "无名")

    xlsx = tmp_path / "card.xlsx"
    mb.ok("scorecard", "--month", "2024-09", "--xlsx", str(xlsx))
    book = openpyxl.load_workbook(xlsx)
    assert book.sheetnames == ["总表", "县（市、区）科协", "市级学会、协会、研究会", "计分明细"]
    overall = book["总表"]
    assert overall["A1"].value.startswith("2024年9月")
    assert [c.value for c in overall[2]][:9] == ["名次", "单位", "单位类型", "报送数", "任务数", "完成任务", "采用数",
                                                 "采用率", "得分"]
    assert [[c.value for c in row][:2] + [row[8].value] for row in overall.iter_rows(min_row=3)] == [
        [1, "渑池县科协", 15], [2, "卢氏县科协", 5], [3, "三门峡市医学会", 3]]
    assert [type(c) for c in overall._charts] == [BarChart]
    county = book["县（市、区）科协"]
    assert [(r[0].value, r[1].value) for r in county.iter_rows(min_row=3)] == [(1, "渑池县科协"), (2, "卢氏县科协")]
    detail = [[c.value for c in row] for row in book["计分明细"].iter_rows(min_row=2)]
    assert ["渑池县科协", research, MAILS[3][1], "工作研究/调研类加分", None, 5] in [row[:6] for row in detail]
    assert ["三门峡市医学会", None, None, "按时完成月度报送任务", "2024-09", 3, "2024-09 报送1篇，完成任务1篇"] in detail

    bulletin = tmp_path / "通报.docx"
    mb.ok("scorecard", "--month", "2024-09", "--docx", str(bulletin))
    document = docx.Document(str(bulletin))
    texts = [p.text for p in document.paragraphs]
    assert texts[0] == "三门峡市科学技术协会文件" and "关于2024年9月信息报送采用情况的通报" in texts
    assert "2024年9月1日—2024年9月30日" in texts[texts.index("关于2024年9月信息报送采用情况的通报") + 1]
    summary = next(t for t in texts if t.startswith("2024年9月，"))
    assert "共报送信息4篇，被采用2篇，采用率50.0%" in summary and "1个按时完成了报送任务" in summary
    assert "一、县（市、区）科协" in texts and "二、市级学会、协会、研究会" in texts
    below = [[c.text for c in row.cells] for row in document.tables[-1].rows]
    assert ["2", "卢氏县科协", "县（市、区）科协", "2", "5"] in below and "渑池县科协" in [r[1] for r in below]
    assert "三门峡市医学会" not in [r[1] for r in below]
    tables = [[[c.text for c in row.cells] for row in table.rows] for table in document.tables]
    assert tables[0] == [["名次", "单位", "报送数", "任务数", "采用数", "采用率", "得分"],
                         ["1", "渑池县科协", "1", "5", "1", "100.0%", "15"],
                         ["2", "卢氏县科协", "2", "5", "1", "50.0%", "5"]]
    assert tables[1][1][:2] == ["1", "三门峡市医学会"]
    run = document.paragraphs[texts.index("关于2024年9月信息报送采用情况的通报")].runs[0]._r.xml
    assert 'w:eastAsia="方正小标宋简体"' in run
    assert 'w:eastAsia="仿宋_GB2312"' in document.styles["Normal"].element.xml


@pytest.mark.slow
def test_two_stage_review(tmp_path: Path) -> None:
    mb, subs = setup(tmp_path, two_stage=True)
    ref = subs[1]["receipt_no"]
    assert "no first review" in refused(mb, "adopt", ref, "website")
    assert "no first review" in refused(mb, "approve", ref)
    mb.ok("first-review", ref, "--note", "文字通顺", "--by", "dxb@kx.cn")
    assert "first review already" in refused(mb, "first-review", ref)
    assert "no leader has approved" in refused(mb, "adopt", ref, "website")
    assert [w["review_status"] for w in json.loads(mb.ok("review", "--json")) if w["receipt_no"] == ref] == ["reviewed"]
    mb.ok("approve", ref, "--by", "boss@kx.cn")
    mb.ok("adopt", ref, "公众号", "--by", "dxb@kx.cn")
    trail = show(mb, ref)["decisions"]
    assert [(d["action"], d["actor"], d["note"]) for d in trail] == [
        ("first_review", "dxb@kx.cn", "文字通顺"), ("approve", "boss@kx.cn", None), ("adopt", "dxb@kx.cn", None)]


def sheet(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["2024年9月信息采用登记表"])
    ws.merge_cells("A1:F1")
    ws.append(["序号", "回执号", "标题", "单位", "采用渠道", "采用日期"])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.slow
def test_adoptions_import_from_the_clerks_sheet(tmp_path: Path) -> None:
    mb, subs = setup(tmp_path)
    kepu, meeting, yixuehui, research = subs
    rows = [[1, kepu["receipt_no"], kepu["title"], "卢氏县科协", "官网、公众号", dt.datetime(2024, 9, 12)],
            [2, None, meeting["title"], "卢氏县科协", "微博", "2024年9月13日"],  # no receipt number: by title
            [3, None, yixuehui["title"], None, None, None],  # not adopted: no channel
            [4, research["receipt_no"], research["title"], "渑池县科协", "头条", "2024/9/20"]]
    path = tmp_path / "采用登记.xlsx"
    path.write_bytes(sheet(rows))
    done = mb.run("adoptions", "import", str(path))
    assert done.returncode == 2 and "row 6: " in done.stderr and "unknown channel '头条'" in done.stderr
    assert "nothing was imported" in done.stderr and "Traceback" not in done.stderr
    assert json.loads(mb.ok("adoptions", "list", "--json")) == []  # nothing half-imported
    rows[3][4] = "中国科协网"
    path.write_bytes(sheet(rows))
    dry = mb.ok("adoptions", "import", "--dry-run", str(path))
    assert "dry run: nothing was changed (4 adoption(s) would be recorded)" in dry
    assert f"row 3: {kepu['receipt_no']} 《{kepu['title']}》 website 2024-09-12 (new)" in dry
    assert "row 5: no channel, skipped" in dry
    assert json.loads(mb.ok("adoptions", "list", "--json")) == []
    assert "4 adoption(s) recorded, 0 already known" in mb.ok("adoptions", "import", str(path))
    assert "0 adoption(s) recorded, 4 already known" in mb.ok("adoptions", "import", str(path))
    listed = json.loads(mb.ok("adoptions", "list", "--json", "--month", "2024-09"))
    assert sorted((a["receipt_no"], a["channel"], a["date"], a["via"]) for a in listed) == sorted([
        (kepu["receipt_no"], "website", "2024-09-12", "sheet"), (kepu["receipt_no"], "wechat", "2024-09-12", "sheet"),
        (meeting["receipt_no"], "weibo", "2024-09-13", "sheet"), (research["receipt_no"], "cast", "2024-09-20", "sheet")])
    assert "no header row with 采用渠道" in refused(mb, "adoptions", "import", str(_no_header(tmp_path)))


def _no_header(tmp_path: Path) -> Path:
    path = tmp_path / "plain.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["随便", "什么"])
    book.save(path)
    return path


# --- routing and decisions, in-process ----------------------------------------------------------

SEED_004 = {
    "mailboxes": [{"name": "kpb", "host": "h", "username": "skxkpb@ly.shandong.cn"},
                  {"name": "dxb", "host": "h", "username": "skxdxb@ly.shandong.cn"}],
    "review": {"default_group": "dxb", "groups": [
        {"id": "dxb", "name": "调宣部", "addresses": ["skxdxb@ly.shandong.cn"], "leaders": ["Leader@ly.cn"]},
        {"id": "kpb", "name": "科普部", "addresses": ["skxkpb@ly.shandong.cn"]},
        {"id": "xhb", "name": "学会部", "addresses": ["skxxhb@ly.shandong.cn"]}],
        "routes": [{"group": "kpb", "mailboxes": ["kpb"]},
                   {"group": "kpb", "keywords": ["科普基地", "农技协"], "keyword_fields": ["title", "text"]},
                   {"group": "xhb", "unit_types": ["society", "enterprise"]},
                   {"group": "dxb", "categories": ["research"], "unit_types": ["county"]}]},
}


def _sub(title: str, mailbox: str = "import", kind: str | None = None, category: str = "news",
         text: str = "") -> Submission:
    return Submission(title=title, text=text, category=category, message=Message(mailbox=mailbox, subject=title),
                      unit=Unit(name="某单位", type=kind) if kind else None)


def test_routing_by_mailbox_keyword_unit_type_category_and_default(tmp_path: Path) -> None:
    config = from_dict(SEED_004, base=tmp_path)
    assert group_for(config, _sub("任意", mailbox="kpb")).name == "科普部"
    assert group_for(config, _sub("县科协工作", text="参观科普基地")).name == "科普部"
    assert group_for(config, _sub("学术年会", kind="society")).name == "学会部"
    assert group_for(config, _sub("调研", kind="county", category="research")).name == "调宣部"
    assert group_for(config, _sub("其他")).name == "调宣部"  # default_group
    assert group_for(Config(), _sub("其他")) is None  # no [review] at all
    assert is_reviewer(config, "SKXKPB@ly.shandong.cn") and not is_reviewer(config, "stranger@qq.com")
    assert is_leader(config, "leader@ly.cn", config.review.group("dxb"))
    assert not is_leader(config, "leader@ly.cn", config.review.group("kpb"))


@pytest.mark.parametrize(("review", "expected"), [
    ({"routes": [{"group": "nope"}]}, "routes[0] names group 'nope'"),
    ({"groups": [{"id": "a", "name": "A"}], "default_group": "b"}, "default_group 'b' is not a defined group"),
    ({"groups": [{"id": "a", "name": "A", "addresses": ["not-an-address"]}]}, "'not-an-address' is not an e-mail"),
    ({"two_stage": True, "groups": [{"id": "a", "name": "A"}]}, "group 'a' has no leaders"),
    ({"groups": [{"id": "a", "name": "A"}], "routes": [{"group": "a", "categories": ["sport"]}]},
     "categories names 'sport'"),
    ({"groups": [{"id": "a", "name": "A"}], "routes": [{"group": "a", "mailboxes": ["x"]}]}, "mailboxes names 'x'"),
    ({"groups": [{"id": "a", "name": "A", "leader": []}]}, "unknown key 'review.groups[0].leader'"),
])
def test_review_config_mistakes_name_the_key(tmp_path: Path, review: dict, expected: str) -> None:
    from mailbridge.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        from_dict({"review": review}, base=tmp_path)
    assert expected in str(info.value)


def test_decision_codes_and_idempotent_adoption(tmp_path: Path) -> None:
    books = Books(tmp_path, Config())
    books.unit("卢氏县科协", "county")
    first = books.article("卢氏县科协", at("2024-09", 2), "初稿")
    newer = books.article("卢氏县科协", at("2024-09", 3), "初稿（修改）", revises=first)
    s, config = books.s, books.config

    def code(fn, *args) -> str:  # type: ignore[no-untyped-def]
        with pytest.raises(decisions.DecisionError) as info:
            fn(s, config, *args)
        return info.value.code

    assert decisions.find_submission(s, newer.receipt_no.lower()) is newer
    assert decisions.find_submission(s, f" {newer.id} ") is newer
    with pytest.raises(decisions.DecisionError) as info:
        decisions.find_submission(s, "SMX-1999-01-0001")
    assert info.value.code == "unknown_submission"
    assert decisions.channel_for(config, "微信").id == "wechat"
    assert code(decisions.adopt, first, ["website"], None, "a", "mail") == "superseded"
    assert code(decisions.adopt, newer, ["头条"], None, "a", "mail") == "unknown_channel"
    assert code(decisions.adopt, newer, [], None, "a", "mail") == "no_channel"
    assert code(decisions.adopt, newer, ["website"], dt.date(2024, 9, 1), "a", "mail") == "bad_date"
    assert code(decisions.first_review, newer, "a", "mail") == "not_two_stage"
    rows = decisions.adopt(s, config, newer, ["官网", "website", "微博"], dt.date(2024, 9, 5), "a@x.cn", "mail")
    assert [(r.channel, r.recorded_now) for r in rows] == [("website", True), ("weibo", True)]
    again = decisions.adopt(s, config, newer, ["weibo"], dt.date(2024, 9, 6), "b@x.cn", "mail")
    assert [(r.channel, r.recorded_now, r.adopted_on, r.actor) for r in again] == [
        ("weibo", False, dt.date(2024, 9, 5), "a@x.cn")]
    assert [d.action for d in newer.decisions] == ["adopt", "adopt"]  # recorded once
    assert code(decisions.reject, newer, "a", "mail", None) == "already_adopted"
    assert code(decisions.withdraw, newer, ["wechat"], "a", "mail") == "not_adopted"
    books.close()
