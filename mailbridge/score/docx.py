"""The scorecard as a ready-to-issue bulletin (通报) in Word: python-docx lays out what
templates/score/bulletin.j2 says, in the fonts of the seeds' documents (GB/T 9704 公文 style)."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import IO

import docx
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_PARAGRAPH_ALIGNMENT
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.document import Document
from docx.styles.style import ParagraphStyle
from docx.table import _Cell
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from mailbridge.config import Config
from mailbridge.score.engine import Scorecard, number
from mailbridge.score.text import words

TITLE_FONT = "方正小标宋简体"  # 标题: 二号方正小标宋简体
HEADING_FONT = "黑体"  # 一级标题: 三号黑体
BODY_FONT = "仿宋_GB2312"  # 正文: 三号仿宋_GB2312
TABLE_FONT = "宋体"
LATIN_FONT = "Times New Roman"


def _fonts(run_or_style: Run | ParagraphStyle, east_asian: str, size: float | None = None, bold: bool = False) -> None:
    """Set the Latin and the East Asian font: Word and WPS read w:eastAsia for Chinese text."""
    font = run_or_style.font
    font.name = LATIN_FONT
    font.bold = bold
    if size:
        font.size = Pt(size)
    element = run_or_style.element
    rpr = element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(rfonts)
    rfonts.set(qn("w:eastAsia"), east_asian)
    rfonts.set(qn("w:ascii"), LATIN_FONT)
    rfonts.set(qn("w:hAnsi"), LATIN_FONT)


def _para(document: Document, text: str, font: str = BODY_FONT, size: float = 16, bold: bool = False,
          align: WD_PARAGRAPH_ALIGNMENT | None = None, indent: bool = False) -> Paragraph:
    paragraph = document.add_paragraph()
    if align is not None:
        paragraph.alignment = align
    if indent:
        paragraph.paragraph_format.first_line_indent = Pt(size * 2)  # 首行缩进两字
    paragraph.paragraph_format.line_spacing = Pt(28)  # 固定值28磅, as the seeds' documents use
    _fonts(paragraph.add_run(text.strip()), font, size, bold)
    return paragraph


def _totals(card: Scorecard) -> dict:
    units = card.units
    submitted = sum(u.submitted for u in units)
    adopted = sum(u.adopted for u in units)
    with_quota = [u for u in units if u.quota]
    return {"units": len(units), "submitted": submitted, "adopted": adopted,
            "rate": adopted / submitted if submitted else None, "with_quota": len(with_quota),
            "met": sum(1 for u in with_quota if u.quota_met), "below": sum(1 for u in with_quota if u.below_quota),
            "profile": card.profile.profile.name, "source": card.profile.profile.source}


def write_docx(card: Scorecard, config: Config, path: Path | IO[bytes]) -> None:
    t = words(config, "score/bulletin.j2")
    labels = words(config)
    document = docx.Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)  # A4
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    _fonts(document.styles["Normal"], BODY_FONT, 16)
    issuer = config.scoring.issuer
    if issuer:
        _para(document, t.issuer(issuer), TITLE_FONT, 22, align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(document, t.title(card.period), TITLE_FONT, 22, align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(document, t.period_line(card.period), "楷体_GB2312", 16, align=WD_ALIGN_PARAGRAPH.CENTER)
    groups = card.by_type(config)
    _para(document, t.salutation([name or labels.untyped for _, name, _ in groups]))
    _para(document, t.summary(card.period, _totals(card)), indent=True)
    n = 0
    for _, name, units in groups:
        n += 1
        _para(document, t.section(n, name or labels.untyped), HEADING_FONT, 16, indent=True)
        _table(document, list(t.table_headers), [
            [str(u.type_rank or labels.not_assessed), u.unit, str(u.submitted), "—" if u.quota is None else str(u.quota),
             str(u.adopted), labels.rate(u.rate), f"{number(u.points)}"] for u in units])
    below = [u for u in card.units if u.below_quota]
    _para(document, t.below_heading(n + 1), HEADING_FONT, 16, indent=True)
    _para(document, t.below_quota(below), indent=True)
    _para(document, t.closing(), indent=True)
    today = datetime.now(config.ingest.zone).date()
    if issuer:
        _para(document, issuer, align=WD_ALIGN_PARAGRAPH.RIGHT)
    _para(document, t.signed(today), align=WD_ALIGN_PARAGRAPH.RIGHT)
    document.save(str(path) if isinstance(path, Path) else path)


def _table(document: Document, headers: list[str], rows: list[list[str]]) -> None:
    table = document.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, headers, strict=True):
        _cell(cell, text, bold=True)
    for row in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=False):
            _cell(cell, text)
    # Word honours cell widths only with autofit off and a width on every cell of a column;
    # the unit column takes what the six figure columns leave of the 15.6 cm text width.
    table.autofit = False
    widths = [Cm(1.4), Cm(5.6)] + [Cm(8.5 / (len(headers) - 2))] * (len(headers) - 2)
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width  # the table grid, which WPS and LibreOffice go by
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width  # the cells, which Word goes by


def _cell(cell: _Cell, text: str, bold: bool = False) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _fonts(paragraph.add_run(text), TABLE_FONT, 12, bold)
