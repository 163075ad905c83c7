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
from pathlib import PurePosixPath, PureWindowsPath

from mailparser.utils import convert_mail_date

from mailbridge.parse import charsets, classify
from mailbridge.parse.documents import is_document
from mailbridge.parse.headers import decode_address, decode_param, decode_text, raw_header, raw_headers
from mailbridge.parse.html import LargeLink, large_links, normalise, to_text

_IMAGE_EXT = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".heic", ".heif", ".tif", ".tiff"}


@dataclass
class Part:
    """One file that came with the mail."""

    filename: str
    content_type: str
    data: bytes | None  # None when over the size limit: kept only inside the archived raw mail
    size: int
    sha256: str
    inline: bool = False
    content_id: str | None = None

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
    in_reply_to: str | None = None
    references: str | None = None
    defects: list[str] = field(default_factory=list)


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID, read from the header block only (cheap; used before a full parse)."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    msg = email.message_from_bytes(head + b"\n\n")
    return _message_id(raw_header(msg, "Message-ID"))


def content_hash(raw: bytes, message_id: str | None) -> str:
    """Message-ID plus the body bytes: equal for one message delivered twice (Received differs)."""
    match = re.search(rb"\r?\n\r?\n", raw)
    body = raw[match.end():] if match else b""
    return hashlib.sha256((message_id or "").encode() + b"\0" + body).hexdigest()


def parse(raw: bytes, max_attachment: int) -> ParsedMail:
    msg = email.message_from_bytes(raw)
    subject = decode_text(raw_header(msg, "Subject"))
    sender_name, sender = decode_address(raw_header(msg, "From"))
    if not sender:
        sender_name2, sender = decode_address(raw_header(msg, "Sender") or raw_header(msg, "Return-Path"))
        sender_name = sender_name or sender_name2
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
    )
    mail.auto_reply = classify.auto_reply_reason(msg, subject)
    mail.bounce = classify.bounce_reason(msg, sender, subject)
    plain: list[str] = []
    html: list[str] = []
    for part in _leaves(msg, mail.defects):
        _take(part, mail, plain, html, max_attachment)
    mail.html = "\n".join(html)
    mail.text = normalise("\n\n".join(plain)) if any(p.strip() for p in plain) else to_text(mail.html)
    mail.links = large_links(mail.html) if mail.html else []
    for part in msg.walk():
        mail.defects.extend(type(d).__name__ for d in part.defects)
    return mail


def _leaves(msg: Message, defects: list[str]):  # type: ignore[no-untyped-def]
    """Leaf parts in order; an attached message/rfc822 is a file, not a subtree."""
    stack = [msg]
    while stack:
        part = stack.pop(0)
        if part.get_content_type() == "message/rfc822" and part is not msg:
            yield part
            continue
        payload = part.get_payload()
        if part.is_multipart() and isinstance(payload, list):
            stack[0:0] = payload
        else:
            yield part


def _take(part: Message, mail: ParsedMail, plain: list[str], html: list[str], max_attachment: int) -> None:
    ctype = part.get_content_type()
    disposition = (part.get_content_disposition() or "").lower()
    filename = _filename(part)
    is_body_text = ctype in ("text/plain", "text/html") and not filename and disposition != "attachment"
    if is_body_text:
        data = part.get_payload(decode=True) or b""
        text = charsets.decode(data, part.get_content_charset() or _meta_charset(data, ctype))
        (plain if ctype == "text/plain" else html).append(text)
        return
    if ctype == "message/rfc822":
        inner = part.get_payload(0) if isinstance(part.get_payload(), list) else None
        data = inner.as_bytes() if inner is not None else b""
        name = filename or (decode_text(raw_header(inner, "Subject")) if inner is not None else "") or "message"
        filename = name if name.lower().endswith(".eml") else f"{name}.eml"
    elif ctype.startswith("multipart/"):
        return  # a multipart with a broken body: its text is in the defects, nothing to keep
    else:
        data = part.get_payload(decode=True) or b""
    if not data and not filename:
        return
    position = len(mail.parts) + 1
    cid = (raw_header(part, "Content-ID") or "").strip().strip("<>") or None
    mail.parts.append(
        Part(
            filename=safe_filename(filename, ctype, position),
            content_type=ctype,
            data=data if len(data) <= max_attachment else None,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            inline=disposition == "inline" or (cid is not None and disposition != "attachment"),
            content_id=cid,
        )
    )


def _filename(part: Message) -> str:
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
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
