"""What SQLite forgives and PostgreSQL refuses: NULs, UTF-16 text files, binary mail, long values.

Runs on the run's database (`make test` runs it on both): each case once crashed the poll on
PostgreSQL with exit 4 (`text fields cannot contain NUL`, `value too long for type character
varying(500)`), and the UTF-16 file was GB18030 garbage on SQLite too.
"""
from __future__ import annotations

import json
import os
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from support.mailfactory import date_of, make_docx
from support.mbcli import Mailbridge

from mailbridge.ledger.bounds import MARK, fit

TITLE = "卢氏县科协开展科普进社区活动"
BODY = "11月3日，卢氏县科协组织科技工作者走进城关镇社区，开展科普宣传活动，发放资料三百余份。"


def mail(sender: str = "卢氏县科协 <lsxkx@163.com>", subject: str = "【卢氏县科协】科普进社区",
         files: tuple[tuple[str, bytes, str], ...] = ()) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "smxskx@163.com", subject
    msg["Date"] = format_datetime(date_of(1))
    msg["Message-ID"] = f"<{os.urandom(6).hex()}@163.com>"
    msg.set_content("您好，稿件请见附件。\n")
    for name, data, ctype in files:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


def imported(tmp_path: Path, *raws: bytes) -> Mailbridge:
    mb = Mailbridge(tmp_path / "site", [])
    folder = tmp_path / "in"
    folder.mkdir()
    for i, raw in enumerate(raws):
        (folder / f"{i:03d}.eml").write_bytes(raw)
    mb.ok("import", str(folder))
    return mb


def test_fit_drops_nuls_and_cuts_with_a_mark() -> None:
    assert fit("a\x00b", None) == "ab"
    assert fit("x" * 600, 500) == "x" * 499 + MARK and len(fit("x" * 600, 500)) == 500
    assert fit("短", 500) == "短"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_a_unicode_text_file_is_read_by_its_byte_order_mark(tmp_path: Path, encoding: str) -> None:
    """Notepad's "Unicode" is UTF-16LE with FF FE; without the BOM rule it read as GB18030 with NULs."""
    text = f"{TITLE}\r\n{BODY}\r\n"
    data = text.encode(encoding) if encoding != "utf-16-be" else b"\xfe\xff" + text.encode(encoding)
    mb = imported(tmp_path, mail(files=(("科普进社区.txt", data, "text/plain"),)))
    [sub] = mb.submissions()
    assert sub["title"] == TITLE
    assert sub["body_chars"] >= len(BODY) - 5
    assert "\x00" not in json.dumps(mb.submissions(), ensure_ascii=False)


def test_an_outlook_msg_sent_as_eml_is_recorded_not_a_crash(tmp_path: Path) -> None:
    """An OLE compound file (.msg) where an RFC 5322 message should be: NULs in every 'header'."""
    ole = bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 16 + "Subject: 稿件\r\n".encode("utf-16-le") * 40
    ole += bytes(range(256)) * 64 + "From: 卢氏 <lsxkx@163.com>".encode("utf-16-le") + b"\x00" * 512
    mb = imported(tmp_path, ole)
    [row] = mb.messages()
    assert row["disposition"] in ("quarantined", "submission", "ignored")
    assert "\x00" not in json.dumps(mb.messages(), ensure_ascii=False)


def test_over_long_names_addresses_subjects_and_file_names_fit_their_columns(tmp_path: Path) -> None:
    name = "卢氏县科协" * 130  # 650 characters
    address = "l" * 540 + "@163.com"
    subject = "【卢氏县科协】" + "很长的标题" * 1200
    filename = "稿" * 1200 + ".docx"
    mb = imported(tmp_path, mail(sender=f"{name} <{address}>", subject=subject,
                                 files=((filename, make_docx(TITLE, (BODY,)), "application/octet-stream"),)))
    [row] = mb.messages()
    assert row["disposition"] == "submission", row
    assert row["sender"] is None or len(row["sender"]) <= 500  # the parser may refuse such an address
    [sub] = mb.submissions()
    assert len(sub["sender_name"]) == 500 and sub["sender_name"].startswith("卢氏县科协卢氏") \
        and sub["sender_name"].endswith(MARK)
    assert sub["subject"].endswith("很长的标题")  # unbounded text is kept whole
    [att] = sub["attachments"]
    assert len(att["filename"]) <= 1000 and att["filename"].startswith("稿稿")


def test_roster_cells_longer_than_their_columns_are_cut_not_a_crash(tmp_path: Path) -> None:
    mb = Mailbridge(tmp_path, [])
    unit, person, phone = "卢氏县" + "科学技术协会" * 40, "张" * 150, "0398-" + "1" * 120
    (tmp_path / "roster.csv").write_text(f"单位,姓名,电子信箱,电话,单位类型\n{unit},{person},lsxkx@163.com,{phone},county\n",
                                         encoding="utf-8")
    mb.ok("roster", "import", str(tmp_path / "roster.csv"))
    listed = json.dumps(json.loads(mb.ok("roster", "list", "--json")), ensure_ascii=False)
    assert "张" * 99 + MARK in listed and "张" * 100 not in listed


def test_nuls_and_over_long_values_in_a_message_id_and_a_file_name_are_recorded_not_a_crash(tmp_path: Path) -> None:
    """The message row and its attachments are written by Core INSERTs, which skip the ORM's bounds
    (Hypothesis found a Message-ID with a NUL: `text fields cannot contain NUL` on PostgreSQL)."""
    def raw(message_id: bytes, filename: bytes) -> bytes:
        return (b"From: lsxkx@163.com\r\nTo: smxskx@163.com\r\nSubject: =?UTF-8?B?56eR5pmu?=\r\n"
                b"Message-ID: " + message_id + b"\r\nMIME-Version: 1.0\r\n"
                b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
                b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + BODY.encode() + b"\r\n--b\r\n"
                b"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*=utf-8''"
                + filename + b"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n--b--\r\n")
    mb = imported(tmp_path, raw(b"<a\x00b@163.com>", b"%E7%A8%BF%00x.bin"),
                  raw(b"<" + b"m" * 3000 + b"@163.com>", b"x" * 2000 + b".bin"))
    rows = mb.messages()
    assert len(rows) == 2 and all(r["state"] == "processed" for r in rows), rows
    text = json.dumps(rows, ensure_ascii=False)
    assert "\x00" not in text
    mb.ok("import", str(tmp_path / "in"))  # again: the same messages, found (not recorded twice)
    assert len(mb.messages()) == 2
