"""Who may decide by mail: each digest recipient's own token, bound to that address and that digest,
one per reply, throttled, hashed at rest, and DKIM-checked when the receiving server records it.

Mail goes through the real pipeline (parse, ledger, review) in this process, as polled from a
mailbox; the digests and answers are read back from the outbox table they are queued in.
"""
from __future__ import annotations

import datetime as dt
import email
import hashlib
import re
import secrets
import time
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, select, text
from support.mailfactory import make_bounce, make_mail

from mailbridge.config import from_dict
from mailbridge.errors import ConfigError
from mailbridge.ledger.db import Database, alembic_config, ensure_schema, head_revision, upgrade
from mailbridge.ledger.models import Message, Outgoing, ReviewToken, Submission
from mailbridge.review.digest import enqueue_digests
from mailbridge.parse.authres import parse_header, verdicts
from mailbridge.pipeline import Origin, Pipeline
from mailbridge.review.tokens import distinct_tokens, new_token, token_hash
from support.database import database_url, shifted

REVIEWER, LEADER, OTHER = "dxb@smxkx.cn", "leader@smxkx.cn", "kpb@smxkx.cn"
TOKEN = re.compile(r"MB-[A-Z2-7]{32}")
MX = "mx.smxkx.cn"  # the receiving server's authserv-id


class Desk:
    """One installation: config, ledger and pipeline, fed as if polled from mailbox `smxskx`."""

    def __init__(self, root: Path, two_stage: bool = False, **review: object) -> None:
        trusted = review.pop("trusted", [])
        self.config = from_dict({
            "database": {"url": database_url(root, "mb")},
            "storage": {"dir": str(root / "store")},
            "smtp": {"transport": "file", "dir": str(root / "outbox"), "from": "三门峡市科协 <smxskx@163.com>"},
            "mailboxes": [{"name": "smxskx", "host": "127.0.0.1", "username": "smxskx@163.com",
                           "password_env": "MB_TEST_PW"}],
            "ingest": {"trusted_authserv_ids": trusted},
            "review": {"two_stage": two_stage, "default_group": "dxb", "max_token_failures_per_hour": 3, **review,
                       "groups": [{"id": "dxb", "name": "调宣部", "addresses": [REVIEWER], "leaders": [LEADER]},
                                  {"id": "kpb", "name": "科普部", "addresses": [OTHER], "leaders": [LEADER]}]},
        }, base=root)
        self.db = Database(self.config.database.url)
        ensure_schema(self.db.engine)
        self.pipeline = Pipeline(self.config, self.db)
        self.uid = 0

    def deliver(self, raw: bytes, imported: bool = False) -> Message:
        self.uid += 1
        origin = Origin("import", f"/mail/{self.uid}.eml") if imported else Origin("smxskx", "INBOX", 1, self.uid)
        outcome = self.pipeline.ingest(raw, origin)
        with self.db.session() as s:
            row = s.get(Message, outcome.row_id)
            s.expunge(row)
            return row

    def article(self, n: int) -> str:
        row = self.deliver(make_mail(n, with_docx=False, photos=0))
        assert row.disposition == "submission", row.reason
        return self.sub(row.id).receipt_no

    def sub(self, message_row_id: int | None = None, receipt_no: str | None = None) -> Submission:
        with self.db.session() as s:
            where = (Submission.message_row_id == message_row_id if receipt_no is None
                     else Submission.receipt_no == receipt_no)
            sub = s.scalar(select(Submission).where(where))
            s.expunge(sub)
            return sub

    def status(self, receipt_no: str) -> str:
        return self.sub(receipt_no=receipt_no).review_status

    def digest(self) -> dict[str, tuple[str, email.message.EmailMessage]]:
        """Queue the digests; each recipient's (token, mail) of this round."""
        with self.db.session() as s:
            before = s.scalar(select(Outgoing.id).order_by(Outgoing.id.desc()).limit(1)) or 0
        enqueue_digests(self.db, self.config)
        out = {}
        for mail in self.outgoing("digest", after=before):
            [to] = mail.get_all("To")
            [token] = set(TOKEN.findall(mail.get_body(("plain",)).get_content()))
            out[to] = (token, mail)
        return out

    def outgoing(self, kind: str, after: int = 0) -> list[email.message.EmailMessage]:
        with self.db.session() as s:
            rows = s.scalars(select(Outgoing.data).where(Outgoing.kind == kind, Outgoing.id > after)
                             .order_by(Outgoing.id)).all()
        return [email.message_from_bytes(data, policy=policy.default) for data in rows]


