"""The scorecard as an Excel workbook: a ranked sheet per unit type, an overall sheet with a native
bar chart of the scores, and a detail sheet with every scoring line — each sheet printing
landscape, one page wide, its header row on every page."""
from __future__ import annotations

from pathlib import Path
from typing import IO

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font
from openpyxl.utils.indexed_list import IndexedList
from openpyxl.worksheet.worksheet import Worksheet

from mailbridge.config import Config
from mailbridge.score.docx import in_print_order
from mailbridge.score.engine import Scorecard, UnitScore, number
from mailbridge.score.text import Words, words
from mailbridge.sheets import active, append, sheet_title

_FONT = "宋体"  # a font every Chinese Word, WPS and Excel has
_CENTER = Alignment(horizontal="center", vertical="center")
_WRAP = Alignment(wrap_text=True, vertical="top")
_RIGHT = Alignment(horizontal="right")
CM_PER_UNIT = 0.55  # chart height per bar: every unit's name gets a line of its own (10 pt labels)


def _body_font(book: Workbook) -> None:
    """Every cell in 宋体, not Calibri: the Normal style is what unstyled cells use, so no cell needs
    a font of its own (styling 10,000 cells one by one is most of a province's write)."""
    font = Font(name=_FONT, size=11)
    # Font id 0, which unstyled cells refer to: openpyxl has no API for the workbook's default.
    book._fonts = IndexedList([font])  # type: ignore[attr-defined]
    book._named_styles["Normal"].font = font  # type: ignore[attr-defined]


def _print_setup(sheet: Worksheet, title_rows: str) -> None:
    """Landscape A4, fit to one page wide (as many tall as needed), the header rows on every page."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    setup = sheet.sheet_properties.pageSetUpPr
    assert setup is not None  # openpyxl creates it with the sheet
    setup.fitToPage = True
    sheet.print_title_rows = title_rows
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.5


def _ranked(sheet: Worksheet, heading: str, units: list[UnitScore], labels: Words, graded: bool, by_type: bool) -> None:
    [title] = append(sheet, [heading])
    title.font = Font(name=_FONT, bold=True, size=14)
    headers = list(labels.rank_headers) + ([labels.grade_header] if graded else [])
    for cell in append(sheet, headers):
        cell.font = Font(name=_FONT, bold=True)
        cell.alignment = _CENTER
    first: list | None = None
    for u in units:
        rank = u.type_rank if by_type else u.rank
        shown = labels.rank(u, rank)
        row = [int(shown) if shown.isdigit() else shown, u.unit, u.unit_type_name or labels.untyped,
               u.submitted, u.quota, labels.yes if u.quota_met else labels.no, u.adopted,
               labels.rate(None) if u.rate is None else u.rate, number(u.points)]
        cells = append(sheet, row + ([u.grade or ""] if graded else []), like=first)
        if first is None:  # style the first row; the others take its styles
            first = cells
            cells[0].alignment = cells[5].alignment = _CENTER  # the rank apart from the name it ranks
            cells[7].number_format = "0.0%"
            cells[7].alignment = _RIGHT  # "—" where there is no rate, as the .docx prints it
    for column, width in zip("ABCDEFGHIJ", (12, 30, 22, 8, 8, 10, 8, 10, 10, 8), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A3"
    sheet.auto_filter.ref = f"A2:{'J' if graded else 'I'}{2 + len(units)}"
    _print_setup(sheet, "1:2")


def _chart(sheet: Worksheet, units: list[UnitScore], title: str, axis: str) -> None:
    """Horizontal bars (long Chinese unit names stay readable), the top scorer on top, every name
    shown, below the table."""
    chart = BarChart()
    chart.type = "bar"
    chart.title = title
    chart.y_axis.title = axis
    last = 2 + len(units)
    chart.add_data(Reference(sheet, min_col=9, min_row=2, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=2, min_row=3, max_row=last))
    chart.legend = None
    chart.x_axis.scaling.orientation = "maxMin"  # categories top-down in the table's order
    chart.y_axis.crosses = "max"  # …which moves the value axis to the bottom, where it is read
    chart.x_axis.tickLblSkip = chart.x_axis.tickMarkSkip = 1  # every unit's name, none skipped
    # openpyxl leaves <c:delete> out unless set, and Excel then hides both axes.
    chart.x_axis.delete = chart.y_axis.delete = False
    chart.height, chart.width = max(7.5, 3.0 + CM_PER_UNIT * len(units)), 24
    sheet.add_chart(chart, f"A{last + 3}")


def write_xlsx(card: Scorecard, config: Config, path: Path | IO[bytes]) -> None:
    labels = words(config)
    period = labels.period(card.period)
    graded = bool(card.profile.grades)
    book = Workbook()
    _body_font(book)
    taken: set[str] = set()
    overall = active(book)
    overall.title = sheet_title(labels.overall_sheet, taken)
    units = in_print_order(card.units)
    _ranked(overall, f"{period} {card.profile.profile.name}", units, labels, graded, by_type=False)
    if units:
        _chart(overall, units, f"{period}{labels.chart_title}", labels.chart_axis)
    for _, name, group in card.by_type(config):
        sheet = book.create_sheet(sheet_title(name or labels.untyped, taken))
        _ranked(sheet, f"{period} {name or labels.untyped}", in_print_order(group), labels, graded, by_type=True)
    _detail(book.create_sheet(sheet_title(labels.detail_sheet, taken)), card, config, labels)
    book.save(path)


def _detail(detail: Worksheet, card: Scorecard, config: Config, labels: Words) -> None:
    """Every scoring line; the article title and the 说明 wrap in their columns instead of being cut."""
    for cell in append(detail, list(labels.detail_headers)):
        cell.font = Font(name=_FONT, bold=True)
        cell.alignment = _CENTER
    explain = words(config, "score/explain.j2")
    categories = config.category_names()
    rows, first = 1, None
    for u in card.units:
        for line in u.lines:
            art = line.article
            where = line.channel.name if line.channel else (line.month or "")
            cells = append(detail, [u.unit, art.receipt_no if art else "", art.title if art else "", line.rule_name,
                                    where, number(line.points), str(explain.why(line, categories))], like=first)
            if first is None:
                first = cells
                cells[2].alignment = cells[6].alignment = _WRAP
            rows += 1
    for column, width in zip("ABCDEFG", (26, 18, 40, 22, 16, 8, 50), strict=True):
        detail.column_dimensions[column].width = width
    detail.freeze_panes = "A2"
    detail.auto_filter.ref = f"A1:G{rows}"
    _print_setup(detail, "1:1")
