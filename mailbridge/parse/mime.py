"""Raw bytes → a decoded mail: headers, body text, and every attached file byte-exact.

The MIME tree and payloads come from the stdlib `email` package (compat32, which keeps 8-bit
bytes and gives back exactly the sent bytes for 7bit/8bit/binary parts, unlike mail-parser #80);
header text is decoded by `headers.py`; dates are read by mail-parser's RFC 5322 date parser.
"""
from __future__ import annotations

import email
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from email.policy import Compat32
from pathlib import PurePosixPath, PureWindowsPath
from collections.abc import Callable, Iterator
from typing import cast

from mailparser.utils import convert_mail_date

from mailbridge.parse import charsets, classify, hollow, lenient
from mailbridge.parse.addresses import sender_of
from mailbridge.parse.documents import is_document
from mailbridge.parse.headers import decode_param, decode_text, raw_header, raw_headers
from mailbridge.parse.html import LargeLink, large_links, normalise, to_text

_HEADER_END = re.compile(rb"\r?\n\r?\n")


class _RawHeaders(Compat32):
    """compat32, but header values come back as stored: raw 8-bit bytes stay recoverable.

    Plain compat32 wraps such a value in a Header whose str() has already replaced the bytes,
    so a raw GBK attachment name could never be decoded.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


RAW = _RawHeaders()
_IMAGE_EXT = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".heic", ".heif", ".tif", ".tiff"}


@dataclass
class Part:
    """One file that came with the mail."""

    filename: str
    content_type: str
    data: bytes | None  # None when a large file went straight to the archive (see Spill)
    size: int
    sha256: str
    inline: bool = False
    content_id: str | None = None
    flags: set[str] = field(default_factory=set)

    @property
    def kind(self) -> str:
        if is_document(self.filename):
            return "document"
        if self.content_type.startswith("image/") or PurePosixPath(self.filename.lower()).suffix in _IMAGE_EXT:
            return "image"
        return "other"


@dataclass
class ParsedMail:
    message_id: str | None
    subject: str
    sender: str
    sender_name: str
    date: datetime | None
    arrived: datetime | None  # from the topmost Received header
    text: str
    html: str
    parts: list[Part] = field(default_factory=list)
    links: list[LargeLink] = field(default_factory=list)
    auto_reply: str | None = None
    bounce: str | None = None
    mailing_list: bool = False
    no_reply: str | None = None  # why no automatic answer may go to it (lists, null sender…)
    in_reply_to: str | None = None
    references: str | None = None
    defects: list[str] = field(default_factory=list)
    sender_problem: str | None = None  # why the From header gave no sender address
    flags: set[str] = field(default_factory=set)  # for every submission of the mail (invalid_sender)
    auth_results: list[str] = field(default_factory=list)  # Authentication-Results values, topmost first


def _body_start(raw: bytes) -> int:
    match = _HEADER_END.search(raw)
    return match.end() if match else len(raw)


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID, read from the header block only (cheap; used before a full parse)."""
    msg = email.message_from_bytes(raw[: _body_start(raw)], policy=RAW)
    return _message_id(raw_header(msg, "Message-ID"))


def content_hash(raw: bytes, message_id: str | None) -> str:
    """Message-ID plus the body bytes: equal for one message delivered twice (Received differs)."""
    digest = hashlib.sha256((message_id or "").encode() + b"\0")
    digest.update(memoryview(raw)[_body_start(raw):])
    return digest.hexdigest()


# Stores decoded pieces of a file in the archive and returns (sha256, size).
Spill = Callable[[Iterator[bytes]], tuple[str, int]]


Payload = tuple["bytes | tuple[str, int]", bool]  # (bytes, or (sha256, size) when spilled; damaged)


