"""Real attachment files: .docx/.docm (python-docx, reproducible), a zip bomb, PDF, .doc, .xlsx."""
from __future__ import annotations

import datetime as dt
import io
import zipfile

from mailkit.mime import DOCX_CT

ZipDate = tuple[int, int, int, int, int, int]


def pin_zip(data: bytes, when: ZipDate, replace: dict[str, bytes] | None = None,
            add: dict[str, bytes] | None = None) -> bytes:
    """Rewrite a zip with every member stamped `when` (python-docx stamps the current time, so the
    same document would differ byte for byte from one run to the next); optionally swap or add members."""
    replace, add = replace or {}, add or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        members = [(i.filename, replace.get(i.filename) or src.read(i.filename)) for i in src.infolist()]
        for name, body in members + list(add.items()):
            info = zipfile.ZipInfo(name, when)
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, body)
    return out.getvalue()


class Doc:
    """A Word document the way units write one, a paragraph or table at a time."""

    def __init__(self) -> None:
        import docx  # python-docx: the test extra has it; the wheel's users do not need it here

        self.document = docx.Document()

    def para(self, text: str = "", *, indent: float | None = None, size: float | None = None,
             bold: bool | None = None, centre: bool = False, font: str | None = None,
             style: str | None = None) -> None:
        """One paragraph: first-line `indent` and `size` in points, `font` for East Asian text."""
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.oxml.ns import qn
        from docx.shared import Pt

        if style is not None:
            self.document.add_paragraph(text, style=style)
            return
        p = self.document.add_paragraph()
        if centre:
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        if indent is not None:
            p.paragraph_format.first_line_indent = Pt(indent)
        if not text:
            return
        run = p.add_run(text)
        if bold is not None:
            run.bold = bold
        if size is not None:
            run.font.size = Pt(size)
        if font is not None:
            run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)

    def table(self, rows: list[tuple[str, ...]] | list[list[str]]) -> None:
        """A grid table; the first row is the header."""
        grid = self.document.add_table(rows=len(rows), cols=len(rows[0]))
        grid.style = "Table Grid"
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                grid.cell(r, c).text = text

    def picture(self, image: bytes, width_inches: float) -> None:
        from docx.shared import Inches

        self.document.add_picture(io.BytesIO(image), width=Inches(width_inches))

    def save(self, *, author: str, created: dt.datetime, modified: dt.datetime | None = None,
             revision: int | None = None, zip_date: ZipDate | None = None) -> bytes:
        """The .docx bytes; with `zip_date` reproducible byte for byte."""
        props = self.document.core_properties
        props.author = props.last_modified_by = author
        props.created, props.modified = created, modified or created
        if revision is not None:
            props.revision = revision
        props.title = ""
        buf = io.BytesIO()
        self.document.save(buf)
        return pin_zip(buf.getvalue(), zip_date) if zip_date else buf.getvalue()


def docm(plain_docx: bytes, when: ZipDate) -> bytes:
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
    vba = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
           + b"Attribute VB_Name = \"ThisDocument\"\r\nSub AutoOpen()\r\nEnd Sub\r\n")
    return pin_zip(plain_docx, when, replace={"[Content_Types].xml": types.encode(),
                                              "word/_rels/document.xml.rels": rels.encode()},
                   add={"word/vbaProject.bin": vba})


def zip_bomb_docx(when: ZipDate, expanded: int = 1100 << 20) -> bytes:
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
            info = zipfile.ZipInfo(name, when)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, body)
        info = zipfile.ZipInfo("word/document.xml", when)
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as member:
            chunk = bytes(1 << 20)
            for _ in range(expanded >> 20):
                member.write(chunk)
    return buf.getvalue()


def pdf(lines: list[str]) -> bytes:
    """A one-page PDF with Chinese text in the Adobe-GB1 STSong-Light font (no font embedded)."""
    ops = (["BT", "/F1 16 Tf", "72 760 Td", "22 TL"]
           + [f"<{s.encode('utf-16-be').hex().upper()}> Tj T*" for s in lines] + ["ET"])
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
    out += (b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
            + b"".join(b"%010d 00000 n \n" % o for o in offsets))
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)


def legacy_doc(text: str) -> bytes:
    """Bytes that look like a Word 97 .doc (OLE2 signature, GBK text); not a parseable document."""
    return (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(24) + b"\x3e\x00\x03\x00\xfe\xff\x09\x00"
            + bytes(472) + text.encode("gbk"))


def xlsx(rows: list[list[str]]) -> bytes:
    """A one-sheet workbook (openpyxl)."""
    import openpyxl

    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
