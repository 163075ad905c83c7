"""Header decoding that survives what 163, QQ, Foxmail and Outlook really send."""
from __future__ import annotations

import base64
import binascii
import re
from email.message import Message
from email.utils import getaddresses

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
    `399Ԫ` under the stdlib's policy.default, with no defect recorded).
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
        data = _word_bytes(match.group(2), match.group(3))
        if between.strip() or pending is None or pending[0] != label.lower():
            if pending:
                out.append(charsets.decode(bytes(pending[1]), pending[0]))
                pending = None
            if between.strip() or out:
                out.append(charsets.recover(between) if between.strip() else between)
            pending = (label.lower(), bytearray(data))
        else:
            pending[1].extend(data)  # whitespace between adjacent words is dropped (RFC 2047 §6.2)
        pos = match.end()
    if pending:
        out.append(charsets.decode(bytes(pending[1]), pending[0]))
    out.append(charsets.recover(text[pos:]))
    return _clean("".join(out))


def _word_bytes(encoding: str, payload: str) -> bytes:
    if encoding in "Bb":
        compact = re.sub(r"[^A-Za-z0-9+/]", "", payload)
        compact += "=" * (-len(compact) % 4)
        try:
            return base64.b64decode(compact)
        except (binascii.Error, ValueError):
            return payload.encode("ascii", "replace")
    raw = payload.replace("_", " ").encode("latin-1", errors="surrogateescape")
    return re.sub(rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)


def _clean(text: str) -> str:
    text = "".join(ch if ch >= " " or ch == "\t" else " " for ch in text)
    return re.sub(r"\s+", " ", text).strip()


def decode_address(raw: str | None) -> tuple[str, str]:
    """(display name, lower-case address) of the first mailbox in an address header."""
    if not raw:
        return "", ""
    unfolded = _FOLD.sub(" ", raw)
    # Encoded-words are split out of the way first, so a decoded name with a comma or an angle
    # bracket cannot confuse the address parser.
    pairs = getaddresses([unfolded])
    for name, addr in pairs:
        if addr or name:
            address = charsets.recover(addr).strip().strip("<>").lower()
            if "@" not in address:
                address = _fallback_address(unfolded) or address
            return decode_text(name.strip('"')), address
    return "", _fallback_address(unfolded) or ""


def _fallback_address(text: str) -> str | None:
    found = re.search(r"[\w.+\-=]+@[\w\-]+(?:\.[\w\-]+)+", charsets.recover(text))
    return found.group(0).lower() if found else None


def decode_param(value: object) -> str:
    """A MIME parameter (filename, name, charset) from compat32: RFC 2231, encoded-word or raw."""
    if value is None:
        return ""
    if isinstance(value, tuple):  # RFC 2231: (charset, language, %-decoded latin-1 text)
        label, _lang, text = value
        data = str(text).encode("latin-1", errors="surrogateescape")
        return _clean(charsets.decode(data, label or None))
    text = str(value)
    if "=?" in text:
        return decode_text(text)
    return _clean(charsets.recover(text))
