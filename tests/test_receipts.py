"""Receipts (回执): who gets one (loop protection), what it says, and one per mail end to end."""
from __future__ import annotations

import email
import json
from email import policy
from pathlib import Path

import pytest
from support.mailfactory import make_auto_reply, make_bounce, make_mail, message_id_of
from support.mbcli import PASSWORD_ENV, Mailbridge, mailbox

from mailbridge.config import from_dict
from mailbridge.errors import ConfigError
from mailbridge.notify.compose import compose
from mailbridge.render import render_mail

ROSTER = "单位,姓名,电子信箱,单位类型\n卢氏县科协,张喆,lsxkx@163.com,county\n"


def installation(root: Path, mailboxes: list | None = None, env: dict | None = None, **receipts) -> Mailbridge:  # type: ignore[no-untyped-def]
    mb = Mailbridge(root, mailboxes or [], env=env, receipts={"max_age_days": 0, **receipts})
    (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
    mb.ok("roster", "import", str(root / "roster.csv"))
    return mb


def import_mails(mb: Mailbridge, *mails: bytes, receipts: bool = True) -> None:
    folder = mb.root / f"in{len(list(mb.root.glob('in*')))}"
    folder.mkdir()
    for i, raw in enumerate(mails, start=1):
        (folder / f"{i:03d}.eml").write_bytes(raw)
    mb.ok("import", *(["--receipts"] if receipts else []), str(folder))


def sent(mb: Mailbridge) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(mb.outbox.glob("*.eml"))]


def with_headers(raw: bytes, *headers: str) -> bytes:
    return "".join(f"{h}\r\n" for h in headers).encode() + raw


@pytest.mark.slow
def test_no_receipt_to_robots_lists_or_ourselves(tmp_path: Path) -> None:
    mb = installation(tmp_path)
    import_mails(mb,
                 make_auto_reply(1),
                 make_bounce(2),
                 with_headers(make_mail(3), "List-Id: <kx.lists.example.cn>"),
                 with_headers(make_mail(4), "X-Auto-Response-Suppress: All"),
                 with_headers(make_mail(5), "Return-Path: <>"),
                 make_mail(6, sender="noreply@notice.example.cn"),
                 make_mail(7, sender="smxskx@163.com"),
                 make_mail(8))
    dispositions = [m["disposition"] for m in mb.messages()]
    assert dispositions == ["auto_reply", "bounce", "submission", "submission", "submission", "submission",
                            "ignored", "submission"]
    [receipt] = sent(mb)
    assert receipt["In-Reply-To"] == message_id_of(8)
    rows = json.loads(mb.ok("outbox", "list", "--json"))
    assert [(r["kind"], r["recipients"], r["status"]) for r in rows] == [("receipt", ["lsxkx@163.com"], "sent")]


@pytest.mark.slow
def test_daily_cap_per_sender(tmp_path: Path) -> None:
    mb = installation(tmp_path, max_per_sender_per_day=2)
    import_mails(mb, make_mail(1), make_mail(2), make_mail(3), make_mail(4, sender="mcxkx@163.com"))
    assert len(mb.submissions()) == 4
    to = [m["To"] for m in sent(mb)]
    assert sorted(to) == ["lsxkx@163.com", "lsxkx@163.com", "mcxkx@163.com"]


@pytest.mark.slow
def test_unknown_sender_gets_registration_hint_unless_switched_off(tmp_path: Path) -> None:
    mb = installation(tmp_path / "on", contact="调宣部 0398-2822345")
    import_mails(mb, make_mail(1, unit="某某镇科协", sender="stranger@qq.com"))
    [receipt] = sent(mb)
    text = receipt.get_body(("plain",)).get_content()
    assert "尚未在信息员登记表中登记" in text and "stranger@qq.com" in text and "调宣部 0398-2822345" in text
    assert "报送单位：未识别" in text and "月度任务" not in text
    off = installation(tmp_path / "off", unknown_senders=False)
    import_mails(off, make_mail(1, unit="某某镇科协", sender="stranger@qq.com"), make_mail(2))
    assert [m["To"] for m in sent(off)] == ["lsxkx@163.com"]


@pytest.mark.parametrize("settings", [{"enabled": False}, {"max_age_days": 3}])
@pytest.mark.slow
def test_switched_off_or_old_mail_gets_none(tmp_path: Path, settings: dict) -> None:
    mb = installation(tmp_path, **settings)  # the factory's mail is from early November 2026
    import_mails(mb, make_mail(1))
    assert len(mb.submissions()) == 1 and sent(mb) == []


@pytest.mark.slow
def test_imports_are_answered_only_when_asked(tmp_path: Path) -> None:
    mb = installation(tmp_path)
    import_mails(mb, make_mail(1), receipts=False)
    assert sent(mb) == [] and json.loads(mb.ok("outbox", "list", "--json")) == []


# --- rendering ------------------------------------------------------------------------------

CONFIG = from_dict({"smtp": {"from": "三门峡市科协 <smxskx@163.com>"}, "receipts": {"contact": "调宣部"}}, base=Path("."))


