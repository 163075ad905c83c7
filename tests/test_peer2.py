"""Decoded as the best parsers decode it: shared/corpus/peer2 through the real CLI, every field the
six peers' own tests state (expected.json, see its README) compared, none excluded; then one small
test per class of input the corpus caught, so each class stays fixed without the corpus too.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from support.fixtures import SHARED, require_shared
from support.mbcli import Mailbridge

from mailbridge.parse import charsets, mime
from mailbridge.parse.headers import decode_param, decode_text

PEER2 = SHARED / "corpus" / "peer2"
ATTACHMENT_KEYS = ("filename", "size", "sha256")


def ascii_ws(text: str) -> str:
    """The README's subject comparison: runs of ASCII white space collapsed, nothing else."""
    return re.sub(r"[ \t\r\n\f\v]+", " ", text).strip(" ")


def peer2_cases() -> list[dict[str, Any]]:
    return json.loads((require_shared(PEER2) / "expected.json").read_text(encoding="utf-8"))


def stated_fields(cases: list[dict[str, Any]]) -> int:
    return sum(("subject" in c) + ("from_name" in c)
               + sum(k in a for a in c.get("attachments", ()) for k in ATTACHMENT_KEYS) for c in cases)


def match_attachments(expected: list[dict[str, Any]], actual: list[dict[str, Any]]) -> list[str]:
    """Each expected attachment must equal a distinct actual one on every key it states (a
    bipartite matching: the peers leave some parts out, so the actual list may be longer)."""
    fits = [[j for j, got in enumerate(actual) if all(got.get(k) == want[k] for k in ATTACHMENT_KEYS if k in want)]
            for want in expected]
    owner: dict[int, int] = {}

    def place(i: int, seen: set[int]) -> bool:
        for j in fits[i]:
            if j not in seen:
                seen.add(j)
                if j not in owner or place(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    return [f"attachment {want} not among {[{k: a.get(k) for k in ATTACHMENT_KEYS} for a in actual]}"
            for i, want in enumerate(expected) if not place(i, set())]


def ledger_attachments(mb: Mailbridge) -> dict[int, list[dict[str, Any]]]:
    """Every stored file per message row. `submissions list --json` shows a message's files only
    when it made a submission; bounces, auto-replies and duplicates keep theirs in the ledger."""
    rows = mb.rows("SELECT message_row_id, filename, size, sha256 FROM attachments ORDER BY id")
    out: dict[int, list[dict[str, Any]]] = {}
    for row_id, filename, size, digest in rows:
        out.setdefault(row_id, []).append({"filename": filename, "size": size, "sha256": digest})
    return out


@pytest.mark.slow
def test_peer2_every_stated_field(tmp_path: Path) -> None:
    """All 296 messages imported in one call; every subject, sender name and attachment filename,
    size and sha256 that expected.json states equals mailbridge's."""
    cases = peer2_cases()
    assert len(cases) == 296 and stated_fields(cases) == 687, "expected.json changed: recount"
    files = [PEER2 / "messages" / c["file"] for c in cases]
    assert all(hashlib.sha256(p.read_bytes()).hexdigest() == c["sha256"] for p, c in zip(files, cases, strict=True))
    mb = Mailbridge(tmp_path, [])
    done = mb.run("import", *map(str, files), timeout=900)
    assert done.returncode == 0, f"import exited {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    rows = {r["sha256"]: r for r in mb.messages()}
    subs = {s["id"]: s for s in mb.submissions()}
    stored = ledger_attachments(mb)

    misses: dict[str, list[str]] = {}
    compared = 0
    for case in cases:
        row = rows.get(case["sha256"])
        if row is None:
            misses[case["file"]] = ["not in the ledger"]
            continue
        out = []
        if "subject" in case:
            compared += 1
            if ascii_ws(row["subject"] or "") != ascii_ws(case["subject"]):
                out.append(f"subject: expected {case['subject']!r}, got {row['subject']!r}")
        if "from_name" in case:
            compared += 1
            if (row["sender_name"] or "") != case["from_name"]:
                out.append(f"from_name: expected {case['from_name']!r}, got {row['sender_name']!r}")
        if case.get("attachments"):
            compared += sum(k in a for a in case["attachments"] for k in ATTACHMENT_KEYS)
            own = [subs[i] for i in row["submission_ids"]]
            # The contract's view where there is one; it must agree with the ledger's.
            files_of = own[0]["attachments"] if own else stored.get(row["id"], [])
            if own:
                assert [(a["sha256"], a["size"]) for a in files_of] == \
                    [(a["sha256"], a["size"]) for a in stored.get(row["id"], [])]
            out += match_attachments(case["attachments"], files_of)
        if out:
            misses[case["file"]] = out
    assert compared == 687
    assert misses == {}, f"{sum(map(len, misses.values()))} of {compared} fields differ:\n" + json.dumps(
        misses, ensure_ascii=False, indent=1)


# One test per class of input the corpus caught (each fails on the code before the fix).

def b64word(text: str | bytes, charset: str) -> str:
    data = text.encode(charset) if isinstance(text, str) else text
    return f"=?{charset}?B?{base64.b64encode(data).decode()}?="


def test_white_space_between_words_of_different_charsets_is_dropped() -> None:
    # RFC 2047 §6.2: linear white space between adjacent encoded-words is ignored, whatever
    # their charsets (stalwart unstructured #7, php-mime-mail-parser m0023).
    subject = f"{b64word('If you can read this yo', 'iso-8859-1')}\r\n     {b64word('u understand the example.', 'iso-8859-2')}"
    assert decode_text(subject) == "If you can read this you understand the example."
    assert decode_text(f"{b64word('科普', 'gbk')} {b64word('活动', 'utf-8')}") == "科普活动"
    # White space that is not between two encoded-words stays, and U+3000 is never white space.
    assert decode_text(f"Re: {b64word('科普', 'gbk')} x") == "Re: 科普 x"
    assert decode_text(f"{b64word('科普', 'gbk')}\u3000{b64word('活动', 'utf-8')}") == "科普\u3000活动"


def test_halves_of_one_character_join_across_labels_of_one_codec() -> None:
    data = "价格399元".encode("gbk")
    cut = len("价格399".encode("gbk")) + 1
    assert decode_text(f"{b64word(data[:cut], 'gb2312')} {b64word(data[cut:], 'GBK')}") == "价格399元"


@pytest.mark.parametrize(("label", "text", "codec"), [
    ("iso-8859-8-i", "מענה 'אני לא נמצא'", "iso8859_8"),  # php-mime-mail-parser issue149
    ("csISO88598I", "שלום", "iso8859_8"),
    ("logical", "שלום", "iso8859_8"),
    ("iso-8859-6-i", "مرحبا", "iso8859_6"),
    ("x-mac-ukrainian", "Привіт", "mac_cyrillic"),
    ("windows-31j", "①№㈱", "cp932"),
    ("ks_c_5601-1989", "사진", "cp949"),
    ("koi8-ru", "Привет", "koi8_u"),
    ("latin1", "café €", "cp1252"),  # WHATWG: every latin1 label is windows-1252
    ("x-x-big5", "香港科學館", "big5hkscs"),
])
def test_whatwg_labels(label: str, text: str, codec: str) -> None:
    data = text.encode(codec)
    assert charsets.decode(data, label) == text
    assert decode_text(b64word(data, label)) == text


def test_windows_1252_undefined_bytes_are_c1_controls_not_a_guess() -> None:
    # WHATWG windows-1252 maps the five bytes cp1252 leaves undefined to U+0081… (never GB18030).
    assert charsets.decode(b"caf\xe9 \x81", "iso-8859-1") == "café \x81"


def test_iso_2022_jp_with_nec_extensions() -> None:
    # php-mime-mail-parser issue116: row 13 (№) is a NEC extension that Python's iso2022_jp refuses.
    subject = "=?iso-2022-jp?B?GyRCJygnJS1iGyhCNDEgGyRCJ2AnZBsoQiAyOC4wOS4yMDE2?="
    assert decode_text(subject) == "ЖД№41 от 28.09.2016"
    nec = b"\x1b$B-!-\"-j\x1b(B \x1b$B%F%9%H!A\x1b(B"  # ①② ㈱ テスト〜 (JIS 2141: WAVE DASH, as JIS)
    assert charsets.decode(nec, "ISO-2022-JP") == "①②㈱ テスト\u301c"
    assert charsets.decode("①テスト".encode("cp932"), "shift_jis") == "①テスト"
    assert charsets.decode(b"\xad\xa1\xa4\xa2", "euc-jp") == "①あ"


def test_u3000_is_kept_in_subjects_and_filenames() -> None:
    # Webklex issue-410: the ideographic space is part of a Japanese or Chinese title.
    name = "☆第132号\u3000「ガーデン」\u3000【月刊】"
    assert decode_text(b64word(name, "iso-2022-jp")) == name
    assert decode_param(b64word(name, "utf-8")) == name
    assert decode_text("a \t\r\n b\u2028c\x0bd") == "a b c d"  # controls and line separators still go


def _mail(*parts: bytes, head: bytes = b"") -> bytes:
    top = (b"From: a@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\n" + head
           + b"Content-Type: multipart/mixed; boundary=\"BB\"\r\n\r\n")
    return top + b"".join(b"--BB\r\n" + p + b"\r\n" for p in parts) + b"--BB--\r\n"


@pytest.mark.parametrize("encoded", [b"aGVsbG8gd29ybGQK" + b"A", b"aGVsbG8gd29ybGQK\r\nA\r\n", b"aGVsbG8gd29ybGQKQ",
                                     b"aGVsbG8gd29ybGQK==?=X"])
def test_dangling_base64_decodes_to_the_bytes_and_flags_the_part(encoded: bytes) -> None:
    # php-mime-mail-parser m0018, Webklex boolean_decoded_content: the stdlib keeps the base64 text.
    part = (b"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"x.bin\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded)
    [att] = mime.parse(_mail(part)).parts
    assert att.data.startswith(b"hello world\n") and len(att.data) <= 13
    assert "damaged_base64" in att.flags


def test_truncated_large_base64_attachment_is_kept_not_fatal() -> None:
    # Cut off mid-line (a lost connection): big enough to take the hollowed fast path.
    data = os.urandom(300_000)
    text = base64.encodebytes(data)
    cut = text[: len(text) // 2 + 7]
    while len(cut.replace(b"\n", b"")) % 4 in (0, 3):  # 1 or 2 characters into a quantum: not base64
        cut = cut[:-1]
    part = (b"Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + cut)
    mail = mime.parse(_mail(b"Content-Type: text/plain\r\n\r\nbody", part))
    [att] = mail.parts
    assert data.startswith(att.data) and len(att.data) > 100_000
    assert att.flags == {"damaged_base64"}
    clean = mime.parse(_mail(part.replace(cut, text)))
    assert clean.parts[0].data == data and clean.parts[0].flags == set()


@pytest.mark.parametrize("stray", [b"\\tby h2.server.pl with LMTP\r\n", b"garbage line without a colon\r\n",
                                   b" leading continuation\r\n"])
def test_a_malformed_header_line_does_not_end_the_headers(stray: bytes) -> None:
    # Webklex issue-40: Subject and From came after a literal `\tby` line and were lost.
    raw = (b"Return-Path: <x@example.com>\r\nReceived: from a\r\n" + stray
           + b"From: Real Name <real@example.com>\r\nSubject: Zly from\r\n\r\nbody\r\n")
    mail = mime.parse(raw if not stray.startswith(b" ") else stray + raw)
    assert (mail.subject, mail.sender, mail.sender_name) == ("Zly from", "real@example.com", "Real Name")
    assert mail.text == "body"


def test_obsolete_space_before_colon_and_stray_lines_in_a_part() -> None:
    # stalwart malformed 019 (`Fro :x`); and the same damage inside a MIME part.
    mail = mime.parse(b"Subject :Sprint 3\r\nFrom: A <a@example.com>\r\n\r\nhi")
    assert mail.subject == "Sprint 3"
    part = (b"Content-Type: application/octet-stream\r\nthis line is junk\r\n"
            b"Content-Disposition: attachment; filename=\"after.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC")
    [att] = mime.parse(_mail(b"Content-Type: text/plain\r\n\r\nbody", part)).parts
    assert (att.filename, att.data) == ("after.bin", b"\x00\x01\x02")


def test_missing_blank_line_still_starts_the_body() -> None:
    mail = mime.parse(b"From: a@example.com\r\nSubject: s\r\nHello there\r\nsecond line\r\n")
    assert mail.subject == "s" and "Hello there" in mail.text


@pytest.mark.parametrize("content_type", [b"multipart/mixed\r\n\tboundary=\"BB\"", b"multipart/mixed boundary=BB",
                                          b"multipart/mixed\r\n boundary=\"BB\"; charset=x"])
def test_multipart_without_semicolon_before_boundary(content_type: bytes) -> None:
    # stalwart malformed 017 (a Dovecot test mail).
    part = (b"Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: ;\r\n"
            b"        filename=\"image001.png\"\r\n\r\naGVsbG8gd29ybGQK")
    raw = b"From: a@example.com\r\nSubject: s\r\nContent-Type: " + content_type + b"\r\n\r\n--BB\r\n" + part + b"\r\n--BB--\r\n"
    [att] = mime.parse(raw).parts
    assert (att.size, att.data) == (12, b"hello world\n")
    nested = _mail(b"Content-Type: " + content_type.replace(b"BB", b"CC") + b"\r\n\r\n--CC\r\n" + part + b"\r\n--CC--")
    [att] = mime.parse(nested).parts
    assert att.data == b"hello world\n"


def test_attached_message_is_kept_byte_exact() -> None:
    # stalwart malformed 022: not a message at all; thirdparty 015: LF line ends, a name given.
    inner = b"From: b@example.com\nSubject: inner\nX-Folded: a\n  b\n\nline one\nline two\n"
    raw = _mail(b"Content-Type: text/plain\r\n\r\nbody",
                b"Content-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"broken.eml\"\r\n\r\n"
                b"this attachment is not a valid eml, sorry!",
                b"Content-Type: message/rfc822; name=training-mail.txt\r\n\r\n" + inner,
                b"Content-Type: message/rfc822\r\n\r\n" + inner)
    broken, named, nameless = mime.parse(raw).parts
    assert (broken.filename, broken.data) == ("broken.eml", b"this attachment is not a valid eml, sorry!")
    assert (named.filename, named.data) == ("training-mail.txt", inner)
    assert (nameless.filename, nameless.data) == ("inner.eml", inner)


def test_file_parameter_names_an_attachment() -> None:
    # enmime attachment-octet: `Content-Type: application/octet-stream; file="ATTACHMENT.EXE"`.
    part = b"Content-Type: application/octet-stream; file=\"ATTACHMENT.EXE\"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC"
    [att] = mime.parse(_mail(b"Content-Type: text/plain\r\n\r\nbody", part)).parts
    assert att.filename == "ATTACHMENT.EXE"


def test_attached_message_with_a_photo_is_not_the_hollowed_skeleton() -> None:
    # MimeKit content-length #4, php-mime-mail-parser issue274: the photo inside a forwarded
    # mail was cut out before parsing (parse.hollow), and the re-serialised copy kept the cut.
    photo = base64.encodebytes(os.urandom(40_000)).replace(b"\n", b"\r\n")
    inner = (b"From: b@example.com\r\nSubject: fwd\r\nContent-Type: multipart/mixed; boundary=\"in\"\r\n\r\n"
             b"--in\r\nContent-Type: text/plain\r\n\r\nsee photo\r\n--in\r\nContent-Type: image/jpeg\r\n"
             b"Content-Transfer-Encoding: base64\r\n\r\n" + photo + b"--in--\r\n")
    [att] = mime.parse(_mail(b"Content-Type: message/rfc822\r\n\r\n" + inner)).parts
    assert att.data == inner and att.filename == "fwd.eml"


def test_base64_encoded_attached_message_is_decoded() -> None:
    # stalwart rfc 008: message/rfc822 sent with Content-Transfer-Encoding: base64.
    inner = b"From: b@example.com\r\nSubject: inner\r\n\r\nhello\r\n"
    part = b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(inner)
    [att] = mime.parse(_mail(part)).parts
    assert att.data == inner


def test_attached_message_of_a_truncated_mail_keeps_its_photo() -> None:
    # No closing boundary: the raw bytes cannot be delimited, the parsed copy is used, with the
    # base64 cut out before parsing put back.
    photo = base64.encodebytes(os.urandom(40_000)).replace(b"\n", b"\r\n")
    inner = (b"From: b@example.com\r\nSubject: fwd\r\nContent-Type: image/jpeg\r\n"
             b"Content-Transfer-Encoding: base64\r\n\r\n" + photo)
    raw = _mail(b"Content-Type: message/rfc822\r\n\r\n" + inner).rsplit(b"--BB--", 1)[0]
    [att] = mime.parse(raw).parts
    assert b"HOLLOWED" not in att.data and photo.replace(b"\r\n", b"\n").strip() in att.data.replace(b"\r\n", b"\n")


@pytest.mark.slow
def test_truncated_attachment_does_not_quarantine_the_mail(tmp_path: Path) -> None:
    data = os.urandom(120_000)
    text = base64.encodebytes(data)
    cut = text[: len(text) * 2 // 3]
    while len(cut.replace(b"\n", b"")) % 4 in (0, 3):
        cut = cut[:-1]
    mail = _mail(b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + "科普活动简讯。".encode(),
                 b"Content-Type: image/jpeg\r\nContent-Disposition: attachment; filename=\"photo.jpg\"\r\n"
                 b"Content-Transfer-Encoding: base64\r\n\r\n" + cut,
                 head=b"Message-ID: <truncated@example.com>\r\nDate: Mon, 2 Sep 2024 10:00:00 +0800\r\n")
    path = tmp_path / "truncated.eml"
    path.write_bytes(mail)
    mb = Mailbridge(tmp_path / "mb", [])
    assert mb.run("import", str(path)).returncode == 0
    [row] = mb.messages()
    assert row["disposition"] == "submission", row
    [sub] = mb.submissions()
    [att] = sub["attachments"]
    assert att["filename"] == "photo.jpg" and att["size"] > 70_000  # what arrived: the bytes before the cut
    assert att["sha256"] == hashlib.sha256(data[: att["size"]]).hexdigest()
    [(flags,)] = mb.rows("SELECT flags FROM attachments")
    assert "damaged_base64" in json.loads(flags)
