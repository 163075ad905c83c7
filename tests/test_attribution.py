"""Roster, units and attribution through the CLI: 信息员登记表 files in, units on submissions out."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Sequence
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import docx
import openpyxl
import pytest
from sqlalchemy import event
from support.fixtures import ImapAccount
from support.mailfactory import CST, make_docx, make_mail
from support.mbcli import PASSWORD_ENV, Mailbridge, mailbox

from mailbridge.config import load
from mailbridge.ledger.db import Database
from mailbridge.pipeline import Origin, Pipeline

# --- roster files, made the way clerks make them ---------------------------------------------

SEED = [  # 附件2 as three counties fill it in: unit, name, phone, the e-mail cell
    ("卢氏县科协", "杨 晓红", "13839821576", "lsxkx@163.com"),
    ("渑池县科协", "王建军", "13603986142", "mcxkx@163.com；2856471930@qq.com"),
    ("渑池县科协", "李娜", "0398-4812230", "mcxkx_ln@163.com"),
    ("灵宝市科协", "张丽", "13938192703", "lbskx@126.com"),
]
SEED_PEOPLE = {
    "卢氏县科协": {"杨晓红": ("13839821576", ["lsxkx@163.com"])},
    "渑池县科协": {"王建军": ("13603986142", ["2856471930@qq.com", "mcxkx@163.com"]),
              "李娜": ("0398-4812230", ["mcxkx_ln@163.com"])},
    "灵宝市科协": {"张丽": ("13938192703", ["lbskx@126.com"])},
}
TYPED = [  # 单位（部门）, 单位类型 (id or Chinese name), 姓名, 联系电话, 电子信箱, 任务数
    ("卢氏县科协", "county", "杨晓红", "13839821576", "lsxkx@163.com", None),
    ("市医学会", "市级学会、协会、研究会", "赵敏", "0398-2822110", "smxyxh@163.com", None),
    ("河南中原黄金冶炼厂科协", "企业科协", "王喆", 13912345678, "wangzhe@zyhjyl.com.cn", 3),
    ("市科协科普部", "department", "何雪", "0398-2826152", "smxkxkpb@163.com", None),
]
GBK_CSV = ("单位（部门）,单位类型,姓名,联系电话,电子信箱\n"
           "陕州区科协,县（市、区）科协,刘洋,13703985521,szqkx2019@163.com\n"
           "三门峡职业技术学院科协,高校科协,马超,13938190462,KX@smxpt.edu.cn\n").encode("gbk")


def form_docx(rows: Sequence[tuple[str, str, str, str]]) -> bytes:
    """附件2 filled in: a title row merged across, the seed's header, a unit merged down over its officers."""
    document = docx.Document()
    document.add_paragraph("附件2")
    table = document.add_table(rows=len(rows) + 3, cols=4)  # title, header, rows, an unused row
    table.cell(0, 0).merge(table.cell(0, 3)).text = "三门峡市科协系统信息员登记表"
    for c, text in enumerate(("单位（部门）", "姓 名", "联系电话", "电子信箱")):
        table.cell(1, c).text = text
    for r, (unit, *rest) in enumerate(rows, start=2):
        for c, text in enumerate(rest, start=1):
            table.cell(r, c).text = text
        if r > 2 and rows[r - 3][0] == unit:
            table.cell(r - 1, 0).merge(table.cell(r, 0))
        else:
            table.cell(r, 0).text = unit
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def typed_xlsx(rows: Sequence[tuple] = TYPED) -> bytes:
    """A workbook in another column order, with 单位类型 and a 任务数 override."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "信息员"
    sheet.append(["三门峡市科协系统信息员登记表"])
    sheet.merge_cells("A1:G1")
    sheet.append(["序号", "姓名", "电子信箱", "单位（部门）", "单位类型", "联系电话", "任务数"])
    for n, (unit, kind, name, phone, email, quota) in enumerate(rows, start=1):
        sheet.append([n, name, email, unit, kind, phone, quota])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- mail --------------------------------------------------------------------------------

ARTICLE = (("11月5日，县科协联合县农业农村局在官道口镇举办冬季果树管理技术培训班，邀请省农科院专家"
            "为120余名果农讲解苹果树冬季修剪、病虫害防治等实用技术。"),
           "培训采取课堂讲授与田间示范相结合的方式，专家现场演示修剪要点，并耐心解答果农提出的问题。",
           "下一步，县科协将继续组织专家深入乡村，为特色产业发展提供科技支撑。")
REVISED = tuple(p.replace("120余名", "150余名").replace("耐心", "逐一") for p in ARTICLE)
OTHER = (("11月7日，第十届青少年科技创新大赛在县第一高级中学落下帷幕，全县28所中小学的"
          "300余件作品参赛，涵盖机器人、科技创意、科学幻想绘画等类别。"),
         "评审专家从创新性、科学性和实用性等方面进行评审，共评出一等奖15件、二等奖30件。")
DOCX_TYPE = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")


def article(title: str, paragraphs: Sequence[str] = ARTICLE) -> tuple[str, bytes]:
    return f"{title[:12]}.docx", make_docx(title, tuple(paragraphs))


def compose(sender: str, subject: str, *, name: str = "", day: float = 3, title: str | None = None,
            paragraphs: Sequence[str] = ARTICLE, files: Sequence[tuple[str, bytes]] | None = None) -> bytes:
    """A UTF-8 mail written `day` days into November 2026; by default the article as a .docx
    titled like the subject. CRLF line ends (policy.SMTP), as IMAP APPEND needs them."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = Address(name, addr_spec=sender)
    msg["To"] = "smxskx@163.com"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(dt.datetime(2026, 11, 1, 9, tzinfo=CST) + dt.timedelta(days=day))
    digest = hashlib.sha1(f"{sender}|{subject}|{day}|{paragraphs}".encode()).hexdigest()[:16]
    msg["Message-ID"] = f"<{digest}@attribution.test>"
    msg.set_content("您好，稿件见附件，请审阅。\n")
    for filename, data in files if files is not None else [article(title or subject, paragraphs)]:
        msg.add_attachment(data, *DOCX_TYPE, filename=filename)
    msg.set_boundary(f"=_part_{digest}")  # the same mail, the same bytes
    return msg.as_bytes()


