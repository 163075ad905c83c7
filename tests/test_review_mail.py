"""Reviewer digests and reply commands, end to end: Dovecot in, aiosmtpd out."""
from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
from pathlib import Path

import pytest
from support.mailfactory import make_mail
from support.mbcli import PASSWORD_ENV, Mailbridge, mailbox

from mailbridge.review.replies import parse

REVIEWER, LEADER, OTHER_REVIEWER = "dxb@smxkx.cn", "leader@smxkx.cn", "kpb@smxkx.cn"
ROSTER = "单位,姓名,电子信箱,单位类型\n卢氏县科协,张喆,lsxkx@163.com,county\n渑池县科协,李娜,mcxkx@163.com,county\n"


def reply(sender: str, subject: str, body: str, n: int) -> bytes:
    """A reply as 163 webmail writes it: UTF-8 base64 body, the digest quoted below a marker."""
    import base64

    head = (f"From: {sender}\r\nTo: smxskx@163.com\r\nSubject: =?UTF-8?B?{base64.b64encode(subject.encode()).decode()}?=\r\n"
            f"Date: {email.utils.format_datetime(dt.datetime.now(dt.timezone.utc))}\r\n"
            f"Message-ID: <reply.{n}@smxkx.cn>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n")
    return head.encode() + base64.encodebytes(body.replace("\n", "\r\n").encode()).replace(b"\n", b"\r\n")


@pytest.fixture
def office(tmp_path: Path, imap_account, smtp_server):  # type: ignore[no-untyped-def]
    server = smtp_server()
    smtp = {"transport": "smtp", "host": "127.0.0.1", "port": server.port, "security": "plain",
            "max_per_minute": 6000}
    mb = Mailbridge(tmp_path, [mailbox(imap_account)], env={PASSWORD_ENV: imap_account.password}, smtp=smtp)
    mb.config.write_text(mb.config.read_text(encoding="utf-8") + f"""
[review]
default_group = "dxb"
[[review.groups]]
id = "dxb"
name = "调宣部"
addresses = ["{REVIEWER}"]
leaders = ["{LEADER}"]
[[review.groups]]
id = "kpb"
name = "科普部"
addresses = ["{OTHER_REVIEWER}"]
[[review.routes]]
group = "kpb"
keywords = ["科普日"]
""", encoding="utf-8")
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    mb.ok("roster", "import", str(tmp_path / "roster.csv"))
    imap_account.append(make_mail(1))
    imap_account.append(make_mail(2, unit="渑池县科协", sender="mcxkx@163.com"))
    mb.poll()
    return mb, imap_account, server


def mails_to(server, address: str) -> list:  # type: ignore[no-untyped-def]
    return [r.message for r in server.received if address in r.recipients]


def token_of(digest) -> str:  # type: ignore[no-untyped-def]
    """The recipient's own token: in the body, never in the Subject."""
    assert "MB-" not in digest["Subject"]
    return re.search(r"MB-[A-Z2-7]{32}", digest.get_body(("plain",)).get_content()).group(0)


def test_digest_reply_records_decisions_and_answers_each_line(office) -> None:  # type: ignore[no-untyped-def]
    mb, imap, server = office
    first, second = [s["receipt_no"] for s in mb.submissions()]
    assert "2 submission(s) for dxb" in mb.ok("digest")
    assert "nothing new" in mb.ok("digest")  # each submission is listed once
    [digest] = mails_to(server, REVIEWER)
    text = digest.get_body(("plain",)).get_content()
    assert first in text and second in text and "市科协官网" in text
    token = token_of(digest)
    assert token in digest.get_body(("html",)).get_content()
    assert mails_to(server, OTHER_REVIEWER) == [] and mails_to(server, LEADER) == []  # one stage: no leader

    body = (f"采用 {first} 网站 公众号\n不采用：{second} 与本市无关\n采用 SMX-2026-11-9999 网站\n"
            f"采用 {first} 抖音\n\n------------------ 原始邮件 ------------------\n" + text)
    imap.append(reply(REVIEWER, "回复：" + digest["Subject"], body, 1))
    mb.poll()
    subs = {s["receipt_no"]: s for s in mb.submissions()}
    shown = json.loads(mb.ok("submissions", "show", str(subs[first]["id"]), "--json"))
    assert sorted(a["channel"] for a in shown["adoptions"]) == ["website", "wechat"]
    assert {a["actor"] for a in shown["adoptions"]} == {REVIEWER} and {a["via"] for a in shown["adoptions"]} == {"mail"}
    assert subs[second]["review_status"] == "rejected"
    [answer] = mails_to(server, REVIEWER)[1:]
    assert answer["In-Reply-To"] == "<reply.1@smxkx.cn>" and answer["Auto-Submitted"] == "auto-replied"
    reply_text = answer.get_body(("plain",)).get_content()
    assert "2 条成功，2 条未执行" in reply_text
    assert f"✓ 已登记采用：{first}" in reply_text and "市科协官网、公众号" in reply_text
    assert f"✓ 已登记不采用：{second}" in reply_text
    assert "✗ 未执行「采用 SMX-2026-11-9999 网站」" in reply_text and "找不到该编号的稿件" in reply_text
    assert "渠道名称无法识别" in reply_text
    [row] = [m for m in mb.messages() if m["sender"] == REVIEWER]
    assert row["disposition"] == "ignored" and row["reason"] == "reviewer reply: 2 of 4 decision(s) recorded"
    assert len(mb.submissions()) == 2  # a reply is never an article


