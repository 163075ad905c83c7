"""Byte-level helpers for make_samples.py: encoded-words, MIME assembly and small real files.

Everything here writes bytes by hand on purpose: the samples must carry the quirks of the clients
that sent them (FIELD-NOTES.md), which Python's email package would "fix" when re-encoding.
"""
from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import io
import struct
import zipfile
import zlib

CRLF = b"\r\n"
CST = dt.timezone(dt.timedelta(hours=8))
DOCX_CT = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ZIP_DATE = (2026, 11, 20, 9, 30, 0)  # fixed member timestamps keep the .docx bytes reproducible

# A 48x32 baseline JPEG (sky, field, red banner) made once with cjpeg from a generated PPM.
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAA0JCgsKCA0LCgsODg0PEyAVExISEyccHhcgLikxMC4p"
    "LSwzOko+MzZGNywtQFdBRkxOUlNSMj5aYVpQYEpRUk//2wBDAQ4ODhMREyYVFSZPNS01T09PT09P"
    "T09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT0//wAARCAAgADADASIA"
    "AhEBAxEB/8QAGQABAQEAAwAAAAAAAAAAAAAABAEFAAMG/8QALhAAAAQDBwAKAwAAAAAAAAAAAAEC"
    "EgMEEQUUFVNikqEWITFRZKKjwdHhIlRh/8QAGQEAAgMBAAAAAAAAAAAAAAAABAUAAQID/8QAJhEA"
    "AQMDAwIHAAAAAAAAAAAAAQACAxETUgQjkQXwQVFTYYGC8f/aAAwDAQACEQMRAD8A1yIGjWhKQIpw"
    "osVq09pNM/YMIhmTli3uaXHvDHU6mVpQqd4YTOkDdsVKH0ggc8idxAp4efBXbi0hn+RXwLi9n/se"
    "RXwBdHPF+n9i9HPF+n9gW5q8R38pmIum+oe/qtGBaMnMRkwoMZy1dhNMvYMIhlSNiXSbRHvD2V/F"
    "lK1Iy7/6NgiHeJ0hbuChQmoELXgQmo9/wLzGKzWarYkXFprNVsSBP0civ0chNekyPKUiqZi01mq2"
    "JFxabzVbEgb9HI4/RyJekyPK0CU3F5vNVsSLi83mq2JAn6ORX6ORV6TI8rYJX//Z"
)


# --- headers -----------------------------------------------------------------------------

def date(day: int, hh: int, mm: int, ss: int = 0, *, cst_suffix: bool = False) -> str:
    """RFC 5322 date in November 2026, China time (Coremail appends ' (CST)')."""
    text = email.utils.format_datetime(dt.datetime(2026, 11, day, hh, mm, ss, tzinfo=CST))
    return text + (" (CST)" if cst_suffix else "")


def q_encode(data: bytes) -> str:
    """RFC 2047 Q encoding the way Outlook writes it: '.' kept, space as '_'."""
    safe = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-!*+/"
    return "".join(chr(c) if c in safe else "_" if c == 0x20 else f"={c:02X}" for c in data)


def word(data: bytes | str, charset: str, mode: str = "B", codec: str | None = None) -> str:
    """One encoded-word; str is encoded with `codec` (default: the label itself)."""
    raw = data if isinstance(data, bytes) else data.encode(codec or charset)
    payload = base64.b64encode(raw).decode() if mode == "B" else q_encode(raw)
    return f"=?{charset}?{mode}?{payload}?="


def words(text: str, charset: str, max_bytes: int, mode: str = "B", codec: str | None = None) -> list[str]:
    """Encoded-words cut at character boundaries, each holding at most max_bytes."""
    out, chunk = [], ""
    for ch in text:
        if chunk and len((chunk + ch).encode(codec or charset)) > max_bytes:
            out.append(word(chunk, charset, mode, codec))
            chunk = ""
        chunk += ch
    return out + [word(chunk, charset, mode, codec)] if chunk else out


def split_word_pair(text: str, char: str, charset: str, cut: int) -> list[str]:
    """Two encoded-words that cut `char` after `cut` of its bytes (FIELD-NOTES: split characters)."""
    raw = text.encode(charset)
    at = raw.index(char.encode(charset)) + cut
    return [word(raw[:at], charset), word(raw[at:], charset)]


def pct(text: str) -> str:
    """RFC 2231 percent-encoding of UTF-8 text."""
    return "".join(chr(b) if b < 128 and (chr(b).isalnum() or chr(b) in "-.") else f"%{b:02X}" for b in text.encode())


# --- bodies and entities -------------------------------------------------------------------

def b64(data: bytes, width: int = 76) -> bytes:
    text = base64.b64encode(data)
    return CRLF.join(text[i:i + width] for i in range(0, len(text), width))


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


def head(*lines: str | bytes) -> bytes:
    """Header block. str lines may hold '\\n' for folding; bytes lines are raw 8-bit."""
    out = b""
    for line in lines:
        raw = line if isinstance(line, bytes) else line.encode("ascii")
        out += raw.replace(b"\r\n", b"\n").replace(b"\n", CRLF) + CRLF
    return out


def entity(headers: list[str | bytes], body: bytes) -> bytes:
    return head(*headers) + CRLF + body