def _payload(part: Message, raw: bytes, runs: dict[str, tuple[int, int]], spill: Spill | None) -> Payload:
    body = part.get_payload()
    cte = charsets.recover(str(part.get("Content-Transfer-Encoding", ""))).strip().lower()
    damaged: list[bool] = []
    if runs and isinstance(body, str) and hollow.TOKEN in body:
        if cte == "base64" and body.strip() in runs:
            start, end = runs[body.strip()]
            if spill is not None and end - start > hollow.SPILL_FROM:
                return spill(hollow.pieces(raw, start, end, damaged)), bool(damaged)
            return hollow.decode(raw, start, end, damaged), bool(damaged)
        # Not a plain base64 body after all: put the cut bytes back and decode as usual.
        restored = body.encode("ascii", "surrogateescape")
        for token, (start, end) in runs.items():
            restored = restored.replace(token.encode() + b"\r\n", raw[start:end])
        part.set_payload(restored.decode("ascii", "surrogateescape"))
        body = part.get_payload()
    if cte == "base64" and isinstance(body, str):
        # The stdlib keeps the base64 text itself when it cannot decode it (bpo-27397).
        return lenient.b64decode(body.encode("ascii", "surrogateescape"))
    return cast(bytes, part.get_payload(decode=True)) or b"", False  # a leaf: bytes, or None


def parse(raw: bytes, spill: Spill | None = None) -> ParsedMail:
    """Decode a mail. With `spill`, files over a few MB go to the archive in pieces instead of
    into memory: their Part has data None."""
    skeleton, runs = hollow.hollow(raw)
    skeleton = lenient.repair_header_block(skeleton) or skeleton
    msg = email.message_from_bytes(skeleton, policy=RAW)
    del skeleton
    lenient.repair_tree(msg, lambda data: email.message_from_bytes(data, policy=RAW))
    subject = decode_text(raw_header(msg, "Subject"))
    sender_name, sender, sender_problem = sender_of(msg)
    mail = ParsedMail(
        message_id=_message_id(raw_header(msg, "Message-ID")),
        subject=subject,
        sender=sender,
        sender_name=sender_name,
        date=_date(raw_header(msg, "Date")),
        arrived=_arrival(raw_headers(msg, "Received")),
        text="",
        html="",
        in_reply_to=_message_id(raw_header(msg, "In-Reply-To")),
        references=decode_text(raw_header(msg, "References")) or None,
        mailing_list=classify.list_headers(msg),
        sender_problem=sender_problem,
        auth_results=raw_headers(msg, "Authentication-Results")[:20],
    )
    if sender_problem:
        mail.flags.add("invalid_sender")
    mail.auto_reply = classify.auto_reply_reason(msg, subject)
    mail.bounce = classify.bounce_reason(msg, sender, subject)
    mail.no_reply = classify.no_reply_reason(msg, sender)
    plain: list[str] = []
    html: list[str] = []
    for part, parent, index in _leaves(msg):
        _take(part, mail, plain, html, lambda p, large_ok: _payload(p, raw, runs, spill if large_ok else None),
              # a lambda whose defaults pin this iteration's parent and index has no type mypy infers
              lambda p, parent=parent, index=index: lenient.attached_message(  # type: ignore[misc]
                  p, parent, index, raw, lambda inner: hollow.unhollowed(inner.as_bytes(), raw, runs)))
    mail.html = "\n".join(html)
    mail.text = normalise("\n\n".join(plain)) if any(p.strip() for p in plain) else to_text(mail.html)
    mail.links = large_links(mail.html) if mail.html else []
    for part in msg.walk():
        mail.defects.extend(type(d).__name__ for d in part.defects)
    return mail


def _leaves(msg: Message) -> Iterator[tuple[Message, Message | None, int]]:
    """(leaf, its multipart parent, its index there) in order; an attached message/rfc822 is a
    file, not a subtree."""
    stack: list[tuple[Message, Message | None, int]] = [(msg, None, 0)]
    while stack:
        part, parent, index = stack.pop(0)
        if part.get_content_type() == "message/rfc822" and part is not msg:
            yield part, parent, index
            continue
        payload = part.get_payload()
        if part.is_multipart() and isinstance(payload, list):
            stack[0:0] = [(child, part, i) for i, child in enumerate(payload)]
        else:
            yield part, parent, index


