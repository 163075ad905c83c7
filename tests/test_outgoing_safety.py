"""What a stranger's mail can do to outgoing mail: nothing stops the outbox, floods or reflects."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from support.mailfactory import make_mail, message_id_of
from support.mbcli import Mailbridge
from support.database import shifted
from support.smtp import free_port
from test_outbox import (
    ROSTER,
    _trust_test_certificate,  # noqa: F401  (SSL_CERT_FILE for installation())
    installation,
    outbox,
    write_mails,
)

from mailbridge.config import from_dict, load
from mailbridge.ledger.db import Database, ensure_schema
from mailbridge.notify.compose import compose
from mailbridge.render import render_mail
from mailbridge.notify.sender import Sender
from mailbridge.notify.transport import SmtpTransport

CONFIG = from_dict({"smtp": {"from": "三门峡市科协 <smxskx@163.com>"}}, base=Path("."))
EAI = "张三@example.com"  # a raw UTF-8 address (RFC 6531): real mail from EAI users


def from_address(n: int, address: str, unit: str = "卢氏县科协") -> bytes:
    """make_mail(n) with its From address replaced by raw bytes (whatever the sender wrote)."""
    return make_mail(n, unit=unit, sender="placeholder@example.com").replace(
        b"<placeholder@example.com>", f"<{address}>".encode())


def queue_only(mb, server, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """Import with the SMTP server out of reach: every receipt waits in the outbox, no attempt spent."""
    config = mb.config.read_text(encoding="utf-8")
    mb.config.write_text(config.replace(f"port = {server.port}", f"port = {free_port()}"), encoding="utf-8")
    assert mb.run("import", "--receipts", str(folder)).returncode == 3
    mb.config.write_text(config, encoding="utf-8")


def set_rows(mb, sql: str, *args: object) -> None:  # type: ignore[no-untyped-def]
    mb.rows(sql, *args)


# --- one unsendable mail never stops the others ---------------------------------------------

@pytest.mark.parametrize("smtputf8", [False, True])
def test_outbox_survives_unsendable_recipient(tmp_path: Path, smtp_server, smtputf8: bool) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server(smtputf8=smtputf8)
    mb = installation(tmp_path, server)
    done = mb.run("import", "--receipts", str(write_mails(tmp_path / "in", from_address(1, EAI), make_mail(2))))
    rows = outbox(mb)
    assert [r["recipients"] for r in rows] == [[EAI], ["lsxkx@163.com"]]
    if smtputf8:  # the server takes UTF-8 addresses: both receipts go
        assert done.returncode == 0, done.stderr
        assert [r["status"] for r in rows] == ["sent", "sent"]
        assert sorted(tuple(r.recipients) for r in server.received) == [("lsxkx@163.com",), (EAI,)]
        eai = next(r for r in server.received if r.recipients == [EAI])
        assert eai.message["To"] == EAI and eai.message["In-Reply-To"] == message_id_of(1, "placeholder@example.com")
        return
    # It cannot take one: that receipt fails with the reason, the next one is sent all the same.
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert [r["status"] for r in rows] == ["failed", "sent"]
    assert rows[0]["last_error"].startswith("no receipt: address not deliverable") and "SMTPUTF8" in rows[0]["last_error"]
    assert [r.recipients for r in server.received] == [["lsxkx@163.com"]]
    # Later flushes leave the failed one alone; nothing is stuck in `sending`.
    mb.ok("import", "--receipts", str(write_mails(tmp_path / "more", make_mail(3))))
    assert [r["status"] for r in outbox(mb)] == ["failed", "sent", "sent"]


def test_any_exception_fails_only_its_mail(tmp_path: Path, smtp_server, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server(smtputf8=False)
    mb = installation(tmp_path, server)
    queue_only(mb, server, write_mails(tmp_path / "in", from_address(1, EAI), make_mail(2)))
    # Without the SMTPUTF8 check smtplib raises what the issue saw (UnicodeEncodeError), mid-session.
    monkeypatch.setattr(SmtpTransport, "_utf8_options", lambda self, recipients: [])
    config = load(mb.config)
    db = Database(config.database.url)
    try:
        stats = Sender(config, db).flush(now=True)
    finally:
        db.dispose()
    assert (stats.sent, stats.failed) == (1, 1)
    rows = outbox(mb)
    assert [r["status"] for r in rows] == ["failed", "sent"]
    assert "UnicodeEncodeError" in rows[0]["last_error"]
    assert [r.recipients for r in server.received] == [["lsxkx@163.com"]]


def test_a_mail_that_keeps_killing_the_sender_is_given_up(tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server()
    mb = installation(tmp_path, server, outbox={"max_attempts": 3})
    queue_only(mb, server, write_mails(tmp_path / "in", make_mail(1), make_mail(2)))
    # Row 1 was claimed three times by senders that died on it: it is left `sending`.
    set_rows(mb, "UPDATE outbox SET status = 'sending', attempts = 3 WHERE id = 1")
    assert mb.run("outbox", "flush").returncode == 3
    rows = outbox(mb)
    assert [r["status"] for r in rows] == ["failed", "sent"]
    assert "gave up after 3 attempts" in rows[0]["last_error"]
    assert len(server.received) == 1


def test_outbox_cancel(tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server()
    mb = installation(tmp_path, server)
    queue_only(mb, server, write_mails(tmp_path / "in", make_mail(1), make_mail(2)))
    set_rows(mb, "UPDATE outbox SET status = 'sending' WHERE id = 2")  # a dead sender's
    for row_id in ("1", "2"):
        assert "cancelled" in mb.ok("outbox", "cancel", row_id)
    mb.ok("outbox", "flush")
    assert server.received == []
    assert [r["status"] for r in outbox(mb)] == ["cancelled", "cancelled"]
    assert json.loads(mb.ok("outbox", "list", "--json", "--status", "cancelled"))[0]["id"] == 1
    assert mb.run("outbox", "cancel", "99").returncode == 2
    mb.ok("outbox", "retry", "1")  # the admin changes their mind
    assert [r["status"] for r in outbox(mb)] == ["sent", "cancelled"]
    done = mb.run("outbox", "cancel", "1")
    assert done.returncode == 2 and "already sent" in done.stderr


# --- poison messages: one message never stops the pass ----------------------------------------

# Line and page breaks no header may hold: U+2028, FF, VT, NEL, FS (str.splitlines splits on all).
POISON = ["\u2028", "\x0c", "\x0b", "\x85", "\x1c"]


def token_flood(n: int) -> bytes:
    """A 'reply' holding n distinct digest-token-shaped strings (far more than SQLite's variable limit)."""
    body = " ".join("MB-" + base64.b32encode(i.to_bytes(20, "big")).decode() for i in range(n))
    return (b"From: stranger@example.com\r\nTo: smxskx@163.com\r\nSubject: Re: tokens\r\n"
            b"Message-ID: <flood@example.com>\r\nDate: Tue, 03 Nov 2026 09:00:00 +0800\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + body.encode() + b"\r\n")


def test_poison_sender_does_not_stop_the_pass(tmp_path: Path) -> None:
    mb = Mailbridge(tmp_path, [], receipts={"max_age_days": 0})
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    mb.ok("roster", "import", str(tmp_path / "roster.csv"))
    poison = [from_address(10 + i, f"a{ch}b@example.com") for i, ch in enumerate(POISON)]
    folder = write_mails(tmp_path / "in", make_mail(1), *poison, token_flood(100_000), make_mail(2))
    done = mb.run("import", "--receipts", str(folder))
    assert done.returncode == 0, done.stderr
    messages = mb.messages()
    assert len(messages) == 8 and {m["state"] for m in messages} == {"processed"}
    assert messages[0]["disposition"] == messages[-1]["disposition"] == "submission"
    assert messages[6]["disposition"] != "submission"  # the flood is a (refused) reply, not an article
    for m in messages[1:6]:  # kept, and not answered: no such address can be written in a header
        # Either the From is refused as no valid mailbox (no sender), or the receipt says why not.
        assert m["disposition"] in ("submission", "quarantined") and (m["reason"] or not m["sender"]), m
    receipts = [r for r in outbox(mb) if r["kind"] == "receipt"]
    assert [r["recipients"] for r in receipts] == [["lsxkx@163.com"], ["lsxkx@163.com"]]
    assert {r["status"] for r in outbox(mb)} == {"sent"}


def _pipeline(mb):  # type: ignore[no-untyped-def]
    from mailbridge.pipeline import Pipeline

    config = load(mb.config)
    db = Database(config.database.url)
    ensure_schema(db.engine)
    return Pipeline(config, db)


def test_an_exception_in_one_commit_quarantines_that_message_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mailbridge.pipeline import run as pipeline_mod
    from mailbridge.pipeline import Origin

    real = pipeline_mod.attribute

    def attribute(s, config, row, *rest):  # type: ignore[no-untyped-def]
        if row.sender == "mcxkx@163.com":  # a bug no one has found yet, hit by this one mail
            raise RecursionError("maximum recursion depth exceeded")
        return real(s, config, row, *rest)

    monkeypatch.setattr(pipeline_mod, "attribute", attribute)
    mb = Mailbridge(tmp_path, [])
    pipeline = _pipeline(mb)
    mails = [make_mail(1), make_mail(2, unit="渑池县科协", sender="mcxkx@163.com"), make_mail(3)]
    try:
        outcomes = list(pipeline.ingest_many([(raw, Origin("import", f"{n}.eml"), None)
                                              for n, raw in enumerate(mails)], parallel=False))
    finally:
        pipeline.db.dispose()
    assert [o.disposition for o in outcomes] == ["submission", "quarantined", "submission"]
    bad = mb.messages()[1]
    assert bad["reason"].startswith("cannot be committed: RecursionError") and bad["submission_ids"] == []
    assert len(mb.submissions()) == 2


def test_a_receipt_that_cannot_be_composed_never_fails_the_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mailbridge.notify import receipts
    from mailbridge.pipeline import Origin

    def render_mail(config, stem, **data):  # type: ignore[no-untyped-def]
        raise UnicodeEncodeError("ascii", "张", 0, 1, "a sender's bytes no one foresaw")

    monkeypatch.setattr(receipts, "render_mail", render_mail)
    mb = Mailbridge(tmp_path, [], receipts={"max_age_days": 0})
    pipeline = _pipeline(mb)
    pipeline.answer_imports = True
    try:
        [outcome] = pipeline.ingest_many([(make_mail(1), Origin("import", "1.eml"), None)], parallel=False)
    finally:
        pipeline.db.dispose()
    assert outcome.disposition == "submission"
    [message] = mb.messages()
    assert message["reason"].startswith("no receipt: cannot be composed (UnicodeEncodeError")
    assert len(mb.submissions()) == 1 and outbox(mb) == []


# --- a receipt has exactly one recipient ------------------------------------------------------

CRAFTED_FROM = [
    "=?utf-8?Q?a@x.example,b@y.example,c@z.example?= <evil1@gmail.com>",
    "=?utf-8?Q?x:reviewer@smxkx.example;?= <evil2@gmail.com>",
    '"a@x.example, b@y.example" <evil3@gmail.com>',
    "=?utf-8?B?" + base64.b64encode('"张" <a@x.example>, b@y.example, '.encode()).decode() + "?= <evil4@gmail.com>",
    "a@x.example, b@y.example, c@z.example",
    '"x\\" <a@x.example>, " <evil5@gmail.com>',
    # An encoded-word in the address itself: the old code wrote `To: a@x.example, b@y.example, c@z.example`.
    "Evil <=?utf-8?q?a=40x.example=2c_b=40y.example=2c_c?=@z.example>",
]


def with_from(n: int, value: str) -> bytes:
    raw = make_mail(n, sender="placeholder@example.com")
    start = raw.index(b"\r\nFrom: ") + 2
    end = raw.index(b"\r\n", start)
    return raw[:start] + f"From: {value}".encode() + raw[end:]


def test_receipt_has_exactly_one_recipient(tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server()
    mb = installation(tmp_path, server)
    mails = [with_from(n, value) for n, value in enumerate(CRAFTED_FROM, start=1)]
    done = mb.run("import", "--receipts", str(write_mails(tmp_path / "in", *mails)))
    assert done.returncode == 0, done.stderr
    assert server.received, "no receipt at all: the test proves nothing"
    for got in server.received:
        assert len(got.recipients) == 1, got.recipients
        assert len(got.message["To"].addresses) == 1 and got.message["Cc"] is None
        assert got.message["To"].addresses[0].addr_spec == got.recipients[0]
    assert all(len(r["recipients"]) == 1 for r in outbox(mb))


def test_the_sender_refuses_an_answer_row_with_several_recipients(tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server()
    mb = installation(tmp_path, server)
    queue_only(mb, server, write_mails(tmp_path / "in", make_mail(1), make_mail(2)))
    set_rows(mb, """UPDATE outbox SET recipients = '["a@x.example", "b@y.example"]' WHERE id = 1""")  # an old row
    assert mb.run("outbox", "flush").returncode == 3
    rows = outbox(mb)
    assert [r["status"] for r in rows] == ["failed", "sent"] and "exactly one recipient" in rows[0]["last_error"]
    assert [r.recipients for r in server.received] == [["lsxkx@163.com"]]


@pytest.mark.parametrize("sender", [
    "a@x.example, b@y.example", '"a@x.example" <b@y.example>', "x:a@x.example;", "a@x.example b@y.example",
    "a@x.example\u2028", "<a@x.example>", "a@x",
    # Encoded-words the stdlib decodes when it writes To (RFC 2047 §5 forbids them in an addr-spec):
    # the old code put `To: a@x.example, b@y.example, c@z.example <d@e.example>` on the wire.
    "=?utf-8?q?a@x.example=2c_b@y.example?=", "=?utf-8?q?a@x.example=2c_b@y.example=2c_c@z.example?= <d@e.example>",
    '"=?utf-8?q?a@x.example=2c_b@y.example?="@e.example', "=?utf-8?q?x=2c_a=40b.example?=@e.example"])
def test_a_sender_string_that_is_not_one_address_gets_no_mail(sender: str) -> None:
    with pytest.raises(ValueError, match="not one deliverable address"):
        compose(CONFIG, [sender], "s", "t", "<p>h</p>")


def test_outbox_refuses_an_answer_to_several_recipients() -> None:
    from email.message import EmailMessage

    from mailbridge.notify import outbox as outbox_mod

    msg = EmailMessage()
    msg["To"] = "a@x.example, b@y.example"
    msg["Subject"], msg["Message-ID"] = "s", "<m@x.example>"
    msg.set_content("t")
    for kind in ("receipt", "reply"):
        with pytest.raises(ValueError, match="exactly one recipient"):
            outbox_mod.enqueue(None, f"{kind}:1", kind, msg)  # type: ignore[arg-type]  # refused before any query


# --- every sender-derived field is escaped in every HTML part ----------------------------------

def evil(field: str) -> str:
    return f'<script>{field}</script>&"{field}'


def escaped(field: str) -> str:
    return f"&lt;script&gt;{field}&lt;/script&gt;&amp;&#34;{field}"


def _check(text: str, html: str, fields: list[str]) -> None:
    for field in fields:
        assert evil(field) in text, f"{field} is not shown at all: the check proves nothing"
        assert evil(field) not in html and f"<script>{field}" not in html, f"{field} reaches the HTML unescaped"
        assert escaped(field) in html, field


def test_html_parts_escape_every_sender_field() -> None:
    item = {"receipt_no": evil("receipt_no"), "title": evil("title"), "body_chars": 10, "category": evil("category"),
            "document": evil("document"), "flags": ["unreadable", "macro"], "from_body": True,
            "links": [{"url": "https://mail.163.com/large/x", "filename": evil("link"), "expires": evil("expires")}],
            "excerpt": evil("excerpt"), "version_of": evil("version_of"), "awaiting_file": False}
    data = {"sender": evil("sender"), "sender_name": evil("sender_name"), "subject": evil("subject"),
            "received_at": "2026-11-23 09:00", "unit": None, "unit_type": None, "suggested_unit": evil("suggested"),
            "year": 2026, "month": 11, "count": None, "quota": None, "submissions": [item],
            "attachments": [{"filename": evil("attachment"), "size": 1, "kind": "document", "flags": []}],
            "contact": evil("contact"), "address": "smxskx@163.com"}
    _, text, html = render_mail(CONFIG, "receipt", **data)
    _check(text, html, ["receipt_no", "title", "category", "document", "link", "expires", "excerpt", "version_of",
                        "sender_name", "suggested", "attachment", "contact", "sender"])
    _, text, html = render_mail(CONFIG, "receipt", **{**data, "sender_name": "", "unit": evil("unit"),
                                                      "unit_type": evil("unit_type"), "count": 1, "quota": 2})
    _check(text, html, ["unit", "unit_type", "sender"])

    digest_item = {"receipt_no": evil("d_receipt"), "title": evil("d_title"), "unit": None, "sender": evil("d_sender"),
                   "received_at": "2026-11-23 09:00", "category": evil("d_category"), "body_chars": 1,
                   "flags": ["large_attachment_link"], "excerpt": evil("d_excerpt"), "review_status": "pending",
                   "paragraphs": [], "awaiting_file": True, "document": None, "document_size": 0,
                   "links": [{"url": evil("d_url"), "filename": evil("d_link"), "expires": evil("d_expires")}],
                   "attached": evil("d_attached"), "over_budget": False}
    body_only = {**digest_item, "paragraphs": [evil("d_para")], "links": [], "attached": None, "over_budget": True,
                 "document": evil("d_document"), "document_size": 1}
    _, text, html = render_mail(CONFIG, "digest", group=evil("group"), items=[digest_item, body_only],
                                attach_mb="10",
                                token="MB-" + "A" * 32, digest_no=1, address=evil("address"), days=14,
                                two_stage=True, channels=[{"id": "web", "name": evil("channel"), "aliases": [evil("alias")]}],
                                example=evil("example"))
    _check(text, html, ["d_receipt", "d_title", "d_sender", "d_category", "d_excerpt", "group", "channel", "alias",
                        "example", "d_url", "d_link", "d_expires", "d_attached", "d_para", "d_document"])

    results = [{"line": evil("line"), "verb": "adopt", "receipt_no": evil("r_no"), "title": evil("r_title"),
                "channels": [evil("r_channel")], "on": "2026-11-23", "error": None},
               {"line": evil("bad_line"), "verb": "reject", "receipt_no": evil("bad_no"), "title": None,
                "channels": [], "on": None, "error": "unknown_submission"}]
    _, text, html = render_mail(CONFIG, "review_reply", subject=evil("r_subject"), results=results, refused=None,
                                sender="a@x.example")
    _check(text, html, ["r_no", "r_title", "r_channel", "bad_line", "bad_no"])
    # A refused reply gets no answer at all (review/trust.py): there is no refusal text to escape.


# --- no flooding, no reflection ----------------------------------------------------------------

def subject_of(title: str) -> str:
    item = {"receipt_no": "SMX-2026-11-0001", "title": title, "body_chars": 1, "category": "动态信息",
            "document": None, "flags": [], "links": [], "from_body": True, "excerpt": "", "version_of": None,
            "awaiting_file": False}
    subject, _, _ = render_mail(CONFIG, "receipt", sender="a@x.example", sender_name="", subject="回执：恭喜您中奖",
                                received_at="", unit=None, unit_type=None, suggested_unit=None, year=2026, month=11,
                                count=None, quota=None, submissions=[item], attachments=[], contact="",
                                address="smxskx@163.com")
    return subject


def test_receipt_subject_is_the_number_and_a_short_clean_title() -> None:
    subject = subject_of("恭喜您中奖\u2028请点击\x1b[31m链接\u202e领取\x85奖金" + "！" * 100)
    assert subject == "回执：SMX-2026-11-0001《恭喜您中奖 请点击 [31m链接 领取…》"
    assert "回执：恭喜您中奖" not in subject  # the sender's Subject is never echoed
    assert len(subject) <= len("回执：SMX-2026-11-0001《》") + 20 and subject.endswith("…》")
    assert all(c.isprintable() for c in subject)
    assert subject_of("") == "回执：SMX-2026-11-0001"
    # A review answer quotes the reply's Subject: shortened and cleaned the same way.
    answer, _, _ = render_mail(CONFIG, "review_reply", subject="Re: 恭喜\u2028您中奖" + "！" * 100, results=[],
                               refused="not_reviewer", sender="a@x.example")
    assert answer == "审稿回复处理结果：Re: 恭喜 您中奖" + "！" * 29 + "…"


def test_automatic_mail_has_an_hourly_and_a_daily_cap(tmp_path: Path) -> None:
    mb = Mailbridge(tmp_path, [], receipts={"max_age_days": 0}, outbox={"max_automatic_per_hour": 2})
    senders = [f"unit{n}@163.com" for n in range(4)]
    mails = [make_mail(n, sender=s) for n, s in enumerate(senders, start=1)]
    mb.ok("import", "--receipts", str(write_mails(tmp_path / "in", *mails)))
    assert [r["recipients"] for r in outbox(mb)] == [[senders[0]], [senders[1]]]
    # The day cap counts every automatic kind: with 2 receipts today, a review answer is refused too.
    config = load(mb.config)
    config = config.model_copy(update={"outbox": config.outbox.model_copy(
        update={"max_automatic_per_hour": 0, "max_automatic_per_day": 2})})
    db = Database(config.database.url)
    try:
        with db.session() as s:
            from mailbridge.notify import outbox as outbox_mod

            assert outbox_mod.over_cap(s, config) == ("2 automatic mails already queued in the last day "
                                                      "(outbox.max_automatic_per_day)")
            msg = compose(config, ["reviewer@smxkx.example"], "s", "t", "<p>h</p>", auto="auto-replied")
            assert outbox_mod.enqueue(s, "reply:99", "reply", msg, config=config) is False
            assert outbox_mod.enqueue(s, "digest:99", "digest", msg, config=config) is True  # not automatic
    finally:
        db.dispose()


def test_an_unknown_sender_is_answered_once_in_30_days(tmp_path: Path) -> None:
    mb = Mailbridge(tmp_path, [], receipts={"max_age_days": 0})
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    mb.ok("roster", "import", str(tmp_path / "roster.csv"))
    stranger = "forged@example.com"
    mails = [make_mail(n, sender=stranger) for n in (1, 2, 3)] + [make_mail(n) for n in (4, 5)]
    mb.ok("import", "--receipts", str(write_mails(tmp_path / "in", *mails)))
    assert [r["recipients"] for r in outbox(mb)] == [[stranger], ["lsxkx@163.com"], ["lsxkx@163.com"]]
    assert len(mb.submissions()) == 5  # every article is kept; only the answers are spared
    # Once the 30 days are over, the stranger is answered again.
    set_rows(mb, f"UPDATE outbox SET created_at = {shifted(mb.db_url, 'created_at', '-31 days')}")
    mb.ok("import", "--receipts", str(write_mails(tmp_path / "later", make_mail(6, sender=stranger))))
    assert [r["recipients"] for r in outbox(mb)][-1] == [stranger]
