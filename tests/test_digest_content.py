"""A digest a reviewer can decide from on a phone: documents attached within review.digest_attach_mb
(the rest named as over the budget), body-only articles in full, 超大附件 links and expiry in
full, and a 待补交 item accepted by a reply (收录正文)."""
from __future__ import annotations

import email
import json
import re
from email import policy
from pathlib import Path

from support.mailfactory import make_mail
from support.mbcli import Mailbridge
from test_review_mail import reply

from mailbridge.parse.mime import parse

SAMPLES = Path(__file__).resolve().parent / "samples"
REVIEWER = "dxb@smxkx.cn"
ROSTER = "单位,姓名,电子信箱,单位类型\n卢氏县科协,张喆,lsxkx@163.com,county\n渑池县科协,李娜,mcxkx@163.com,county\n"


def office(root: Path, attach_mb: float) -> Mailbridge:
    mb = Mailbridge(root, [], review={"default_group": "dxb", "digest_attach_mb": attach_mb,
                                      "digest_max_age_days": 36500})
    mb.config.write_text(mb.config.read_text(encoding="utf-8") + f"""
[[review.groups]]
id = "dxb"
name = "调宣部"
addresses = ["{REVIEWER}"]
""", encoding="utf-8")
    (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
    mb.ok("roster", "import", str(root / "roster.csv"))
    return mb


def import_mails(mb: Mailbridge, *mails: bytes) -> None:
    folder = mb.root / f"in{len(list(mb.root.glob('in*')))}"
    folder.mkdir()
    for i, raw in enumerate(mails, start=1):
        (folder / f"{i:03d}.eml").write_bytes(raw)
    mb.ok("import", str(folder))


def digests(mb: Mailbridge) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(mb.outbox.glob("*digest*.eml"))]


def test_the_digest_carries_the_articles_links_and_a_budget(tmp_path: Path) -> None:
    docs = [make_mail(1), make_mail(2, unit="渑池县科协", sender="mcxkx@163.com")]
    size = max(p.size for raw in docs for p in parse(raw).parts if p.kind == "document")
    mb = office(tmp_path, attach_mb=round(size * 1.5 / 1024 / 1024, 3))  # room for one document, not two
    big = (SAMPLES / "netease_large_attachment_link.eml").read_bytes()
    body_only = make_mail(3, with_docx=False)
    import_mails(mb, *docs, big, body_only)
    subs = mb.submissions()
    assert "4 submission(s) for dxb" in mb.ok("digest")
    [digest] = digests(mb)
    text, html = digest.get_body(("plain",)).get_content(), digest.get_body(("html",)).get_content()

    # Documents: the first attached under its receipt number, the second named as over the budget.
    first, second = subs[0], subs[1]
    [attached] = list(digest.iter_attachments())
    assert attached.get_filename().startswith(first["receipt_no"] + " ") and attached.get_filename().endswith(".docx")
    original = next(p for p in parse(docs[0]).parts if p.kind == "document")
    assert attached.get_content() == original.data
    second_name = next(a["filename"] for a in second["attachments"] if a["filename"].endswith(".docx"))
    for body in (text, html):
        assert f"原文见附件“{attached.get_filename()}”" in body
        assert f"原文“{second_name}”" in body and "超出本期附件总量上限" in body

    # The 超大附件 item: the link and its expiry in full, and how to accept the body.
    waiting = next(s for s in subs if s["status"] == "awaiting_file")
    url = "https://mail.163.com/large-attachment-download/index.html?p=X-NETEASE-HUGE-ATTACHMENT&file="
    [link] = [line.strip() for line in text.splitlines() if line.strip().startswith(url)]
    assert link.endswith("&title=%E7%A7%91%E6%99%AE%E6%97%A5")  # not cut at the excerpt length
    assert f'href="{link.replace("&", "&amp;")}"' in html
    for body in (text, html):
        assert "“卢氏县科普日活动视频.mp4”，有效期至2026年12月7日 12:00" in body
        assert f"收录正文 {waiting['receipt_no']}" in body

    # A body-only article in full, not a 120-character excerpt.
    article = json.loads(mb.ok("submissions", "show", str(subs[3]["id"]), "--json"))["text"]
    assert len("".join(article.split())) > 120
    for paragraph in (p.strip() for p in article.splitlines() if p.strip()):
        assert paragraph in text and paragraph in html

    # The reviewer accepts the 待补交 body from the phone: a reply line, recorded as a decision.
    token = re.search(r"MB-[A-Z2-7]{32}", text).group(0)
    import_mails(mb, reply(REVIEWER, "回复：" + digest["Subject"], f"收录正文 {waiting['receipt_no']}\n{token}\n", 1))
    shown = json.loads(mb.ok("submissions", "show", str(waiting["id"]), "--json"))
    assert shown["status"] == "received"
    assert [(d["action"], d["actor"], d["via"]) for d in shown["decisions"]] == [("accept_body", REVIEWER, "mail")]


def test_no_budget_attaches_nothing(tmp_path: Path) -> None:
    mb = office(tmp_path, attach_mb=0)
    import_mails(mb, make_mail(1))
    mb.ok("digest")
    [digest] = digests(mb)
    assert list(digest.iter_attachments()) == []
    assert "超出本期附件总量上限（0 MB）" in digest.get_body(("plain",)).get_content()
