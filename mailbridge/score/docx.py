"""The scorecard as a ready-to-issue bulletin (通报) in Word: python-docx lays out what
templates/score/bulletin.j2 says, in the page, fonts and 版头 of GB/T 9704-2012 (党政机关公文格式),
as the seeds' documents are set."""
from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.section import Section
from docx.shared import Cm, Pt, RGBColor
from docx.text.paragraph import Paragraph
from docx.document import Document
from docx.styles.style import ParagraphStyle
from docx.text.run import Run

from mailbridge import __version__
from mailbridge.config import Config
from mailbridge.score.engine import Scorecard, UnitScore, number
from mailbridge.score.text import Words, words

TITLE_FONT = "方正小标宋简体"  # 发文机关标志 and 标题: 小标宋
HEADING_FONT = "黑体"  # 一级标题: 三号黑体
BODY_FONT = "仿宋_GB2312"  # 正文: 三号仿宋_GB2312
TABLE_FONT = "宋体"
LATIN_FONT = "Times New Roman"
RED = RGBColor(0xFF, 0x00, 0x00)  # GB/T 9704 7.2.2: 发文机关标志 … 红色; 7.2.4: 红色分隔线
TEXT_WIDTH_CM = 15.6  # 版心 156 mm (GB/T 9704 5.2.2)
TABLE_PT = 10.5  # 五号: seven figure columns and a unit name on one line of the 156 mm 版心
CELL_PAD_CM = 0.45  # the cell's left and right margins (0.19 cm each) and a little air


def _fonts(run_or_style: Run | ParagraphStyle, east_asian: str, size: float | None = None, bold: bool = False) -> None:
    """Set the Latin and the East Asian font: Word and WPS read w:eastAsia for Chinese text."""
    font = run_or_style.font
    font.name = LATIN_FONT
    font.bold = bold
    if size:
        font.size = Pt(size)
    rpr = run_or_style.element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(rfonts)
    rfonts.set(qn("w:eastAsia"), east_asian)
    rfonts.set(qn("w:ascii"), LATIN_FONT)
    rfonts.set(qn("w:hAnsi"), LATIN_FONT)


def _para(document: Document, text: str, font: str = BODY_FONT, size: float = 16, bold: bool = False,
          align: WD_ALIGN_PARAGRAPH | None = None, indent: bool = False, keep: bool = False) -> Paragraph:
    paragraph = document.add_paragraph()
    if align is not None:
        paragraph.alignment = align
    fmt = paragraph.paragraph_format
    if indent:
        fmt.first_line_indent = Pt(size * 2)  # 首行缩进两字
    fmt.line_spacing = Pt(28)  # 固定值28磅, as the seeds' documents use (22 lines of 28 characters)
    fmt.keep_with_next = keep or None  # a heading never ends a page (GB/T 9704 leaves none stranded)
    if text:
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


def in_print_order(units: list[UnitScore]) -> list[UnitScore]:
    """The engine's order, units that sent nothing last: their tie at 0 points is no 名次."""
    return sorted(units, key=lambda u: u.submitted == 0)


def _addressees(config: Config, t: Words, groups: list[tuple[str | None, str, list[UnitScore]]]) -> list[str]:
    """主送机关: each unit type's [[unit_types]] salutation, else 各 and its name; types that share
    a salutation (市属各学（协）会、企业科协、高校科协) are addressed once; untyped units last."""
    kinds = {k.id: k for k in config.unit_types}
    out: list[str] = []
    for type_id, name, _ in groups:
        kind = kinds.get(type_id) if type_id else None
        text = (kind.salutation if kind and kind.salutation else t.addressee(name)) if kind else t.others()
        if text.strip() not in out:
            out.append(text.strip())
    return out or [t.others().strip()]


