"""The 信息员登记表 (.docx) attached to an unknown sender's receipt, to fill in and send back.

Laid out with python-docx from templates/roster_form.j2; its header row is one that
parse/tables.py ROSTER finds, so the returned form is read by attribute/roster_files.py like any
roster file (and flagged `roster_form` when it comes back by mail).
"""
from __future__ import annotations

import io
import re
import zipfile
from functools import lru_cache
from xml.sax.saxutils import escape

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

from mailbridge.config import Config
from mailbridge.render import render

DOCX = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")
BLANK_ROWS = 5  # room for a unit's officers; the reader skips rows left empty
DOCUMENT_XML = "word/document.xml"
SENDER = "\ue000sender\ue000"  # where the sender's address goes (private-use characters: in no template)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def filename(config: Config, address: str) -> str:
    return f"{form_lines(config, address)[0]}.docx"


def form_lines(config: Config, address: str) -> list[str]:
    text = render(config, "roster_form.j2", address=address, contact=config.receipts.contact)
    return [line.strip() for line in text.splitlines() if line.strip()]


def roster_form(config: Config, address: str, sender: str) -> bytes:
    """The form as .docx bytes; the first row has the sender's address filled in already."""
    return _with_sender(_layout(tuple(form_lines(config, address))), sender)


@lru_cache(maxsize=8)
def _layout(lines: tuple[str, ...]) -> tuple[bytes, tuple[zipfile.ZipInfo, ...], bytes]:
    """The form laid out once (python-docx: ~20 ms, most of an unknown sender's receipt), as a zip
    of every member but word/document.xml, already compressed (the styles alone are 800 KB of XML:
    deflating them took ~3 ms a receipt), its directory, and the document's XML with SENDER in the
    sender's cell for `_with_sender` to fill in."""
    title, headers, *notes = lines
    columns = headers.split("|")
    document = docx.Document()
    core = document.core_properties
    core.title, core.author, core.language = title, "mailbridge", "zh-CN"
    style = document.styles["Normal"]
    style.font.size = Pt(12)
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
    heading = document.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = heading.add_run(title)
    run.bold, run.font.size = True, Pt(18)
    table = document.add_table(rows=1 + BLANK_ROWS, cols=len(columns))
    table.style = "Table Grid"
    for i, name in enumerate(columns):
        table.cell(0, i).text = name
    if "电子信箱" in columns:
        table.cell(1, columns.index("电子信箱")).text = SENDER
    if columns and columns[0] == "序号":
        for row in range(1, 1 + BLANK_ROWS):
            table.cell(row, 0).text = str(row)
    for note in notes:
        document.add_paragraph(note)
    saved = io.BytesIO()
    document.save(saved)
    fixed = io.BytesIO()
    with zipfile.ZipFile(saved) as src, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            if name != DOCUMENT_XML:
                dst.writestr(name, src.read(name))
        members = fixed.tell()  # where the directory starts: the document goes there
        text = src.read(DOCUMENT_XML)
    with zipfile.ZipFile(fixed) as done:
        return fixed.getvalue()[:members], tuple(done.infolist()), text


def _with_sender(layout: tuple[bytes, tuple[zipfile.ZipInfo, ...], bytes], sender: str) -> bytes:
    """The laid-out form with the sender's address in its cell, as XML text (escaped; characters
    XML cannot hold dropped): the fixed members' bytes as they are, the document compressed after
    them, then a directory of all of them (the fixed members' entries, offsets unchanged)."""
    members, directory, text = layout
    cell = escape(_NOT_XML.sub("", sender)).encode()
    out = io.BytesIO(members)
    out.seek(len(members))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:  # written from here on
        dst.filelist.extend(directory)
        dst.NameToInfo.update((info.filename, info) for info in directory)
        dst.writestr(DOCUMENT_XML, text.replace(SENDER.encode(), cell))
    return out.getvalue()
