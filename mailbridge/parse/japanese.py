"""ISO-2022-JP and EUC-JP as Japanese mail really uses them: with the NEC and IBM extensions.

Python's iso2022_jp and euc_jp follow JIS X 0208 strictly, so one NEC row-13 character (№, ①,
㈱, common in Japanese business mail written on Windows) makes the whole text undecodable. The WHATWG
Encoding Standard's decoders (what browsers, MimeKit and stalwart use) read JIS X 0208 through the
Windows-31J table instead. Here Python's strict JIS decoding is kept for every character it knows
(so 〜 stays U+301C), and only the characters it refuses are read through cp932.
"""
from __future__ import annotations

import re

# WHATWG iso-2022-jp decoder states: ESC ( B ASCII, ESC ( J JIS X 0201 Roman, ESC ( I half-width
# katakana, ESC $ @ / ESC $ B JIS X 0208.
_ESCAPE = re.compile(rb"(\x1b(?:\(B|\(J|\(I|\$@|\$B))")
_OTHER_ISO2022JP = ("iso2022_jp_ext", "iso2022_jp_2")  # SO/SI katakana; JIS X 0212, GB 2312, KS C 5601
_LINE_BREAK = re.compile(rb"(\r\n|\r|\n)")


def decode_iso2022jp(data: bytes) -> str | None:
    """ISO-2022-JP text, or None when it is not valid ISO-2022-JP even with the extensions."""
    try:
        return data.decode("iso2022_jp")
    except UnicodeDecodeError:
        pass
    text = _whatwg_iso2022jp(data)
    if text is not None:
        return text
    for codec in _OTHER_ISO2022JP:
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    return None


def decode_eucjp(data: bytes) -> str | None:
    """EUC-JP text (NEC/IBM extensions through cp932), or None when it is not EUC-JP."""
    try:
        return data.decode("euc_jp")
    except UnicodeDecodeError:
        pass
    out: list[str] = []
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b < 0x80:
            out.append(chr(b))
            i += 1
            continue
        width = 3 if b == 0x8F else 2
        chunk = data[i : i + width]
        try:
            out.append(chunk.decode("euc_jp"))
        except UnicodeDecodeError:
            if width != 2 or len(chunk) != 2 or not (0xA1 <= chunk[1] <= 0xFE):
                return None
            char = _jis_char(b - 0x80, chunk[1] - 0x80)
            if char is None:
                return None
            out.append(char)
        i += width
    return "".join(out)


def _whatwg_iso2022jp(data: bytes) -> str | None:
    out: list[str] = []
    mode = b"\x1b(B"
    for piece in _ESCAPE.split(data):
        if _ESCAPE.fullmatch(piece):
            mode = piece
            continue
        if b"\x1b" in piece or b"\x0e" in piece or b"\x0f" in piece or any(b >= 0x80 for b in piece):
            return None
        if mode == b"\x1b(B":
            out.append(piece.decode("ascii"))
        elif mode == b"\x1b(J":  # JIS X 0201 Roman: yen sign and overline
            out.append(piece.decode("ascii").replace("\\", "\u00a5").replace("~", "\u203e"))
        elif mode == b"\x1b(I":
            out.append("".join(chr(0xFF61 - 0x21 + b) if 0x21 <= b <= 0x5F else chr(b) for b in piece))
        else:
            text = _double_bytes(piece)
            if text is None:
                return None
            out.append(text)
    return "".join(out)


def _double_bytes(piece: bytes) -> str | None:
    """A run of JIS X 0208 pairs; line breaks inside it are kept (mailers that forget ESC ( B)."""
    out: list[str] = []
    for line in _LINE_BREAK.split(piece):
        if not line or line in (b"\r\n", b"\r", b"\n"):
            out.append(line.decode("ascii"))
            continue
        try:
            out.append((b"\x1b$B" + line + b"\x1b(B").decode("iso2022_jp"))
            continue
        except UnicodeDecodeError:
            pass
        if len(line) % 2:
            return None
        for k in range(0, len(line), 2):
            char = _jis_char(line[k], line[k + 1])
            if char is None:
                return None
            out.append(char)
    return "".join(out)


def _jis_char(j1: int, j2: int) -> str | None:
    """One JIS X 0208 code point (row/cell bytes 0x21-0x7E): strict JIS, else Windows-31J."""
    if not (0x21 <= j1 <= 0x7E and 0x21 <= j2 <= 0x7E):
        return None
    try:
        return bytes((0x1B, 0x24, 0x42, j1, j2, 0x1B, 0x28, 0x42)).decode("iso2022_jp")
    except UnicodeDecodeError:
        pass
    s1 = (j1 + 1) // 2 + (0x70 if j1 <= 0x5E else 0xB0)
    s2 = j2 + (0x7E if j1 % 2 == 0 else 0x1F if j2 <= 0x5F else 0x20)
    try:
        return bytes((s1, s2)).decode("cp932")
    except UnicodeDecodeError:
        return None
