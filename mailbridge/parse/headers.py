"""Header decoding that survives what 163, QQ, Foxmail and Outlook really send."""
from __future__ import annotations

import base64
import binascii
import re
from email.message import Message

from mailbridge.parse import charsets

# RFC 2047 encoded-word; matched anywhere, also inside quotes (QQ writes From: "=?gb18030?B?..?=").
_WORD = re.compile(r"=\?([^?\s]+?)\?([BbQq])\?([^?]*?)\?=")
_FOLD = re.compile(r"\r?\n[ \t]")


def raw_header(msg: Message, name: str) -> str | None:
    """The header's raw value (8-bit bytes kept as surrogates), never a compat32 Header object."""
    lname = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == lname:
            return value if isinstance(value, str) else str(value)
    return None


def raw_headers(msg: Message, name: str) -> list[str]:
    lname = name.lower()
    return [v if isinstance(v, str) else str(v) for k, v in msg.raw_items() if k.lower() == lname]


def decode_text(raw: str | None) -> str:
    """Decode an unstructured header value to clean Unicode.

    Adjacent encoded-words in the same charset are joined as bytes before decoding, because
    Foxmail and Outlook split one Chinese character across two words (`399元` would turn into
    `399Ԫ` under the stdlib's policy.default, with no defect recorded). White space between two
    encoded-words is dropped whatever their charsets (RFC 2047 §6.2).
    """
    if not raw:
        return ""
    text = _FOLD.sub(" ", raw)
    out: list[str] = []
    pending: tuple[str, bytearray] | None = None
    pos = 0
    for match in _WORD.finditer(text):
        between = text[pos : match.start()]
        label = match.group(1).split("*", 1)[0]  # RFC 2231 language suffix: =?utf-8*zh?
        key = charsets.codec_for(label) or label.lower()  # gb2312 + gbk halves of one character
        data = _word_bytes(match.group(2), match.group(3))
        gap = between.strip(" \t")  # RFC 2047 linear white space: ASCII only, U+3000 is text
        if gap or pending is None or pending[0] != key:
            if pending:
                out.append(charsets.decode(bytes(pending[1]), pending[0]))
                pending = None
            if gap or not out:
                out.append(charsets.recover(between))
            pending = (key, bytearray(data))
        else:
            pending[1].extend(data)
        pos = match.end()
    if pending:
        out.append(charsets.decode(bytes(pending[1]), pending[0]))
    out.append(charsets.recover(text[pos:]))
    return clean("".join(out))


def _word_bytes(encoding: str, payload: str) -> bytes:
    if encoding in "Bb":
        compact = re.sub(r"[^A-Za-z0-9+/]", "", payload)
        compact = compact[: len(compact) - len(compact) % 4] if len(compact) % 4 == 1 else compact
        compact += "=" * (-len(compact) % 4)
        try:
            return base64.b64decode(compact)
        except (binascii.Error, ValueError):
            return payload.encode("ascii", "replace")
    raw = payload.replace("_", " ").encode("latin-1", errors="surrogateescape")
    return re.sub(rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)


# Control characters and the Unicode line/paragraph separators (NEL, U+2028, U+2029) become a space;
# runs of ASCII white space become one. Other white space is text: U+3000 (the ideographic space
# of Chinese and Japanese titles) and U+00A0 are kept (CONTRACT.md: fully decoded Unicode).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_ASCII_SPACE = re.compile(r"[ \t]+")


def clean(text: str) -> str:
    """Header text on one line: no control characters, ASCII white space runs collapsed."""
    return _ASCII_SPACE.sub(" ", _CONTROL.sub(" ", text)).strip(" ")


def decode_address(raw: str | None) -> tuple[str, str]:
    """(display name, lower-case address) of an address header holding exactly one mailbox;
    the address is "" when it does not (see `addresses.parse_mailbox`)."""
    from mailbridge.parse.addresses import parse_mailbox  # it decodes names with decode_text

    found = parse_mailbox(raw)
    return found.name, found.address


def blank_encoded_words(text: str) -> str:
    """`text` with every encoded-word replaced by a space."""
    return _WORD.sub(" ", text)


def decode_param(value: object) -> str:
    """A MIME parameter (filename, name, charset) from compat32: RFC 2231, encoded-word or raw."""
    if value is None:
        return ""
    if isinstance(value, tuple):  # RFC 2231: (charset, language, %-decoded latin-1 text)
        label, _lang, text = value
        data = str(text).encode("latin-1", errors="surrogateescape")
        return clean(charsets.decode(data, label or None))
    text = str(value)
    if "=?" in text:
        return decode_text(text)
    return clean(charsets.recover(text))
