"""`poll --once` against a real Dovecot: incremental, read-only unless told, exactly once per message."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import re
from collections import Counter
from pathlib import Path

import pytest
from support.dovecot import free_port
from support.fixtures import ImapAccount
from support.mailfactory import (
    CST,
    make_auto_reply,
    make_bounce,
    make_mail,
    message_id_of,
    received,
    title_of,
)
from support.mbcli import PASSWORD_ENV, Mailbridge, mailbox
from support.unsafe_proxy import UnsafeLoginProxy

MOVE_TO = "已处理"


def arrival(n: int) -> dt.datetime:
    """The INTERNALDATE given to the n-th appended message."""
    return dt.datetime(2026, 11, 3, 9, 0, tzinfo=CST) + dt.timedelta(minutes=10 * n)


def deliver(account: ImapAccount, numbers: range | list[int], folder: str = "INBOX") -> dict[int, int]:
    """APPEND make_mail(n) for each n; {n: uid}."""
    return {n: account.append(make_mail(n), folder=folder, internaldate=arrival(n)) for n in numbers}


def bridge(tmp_path: Path, account: ImapAccount, **options: object) -> Mailbridge:
    return Mailbridge(tmp_path, [mailbox(account, **options)], env={PASSWORD_ENV: account.password})


def by_message_id(rows: list[dict]) -> dict[str, dict]:
    ids = Counter(r["message_id"] for r in rows)
    assert [m for m, c in ids.items() if c > 1] == [], "a Message-ID is in the ledger twice"
    return {r["message_id"]: r for r in rows}


# -- incremental polling ---------------------------------------------------------------------

def test_poll_ingests_each_message_once_then_only_new_mail(tmp_path: Path, imap_account: ImapAccount) -> None:
    uids = deliver(imap_account, range(1, 4))
    mb = bridge(tmp_path, imap_account)

    mb.poll()
    rows = by_message_id(mb.messages())
    uidvalidity = imap_account.uidvalidity()
    assert set(rows) == {message_id_of(n) for n in uids}
    for n, uid in uids.items():
        row = rows[message_id_of(n)]
        assert (row["mailbox"], row["folder"]) == ("smxskx", "INBOX")
        assert (row["uidvalidity"], row["uid"]) == (uidvalidity, uid)
        assert dt.datetime.fromisoformat(row["received_at"]) == arrival(n)  # the INTERNALDATE
        assert row["disposition"] == "submission"
        assert len(row["submission_ids"]) == 1
    assert sorted(s["title"] for s in mb.submissions()) == sorted(title_of(n) for n in uids)

    mb.poll()  # nothing new on the server: nothing new in the books
    assert len(mb.messages()) == 3
    assert len(mb.submissions()) == 3

    uids |= deliver(imap_account, range(4, 6))
    mb.poll()
    rows = by_message_id(mb.messages())
    assert len(rows) == 5
    assert {rows[message_id_of(n)]["uid"] for n in (4, 5)} == {uids[4], uids[5]}
    assert sorted(r["uid"] for r in rows.values()) == imap_account.uids()
    assert len(mb.submissions()) == 5


# -- what polling does to the server -----------------------------------------------------------

def test_action_none_leaves_every_message_unread(tmp_path: Path, imap_account: ImapAccount) -> None:
    deliver(imap_account, range(1, 4))
    before = imap_account.flags()
    mb = bridge(tmp_path, imap_account, action="none")
    mb.poll()
    assert len(mb.messages()) == 3
    after = imap_account.flags()
    assert after == before
    assert [uid for uid, flags in after.items() if b"\\Seen" in flags] == []


@pytest.mark.parametrize(("action", "flag", "not_set"), [("seen", b"\\Seen", b"\\Flagged"),
                                                          ("flag", b"\\Flagged", b"\\Seen")])
def test_action_sets_its_flag_and_only_it(tmp_path: Path, imap_account: ImapAccount, action: str,
                                          flag: bytes, not_set: bytes) -> None:
    deliver(imap_account, range(1, 4))
    mb = bridge(tmp_path, imap_account, action=action)
    mb.poll()
    flags = imap_account.flags()
    assert len(flags) == 3
    assert all(flag in f for f in flags.values()), flags
    # The folder is opened read-write for the action, yet fetching must not mark mail read (PEEK).
    assert all(not_set not in f for f in flags.values()), flags
    assert [r["uid"] for r in mb.messages() if r["action_pending"]] == []


def test_action_move_empties_inbox_into_processed_folder(tmp_path: Path, imap_account: ImapAccount) -> None:
    deliver(imap_account, range(1, 4))
    assert MOVE_TO not in imap_account.folders()
    mb = bridge(tmp_path, imap_account, action="move", move_to=MOVE_TO)

    mb.poll()
    assert imap_account.uids("INBOX") == []
    moved = imap_account.uids(MOVE_TO)
    assert len(moved) == 3
    rows = mb.messages()
    moved_shas = {hashlib.sha256(imap_account.fetch_raw(uid, MOVE_TO)).hexdigest() for uid in moved}
    assert moved_shas == {r["sha256"] for r in rows}  # exactly the recorded messages, unchanged
    assert [r["uid"] for r in rows if r["action_pending"]] == []

    deliver(imap_account, [4])
    mb.poll()  # the moved mail is not fetched again; the new one is, and moved too
    rows = mb.messages()
    assert len(rows) == 4
    assert len(mb.submissions()) == 4
    assert imap_account.uids("INBOX") == []
    assert len(imap_account.uids(MOVE_TO)) == 4
    assert [r["uid"] for r in rows if r["action_pending"]] == []


def test_several_folders_are_polled_and_recorded_by_folder(tmp_path: Path, imap_account: ImapAccount) -> None:
    junk = "垃圾邮件"
    imap_account.create_folder(junk)
    inbox_uids = deliver(imap_account, [1, 2])
    junk_uids = deliver(imap_account, [3], folder=junk)
    mb = bridge(tmp_path, imap_account, folders=["INBOX", junk])
    mb.poll()
    rows = by_message_id(mb.messages())
    assert len(rows) == 3
    for where, uids in (("INBOX", inbox_uids), (junk, junk_uids)):
        for n, uid in uids.items():
            row = rows[message_id_of(n)]
            assert (row["folder"], row["uid"], row["uidvalidity"]) == (where, uid, imap_account.uidvalidity(where))
    assert len(mb.submissions()) == 3


# -- NetEase quirks -------------------------------------------------------------------------

def test_sends_imap_id_after_login_so_163_allows_select(tmp_path: Path, imap_account: ImapAccount,
                                                       unsafe_proxy: UnsafeLoginProxy) -> None:
    deliver(imap_account, [1, 2])
    mb = bridge(tmp_path, imap_account, port=unsafe_proxy.port)
    mb.poll()
    assert unsafe_proxy.id_seen >= 1
    assert unsafe_proxy.refused == 0
    assert len(mb.messages()) == 2


def test_uidvalidity_change_rekeys_instead_of_reingesting(tmp_path: Path, imap_account: ImapAccount) -> None:
    deliver(imap_account, range(1, 4))
    mb = bridge(tmp_path, imap_account)
    mb.poll()
    before = by_message_id(mb.messages())
    subs_before = sorted((s["id"], s["receipt_no"]) for s in mb.submissions())

    old = imap_account.uidvalidity()
    new = imap_account.reset_uidvalidity()
    assert new != old
    mb.poll()
    rows = by_message_id(mb.messages())
    assert set(rows) == set(before)
    assert {r["id"] for r in rows.values()} == {r["id"] for r in before.values()}  # same rows, re-keyed
    assert {r["uidvalidity"] for r in rows.values()} == {new}
    assert sorted(r["uid"] for r in rows.values()) == imap_account.uids()
    assert sorted((s["id"], s["receipt_no"]) for s in mb.submissions()) == subs_before

    uid = deliver(imap_account, [4])[4]
    mb.poll()
    rows = by_message_id(mb.messages())
    assert len(rows) == 4
    assert (rows[message_id_of(4)]["uidvalidity"], rows[message_id_of(4)]["uid"]) == (new, uid)
    assert len(mb.submissions()) == 4


# -- what is not a new article ------------------------------------------------------------

def test_same_mail_delivered_twice_is_one_submission(tmp_path: Path, imap_account: ImapAccount) -> None:
    when = arrival(1)
    first = make_mail(1, extra_headers=[received("m12-47.163.com", when)])
    second = make_mail(1, extra_headers=[received("m16-33.163.com", when + dt.timedelta(seconds=40))])
    assert first != second
    uid1 = imap_account.append(first, internaldate=when)
    uid2 = imap_account.append(second, internaldate=when + dt.timedelta(seconds=40))
    mb = bridge(tmp_path, imap_account)
    mb.poll()
    rows = {r["uid"]: r for r in mb.messages()}
    assert set(rows) == {uid1, uid2}
    assert rows[uid1]["disposition"] == "submission"
    assert rows[uid2]["disposition"] == "duplicate"
    assert rows[uid2]["submission_ids"] == []
    assert rows[uid1]["message_id"] == rows[uid2]["message_id"] == message_id_of(1)
    subs = mb.submissions()
    assert [s["id"] for s in subs] == rows[uid1]["submission_ids"]


def test_auto_reply_and_bounce_are_recorded_without_submissions(tmp_path: Path,
                                                              imap_account: ImapAccount) -> None:
    auto_uid = imap_account.append(make_auto_reply())
    bounce_uid = imap_account.append(make_bounce())
    article_uid = imap_account.append(make_mail(1))
    mb = bridge(tmp_path, imap_account)
    mb.poll()
    rows = {r["uid"]: r for r in mb.messages()}
    assert {uid: r["disposition"] for uid, r in rows.items()} == {
        auto_uid: "auto_reply", bounce_uid: "bounce", article_uid: "submission"}
    assert rows[auto_uid]["submission_ids"] == rows[bounce_uid]["submission_ids"] == []
    assert [s["message_id"] for s in mb.submissions()] == [message_id_of(1)]


# -- two pollers at once -------------------------------------------------------------------

def test_two_concurrent_pollers_ingest_each_message_once(tmp_path: Path, imap_account: ImapAccount) -> None:
    uids = deliver(imap_account, range(1, 41))
    mb = Mailbridge(tmp_path, [mailbox(imap_account)], env={PASSWORD_ENV: imap_account.password},
                    ingest={"max_submissions_per_sender_per_day": 100})  # one sender, 40 mails at once
    assert mb.messages() == []  # an existing installation: the ledger is there already
    procs = [mb.popen("poll", "--once") for _ in range(2)]
    codes = [p.wait(timeout=120) for p in procs]
    assert codes == [0, 0]
    rows = mb.messages()
    assert len(rows) == 40
    assert sorted(r["uid"] for r in rows) == sorted(uids.values())
    subs = mb.submissions()
    assert len(subs) == 40
    assert len({s["receipt_no"] for s in subs}) == 40


# -- failures: exit 3, one sentence, and the other mailboxes still polled ---------------------------

@pytest.mark.parametrize("failure", ["wrong_password", "unreachable"])
def test_broken_mailbox_exits_3_and_the_others_are_still_polled(tmp_path: Path, imap_account: ImapAccount,
                                                                failure: str) -> None:
    deliver(imap_account, [1, 2])
    wrong = "kqzmwdxbtrnhpvfa"  # an authorization code is 16 ASCII letters
    if failure == "wrong_password":
        bad = mailbox(imap_account, "bad", password_env="MB_TEST_WRONG_PW")
    else:
        bad = mailbox(imap_account, "bad", port=free_port())
    good = mailbox(imap_account, "good")
    mb = Mailbridge(tmp_path, [bad, good], env={PASSWORD_ENV: imap_account.password, "MB_TEST_WRONG_PW": wrong})

    done = mb.run("poll", "--once")
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert wrong not in done.stderr + done.stdout
    about_bad = [line for line in done.stderr.splitlines() if "bad" in line]
    assert len(about_bad) == 1, done.stderr  # one line, naming the mailbox
    expected = "login" if failure == "wrong_password" else "connect"
    assert expected in about_bad[0].lower(), done.stderr
    rows = mb.messages()
    assert {r["mailbox"] for r in rows} == {"good"}
    assert len(rows) == 2
    assert len(mb.submissions()) == 2


def test_wrong_password_alone_exits_3_with_one_line(tmp_path: Path, imap_account: ImapAccount) -> None:
    mb = Mailbridge(tmp_path, [mailbox(imap_account)], env={PASSWORD_ENV: "not-the-code"})
    done = mb.run("poll", "--once")
    assert done.returncode == 3
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    login = [line for line in errors if "login" in line.lower()]
    assert len(login) == 1, done.stderr
    # The server's reason is decoded text, not a Python bytes repr such as b'[AUTHENTICATIONFAILED]...'.
    assert "[AUTHENTICATIONFAILED]" in login[0], done.stderr
    assert not re.search(r"\bb'", login[0]), done.stderr
    assert "not-the-code" not in done.stderr


def test_non_ascii_password_is_refused_not_a_crash(tmp_path: Path, imap_account: ImapAccount) -> None:
    """An authorization code pasted with a stray full-width letter: an admin's mistake, not a bug."""
    deliver(imap_account, [1])
    pasted = "kqzmwdxbtrnhpvｆa"
    bad = mailbox(imap_account, "bad", password_env="MB_TEST_WRONG_PW")
    good = mailbox(imap_account, "good")
    mb = Mailbridge(tmp_path, [bad, good], env={PASSWORD_ENV: imap_account.password, "MB_TEST_WRONG_PW": pasted})
    done = mb.run("poll", "--once")
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, done.stderr  # a config error (never 4, a bug); the good mailbox is polled
    assert pasted not in done.stderr
    assert ("error: the password of mailbox bad has non-ASCII characters; authorization codes (授权码) are "
            "plain letters, check for a full-width character.") in done.stderr.splitlines(), done.stderr
    assert "1 mailbox(es) could not be polled; see above." in done.stderr, done.stderr
    assert "good: 1 fetched, 1 new" in done.stdout, done.stdout


