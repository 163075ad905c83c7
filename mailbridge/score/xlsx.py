"""The scorecard as an Excel workbook: a ranked sheet per unit type, an overall sheet with a native
bar chart of the scores, and a detail sheet with every scoring line."""
from __future__ import annotations

from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from mailbridge.config import Config
from mailbridge.score.engine import Scorecard, UnitScore, number
from mailbridge.score.text import words
from mailbridge.sheets import active, append, sheet_title

_FONT = "宋体"  # a font every Chinese Word, WPS and Excel has


def _ranked(sheet: Worksheet, heading: str, units: list[UnitScore], labels: Any, graded: bool, by_type: bool) -> None:
    append(sheet, [heading])
    sheet["A1"].font = Font(name=_FONT, bold=True, size=14)
    headers = list(labels.rank_headers) + ([labels.grade_header] if graded else [])
    append(sheet, headers)
    for cell in sheet[2]:
        cell.font = Font(name=_FONT, bold=True)
        cell.alignment = Alignment(horizontal="center")
    for u in units:
        rank = u.type_rank if by_type else u.rank
        row = [rank if rank is not None else labels.not_assessed, u.unit, u.unit_type_name or labels.untyped,
               u.submitted, u.quota, labels.yes if u.quota_met else labels.no, u.adopted,
               None if u.rate is None else u.rate, number(u.points)]
        append(sheet, row + ([u.grade or ""] if graded else []))
        sheet.cell(sheet.max_row, 8).number_format = "0.0%"
    for column, width in zip("ABCDEFGHIJ", (8, 30, 22, 8, 8, 10, 8, 10, 10, 8), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A3"


def write_xlsx(card: Scorecard, config: Config, path: Path | IO[bytes]) -> None:
    labels = words(config)
    period = labels.period(card.period)
    graded = bool(card.profile.grades)
    book = Workbook()
    taken: set[str] = set()
    overall = active(book)
    overall.title = sheet_title(labels.overall_sheet, taken)
    _ranked(overall, f"{period} {card.profile.profile.name}", card.units, labels, graded, by_type=False)
    if card.units:
        chart = BarChart()
        chart.type = "bar"  # horizontal bars: long Chinese unit names stay readable
        chart.title = f"{period}{labels.chart_title}"
        chart.y_axis.title = labels.chart_axis
        last = 2 + len(card.units)
        chart.add_data(Reference(overall, min_col=9, min_row=2, max_row=last), titles_from_data=True)
        chart.set_categories(Reference(overall, min_col=2, min_row=3, max_row=last))
        chart.legend = None
        chart.height, chart.width = max(7.5, 0.6 * len(card.units)), 18
        overall.add_chart(chart, "L2")
    for _, name, units in card.by_type(config):
        sheet = book.create_sheet(sheet_title(name or labels.untyped, taken))
        _ranked(sheet, f"{period} {name or labels.untyped}", units, labels, graded, by_type=True)
    detail = book.create_sheet(sheet_title(labels.detail_sheet, taken))
    append(detail, list(labels.detail_headers))
    for cell in detail[1]:
        cell.font = Font(name=_FONT, bold=True)
    explain = words(config, "score/explain.j2")
    categories = config.category_names()
    for u in card.units:
        for line in u.lines:
            art = line.article
            where = line.channel.name if line.channel else (line.month or "")
            append(detail, [u.unit, art.receipt_no if art else "", art.title if art else "", line.rule_name, where,
                           number(line.points), str(explain.why(line, categories))])
    for column, width in zip("ABCDEFG", (26, 18, 40, 22, 16, 8, 50), strict=True):
        detail.column_dimensions[column].width = width
    book.save(path)