def multipart(boundary: str, parts: list[bytes], *, preamble: bytes | None = None, close: bool = True) -> bytes:
    out = preamble + CRLF if preamble is not None else b""
    for part in parts:
        out += b"--" + boundary.encode() + CRLF + part + CRLF
    if close:
        out += b"--" + boundary.encode() + b"--" + CRLF
    return out


def expect(filename: str | None, data: bytes, **extra: object) -> dict:
    """An expected attachment record: what the CLI must report for a file that came with the mail."""
    rec = {"filename": filename} if filename is not None else {}
    rec.update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    rec.update(extra)
    return rec


# --- files ---------------------------------------------------------------------------------

def rezip(data: bytes, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None) -> bytes:
    """Rewrite a zip with fixed timestamps (python-docx stamps the current time otherwise)."""
    replace, add = replace or {}, add or {}
    src, buf = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    members = [(i.filename, replace.get(i.filename) or src.read(i.filename)) for i in src.infolist()]
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for name, body in members + list(add.items()):
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(info, body)
    return buf.getvalue()


def docx(title: str, paragraphs: list[str], *, table: list[tuple[str, ...]] | None = None,
         author: str = "信息员", leading_blank: bool = False) -> bytes:
    """A real .docx: a bold centred title line, body paragraphs, optionally one table."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    doc = Document()
    props = doc.core_properties
    props.author = props.last_modified_by = author
    props.created = props.modified = dt.datetime(2026, 11, 20, 9, 0, 0)
    props.title = ""
    if leading_blank:
        doc.add_paragraph("")
    head_p = doc.add_paragraph()
    head_p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = head_p.add_run(title)
    run.bold, run.font.size = True, Pt(18)
    for text in paragraphs:
        doc.add_paragraph(text).paragraph_format.first_line_indent = Pt(24)
    if table:
        grid = doc.add_table(rows=len(table), cols=len(table[0]))
        grid.style = "Table Grid"
        for r, row in enumerate(table):
            for c, cell in enumerate(row):
                grid.cell(r, c).text = cell
    buf = io.BytesIO()
    doc.save(buf)
    return rezip(buf.getvalue())


def docm(plain_docx: bytes, *, keep_docx_name: bool = False) -> bytes:
    """Turn a .docx into a macro-enabled document: vbaProject.bin part, relation and content type."""
    src = zipfile.ZipFile(io.BytesIO(plain_docx))
    types = src.read("[Content_Types].xml").decode().replace(
        DOCX_CT + ".main+xml", "application/vnd.ms-word.document.macroEnabled.main+xml").replace(
        "<Default Extension=\"xml\"",
        "<Default Extension=\"bin\" ContentType=\"application/vnd.ms-office.vbaProject\"/><Default Extension=\"xml\"")
    rels = src.read("word/_rels/document.xml.rels").decode().replace(
        "</Relationships>",
        '<Relationship Id="rIdVba1" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject"'
        ' Target="vbaProject.bin"/></Relationships>')
    # An OLE2 header and a VBA source fragment: enough for any detector, harmless to run.
    vba = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + b"Attribute VB_Name = \"ThisDocument\"\r\nSub AutoOpen()\r\nEnd Sub\r\n"
    return rezip(plain_docx, replace={"[Content_Types].xml": types.encode(),
                                      "word/_rels/document.xml.rels": rels.encode()},
                 add={"word/vbaProject.bin": vba})


def zip_bomb_docx(expanded: int = 1100 << 20) -> bytes:
    """A .docx whose word/document.xml inflates to `expanded` bytes of zeros (~1 MB compressed)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, body in [("[Content_Types].xml",
                            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                            b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                            b'<Override PartName="/word/document.xml" ContentType="' + DOCX_CT.encode() + b'.main+xml"/></Types>'),
                           ("_rels/.rels",
                            (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                            b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'))]:
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, body)
        info = zipfile.ZipInfo("word/document.xml", ZIP_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as member:
            chunk = bytes(1 << 20)
            for _ in range(expanded >> 20):
                member.write(chunk)
    return buf.getvalue()


def png(width: int = 40, height: int = 30) -> bytes:
    """A small valid PNG photo stand-in (no PIL needed): a blue-to-green gradient."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"".join(bytes((30 + 4 * x, 90 + 5 * y, 200 - 3 * y)) for x in range(width))
                    for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def pdf(lines: list[str]) -> bytes:
    """A one-page PDF with Chinese text in the Adobe-GB1 STSong-Light font (no font embedded)."""
    ops = ["BT", "/F1 16 Tf", "72 760 Td", "22 TL"] + [f"<{s.encode('utf-16-be').hex().upper()}> Tj T*" for s in lines] + ["ET"]
    stream = "\n".join(ops).encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H /DescendantFonts [6 0 R] >>",
        (b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light"
        b" /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> /FontDescriptor 7 0 R >>"),
        (b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880]"
        b" /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>"),
    ]
    out, offsets = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)


def legacy_doc(text: str) -> bytes:
    """Bytes that look like a Word 97 .doc (OLE2 signature, GBK text); not a parseable document."""
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(24) + b"\x3e\x00\x03\x00\xfe\xff\x09\x00" + bytes(472) + text.encode("gbk")
