"""What a receipt says, read from the generated mail: the officer's name, the unit without nested
brackets, a clean Subject, numbered articles, file names in quotes, a one-line excerpt, and the
信息员登记表 attached for an unknown sender (and readable back as a roster)."""
from __future__ import annotations

import datetime as dt
import email
import io
import re
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import docx
from support.mailfactory import make_docx
from support.mbcli import Mailbridge

from mailbridge.attribute.roster_files import read_roster
from mailbridge.config import Config
from mailbridge.notify.roster_form import roster_form

CST = dt.timezone(dt.timedelta(hours=8))
DOCX_TYPE = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")
ROSTER = "单位,姓名,电子信箱,单位类型\n卢氏县科协,杨晓红,lsxkx@163.com,county\n"
ARTICLE = ("11月3日，卢氏县科协在横涧乡开展冬季科普宣传活动。",
           "活动现场发放科普资料500余份，解答群众咨询80余人次。",
           "杨晓红")


def installation(root: Path) -> Mailbridge:
    mb = Mailbridge(root, [], receipts={"max_age_days": 0})
    (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
    mb.ok("roster", "import", str(root / "roster.csv"))
    return mb


def mail(n: int, subject: str, *, sender: str = "lsxkx@163.com", name: str = "清风徐来",
         body: str = "您好，稿件见附件。", files: tuple[tuple[str, bytes], ...] = ()) -> bytes:
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = Address(name, addr_spec=sender)  # a QQ nickname as the display name
    msg["To"] = "smxskx@163.com"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(dt.datetime(2026, 11, 3, 9, tzinfo=CST) + dt.timedelta(hours=n))
    msg["Message-ID"] = f"<wording-{n}@qq.example>"
    msg.set_content(body)
    for filename, data in files:
        msg.add_attachment(data, *DOCX_TYPE, filename=filename)
    return msg.as_bytes()


def receive(mb: Mailbridge, raw: bytes) -> EmailMessage:
    """Import one mail with receipts on; the receipt it got, parsed."""
    folder = mb.root / f"in{len(list(mb.root.glob('in*')))}"
    folder.mkdir()
    (folder / "1.eml").write_bytes(raw)
    before = set(mb.outbox.glob("*.eml")) if mb.outbox.exists() else set()
    mb.ok("import", "--receipts", str(folder))
    [new] = set(mb.outbox.glob("*.eml")) - before
    return email.message_from_bytes(new.read_bytes(), policy=policy.default)


def parts(receipt: EmailMessage) -> tuple[str, str]:
    return receipt.get_body(("plain",)).get_content(), receipt.get_body(("html",)).get_content()


def nested_brackets(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"（": 1, "）": -1}.get(char, 0)
        if depth > 1:
            return True
    return False


def test_a_body_only_receipt_greets_the_officer_and_keeps_subject_and_excerpt_clean(tmp_path: Path) -> None:
    mb = installation(tmp_path)
    receipt = receive(mb, mail(1, "Re: 转发: 投稿：卢氏县科协开展冬季科普宣传活动", body="\n\n".join(ARTICLE)))
    assert re.fullmatch(r"回执：SMX-2026-11-0001《卢氏县科协开展冬季科普宣传活动》", receipt["Subject"])
    for body in parts(receipt):
        assert "杨晓红：您好！" in body and "清风徐来" not in body  # the roster's name, not the nickname
        who = next(line for line in body.splitlines() if "报送单位" in line)
        assert "卢氏县科协" in who and "县（市、区）科协" in who and not nested_brackets(who)
    text, _ = parts(receipt)
    bullets = [line.strip() for line in text.splitlines() if line.strip().startswith("※")]
    # The excerpt is collapsed: one "※" for the body-only note, none empty or just a name.
    assert len(bullets) == 1 and "本邮件未附文档" in bullets[0] and ARTICLE[0][:20] in bullets[0]
    assert [s["title"] for s in mb.submissions()] == ["卢氏县科协开展冬季科普宣传活动"]


def test_two_articles_are_numbered_and_file_names_are_not_set_as_titles(tmp_path: Path) -> None:
    mb = installation(tmp_path)
    good = make_docx("投稿：卢氏县科协召开科普工作会议", ARTICLE)  # a document whose own title has the mark
    receipt = receive(mb, mail(2, "转发:两篇稿件", files=(("会议.docx", good), ("坏文件.docx", b"not a zip"))))
    assert receipt["Subject"] == "回执：SMX-2026-11-0001等2篇《卢氏县科协召开科普工作会议》"
    text, html = parts(receipt)
    assert "第 1 篇" in html and "第 2 篇" in html and html.index("第 1 篇") < html.index("第 2 篇")
    assert "1. 回执编号" in text and "2. 回执编号" in text
    for body in (text, html):
        assert "附件“坏文件.docx”" in body and "《坏文件.docx》" not in body and "《会议.docx》" not in body


def test_each_form_carries_its_own_sender_as_text() -> None:
    """The form is laid out once and the sender filled in per receipt: no sender left over from
    the one before, markup in an address stays text, and what XML cannot hold is dropped."""
    config = Config()
    senders = ["first@qq.com", "o'brien&<w:t>@163.com", "ctl\x01\x1b@126.com"]
    cells = []
    for sender in senders:
        document = docx.Document(io.BytesIO(roster_form(config, "smxskx@163.com", sender)))
        [table] = document.tables
        headers = [c.text for c in table.rows[0].cells]
        cells.append(table.rows[1].cells[headers.index("电子信箱")].text)
        assert [c.text for c in table.rows[2].cells][1:] == [""] * (len(headers) - 1)
    assert cells == ["first@qq.com", "o'brien&<w:t>@163.com", "ctl@126.com"]


def test_an_unknown_sender_gets_the_form_and_it_reads_back_as_a_roster(tmp_path: Path) -> None:
    mb = installation(tmp_path)
    stranger = "1047753826@qq.com"
    receipt = receive(mb, mail(3, "投稿：湖滨区实验小学举办科技节", sender=stranger,
                               files=(("科技节.docx", make_docx("湖滨区实验小学举办科技节", ARTICLE)),)))
    text, html = parts(receipt)
    assert "清风徐来：您好！" in text  # no roster name for a stranger: the display name it is
    assert "本邮件所附的《信息员登记表》" in text and "本邮件所附的《信息员登记表》" in html
    [form] = [p for p in receipt.iter_attachments() if p.get_filename().endswith(".docx")]
    assert form.get_filename() == "信息员登记表.docx"
    assert form.get_content_type() == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    # The officer fills in the first row (the address is filled in already) and sends it back.
    document = docx.Document(io.BytesIO(form.get_content()))
    [table] = document.tables
    headers = [c.text for c in table.rows[0].cells]
    row = table.rows[1].cells
    assert row[headers.index("电子信箱")].text == stranger
    row[headers.index("单位（部门）")].text = "湖滨区科协"
    row[headers.index("姓名")].text = "李明"
    row[headers.index("联系电话")].text = "13803981234"
    filled = io.BytesIO()
    document.save(filled)
    read = read_roster("信息员登记表.docx", filled.getvalue())
    assert read.errors == []
    assert [(r.unit, r.name, r.phone, r.emails) for r in read.rows] == [("湖滨区科协", "李明", "13803981234", [stranger])]
    (tmp_path / "filled.docx").write_bytes(filled.getvalue())
    mb.ok("roster", "import", "--partial", str(tmp_path / "filled.docx"))
    assert stranger in mb.ok("roster", "list", "--json")
    # A known sender's receipt carries no form.
    known = receive(mb, mail(4, "卢氏县科协稿件", files=(("稿.docx", make_docx("卢氏县科协稿件", ARTICLE)),)))
    assert [p.get_filename() for p in known.iter_attachments()] == []
