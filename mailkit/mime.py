"""Headers and bodies by hand: encoded-words, parameters, transfer encodings, entities, multiparts.

Everything returns CRLF line ends; a generator that wants Maildir's LF converts the whole message.
"""
from __future__ import annotations

import base64
import datetime as dt
import email.utils
import html
import re

CRLF = b"\r\n"
CST = dt.timezone(dt.timedelta(hours=8), "CST")
DOCX_CT = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# RFC 2047 §4.2 lets these stand for themselves in a Q word; Outlook keeps them (and writes '_' for space).
Q_SAFE = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-!*+/"
ALNUM = Q_SAFE[:62]


# --- header values -------------------------------------------------------------------------

def date_header(when: dt.datetime, *, cst: bool = False, pad: bool = True) -> str:
    """An RFC 5322 date; Coremail appends ' (CST)', most clients write the day unpadded ('1 Sep')."""
    text = email.utils.format_datetime(when)
    if not pad:
        text = re.sub(r"^(\w+, )0", r"\1", text)
    return text + (" (CST)" if cst else "")


def codec_of(charset: str) -> str:
    """The codec behind a label: clients label GBK bytes 'gb2312' (FIELD-NOTES: mislabelled charsets)."""
    return "gbk" if charset.lower() in ("gb2312", "gbk") else charset.lower()


def q_encode(data: bytes, safe: bytes = Q_SAFE) -> str:
    """RFC 2047 Q encoding: bytes in `safe` kept, space as '_', everything else =XX."""
    return "".join(chr(c) if c in safe else "_" if c == 0x20 else f"={c:02X}" for c in data)


def word(data: bytes | str, charset: str, mode: str = "B", codec: str | None = None,
         safe: bytes = Q_SAFE) -> str:
    """One encoded-word; str is encoded with `codec` (default: the label's codec)."""
    raw = data if isinstance(data, bytes) else data.encode(codec or codec_of(charset))
    payload = base64.b64encode(raw).decode() if mode == "B" else q_encode(raw, safe)
    return f"=?{charset}?{mode}?{payload}?="


def words(text: str, charset: str, *, max_bytes: int | None = None, max_len: int | None = None,
          mode: str = "B", codec: str | None = None, safe: bytes = Q_SAFE) -> list[str]:
    """Encoded-words cut at character boundaries (RFC 2047 §5: never inside a character), each holding
    at most `max_bytes` bytes of text or at most `max_len` characters of encoded payload."""
    codec = codec or codec_of(charset)

    def payload(chunk: str) -> str:
        return word(chunk, charset, mode, codec, safe)[len(charset) + 5:-2]

    def fits(chunk: str) -> bool:
        if max_bytes is not None:
            return len(chunk.encode(codec)) <= max_bytes
        return max_len is None or len(payload(chunk)) <= max_len

    out, chunk = [], ""
    for ch in text:
        if chunk and not fits(chunk + ch):
            out.append(word(chunk, charset, mode, codec, safe))
            chunk = ""
        chunk += ch
    return out + [word(chunk, charset, mode, codec, safe)] if chunk else out


def split_word_pair(text: str, char: str, charset: str, cut: int) -> list[str]:
    """Two encoded-words that cut `char` after `cut` of its bytes (FIELD-NOTES: split characters)."""
    raw = text.encode(charset)
    at = raw.index(char.encode(charset)) + cut
    return [word(raw[:at], charset), word(raw[at:], charset)]


def pct(text: str) -> str:
    """RFC 2231 percent-encoding of UTF-8 text."""
    return "".join(chr(b) if b < 128 and (chr(b).isalnum() or chr(b) in "-.") else f"%{b:02X}"
                   for b in text.encode())


# --- bodies ----------------------------------------------------------------------------------

def b64(data: bytes) -> bytes:
    """base64 in 76-character lines (RFC 2045 §6.8), CRLF between them, none after the last."""
    return base64.encodebytes(data).rstrip(b"\n").replace(b"\n", CRLF)


def qp_binary(data: bytes, width: int = 76) -> bytes:
    """Quoted-printable that is safe for binary: CR, LF, NUL, '=' and space are all escaped."""
    lines, line = [], b""
    for c in data:
        tok = bytes([c]) if 33 <= c <= 126 and c != 61 else b"=%02X" % c
        if len(line) + len(tok) > width - 1:
            lines.append(line + b"=")
            line = b""
        line += tok
    return CRLF.join(lines + [line])


def qp_text(text: str, charset: str) -> bytes:
    """Quoted-printable of text with real line breaks kept (Outlook's HTML parts)."""
    return CRLF.join(qp_binary(line.encode(charset)) for line in text.split("\n"))


def html_body(lines: list[str], extra: str = "", *, empty: str = "", escape: bool = True) -> str:
    """The HTML part webmail writes beside the text part: one <p> a line (`empty` for a blank one).
    escape=False copies the text as is, as some webmail does with a quoted `"name" <addr>`."""
    paras = "".join(f'<p style="margin:0;">{(html.escape(line) if escape else line) or empty}</p>'
                    for line in lines)
    return ('<div style="line-height:1.7;color:#000000;font-size:14px;font-family:Arial">'
            f"{paras}{extra}</div>")


# --- entities --------------------------------------------------------------------------------

def head(*lines: str | bytes) -> bytes:
    """Header block. str lines may hold '\\n' for folding; bytes lines are raw 8-bit."""
    out = b""
    for line in lines:
        raw = line if isinstance(line, bytes) else line.encode("ascii")
        out += raw.replace(b"\r\n", b"\n").replace(b"\n", CRLF) + CRLF
    return out


def entity(headers: list[str | bytes], body: bytes) -> bytes:
    """Header lines, the empty line, the body."""
    return head(*headers) + CRLF + body


def multipart(boundary: str, parts: list[bytes], *, preamble: bytes | None = None,
              close: bool = True) -> bytes:
    """A multipart body (RFC 2046 §5.1.1); preamble b"" still writes the empty line some clients do."""
    out = preamble + CRLF if preamble is not None else b""
    for part in parts:
        out += b"--" + boundary.encode() + CRLF + part + CRLF
    if close:
        out += b"--" + boundary.encode() + b"--" + CRLF
    return out