def write_docx(card: Scorecard, config: Config, path: Path | IO[bytes]) -> None:
    t = words(config, "score/bulletin.j2")
    labels = words(config)
    document = docx.Document()
    _page(document, t)
    issuer = config.scoring.issuer
    _masthead(document, t, issuer, config.scoring.doc_number)
    _para(document, t.title(card.period), TITLE_FONT, 22, align=WD_ALIGN_PARAGRAPH.CENTER, keep=True)
    _para(document, t.period_line(card.period), "楷体_GB2312", 16, align=WD_ALIGN_PARAGRAPH.CENTER, keep=True)
    _para(document, "", keep=True)  # 标题下空一行, then 主送机关
    groups = card.by_type(config)
    _para(document, t.salutation(_addressees(config, t, groups)))
    _para(document, t.summary(card.period, _totals(card)), indent=True)
    graded = bool(card.profile.grades)
    headers = list(t.table_headers) + ([labels.grade_header] if graded else [])
    n = 0
    for _, name, units in groups:
        n += 1
        _para(document, t.section(n, name or labels.untyped), HEADING_FONT, 16, indent=True, keep=True)
        rows = [[str(labels.rank(u, u.type_rank)), u.unit, str(u.submitted), "—" if u.quota is None else str(u.quota),
                 str(u.adopted), labels.rate(u.rate), f"{number(u.points)}"] + ([u.grade or "—"] if graded else [])
                for u in in_print_order(units)]
        _table(document, headers, rows, unit_column=1)
    below = [u for u in card.units if u.below_quota]
    _para(document, t.below_heading(n + 1), HEADING_FONT, 16, indent=True, keep=True)
    if below:
        _para(document, t.below_intro(len(below)), indent=True, keep=True)
        _table(document, list(t.below_headers), [
            [str(i), u.unit, u.unit_type_name or labels.untyped, str(u.submitted), str(u.quota)]
            for i, u in enumerate(below, 1)], unit_column=1)
        _para(document, t.below_closing(), indent=True)
    else:
        _para(document, t.below_none(), indent=True)
    _para(document, t.closing(), indent=True, keep=True)  # never a page of signature alone (7.3.5.4)
    today = datetime.now(config.ingest.zone).date()
    _para(document, "", keep=True)  # 正文下空一行, then 发文机关署名 and 成文日期, each 右空二字 (GB/T 9704 7.3.5.2)
    if issuer:
        _para(document, issuer, align=WD_ALIGN_PARAGRAPH.RIGHT, keep=True).paragraph_format.right_indent = Pt(32)
    _para(document, t.signed(today), align=WD_ALIGN_PARAGRAPH.RIGHT).paragraph_format.right_indent = Pt(32)
    _properties(document, t.title(card.period), issuer)
    document.save(str(path) if isinstance(path, Path) else path)


def _page(document: Document, t: Words) -> None:
    """A4, the 版心 of GB/T 9704 5.2, body text 三号仿宋 with no space between paragraphs, zh-CN."""
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    section.footer_distance = Cm(2.3)  # the 一字线 7 mm below the 版心's lower edge (7.5)
    defaults = document.styles.element.find(qn("w:docDefaults"))
    # python-docx's template has 10 pt after every paragraph (w:spacing w:after="200") and en-US.
    for spacing in defaults.iter(qn("w:spacing")):
        spacing.set(qn("w:after"), "0")
    for lang in defaults.iter(qn("w:lang")):
        lang.set(qn("w:val"), "zh-CN")
        lang.set(qn("w:eastAsia"), "zh-CN")
    normal = document.styles["Normal"]
    _fonts(normal, BODY_FONT, 16)
    normal.paragraph_format.space_after = Pt(0)
    for name, bold in (("Bulletin Table", False), ("Bulletin Table Header", True)):
        style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = normal
        _fonts(style, TABLE_FONT, TABLE_PT, bold)
        fmt = style.paragraph_format
        fmt.alignment = WD_ALIGN_PARAGRAPH.CENTER
        fmt.line_spacing, fmt.space_before, fmt.space_after = 1.0, Pt(2), Pt(2)
    _page_numbers(document, section, t)


def _page_numbers(document: Document, section: Section, t: Words) -> None:
    """GB/T 9704 7.5: 4号半角宋体 Arabic numerals between two 一字线, "— 1 —"; odd pages right
    with one character's space, even pages left with one."""
    document.settings.odd_and_even_pages_header_footer = True
    for footer, align in ((section.footer, WD_ALIGN_PARAGRAPH.RIGHT), (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT)):
        footer.is_linked_to_previous = False
        paragraph = footer.paragraphs[0]
        paragraph.alignment = align
        side = "right_indent" if align == WD_ALIGN_PARAGRAPH.RIGHT else "left_indent"
        setattr(paragraph.paragraph_format, side, Pt(14))
        before, after = t.page_number_sides
        _fonts(paragraph.add_run(before), TABLE_FONT, 14)
        for xml in (f'<w:fldChar {nsdecls("w")} w:fldCharType="begin"/>',
                    f'<w:instrText {nsdecls("w")} xml:space="preserve"> PAGE </w:instrText>',
                    f'<w:fldChar {nsdecls("w")} w:fldCharType="separate"/>', f'<w:t {nsdecls("w")}>1</w:t>',
                    f'<w:fldChar {nsdecls("w")} w:fldCharType="end"/>'):
            run = paragraph.add_run()
            _fonts(run, TABLE_FONT, 14)
            run._r.append(parse_xml(xml))
        _fonts(paragraph.add_run(after), TABLE_FONT, 14)