def test_large_attachment_fetched_in_pieces_arrives_byte_exact(tmp_path: Path, imap_account: ImapAccount) -> None:
    """A message over the piecewise-fetch size (8 MB): partial FETCHes and piecewise decoding."""
    data = os.urandom(12 * 1024 * 1024 + 12345)
    body = base64.encodebytes(data).replace(b"\n", b"\r\n")
    raw = (b"From: lsxkx@163.com\r\nTo: smxskx@163.com\r\nSubject: big\r\nMessage-ID: <big-1@163.com>\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n\r\nvideo attached\r\n--XX\r\n"
           b"Content-Type: video/mp4; name=\"v.mp4\"\r\nContent-Disposition: attachment; filename=\"v.mp4\"\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n" + body + b"--XX--\r\n")
    imap_account.append(raw)
    mb = bridge(tmp_path, imap_account)
    mb.poll()
    [row] = mb.messages()
    assert row["sha256"] == hashlib.sha256(raw).hexdigest()
    [sub] = mb.submissions()
    [att] = sub["attachments"]
    assert (att["filename"], att["size"], att["sha256"]) == ("v.mp4", len(data), hashlib.sha256(data).hexdigest())
    stored = mb.store / "files" / att["sha256"][:2] / att["sha256"]
    assert stored.read_bytes() == data