def _take(part: Message, mail: ParsedMail, plain: list[str], html: list[str],
          payload: Callable[[Message, bool], Payload], attached: Callable[[Message], bytes]) -> None:
    ctype = charsets.recover(part.get_content_type())[:200]
    disposition = charsets.recover(part.get_content_disposition() or "").lower()
    filename = _filename(part)
    is_body_text = ctype in ("text/plain", "text/html") and not filename and disposition != "attachment"
    if is_body_text:
        data, _damaged = payload(part, False)
        assert isinstance(data, bytes)
        text = charsets.decode(data, part.get_content_charset() or _meta_charset(data, ctype))
        (plain if ctype == "text/plain" else html).append(text)
        return
    damaged = False
    if ctype == "message/rfc822":
        data = attached(part)
        if not filename:  # a name the sender gave is kept as given (thirdparty mails: `training-mail.txt`)
            inner = email.message_from_bytes(data[: _body_start(data)], policy=RAW)
            name = decode_text(raw_header(inner, "Subject")) or "message"
            filename = name if name.lower().endswith(".eml") else f"{name}.eml"
    elif ctype.startswith("multipart/"):
        return  # a multipart with a broken body: its text is in the defects, nothing to keep
    else:
        data, damaged = payload(part, True)
    if not data and not filename:
        return
    if isinstance(data, tuple):  # already in the archive
        (sha, size), kept = data, None
    else:
        sha, size, kept = hashlib.sha256(data).hexdigest(), len(data), data
    position = len(mail.parts) + 1
    cid = charsets.recover(raw_header(part, "Content-ID") or "").strip().strip("<>")[:500] or None
    mail.parts.append(
        Part(
            filename=safe_filename(filename, ctype, position),
            content_type=ctype,
            data=kept,
            size=size,
            sha256=sha,
            inline=disposition == "inline" or (cid is not None and disposition != "attachment"),
            content_id=cid,
            flags={"damaged_base64"} if damaged else set(),
        )
    )


# RFC 2183 filename, RFC 2046 name, then the spellings other parsers also read (enmime: `file`).
_NAME_PARAMS = (("content-disposition", "filename"), ("content-type", "name"), ("content-disposition", "name"),
                ("content-type", "filename"), ("content-type", "file"))


def _filename(part: Message) -> str:
    for header, param in _NAME_PARAMS:
        value = part.get_param(param, header=header)
        if value:
            name = decode_param(value)
            if name:
                return name
    location = raw_header(part, "Content-Location")
    if location and "/" in location:
        return decode_text(location.rsplit("/", 1)[-1])
    return ""


def safe_filename(name: str, ctype: str, position: int) -> str:
    """The base name only: no directories, no control characters, never empty."""
    name = PureWindowsPath(PurePosixPath(name.replace("\x00", "")).name).name
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip().lstrip(".") or ""
    if not name:
        ext = mimetypes.guess_extension(ctype) or ".bin"
        name = f"attachment-{position}{ext}"
    return name[:255]


def _meta_charset(data: bytes, ctype: str) -> str | None:
    if ctype != "text/html":
        return None
    found = re.search(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_\-]+)", data[:4096], re.I)
    return found.group(1).decode("ascii") if found else None


def _message_id(raw: str | None) -> str | None:
    if not raw:
        return None
    text = charsets.recover(raw).strip()
    found = re.search(r"<[^<>\s]+>", text)
    token = found.group(0) if found else text.split()[0] if text.split() else ""
    return token[:998] or None


def _date(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        return convert_mail_date(charsets.recover(raw))[0]
    except (ValueError, TypeError, OverflowError):
        return None


def _arrival(received: list[str]) -> datetime | None:
    for header in received:  # topmost first: the hop into the receiving server
        stamp = header.rsplit(";", 1)[-1] if ";" in header else ""
        when = _date(stamp.strip())
        if when:
            return when
    return None