def _masthead(document: Document, t: Words, issuer: str, doc_number: str) -> None:
    """版头 (GB/T 9704 7.2): the 发文机关标志 in red, the 发文字号 two lines below it — blank when
    [scoring] doc_number is, for the office to fill — and the red line across the 版心."""
    if not issuer and not doc_number:
        return
    if issuer:
        mark = t.issuer_mark(issuer).strip()
        # As large as fits one line of the 版心, at most 初号 (42 pt).
        size = min(42.0, int(TEXT_WIDTH_CM / 2.54 * 72 / max(_width(mark), 1)))
        paragraph = _para(document, mark, TITLE_FONT, size, align=WD_ALIGN_PARAGRAPH.CENTER, keep=True)
        paragraph.paragraph_format.line_spacing = None  # a fixed 28 pt line would crop it
        paragraph.runs[0].font.color.rgb = RED
        _para(document, "", keep=True)
        _para(document, "", keep=True)
    number_line = _para(document, doc_number, align=WD_ALIGN_PARAGRAPH.CENTER, keep=True)
    if issuer:
        ppr = number_line._p.get_or_add_pPr()
        ppr.append(parse_xml(f'<w:pBdr {nsdecls("w")}><w:bottom w:val="single" w:sz="12" w:space="10" '
                             f'w:color="FF0000"/></w:pBdr>'))
    _para(document, "", keep=True)


def _properties(document: Document, title: str, issuer: str) -> None:
    """Core properties of the issuing office, not python-docx's template (author "python-docx",
    created 2013), and no template thumbnail (a blank page in file browsers)."""
    props = document.core_properties
    now = datetime.now(UTC).replace(microsecond=0)
    props.author = props.last_modified_by = issuer or "mailbridge"
    props.title, props.language = title, "zh-CN"
    props.created = props.modified = now
    props.last_printed = now
    props.revision = 1
    props.comments = f"mailbridge {__version__}"
    package = document.part.package
    for rid, rel in list(package.rels.items()):
        if rel.reltype == RT.THUMBNAIL:
            package.rels.pop(rid)


def _width(text: str) -> float:
    """Width in em: CJK and full-width characters 1, others 0.6 (digits are ½ em in 宋体, but the
    fallback fonts of a machine without it set them wider, and "100.0%" must not wrap)."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.6 for c in text)


def _widths(headers: list[str], rows: list[list[str]], unit_column: int) -> list[float]:
    """Column widths in cm: each figure column as wide as its widest text on one line, the unit
    column what is left of the 版心 (names may wrap there, nowhere else)."""
    em = TABLE_PT / 72 * 2.54
    need = [max(_width(r[i]) for r in [headers, *rows]) * em + CELL_PAD_CM for i in range(len(headers))]
    others = sum(w for i, w in enumerate(need) if i != unit_column)
    if TEXT_WIDTH_CM - others < 4.0:  # never squeeze the names below ~10 characters: the figures give way
        need = [w * (TEXT_WIDTH_CM - 4.0) / others for w in need]
        others = TEXT_WIDTH_CM - 4.0
    need[unit_column] = TEXT_WIDTH_CM - others  # so the table spans the 版心
    return need


def _table(document: Document, headers: list[str], rows: list[list[str]], unit_column: int) -> None:
    """One table as WordprocessingML built in one go: a styled python-docx cell costs ~1 ms, and a
    province's month has 14,000 of them. The header row repeats on every page (w:tblHeader), no
    row breaks across pages (w:cantSplit), cell text is centred both ways, and the grid and every
    cell carry the widths (LibreOffice and WPS read the grid, Word the cells)."""
    twips = [round(w / 2.54 * 1440) for w in _widths(headers, rows, unit_column)]

    def row(texts: list[str], header: bool) -> str:
        style = "BulletinTableHeader" if header else "BulletinTable"
        cells = "".join(
            f'<w:tc><w:tcPr><w:tcW w:w="{w}" w:type="dxa"/><w:vAlign w:val="center"/></w:tcPr>'
            f'<w:p><w:pPr><w:pStyle w:val="{style}"/></w:pPr><w:r><w:t xml:space="preserve">{escape(text)}</w:t>'
            f'</w:r></w:p></w:tc>' for w, text in zip(twips, texts, strict=True))
        return f'<w:tr><w:trPr><w:cantSplit/>{"<w:tblHeader/>" if header else ""}</w:trPr>{cells}</w:tr>'

    grid = "".join(f'<w:gridCol w:w="{w}"/>' for w in twips)
    body = "".join(row(r, False) for r in rows)
    table = parse_xml(
        f'<w:tbl {nsdecls("w")}><w:tblPr><w:tblStyle w:val="TableGrid"/><w:tblW w:w="{sum(twips)}" w:type="dxa"/>'
        f'<w:jc w:val="center"/><w:tblLayout w:type="fixed"/></w:tblPr><w:tblGrid>{grid}</w:tblGrid>'
        f'{row(headers, True)}{body}</w:tbl>')
    document.element.body.sectPr.addprevious(table)