def test_forged_and_foreign_replies_are_refused(office) -> None:  # type: ignore[no-untyped-def]
    mb, imap, server = office
    first, second = [s["receipt_no"] for s in mb.submissions()]
    mb.ok("digest")
    token = token_of(mails_to(server, REVIEWER)[0])
    sent_before = len(server.received)
    # Forged: the reviewer's address, no token. From a unit: the token, not a reviewer.
    # Another group's reviewer: a reviewer, but the token was sent to someone else.
    imap.append(reply(REVIEWER, "采用", f"采用 {first} 网站", 1))
    imap.append(reply("lsxkx@163.com", f"回复：【待审稿件】{token}", f"采用 {second} 网站\n", 2))
    imap.append(reply(OTHER_REVIEWER, f"回复：{token}", f"采用 {second} 网站\n", 3))
    mb.poll()
    assert all(s["adoptions"] == [] and s["review_status"] == "pending" for s in mb.submissions())
    reasons = {m["sender"]: m["reason"] for m in mb.messages() if m["sender"] not in ("mcxkx@163.com",)
               and m["message_id"].startswith("<reply.")}
    assert reasons == {REVIEWER: "reviewer reply refused: no_token", "lsxkx@163.com": "reviewer reply refused: not_reviewer",
                       OTHER_REVIEWER: "reviewer reply refused: token_not_yours"}
    # A refused reply gets no answer at all: a forger learns nothing, and no third party is mailed.
    assert len(server.received) == sent_before
    assert [o for o in json.loads(mb.ok("outbox", "list", "--json")) if o["kind"] == "reply"] == []


def test_two_stage_needs_first_review_then_a_leader(office) -> None:  # type: ignore[no-untyped-def]
    mb, imap, server = office
    config = mb.config.read_text(encoding="utf-8").replace("[review]\n", "[review]\ntwo_stage = true\n")
    mb.config.write_text(config.replace(f'addresses = ["{OTHER_REVIEWER}"]',
                                        f'addresses = ["{OTHER_REVIEWER}"]\nleaders = ["{LEADER}"]'), encoding="utf-8")
    first = mb.submissions()[0]["receipt_no"]
    mb.ok("digest")
    [digest] = mails_to(server, REVIEWER)
    [leader_digest] = mails_to(server, LEADER)  # leaders get a digest of their own, with their own token
    assert all(len(r.recipients) == 1 for r in server.received)  # no Cc: no one sees another's token
    token, leader_token = token_of(digest), token_of(leader_digest)
    assert token != leader_token
    imap.append(reply(REVIEWER, "回复：" + digest["Subject"], f"采用 {first} 网站\n初审 {first}\n批准 {first}\n\n{token}", 1))
    # The reviewer, under the leader's From:, with his own token: refused, and nobody is answered.
    imap.append(reply(LEADER, "回复：" + digest["Subject"], f"批准 {first}\n\n{token}", 3))
    mb.poll()
    assert json.loads(mb.ok("submissions", "show", first, "--json"))["review_status"] == "reviewed"
    assert len(mails_to(server, LEADER)) == 1  # the digest only: no answer to the forged reply
    imap.append(reply(LEADER, "回复：" + leader_digest["Subject"], f"批准 {first}\n采用 {first} 网站\n\n{leader_token}", 2))
    mb.poll()
    sub = json.loads(mb.ok("submissions", "show", first, "--json"))
    assert [a["channel"] for a in sub["adoptions"]] == ["website"]
    assert [(d["action"], d["actor"]) for d in sub["decisions"]] == [
        ("first_review", REVIEWER), ("approve", LEADER), ("adopt", LEADER)]
    texts = [m.get_body(("plain",)).get_content() for m in mails_to(server, REVIEWER)[1:]]
    assert "尚未初审" in texts[0] and "批准须由分管领导" in texts[0]


def test_reply_lines_are_read_like_a_person_writes_them() -> None:
    today = dt.date(2026, 11, 23)
    got = parse("采用 smx-2026-11-0001、SMX-2026-11-0002 官网，公众号 11月20日\n"
                "不予采用 12 内容重复\n"
                "谢谢！\n"
                "不采用\n"
                "> 采用 SMX-2026-11-0003 网站\n", today)
    assert [(c.verb, c.refs, c.words, c.on) for c in got] == [
        ("adopt", ["SMX-2026-11-0001", "SMX-2026-11-0002"], ["官网", "公众号"], dt.date(2026, 11, 20)),
        ("reject", ["12"], ["内容重复"], None),
        ("reject", [], [], None),
    ]
    assert parse("在 2026年11月23日 09:00，调宣部 写道：\n采用 1 网站", today) == []
    # A phone client that quotes the digest without any marker: its example lines are not decisions.
    quoted = "采用 7 网站\n调宣部：\n以下 2 篇稿件待审：\n直接回复本邮件即可登记审稿结果\n采用 SMX-2026-11-0001 网站 公众号"
    assert [c.refs for c in parse(quoted, today)] == [["7"]]
