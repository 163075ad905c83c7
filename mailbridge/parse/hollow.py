"""Long base64 runs (photos, documents) cut out of a raw mail before the stdlib parses it, and
decoded later straight from the raw bytes, in C (pybase64's SIMD decoder when it can).

The stdlib's feedparser walks a body line by line in Python (most of the parse time for a mail with
photos) and keeps it as line strings and then one joined string, several times the size of a 50 MB
attachment. `hollow` replaces each long run by a token; `mime` asks `decode`/`pieces` for a token's
bytes, and `unhollowed` puts runs back into a part that is re-serialised (an attached message).
"""
from __future__ import annotations

import binascii
import re
from collections.abc import Iterator

try:
    from pybase64 import b64decode as _simd_b64decode
except ImportError:  # an optional speed-up: without it the stdlib decodes, a little slower
    _simd_b64decode = None  # type: ignore[assignment]  # the optional-import idiom: mypy sees only the import

from mailbridge.parse import lenient

HOLLOW_FROM = 16 * 1024
TOKEN = "MAILBRIDGE-HOLLOWED-BASE64-"
SPILL_FROM = 8 * 1024 * 1024  # encoded size from which a file is decoded piece by piece
_PIECE = 1024 * 1024
# One character class repeated: the regex engine scans it without a per-line backtracking stack
# (a grouped `(?:line\n)+` costs about three times the message in memory). The minimum stays one
# base64 line: with {16384,} every shorter run was rescanned from each of its positions
# (quadratic: 200 small inline images took 38 s); runs are filtered by length in Python instead.
_BASE64_CHAR = rb"[A-Za-z0-9+/=\r\n]"
BASE64_RUN = re.compile(_BASE64_CHAR + rb"{76,}")
# The same runs, found three times faster: every byte of the class becomes "a" and every other "."
# (one C pass), then bytes.find jumps from run to run. It costs a copy of the mail, so big mails
# keep to the regex.
_BASE64_CLASS = bytes(0x61 if re.fullmatch(_BASE64_CHAR, bytes([i])) else 0x2E for i in range(256))
_TRANSLATE_UP_TO = 8 * 1024 * 1024


def hollow(raw: bytes) -> tuple[bytes, dict[str, tuple[int, int]]]:
    """Cut long base64 runs out of the raw mail before the stdlib parses it.

    The stdlib's feedparser walks a body line by line in Python (most of the parse time for a mail
    with photos) and keeps it as line strings and then one joined string, several times the size
    of a 50 MB attachment. A hollowed run is decoded later straight from `raw`, in C.
    """
    if len(raw) < HOLLOW_FROM:
        return raw, {}
    runs: dict[str, tuple[int, int]] = {}
    pieces: list[bytes] = []
    pos = 0
    for start, end in base64_runs(raw):
        if raw[start - 1 : start] != b"\n":  # the run began inside a header line: skip past it
            start = raw.index(b"\n", start) + 1
        while raw[start : start + 1] in (b"\r", b"\n"):  # and past the blank line
            start += 1
        if end - start < HOLLOW_FROM:
            continue
        token = f"{TOKEN}{len(runs)}"
        runs[token] = (start, end)
        pieces += [raw[pos:start], token.encode() + b"\r\n"]
        pos = end
    if not runs:
        return raw, {}
    pieces.append(raw[pos:])
    return b"".join(pieces), runs


def base64_runs(raw: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of each maximal run of `BASE64_RUN`, in order."""
    if len(raw) > _TRANSLATE_UP_TO:
        yield from (match.span() for match in BASE64_RUN.finditer(raw))
        return
    classes = raw.translate(_BASE64_CLASS)
    pos = 0
    while (start := classes.find(b"a" * 76, pos)) >= 0:  # a run cannot begin before `start`: the
        end = classes.find(b".", start)                    # byte before it is "." (or pos is 0)
        end = len(classes) if end < 0 else end
        yield start, end
        pos = end


def unbase64(raw: bytes, start: int, end: int) -> bytes:
    """`binascii.a2b_base64(raw[start:end])` for a run of base64 lines (`BASE64_RUN`), through
    pybase64's SIMD decoder (ten times faster) when any padding is at the end, as mail clients
    write it. Padding elsewhere, or anything pybase64 refuses, goes to binascii, so the bytes are
    always the ones the stdlib gives."""
    pad = raw.find(b"=", start, end)
    if _simd_b64decode is not None and (pad < 0 or not raw[pad:end].strip(b"=\r\n")):
        try:
            return _simd_b64decode(memoryview(raw)[start:end])  # line breaks skipped, as binascii does
        except ValueError:  # binascii.Error
            pass
    return binascii.a2b_base64(memoryview(raw)[start:end])  # skips the line breaks


def decode(raw: bytes, start: int, end: int, damaged: list[bool]) -> bytes:
    """`unbase64`, but broken base64 (cut off, a dangling character) decodes as far as it goes
    instead of failing the mail; `damaged` records that it happened."""
    try:
        return unbase64(raw, start, end)
    except ValueError:  # binascii.Error
        data, _ = lenient.b64decode(memoryview(raw)[start:end])
        damaged.append(True)
        return data


def pieces(raw: bytes, start: int, end: int, damaged: list[bool]) -> Iterator[bytes]:
    while start < end:
        cut = min(end, start + _PIECE)
        if cut < end:  # end each piece on a line break, so no base64 quantum is split
            cut = raw.find(b"\n", cut, end) + 1 or end
        yield decode(raw, start, cut, damaged)
        start = cut


def unhollowed(data: bytes, raw: bytes, runs: dict[str, tuple[int, int]]) -> bytes:
    """`data` with the base64 runs `hollow` cut out of the mail put back."""
    if not runs or TOKEN.encode() not in data:
        return data
    token = re.compile(re.escape(TOKEN.encode()) + rb"\d+")
    return token.sub(lambda m: raw[slice(*runs[m.group(0).decode()])].rstrip(b"\r\n"), data)
