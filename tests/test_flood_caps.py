"""A stranger cannot flood the ledger or credit a unit with forged mail: documents per mail and
submissions per sender per day are capped (the rest kept and flagged for the clerk), and mail
that failed DMARC at the receiving server is credited to no unit."""
from __future__ import annotations

import datetime as dt
import json
import time
from email.utils import format_datetime
from pathlib import Path

import pytest
from support.mailfactory import make_mail
from support.mbcli import Mailbridge

ROSTER = "单位,姓名,电子信箱,单位类型\n卢氏县科协,张喆,lsxkx@163.com,county\n渑池县科协,李娜,mcxkx@163.com,county\n"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def txt_mail(documents: int, n: int = 1, sender: str = "lsxkx@163.com", when: dt.datetime = NOW) -> bytes:
    """`documents` one-line .txt attachments, as the 1.6 MB flood of the issue was made."""
    head = (f"From: =?UTF-8?B?5Y2i5rCP5Y6/56eR5Y2P?= <{sender}>\r\nTo: smxskx@163.com\r\n"
            f"Subject: =?UTF-8?B?56i/5Lu2?= {n}\r\nDate: {format_datetime(when)}\r\n"
            f"Message-ID: <flood.{n}.{documents}@attacker.example>\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="b"\r\n\r\n')
    parts = ["--b\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n见附件。\r\n"]
    parts += [f'--b\r\nContent-Type: text/plain; charset=UTF-8; name="{n}-{i}.txt"\r\n'
              f'Content-Disposition: attachment; filename="{n}-{i}.txt"\r\n\r\n第{i}篇稿件，一行。\r\n'
              for i in range(1, documents + 1)]
    return (head + "".join(parts) + "--b--\r\n").encode()


def setup(tmp_path: Path, **ingest: object) -> Mailbridge:
    mb = Mailbridge(tmp_path, [], ingest=ingest) if ingest else Mailbridge(tmp_path, [])
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    mb.ok("roster", "import", str(tmp_path / "roster.csv"))
    return mb


def deliver(mb: Mailbridge, name: str, raw: bytes) -> None:
    path = mb.root / name
    path.write_bytes(raw)
    mb.ok("import", str(path))


def attachment_flags(mb: Mailbridge) -> dict[str, list[str]]:
    return {name: json.loads(flags) for name, flags in mb.rows("SELECT filename, flags FROM attachments")}


@pytest.mark.slow
def test_ten_thousand_attachments_make_at_most_twenty_submissions(tmp_path: Path) -> None:
    mb = setup(tmp_path)
    raw = txt_mail(10_000)
    assert 1_000_000 < len(raw) < 2_000_000  # the 1.6 MB mail
    started = time.perf_counter()
    deliver(mb, "flood.eml", raw)
    elapsed = time.perf_counter() - started
    subs = mb.submissions()
    assert len(subs) == 20  # ingest.max_documents_per_mail
    assert all("too_many_documents" in s["flags"] for s in subs)
    assert [s["title"] for s in subs[:2]] == ["第1篇稿件，一行。", "第2篇稿件，一行。"]
    # Nothing is lost: all 10,000 files are attachments of the message; those not read are flagged.
    assert len(subs[0]["attachments"]) == 10_000
    flags = attachment_flags(mb)
    assert "too_many_documents" not in flags["1-20.txt"] and "too_many_documents" in flags["1-21.txt"]
    assert sum("too_many_documents" in f for f in flags.values()) == 9_980
    [row] = mb.messages()
    assert row["disposition"] == "submission" and len(row["submission_ids"]) == 20
    assert elapsed < 120, elapsed


@pytest.mark.slow
def test_sender_daily_cap_holds_the_rest_for_the_clerk(tmp_path: Path) -> None:
    mb = setup(tmp_path, max_submissions_per_sender_per_day=3)
    deliver(mb, "a.eml", txt_mail(2, n=1, when=NOW - dt.timedelta(minutes=30)))
    deliver(mb, "b.eml", txt_mail(2, n=2, when=NOW - dt.timedelta(minutes=20)))
    deliver(mb, "c.eml", txt_mail(1, n=3, when=NOW - dt.timedelta(minutes=10)))
    deliver(mb, "other.eml", txt_mail(2, n=4, sender="mcxkx@163.com", when=NOW - dt.timedelta(minutes=5)))
    # Counted by arrival, not by when mailbridge reads it: a backfill of an older day is its own day.
    deliver(mb, "old.eml", txt_mail(2, n=5, when=NOW - dt.timedelta(days=3)))
    subs = mb.submissions()
    by_subject = {}
    for sub in subs:
        by_subject.setdefault(sub["subject"].split()[-1], []).append(sub)
    assert {k: len(v) for k, v in by_subject.items()} == {"1": 2, "2": 1, "4": 2, "5": 2}
    assert "sender_daily_cap" in by_subject["2"][0]["flags"]
    assert not any("sender_daily_cap" in s["flags"] for k in ("1", "4", "5") for s in by_subject[k])
    flags = attachment_flags(mb)
    assert "sender_daily_cap" in flags["2-2.txt"] and "sender_daily_cap" not in flags["2-1.txt"]
    held = next(m for m in mb.messages() if m["message_id"] == "<flood.3.1@attacker.example>")
    assert held["disposition"] == "quarantined" and held["reason"].startswith("sender_daily_cap: lsxkx@163.com")
    assert held["submission_ids"] == []
    assert [q["id"] for q in json.loads(mb.ok("quarantine", "list", "--json"))] == [held["id"]]
    # The clerk lets it in (here: a higher cap); its files are recorded once, not twice.
    mb.config.write_text(mb.config.read_text(encoding="utf-8").replace(
        "max_submissions_per_sender_per_day = 3", "max_submissions_per_sender_per_day = 30"), encoding="utf-8")
    mb.ok("quarantine", "retry", str(held["id"]))
    again = next(m for m in mb.messages() if m["id"] == held["id"])
    assert again["disposition"] == "submission" and len(again["submission_ids"]) == 1
    assert list(attachment_flags(mb)).count("3-1.txt") == 1


@pytest.mark.slow
def test_dmarc_fail_is_credited_to_no_unit(tmp_path: Path) -> None:
    mb = setup(tmp_path)
    failed = ("Authentication-Results", ("mx.163.com; dkim=none; spf=softfail smtp.mailfrom=lsxkx@163.com;"
                                         " dmarc=fail (p=none dis=none) header.from=163.com"))
    passed = ("Authentication-Results", "mx.163.com; dkim=pass header.d=163.com; dmarc=pass header.from=163.com")
    # A forged header the sender put below the server's own cannot turn the fail into a pass.
    forged = ("Authentication-Results", "mx.163.com; dmarc=pass header.from=163.com")
    deliver(mb, "1.eml", make_mail(1, extra_headers=[failed, forged]))
    deliver(mb, "2.eml", make_mail(2, extra_headers=[passed]))
    deliver(mb, "3.eml", make_mail(3))  # no Authentication-Results: attributed by address as before
    subs = {s["message_id"]: s for s in mb.submissions()}
    forged_sub = next(s for s in subs.values() if s["subject"].startswith("【卢氏县科协】第1篇"))
    assert forged_sub["unit"] is None and "dmarc_fail" in forged_sub["flags"]
    assert "unknown_sender" not in forged_sub["flags"]
    assert sorted(s["unit"] or "" for s in subs.values()) == ["", "卢氏县科协", "卢氏县科协"]
    assert forged_sub["suggested_unit"] == "卢氏县科协"  # the unit it claims: for the clerk to confirm
    # Binding the address again later does not credit the forged mail either.
    mb.ok("roster", "bind", "lsxkx@163.com", "卢氏县科协")
    assert next(s for s in mb.submissions() if s["id"] == forged_sub["id"])["unit"] is None
