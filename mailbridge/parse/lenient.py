"""Broken MIME read the way the best parsers read it, where the stdlib gives up or loses data.

- One malformed line in a header block (a stray `\\tby host` line, `Fro :x`) makes the stdlib end
  the headers there: Subject, From and Content-Type after it are lost. Stalwart, MimeKit and
  Dovecot skip the line and read on.
- `Content-Type: multipart/mixed boundary="b"` (no `;`, Dovecot's test mails; seen from old
  mailers) is text/plain to the stdlib, so every part is lost.
- base64 with a dangling character or cut off mid-quantum: the stdlib keeps the base64 text as
  the file's bytes. Here the complete quanta are decoded and the part is flagged.
- An attached message/rfc822 exists in the stdlib's tree only as a parsed copy; its bytes are
  taken from the raw mail instead.
"""
from __future__ import annotations

import binascii
import re
from collections.abc import Callable
from email.errors import MissingHeaderBodySeparatorDefect
from email.message import Message

from mailbridge.parse import charsets

# A header field line as the stdlib's feedparser recognises one (`email.feedparser.headerRE`),
# a continuation line, and the obsolete form with white space before the colon (RFC 5322 §4.5.3).
_FIELD = re.compile(rb"(From |[\041-\071\073-\176]*:)")
_OBS_FIELD = re.compile(rb"([\041-\071\073-\176]+)[ \t]+:")
_BLANK = re.compile(rb"\r?\n\r?\n|\A\r?\n")
_CONTENT_TYPE = re.compile(rb"(?im)^(Content-Type[ \t]*:[ \t]*[\041-\176]+/[^\s;]+)(\s+)(?=[A-Za-z][\w\-]*\*?\s*=)")
_NO_SEMICOLON = re.compile(r"\s*[\041-\176]+/[^\s;]+\s+[A-Za-z][\w\-]*\*?\s*=")
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")
_MAX_HEADER_BLOCK = 1024 * 1024  # a header block longer than this is left as it is


def repair_header_block(data: bytes) -> bytes | None:
    """`data` (a message or part: headers, blank line, body) with its header block repaired, or
    None when there was nothing to repair.

    A line that is neither a field nor a continuation is dropped when a field follows it in the
    same block; with no field after it, it is where the body starts (a missing blank line), as
    the stdlib reads it. `Name :` becomes `Name:`; `type/subtype param=` gets its `;`.
    """
    end = _BLANK.search(data, 0, _MAX_HEADER_BLOCK)
    if end is None:
        return None  # no header/body separator: no telling header lines from body lines
    block = data[: end.start()]
    lines = block.splitlines(keepends=True)
    fields = [i for i, line in enumerate(lines) if _FIELD.match(line) or _OBS_FIELD.match(line)]
    last_field = fields[-1] if fields else -1
    out: list[bytes] = []
    changed = False
    for i, line in enumerate(lines):
        if _FIELD.match(line) or (out and line.startswith((b" ", b"\t"))):
            out.append(line)
        elif obs := _OBS_FIELD.match(line):
            out.append(obs.group(1) + b":" + line[obs.end() :])
            changed = True
        elif i < last_field:
            changed = True  # a stray line between fields: skipped
        else:
            out.extend(lines[i:])  # the body begins here (the stdlib's MissingHeaderBodySeparatorDefect)
            break
    fixed_block, semicolons = _CONTENT_TYPE.subn(rb"\1;\2", b"".join(out))
    if not changed and not semicolons:
        return None
    return fixed_block + data[end.start() :]


def repair_tree(msg: Message, parse_bytes: Callable[[bytes], Message]) -> None:
    """Re-read, in place, every part whose header block the stdlib cut short or whose multipart
    Content-Type lacked its `;`. (The top-level header block is repaired before parsing.)"""
    stack = [msg]
    while stack:
        part = stack.pop()
        if part.get_content_type() == "message/rfc822":
            continue  # an attached message is a file, kept byte-exact
        payload = part.get_payload()
        if not isinstance(payload, list):
            continue
        for i, child in enumerate(payload):
            fixed = _reparsed(child, parse_bytes)
            if fixed is not None:
                payload[i] = child = fixed
            stack.append(child)


def _reparsed(part: Message, parse_bytes: Callable[[bytes], Message]) -> Message | None:
    body = part.get_payload()
    if not isinstance(body, str):
        return None
    cut_short = any(isinstance(d, MissingHeaderBodySeparatorDefect) for d in part.defects)
    ctype = next((v for k, v in part.raw_items() if k.lower() == "content-type"), None)
    no_semicolon = isinstance(ctype, str) and _NO_SEMICOLON.match(ctype) is not None
    if not (cut_short or no_semicolon):
        return None
    head = "".join(f"{name}: {value}\n" for name, value in part.raw_items())
    data = (head + ("" if cut_short else "\n") + body).encode("ascii", "surrogateescape")
    fixed = repair_header_block(data)
    return parse_bytes(fixed) if fixed is not None else None


def b64decode(data: bytes | memoryview) -> tuple[bytes, bool]:
    """(decoded bytes, damaged). Valid base64 decodes exactly as binascii does; otherwise the
    characters outside the alphabet are skipped, a dangling last character (a quantum of one,
    which holds no whole byte) is dropped and missing padding is supplied."""
    try:
        return binascii.a2b_base64(data), False
    except binascii.Error:
        pass
    compact = _NOT_BASE64.sub(b"", bytes(data))
    if len(compact) % 4 == 1:
        compact = compact[:-1]
    return binascii.a2b_base64(compact + b"=" * (-len(compact) % 4)), True


def attached_message(part: Message, parent: Message | None, index: int, raw: bytes,
                     parsed_copy: Callable[[Message], bytes]) -> bytes:
    """The bytes of an attached message exactly as sent: the body of part `index` between the
    parent's boundary lines in the raw mail. The stdlib only keeps a parsed copy, and its
    re-serialisation changes line ends and header folding (and invents a body for text that is
    no message). Falls back to that copy when the boundaries cannot be found unambiguously."""
    inner = part.get_payload(0) if isinstance(part.get_payload(), list) else None
    fallback = parsed_copy(inner) if isinstance(inner, Message) else b""
    boundary = parent.get_boundary() if parent is not None else None
    siblings = parent.get_payload() if parent is not None else None
    if not boundary or not isinstance(siblings, list):
        return fallback
    line = re.compile(rb"^--" + re.escape(boundary.encode("ascii", "surrogateescape")) + rb"(--)?[ \t]*\r?$", re.MULTILINE)
    delimiters = list(line.finditer(raw))
    if len(delimiters) != len(siblings) + 1 or delimiters[-1].group(1) is None:
        return fallback
    start, end = delimiters[index].end() + 1, delimiters[index + 1].start()
    segment = raw[start:end]
    segment = segment[:-2] if segment.endswith(b"\r\n") else segment[:-1] if segment.endswith(b"\n") else segment
    head = re.search(rb"\r?\n\r?\n|\A\r?\n", segment)
    if head is None:
        return fallback
    body = segment[head.end() :]
    cte = charsets.recover(str(part.get("Content-Transfer-Encoding", ""))).strip().lower()
    if cte == "base64":
        return b64decode(body)[0]
    if cte == "quoted-printable":
        return binascii.a2b_qp(body)
    return body
