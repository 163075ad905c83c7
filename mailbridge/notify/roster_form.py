"""The 信息员登记表 (.docx) attached to an unknown sender's receipt, to fill in and send back.

Laid out with python-docx from templates/roster_form.j2; its header row is one that
parse/tables.py ROSTER finds, so the returned form is read by attribute/roster_files.py like any
roster file (and flagged `roster_form` when it comes back by mail).
"""
from __future__ import annotations

import io

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

from mailbridge.config import Config
from mailbridge.render import render

DOCX = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")
BLANK_ROWS = 5  # room for a unit's officers; the reader skips rows left empty


def filename(config: Config, address: str) -> str:
    return f"{form_lines(config, address)[0]}.docx"


def form_lines(config: Config, address: str) -> list[str]:
    text = render(config, "roster_form.j2", address=address, contact=config.receipts.contact)
    return [line.strip() for line in text.splitlines() if line.strip()]


def roster_form(config: Config, address: str, sender: str) -> bytes:
    """The form as .docx bytes; the first row has the sender's address filled in already."""
    title, headers, *notes = form_lines(config, address)
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
        table.cell(1, columns.index("电子信箱")).text = sender
    if columns and columns[0] == "序号":
        for row in range(1, 1 + BLANK_ROWS):
            table.cell(row, 0).text = str(row)
    for note in notes:
        document.add_paragraph(note)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