# --- helpers ------------------------------------------------------------------------------

@pytest.fixture
def mb(tmp_path: Path) -> Mailbridge:
    return Mailbridge(tmp_path, [])


def put(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def ingest(mb: Mailbridge, *mails: bytes) -> None:
    """Import the mails as .eml files, in the order given, with one `import`."""
    paths = [put(mb.root / f"{i:02d}-{hashlib.sha1(raw).hexdigest()[:8]}.eml", raw) for i, raw in enumerate(mails)]
    mb.ok("import", *paths)


def import_seed(mb: Mailbridge, rows: Sequence[tuple[str, str, str, str]] = SEED, *options: str) -> str:
    return mb.ok("roster", "import", *options, put(mb.root / "三门峡市科协系统信息员登记表.docx", form_docx(rows)))


def roster(mb: Mailbridge, *options: str) -> dict[str, dict]:
    return {u["name"]: u for u in json.loads(mb.ok("roster", "list", "--json", *options))}


def people(unit: dict) -> dict[str, tuple[str, list[str]]]:
    """{officer: (phone, sorted addresses)} of one unit of `roster list --json`."""
    return {o["name"]: (o["phone"], sorted(o["addresses"])) for o in unit["officers"]}


def preview(kind: str, what: str) -> str:
    """One line of an import's preview, e.g. `  add        unit 卢氏县科协`."""
    return f"  {kind:<10} {what}"


NO_CHANGES = "no changes: the roster already matches the file"


# --- roster files -------------------------------------------------------------------------

@pytest.mark.slow
def test_seed_form_docx_imports_units_officers_and_addresses_once(mb: Mailbridge) -> None:
    lines = import_seed(mb).splitlines()
    for line in (preview("add", "unit 渑池县科协"), preview("add", "officer 李娜 of 渑池县科协"),
                 preview("add", "address 2856471930@qq.com for 渑池县科协")):
        assert line in lines
    units = roster(mb)
    assert {name: people(u) for name, u in units.items()} == SEED_PEOPLE
    assert sorted(units["渑池县科协"]["addresses"]) == ["2856471930@qq.com", "mcxkx@163.com", "mcxkx_ln@163.com"]
    assert all(u["active"] and u["type"] is None and u["quota"] is None for u in units.values())
    assert NO_CHANGES in import_seed(mb)
    assert roster(mb) == units


@pytest.mark.slow
def test_xlsx_unit_types_quota_override_and_dry_run(mb: Mailbridge, tmp_path: Path) -> None:
    path = put(tmp_path / "信息员.xlsx", typed_xlsx())
    dry = mb.ok("roster", "import", "--dry-run", path)
    assert preview("add", "unit 河南中原黄金冶炼厂科协 (enterprise)") in dry.splitlines()
    assert "dry run: nothing was changed" in dry
    assert roster(mb) == {}
    mb.ok("roster", "import", path)
    units = roster(mb)
    assert {n: (u["type"], u["type_name"], u["quota"]) for n, u in units.items()} == {
        "卢氏县科协": ("county", "县（市、区）科协", 5),
        "市医学会": ("society", "市级学会、协会、研究会", 1),
        "河南中原黄金冶炼厂科协": ("enterprise", "企业科协", 3),  # 任务数 overrides the type's 1
        "市科协科普部": ("department", "市科协机关部门及事业单位", 2),
    }
    assert people(units["河南中原黄金冶炼厂科协"]) == {"王喆": ("13912345678", ["wangzhe@zyhjyl.com.cn"])}
    assert NO_CHANGES in mb.ok("roster", "import", path)


def test_gbk_csv(mb: Mailbridge, tmp_path: Path) -> None:
    path = put(tmp_path / "roster.csv", GBK_CSV)
    mb.ok("roster", "import", path)
    assert {n: (u["type"], u["quota"], people(u)) for n, u in roster(mb).items()} == {
        "陕州区科协": ("county", 5, {"刘洋": ("13703985521", ["szqkx2019@163.com"])}),
        "三门峡职业技术学院科协": ("university", 1, {"马超": ("13938190462", ["kx@smxpt.edu.cn"])}),
    }
    assert NO_CHANGES in mb.ok("roster", "import", path)


@pytest.mark.slow
def test_full_import_deactivates_what_the_file_drops_and_partial_does_not(mb: Mailbridge) -> None:
    import_seed(mb)
    assert NO_CHANGES in import_seed(mb, SEED[:1], "--partial")
    assert all(u["active"] for u in roster(mb).values()) and len(roster(mb)) == 3
    lines = import_seed(mb, SEED[:1]).splitlines()
    for line in (preview("deactivate", "unit 灵宝市科协"), preview("deactivate", "officer 李娜 of 渑池县科协"),
                 preview("deactivate", "address 2856471930@qq.com of 渑池县科协")):
        assert line in lines
    assert list(roster(mb)) == ["卢氏县科协"]
    everything = roster(mb, "--all")
    assert {n: u["active"] for n, u in everything.items()} == {"卢氏县科协": True, "渑池县科协": False, "灵宝市科协": False}
    assert not any(o["active"] for o in everything["渑池县科协"]["officers"])


@pytest.mark.slow
def test_a_bad_row_changes_nothing_and_is_named(mb: Mailbridge, tmp_path: Path) -> None:
    mb.ok("roster", "import", put(tmp_path / "good.xlsx", typed_xlsx()))
    before = roster(mb, "--all")
    bad = [*TYPED[:2], ("河南中原黄金冶炼厂科协", "企业科协", "王喆", "", "wz@163", None),  # row 5
           ("市农学会", "学会类", "孙鹏", "", "nxh@163.com", None)]  # row 6: no such unit type
    done = mb.run("roster", "import", put(tmp_path / "bad.xlsx", typed_xlsx(bad)))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "row 5 (王喆): 'wz@163' is not an e-mail address" in done.stderr
    assert re.search(r"row 6 \(\S+\): unknown unit type '学会类'", done.stderr), done.stderr
    assert "Traceback" not in done.stderr
    assert roster(mb, "--all") == before  # 市科协科普部 was not deactivated, 市农学会 not added


@pytest.mark.slow
def test_export_is_reimportable(mb: Mailbridge, tmp_path: Path) -> None:
    import_seed(mb)
    mb.ok("roster", "import", "--partial", put(tmp_path / "typed.xlsx", typed_xlsx()))
    exported = tmp_path / "export.xlsx"
    mb.ok("roster", "export", str(exported))
    assert NO_CHANGES in mb.ok("roster", "import", str(exported))
    (tmp_path / "elsewhere").mkdir()
    elsewhere = Mailbridge(tmp_path / "elsewhere", [])  # a fresh installation gets the same roster
    elsewhere.ok("roster", "import", str(exported))
    assert roster(elsewhere) == roster(mb)


# --- attribution --------------------------------------------------------------------------

def attribution(sub: dict) -> tuple[str, str | None, str | None, bool]:
    return sub["sender"], sub["unit"], sub["suggested_unit"], "unknown_sender" in sub["flags"]


@pytest.mark.slow
def test_senders_are_matched_and_strangers_get_a_suggestion(mb: Mailbridge) -> None:
    import_seed(mb)
    ingest(mb,
           make_mail(1, sender="LSXKX@163.COM"),  # the roster's address, upper-cased by the client
           make_mail(2, unit="渑池县科协", sender="2856471930@qq.com"),  # 王建军's second address
           compose("13012345678@163.com", "【卢氏县科协】冬季果树管理技术培训", title="冬季果树管理技术培训"),
           compose("mc_xc@126.com", "渑池县科协：青少年科技创新大赛", title="青少年科技创新大赛", paragraphs=OTHER),
           compose("zhangli2026@sina.com", "科技活动周活动报道", name="灵宝市科协 张丽"),
           compose("wangfang@sina.com", "冬季果树管理技术培训", name="王芳", day=4))
    assert [attribution(s) for s in mb.submissions()] == [
        ("lsxkx@163.com", "卢氏县科协", None, False),
        ("2856471930@qq.com", "渑池县科协", None, False),
        ("13012345678@163.com", None, "卢氏县科协", True),
        ("mc_xc@126.com", None, "渑池县科协", True),
        ("zhangli2026@sina.com", None, "灵宝市科协", True),
        ("wangfang@sina.com", None, None, True),
    ]
    out = mb.ok("roster", "bind", "WangFang@sina.com", "灵宝市科协")
    assert "1 submission(s) attributed" in out
    subs = mb.submissions()
    assert attribution(subs[-1]) == ("wangfang@sina.com", "灵宝市科协", None, False)
    assert [s["unit"] for s in subs[2:5]] == [None, None, None]  # the other strangers stay unknown
    assert "wangfang@sina.com" in roster(mb)["灵宝市科协"]["addresses"]


def test_each_new_submission_is_inserted_credited_and_not_updated_after(mb: Mailbridge) -> None:
    """Unit, category, flags and suggestion go into a submission's INSERT: the ingest of a mail
    sends one statement per submission, not an INSERT and then an UPDATE; the ids of its files come
    back from their INSERT, not from a SELECT after it (issue 15)."""
    import_seed(mb)
    mails = [make_mail(1), make_mail(2, unit="渑池县科协", sender="mcxkx@163.com", docs=2),
             compose("13012345678@163.com", "【卢氏县科协】冬季果树管理技术培训", title="冬季果树管理技术培训")]
    config = load(mb.config)
    pipeline = Pipeline(config, Database(config.database.url))
    sent: list[str] = []
    event.listen(pipeline.db.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: sent.append(" ".join(statement.split()[:3])))
    try:
        for n, raw in enumerate(mails):
            assert pipeline.ingest(raw, Origin("import", f"{n}.eml")).disposition == "submission"
    finally:
        pipeline.db.dispose()
    assert len(mails) <= sent.count("INSERT INTO submissions") <= 4  # on PostgreSQL a mail's two go in one
    assert not [statement for statement in sent if statement.startswith(("UPDATE submissions", "SELECT attachments"))]
    subs = mb.submissions()
    assert [attribution(s) for s in subs] == [
        ("lsxkx@163.com", "卢氏县科协", None, False), ("mcxkx@163.com", "渑池县科协", None, False),
        ("mcxkx@163.com", "渑池县科协", None, False), ("13012345678@163.com", None, "卢氏县科协", True)]
    assert all(s["category"] for s in subs)
    assert all(s["document"] in [a["filename"] for a in s["attachments"]] for s in subs)  # its own file
    assert subs[1]["document"] != subs[2]["document"]


@pytest.mark.slow
def test_roster_imported_after_the_mail_attributes_it(mb: Mailbridge) -> None:
    ingest(mb, make_mail(1), make_mail(2, unit="渑池县科协", sender="mcxkx_ln@163.com"))
    assert [attribution(s) for s in mb.submissions()] == [
        ("lsxkx@163.com", None, None, True), ("mcxkx_ln@163.com", None, None, True)]
    assert "2 earlier submission(s) attributed" in import_seed(mb)
    assert [attribution(s) for s in mb.submissions()] == [
        ("lsxkx@163.com", "卢氏县科协", None, False), ("mcxkx_ln@163.com", "渑池县科协", None, False)]


# --- versions -----------------------------------------------------------------------------

@pytest.mark.slow
def test_resubmission_supersedes_the_earlier_version(mb: Mailbridge) -> None:
    import_seed(mb)
    title = "卢氏县举办冬季果树管理技术培训班"
    third_text = tuple(p.replace("官道口镇", "官道口镇政府") for p in REVISED)
    ingest(mb,
           compose("lsxkx@163.com", f"【卢氏县科协】{title}", day=3),
           compose("lsxkx@163.com", f"【卢氏县科协】{title}（修改稿）", title=title, paragraphs=REVISED, day=5),
           compose("mcxkx@163.com", f"渑池县科协：{title}", day=6),  # the same article, another unit
           compose("lsxkx@163.com", "【卢氏县科协】青少年科技创新大赛", paragraphs=OTHER, day=7),
           compose("lsxkx@163.com", f"【卢氏县科协】{title}（再改）", title=title, paragraphs=third_text, day=8),
           compose("lsxkx@163.com", "【卢氏县科协】青少年科技创新大赛（补发）", paragraphs=OTHER, day=45))
    first, second, other_unit, other_article, third, late = mb.submissions()
    assert [s["status"] == "superseded" for s in (first, second, third)] == [True, True, False]
    assert [s["version_of"] for s in (second, third)] == [first["id"], first["id"]]  # the first version
    assert "resubmission" in second["flags"] and "resubmission" in third["flags"]
    for sub in (first, other_unit, other_article, late):  # late: the same article, 38 days on
        assert "resubmission" not in sub["flags"] and sub["version_of"] is None, sub
        assert sub is first or sub["status"] != "superseded", sub


# --- categories ---------------------------------------------------------------------------

@pytest.mark.slow
def test_category_from_the_title_and_the_reviewers_override(mb: Mailbridge) -> None:
    ingest(mb,
           compose("lsxkx@163.com", "关于举办2026年科技活动周的通知", paragraphs=OTHER[:1]),
           compose("lsxkx@163.com", "关于卢氏县农村科普工作的调研报告", paragraphs=ARTICLE[1:], day=4),
           compose("lsxkx@163.com", "卢氏县举办冬季果树管理技术培训班", day=5))
    notice, research, news = mb.submissions()
    assert [(s["category"], s["category_name"]) for s in (notice, research, news)] == [
        ("notice", "通知公告"), ("research", "工作研究/调研"), ("news", "动态信息")]
    mb.ok("submissions", "set-category", str(news["id"]), "research")
    mb.ok("submissions", "set-category", str(research["id"]), "通知公告")
    done = mb.run("submissions", "set-category", str(notice["id"]), "广告")
    assert done.returncode == 2 and "广告" in done.stderr and "Traceback" not in done.stderr
    assert [s["category"] for s in mb.submissions()] == ["notice", "notice", "research"]


# --- a 登记表 that comes by mail -----------------------------------------------------------

@pytest.mark.slow
def test_mailed_roster_form_is_listed_not_submitted_and_applies_partially(mb: Mailbridge) -> None:
    import_seed(mb)
    form = ("三门峡市科协系统信息员登记表.docx", form_docx([("陕州区科协", "刘 洋", "13703985521", "szqkx2019@163.com")]))
    ingest(mb,
           compose("szqkx2019@163.com", "陕州区科协信息员登记表", files=[form]),
           compose("szqkx2019@163.com", "【陕州区科协】青少年科技创新大赛", paragraphs=OTHER, day=4,
                   files=[article("青少年科技创新大赛", OTHER), form]))
    only_form, with_article = mb.messages()
    assert only_form["disposition"] == "ignored" and only_form["submission_ids"] == []
    (sub,) = mb.submissions()  # the article; the form that came with it is not one
    assert sub["title"] == "青少年科技创新大赛" and sub["message"] == with_article["id"]
    forms = json.loads(mb.ok("roster", "forms", "--json"))
    assert [(f["message"], f["filename"], f["sender"], f["applied"]) for f in forms] == [
        (only_form["id"], form[0], "szqkx2019@163.com", False),
        (with_article["id"], form[0], "szqkx2019@163.com", False)]
    assert "dry run: nothing was changed" in mb.ok("roster", "apply-form", str(forms[0]["id"]), "--dry-run")
    assert "陕州区科协" not in roster(mb)
    out = mb.ok("roster", "apply-form", str(forms[0]["id"]))
    assert preview("add", "unit 陕州区科协") in out.splitlines()
    units = roster(mb)
    assert people(units["陕州区科协"]) == {"刘洋": ("13703985521", ["szqkx2019@163.com"])}
    assert all(u["active"] for u in units.values()) and len(units) == 4  # partial: the others stay
    assert [f["applied"] for f in json.loads(mb.ok("roster", "forms", "--json"))] == [True, False]
    assert mb.submissions()[0]["unit"] == "陕州区科协"  # its sender is known now


# --- end to end through IMAP --------------------------------------------------------------

def test_poll_attributes_three_units_and_a_stranger(tmp_path: Path, imap_account: ImapAccount) -> None:
    mb = Mailbridge(tmp_path, [mailbox(imap_account)], env={PASSWORD_ENV: imap_account.password})
    mb.ok("roster", "import", put(tmp_path / "信息员.xlsx", typed_xlsx()))
    imap_account.append(make_mail(1, sender="lsxkx@163.com"))
    imap_account.append(make_mail(2, unit="市医学会", sender="SMXYXH@163.com", docs=2))
    imap_account.append(make_mail(3, unit="河南中原黄金冶炼厂科协", sender="wangzhe@zyhjyl.com.cn", with_docx=False))
    imap_account.append(compose("reader2026@qq.com", "投稿：家门口的科普课堂", name="热心读者"))
    mb.poll()
    got = [(s["sender"], s["unit"], s["unit_type"], "unknown_sender" in s["flags"]) for s in mb.submissions()]
    assert got == [
        ("lsxkx@163.com", "卢氏县科协", "county", False),
        ("smxyxh@163.com", "市医学会", "society", False),
        ("smxyxh@163.com", "市医学会", "society", False),
        ("wangzhe@zyhjyl.com.cn", "河南中原黄金冶炼厂科协", "enterprise", False),
        ("reader2026@qq.com", None, None, True),
    ]