def receipt(**changes) -> dict:  # type: ignore[no-untyped-def]
    item = {"receipt_no": "SMX-2026-11-0001", "title": "卢氏县科协开展科普活动", "body_chars": 512,
            "category": "动态信息", "document": "稿件.docx", "flags": [], "links": [], "from_body": False,
            "excerpt": "", "version_of": None, "awaiting_file": False}
    data = {"sender": "lsxkx@163.com", "sender_name": "张喆", "subject": "【卢氏县科协】稿件",
            "received_at": "2026-11-23 09:00", "unit": "卢氏县科协", "unit_type": "县（市、区）科协",
            "suggested_unit": None, "year": 2026, "month": 11, "count": 3, "quota": 5,
            "submissions": [item], "attachments": [{"filename": "稿件.docx", "size": 40_000, "kind": "document",
                                                    "flags": []}],
            "contact": "调宣部", "address": "smxskx@163.com"}
    for key, value in changes.items():
        (item if key in item else data)[key] = value
    return data


def test_receipt_text_and_html_say_the_same() -> None:
    subject, text, html = render_mail(CONFIG, "receipt", **receipt())
    assert subject == "回执：SMX-2026-11-0001《卢氏县科协开展科普活动》"  # never the sender's own Subject
    for part in (text, html):
        assert "SMX-2026-11-0001" in part and "卢氏县科协开展科普活动" in part and "512 字" in part
        assert "2026年11月贵单位已报送 3 篇，月度任务 5 篇，还差 2 篇。" in part
        assert "稿件.docx（39 KB）" in part
    _, done, _ = render_mail(CONFIG, "receipt", **receipt(count=6))
    assert "已报送 6 篇，月度任务 5 篇，本月任务已完成。" in done


def test_html_in_a_title_is_escaped_and_long_titles_stay_one_line() -> None:
    title = "<script>alert(1)</script>" + "长" * 300
    subject, text, html = render_mail(CONFIG, "receipt", **receipt(title=title, subject="", document=None))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert title in text  # plain text is not escaped
    assert subject == "回执：SMX-2026-11-0001《<script>alert(1)</s…》"  # one short line
    msg = compose(CONFIG, ["lsxkx@163.com"], subject, text, html)
    parsed = email.message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert parsed["Subject"] == subject
    assert all(len(line) <= 998 for line in msg.as_bytes().split(b"\r\n"))


def test_missing_unit_problems_and_links_are_explained() -> None:
    data = receipt(unit=None, unit_type=None, count=None, quota=None, suggested_unit="卢氏县科协",
                   flags=["no_text", "unreadable", "large_attachment_link", "resubmission"], version_of="旧标题",
                   links=[{"url": "https://mail.163.com/large/abc", "filename": "视频.mp4", "expires": "2026年12月7日"}])
    _, text, html = render_mail(CONFIG, "receipt", **data)
    for part in (text, html):
        assert "报送单位：未识别" in part and "尚未在信息员登记表中登记" in part and "系统推测您来自：卢氏县科协" in part
        assert "已损坏或无法打开" in part
        assert "另含超大附件“视频.mp4”（下载链接有效期至2026年12月7日）" in part and "作为附件回复本邮件" in part
        assert "此前来稿《旧标题》" in part
        assert "月度任务" not in part
    _, body_text, _ = render_mail(CONFIG, "receipt", **receipt(document=None, from_body=True, excerpt="为深入贯彻"))
    assert "本邮件未附文档，已将邮件正文作为稿件收录（开头：“为深入贯彻…”）" in body_text


def test_admin_can_override_a_template_and_a_broken_one_is_named(tmp_path: Path) -> None:
    (tmp_path / "receipt.subject.txt").write_text("【已收到】{{ submissions[0].receipt_no }}", encoding="utf-8")
    config = from_dict({"templates": {"dir": "."}}, base=tmp_path)
    subject, text, _ = render_mail(config, "receipt", **receipt())
    assert subject == "【已收到】SMX-2026-11-0001" and "SMX-2026-11-0001" in text  # the rest still shipped
    broken = tmp_path / "b"
    broken.mkdir()
    (broken / "receipt.txt").write_text("{% if %}", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"receipt\.txt"):
        render_mail(from_dict({"templates": {"dir": "b"}}, base=tmp_path), "receipt", **receipt())


# --- end to end: Dovecot in, aiosmtpd out --------------------------------------------------

def test_one_receipt_per_mail_from_imap_to_smtp(tmp_path: Path, imap_account, smtp_server) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server()
    imap_account.append(make_mail(1, docs=2))
    imap_account.append(make_auto_reply(2))
    imap_account.append(make_bounce(3))
    smtp = {"transport": "smtp", "host": "127.0.0.1", "port": server.port, "security": "plain",
            "max_per_minute": 6000}
    mb = Mailbridge(tmp_path, [mailbox(imap_account)], env={PASSWORD_ENV: imap_account.password}, smtp=smtp)
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    mb.ok("roster", "import", str(tmp_path / "roster.csv"))
    assert "outbox: 1 sent" in mb.poll()
    mb.poll()
    [got] = server.received
    msg = got.message
    assert got.recipients == ["lsxkx@163.com"]
    assert msg["In-Reply-To"] == message_id_of(1)
    text = msg.get_body(("plain",)).get_content()
    receipts = [s["receipt_no"] for s in mb.submissions()]
    assert len(receipts) == 2 and all(r in text for r in receipts) and "共登记稿件 2 篇" in text
    assert f"本邮箱（{imap_account.user}）" in text
    # A mailbox with receipts switched off answers nobody.
    imap_account.append(make_mail(4))
    quiet = Mailbridge(tmp_path / "quiet", [mailbox(imap_account, receipts=False)],
                       env={PASSWORD_ENV: imap_account.password}, smtp=smtp)
    quiet.poll()
    assert len(quiet.submissions()) == 3 and len(server.received) == 1