def reply(sender: str, body: str, headers: tuple[tuple[str, str], ...] = ()) -> bytes:
    """A reviewer's answer; `headers` on top, as the receiving server adds them."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = sender
    msg["To"] = "smxskx@163.com"
    msg["Subject"] = "回复：【待审稿件】调宣部"
    msg["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    msg["Message-ID"] = f"<{secrets.token_hex(8)}@smxkx.cn>"
    msg.set_content(body)
    return "".join(f"{name}: {value}\r\n" for name, value in headers).encode() + msg.as_bytes()


def ar(value: str) -> tuple[str, str]:
    return ("Authentication-Results", value)


def test_reviewer_cannot_approve_as_leader(tmp_path: Path) -> None:
    desk = Desk(tmp_path, two_stage=True)
    first = desk.article(1)
    digests = desk.digest()
    assert set(digests) == {REVIEWER, LEADER}  # the leader has a digest, and a token, of his own
    (mine, _), (leaders, _) = digests[REVIEWER], digests[LEADER]
    assert mine != leaders
    assert desk.deliver(reply(REVIEWER, f"初审 {first}\n\n{mine}")).reason.endswith("1 of 1 decision(s) recorded")
    assert desk.status(first) == "reviewed"

    # The reviewer forges the leader's From: with his own token, or with none: refused, unanswered.
    forged = desk.deliver(reply(LEADER, f"批准 {first}\n\n{mine}"))
    assert forged.reason == "reviewer reply refused: token_not_yours"
    assert desk.deliver(reply(LEADER, f"批准 {first}")).reason == "reviewer reply refused: no_token"
    # His own address and token: approving is a leader's, not his.
    own = desk.deliver(reply(REVIEWER, f"批准 {first}\n\n{mine}"))
    assert own.reason.endswith("0 of 1 decision(s) recorded")
    assert desk.status(first) == "reviewed"
    answered = desk.outgoing("reply")
    assert [m["To"] for m in answered] == [REVIEWER, REVIEWER]  # the refused replies got no answer at all
    assert "批准须由分管领导" in answered[-1].get_body(("plain",)).get_content()

    # The leader, from his own address, with the token sent to him: approved.
    leader = desk.deliver(reply(LEADER, f"批准 {first}\n\n{leaders}"))
    assert leader.reason.endswith("1 of 1 decision(s) recorded")
    assert desk.status(first) == "approved"
    with desk.db.session() as s:
        actions = [(d.action, d.actor) for d in s.scalar(select(Submission)).decisions]
    assert actions == [("first_review", REVIEWER), ("approve", LEADER)]


def test_a_reply_holding_two_tokens_is_refused(tmp_path: Path) -> None:
    desk = Desk(tmp_path, two_stage=True)
    first = desk.article(1)
    digests = desk.digest()
    both = f"初审 {first}\n\n{digests[REVIEWER][0]}\n{digests[LEADER][0]}"
    assert desk.deliver(reply(REVIEWER, both)).reason == "reviewer reply refused: several_tokens"
    # The same token twice (quoted twice) is one token.
    again = f"初审 {first}\n\n{digests[REVIEWER][0]}\n> {digests[REVIEWER][0].lower()}"
    assert desk.deliver(reply(REVIEWER, again)).reason.endswith("1 of 1 decision(s) recorded")


def test_twenty_thousand_guesses_in_one_mail_cost_one_scan(tmp_path: Path) -> None:
    desk = Desk(tmp_path)
    first = desk.article(1)
    token = desk.digest()[REVIEWER][0]
    guesses = "\n".join(new_token() for _ in range(20_000))
    started = time.perf_counter()
    row = desk.deliver(reply(REVIEWER, f"采用 {first} 网站\n\n{guesses}\n{token}"))
    assert row.reason == "reviewer reply refused: several_tokens"
    assert time.perf_counter() - started < 20  # one regex pass, no query per guess (was: too many SQL variables)
    assert desk.status(first) == "pending" and desk.outgoing("reply") == []
    assert distinct_tokens(guesses) == [g.upper() for g in guesses.split("\n")[:2]]  # the scan stops at two


def test_failed_tokens_are_throttled_per_sender(tmp_path: Path) -> None:
    desk = Desk(tmp_path)  # review.max_token_failures_per_hour = 3
    first, second = desk.article(1), desk.article(2)
    token = desk.digest()[REVIEWER][0]
    for _ in range(3):
        assert desk.deliver(reply(REVIEWER, f"采用 {first} 网站\n{new_token()}")).reason == \
            "reviewer reply refused: bad_token"
    # Now even the right token is not looked at, from that sender, for the hour.
    assert desk.deliver(reply(REVIEWER, f"采用 {first} 网站\n{token}")).reason == "reviewer reply refused: throttled"
    assert desk.status(first) == "pending"
    # Throttled replies do not count, so the lock ends an hour after the last real failure.
    with desk.db.engine.begin() as conn:
        conn.execute(text(f"UPDATE messages SET created_at = {shifted(conn.dialect.name, 'created_at', '-61 minutes')}"))
    assert desk.deliver(reply(REVIEWER, f"采用 {second} 网站\n{token}")).reason.endswith("1 of 1 decision(s) recorded")


def test_token_is_bound_to_its_digest_and_expires(tmp_path: Path) -> None:
    desk = Desk(tmp_path)
    first = desk.article(1)
    old = desk.digest()[REVIEWER][0]
    second = desk.article(2)
    new = desk.digest()[REVIEWER][0]
    row = desk.deliver(reply(REVIEWER, f"采用 {second} 网站\n采用 {first} 网站\n\n{old}"))
    assert row.reason.endswith("1 of 2 decision(s) recorded")
    assert (desk.status(first), desk.status(second)) == ("adopted", "pending")
    answer = desk.outgoing("reply")[-1].get_body(("plain",)).get_content()
    assert f"（{second}）：该稿件不在本期审稿摘要中" in answer
    # Expired (review.token_days, default 14): refused like a token never issued.
    assert desk.config.review.token_days == 14
    with desk.db.engine.begin() as conn:
        conn.execute(text(f"UPDATE review_tokens SET expires_at = {shifted(conn.dialect.name, 'now', '-1 minute')}"))
    assert desk.deliver(reply(REVIEWER, f"采用 {second} 网站\n{new}")).reason == "reviewer reply refused: bad_token"


@pytest.mark.slow
def test_decisions_need_an_aligned_dkim_pass_when_the_server_records_it(tmp_path: Path) -> None:
    desk = Desk(tmp_path)
    subs = [desk.article(n) for n in range(1, 6)]
    token = desk.digest()[REVIEWER][0]

    def decide(receipt_no: str, *headers: tuple[str, str]) -> str:
        return desk.deliver(reply(REVIEWER, f"采用 {receipt_no} 网站\n{token}", headers)).reason

    fail = ar(f"{MX}; dkim=fail (bad signature) header.d=smxkx.cn header.s=s1; spf=pass smtp.mailfrom=smxkx.cn")
    assert decide(subs[0], fail) == "reviewer reply refused: dkim_fail"
    # A pass for another domain is no pass for the From: (an attacker signs with his own domain).
    assert decide(subs[0], ar(f"{MX}; dkim=pass header.d=attacker.example")) == "reviewer reply refused: dkim_fail"
    # A forged pass the sender wrote below the receiving server's own header is not believed.
    assert decide(subs[0], fail, ar(f"{MX}; dkim=pass header.d=smxkx.cn")) == "reviewer reply refused: dkim_fail"
    assert desk.status(subs[0]) == "pending"
    desk2 = Desk(tmp_path / "b")
    subs = [desk2.article(n) for n in range(1, 4)]
    token = desk2.digest()[REVIEWER][0]
    passed = ar(f"{MX};\r\n dkim=pass (2048-bit key) header.i=@smxkx.cn header.s=s1 header.b=\"AbC+/=\";"
                f" dmarc=pass header.from=smxkx.cn")
    assert desk2.deliver(reply(REVIEWER, f"采用 {subs[0]} 网站\n{token}", (passed,))).reason.endswith(
        "1 of 1 decision(s) recorded")
    # No Authentication-Results: the default ("when_present") decides without DKIM.
    assert desk2.deliver(reply(REVIEWER, f"采用 {subs[1]} 网站\n{token}")).reason.endswith("1 of 1 decision(s) recorded")

    strict = Desk(tmp_path / "c", require_dkim="always", trusted=[MX])
    receipt = strict.article(1)
    token = strict.digest()[REVIEWER][0]
    assert strict.deliver(reply(REVIEWER, f"采用 {receipt} 网站\n{token}")).reason == \
        "reviewer reply refused: dkim_missing"
    assert strict.deliver(reply(REVIEWER, f"采用 {receipt} 网站\n{token}", (
        ar("mx.attacker.example; dkim=pass header.d=smxkx.cn"),))).reason == "reviewer reply refused: dkim_missing"
    assert strict.deliver(reply(REVIEWER, f"采用 {receipt} 网站\n{token}", (
        ar("mx.attacker.example; dkim=pass header.d=smxkx.cn"), ar(f"{MX}; dkim=pass header.d=smxkx.cn")))
    ).reason.endswith("1 of 1 decision(s) recorded")

    lax = Desk(tmp_path / "d", require_dkim="never")
    receipt = lax.article(1)
    token = lax.digest()[REVIEWER][0]
    assert lax.deliver(reply(REVIEWER, f"采用 {receipt} 网站\n{token}", (fail,))).reason.endswith(
        "1 of 1 decision(s) recorded")


def test_require_dkim_always_needs_a_trusted_server() -> None:
    with pytest.raises(ConfigError, match="trusted_authserv_ids"):
        from_dict({"review": {"require_dkim": "always"}}, base=Path("."))


def test_authentication_results_are_read_as_rfc_8601_writes_them() -> None:
    authserv, results = parse_header(
        'mx.163.com (Coremail) ; dkim=pass (1024-bit key; unprotected) header.d=Qq.com header.s="s201512"\r\n'
        '\t; spf=softfail smtp.mailfrom=x@qq.com; dmarc=fail (p=reject dis=none) header.from=qq.com; arc=none')
    assert authserv == "mx.163.com"
    assert [(r.method, r.result) for r in results] == [("dkim", "pass"), ("spf", "softfail"), ("dmarc", "fail"),
                                                       ("arc", "none")]
    assert results[0].props == {"header.d": "Qq.com", "header.s": "s201512"}
    found = verdicts(["mx.163.com; dkim=pass header.d=qq.com", "mx.163.com; none"], [])
    assert found.present and found.dkim_aligned("a@qq.com") and found.dkim_aligned("a@vip.qq.com")
    assert not found.dkim_aligned("a@notqq.com") and not found.dmarc_failed
    assert not verdicts([]).present and not verdicts(["x; dkim=pass"], ["mx.163.com"]).present
    assert verdicts(["mx.163.com; dmarc=fail header.from=qq.com"]).dmarc_failed
    started = time.perf_counter()
    parse_header("a; " + "(" * 200_000 + "dkim=pass")  # unbalanced comments: linear, bounded
    parse_header("a; " + '"\\' * 200_000)
    assert time.perf_counter() - started < 2


def test_only_a_hash_of_each_token_is_stored(tmp_path: Path) -> None:
    desk = Desk(tmp_path, two_stage=True)
    desk.article(1)
    digests = desk.digest()
    tokens = {address: token for address, (token, _) in digests.items()}
    assert all(len(t) == 35 and len(set(t[3:])) > 8 for t in tokens.values())  # MB- and 160 random bits
    assert all("MB-" not in mail["Subject"] for _, mail in digests.values())
    with desk.db.session() as s:
        rows = {r.address: r for r in s.scalars(select(ReviewToken))}
        assert {a: r.token_hash for a, r in rows.items()} == {
            a: hashlib.sha256(t.encode()).hexdigest() for a, t in tokens.items()}
        assert all(r.token_hash == token_hash(tokens[a]) for a, r in rows.items())
    desk.db.dispose()
    # Nowhere in the database but in the queued mail to its own recipient (the outbox must keep
    # the bytes it sends): every other table and column is free of any token.
    db = Database(desk.config.database.url)
    with db.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            result = conn.exec_driver_sql(f'SELECT * FROM "{table}"')
            for row in result:
                for column, value in zip(result.keys(), row, strict=True):
                    if (table, column) == ("outbox", "data"):
                        continue
                    blob = value if isinstance(value, bytes) else str(value).encode()
                    assert not any(t.encode() in blob for t in tokens.values()), (table, column)
    db.dispose()


def test_answers_obey_the_loop_rules_and_the_import_gate(tmp_path: Path) -> None:
    desk = Desk(tmp_path)
    subs = [desk.article(n) for n in range(1, 6)]
    token = desk.digest()[REVIEWER][0]
    # An out-of-office answer to the digest quotes its token: not a reply, nothing decided.
    vacation = desk.deliver(reply(REVIEWER, f"采用 {subs[0]} 网站\n{token}", (("Auto-Submitted", "auto-replied"),)))
    bulk = desk.deliver(reply(REVIEWER, f"采用 {subs[0]} 网站\n{token}", (("Precedence", "bulk"),)))
    bounce = desk.deliver(make_bounce(1, original=reply(REVIEWER, f"采用 {subs[0]} 网站\n{token}")))
    assert (vacation.disposition, bulk.disposition, bounce.disposition) == ("auto_reply", "auto_reply", "bounce")
    assert desk.status(subs[0]) == "pending"
    # A list or a robot that suppresses answers: decided, not answered.
    listed = desk.deliver(reply(REVIEWER, f"采用 {subs[0]} 网站\n{token}", (("List-Id", "<dxb.smxkx.cn>"),)))
    assert listed.reason == "reviewer reply: 1 of 1 decision(s) recorded; no answer: mailing list (List-* headers)"
    # Imported: decided, answered only with `import --receipts`.
    imported = desk.deliver(reply(REVIEWER, f"采用 {subs[1]} 网站\n{token}"), imported=True)
    assert imported.reason.endswith("no answer: imported mail (use import --receipts to answer it)")
    desk.pipeline.answer_imports = True
    assert desk.deliver(reply(REVIEWER, f"采用 {subs[2]} 网站\n{token}"), imported=True).reason.endswith("recorded")
    assert len(desk.outgoing("reply")) == 1
    assert [desk.status(r) for r in subs[:3]] == ["adopted"] * 3


def test_answers_obey_the_daily_cap(tmp_path: Path) -> None:
    desk = Desk(tmp_path)
    desk.config = desk.pipeline.config = desk.config.model_copy(update={
        "receipts": desk.config.receipts.model_copy(update={"max_per_sender_per_day": 2})})
    subs = [desk.article(n) for n in range(1, 4)]
    token = desk.digest()[REVIEWER][0]
    reasons = [desk.deliver(reply(REVIEWER, f"采用 {r} 网站\n{token}")).reason for r in subs]
    assert reasons[2].endswith("no answer: 2 answers already sent to dxb@smxkx.cn today (receipts.max_per_sender_per_day)")
    assert len(desk.outgoing("reply")) == 2


@pytest.mark.sqlite_only  # SQLite's table rebuild (PRAGMA table_info, foreign_key_check)
def test_migration_0006_drops_shared_tokens_and_downgrades(tmp_path: Path) -> None:
    db = Database(database_url(tmp_path, "m"))
    cfg = alembic_config(db.engine)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005")
        conn.execute(text("INSERT INTO digests (id, \"group\", token, created_at) VALUES "
                          "(1, 'dxb', 'MB-0123456789', '2026-11-01 02:00:00')"))
        conn.execute(text(
            "INSERT INTO messages (id, mailbox, folder, sha256, size, received_at, state, attempts, action_pending,"
            " created_at) VALUES (1, 'import', 'x', 'ab', 1, '2026-11-01 02:00:00', 'processed', 1, 0,"
            " '2026-11-01 02:00:00')"))
        for n, status in ((1, "pending"), (2, "adopted")):
            conn.execute(text(
                "INSERT INTO submissions (id, message_row_id, receipt_no, title, text, body_chars, status, flags,"
                " links, month, created_at, review_status, digest_id) VALUES (:n, 1, :no, 't', 'x', 1, 'received',"
                " '[]', '[]', '2026-11', '2026-11-01 02:00:00', :status, 1)"), {"n": n, "no": f"SMX-{n}",
                                                                              "status": status})
    assert upgrade(db.engine) == ("0005", head_revision())
    with db.engine.connect() as conn:
        assert "token" not in [c[1] for c in conn.execute(text("PRAGMA table_info(digests)"))]
        # Undecided ones are listed again, with per-recipient tokens; decided ones keep their digest.
        assert conn.execute(text("SELECT id, digest_id FROM submissions ORDER BY id")).all() == [(1, None), (2, 1)]
    with db.engine.connect() as conn:
        conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")  # as ledger.db.upgrade does
        with conn.begin():
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0005")
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    with db.engine.connect() as conn:
        assert re.fullmatch(r"MB-[0-9A-F]{10}", conn.execute(text("SELECT token FROM digests")).scalar())
    assert upgrade(db.engine) == ("0005", head_revision())
    db.dispose()


def test_digest_warns_reviewers_of_mail_that_failed_dmarc(tmp_path: Path) -> None:
    desk = Desk(tmp_path)
    failed = ("Authentication-Results", "mx.163.com; dkim=none; dmarc=fail (p=none) header.from=163.com")
    assert desk.deliver(make_mail(1, with_docx=False, photos=0, extra_headers=[failed])).disposition == "submission"
    _, mail = desk.digest()[REVIEWER]
    assert "未通过收信服务器验证（DMARC）" in mail.get_body(("plain",)).get_content()
    assert "未通过收信服务器验证（DMARC）" in mail.get_body(("html",)).get_content()
