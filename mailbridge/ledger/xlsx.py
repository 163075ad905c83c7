"""Sheets a clerk keeps in Excel or WPS (.xlsx), written so that nothing a sender typed is executed."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from mailbridge.score.xlsx import _sheet_title, append


def write_sheet(path: Path, title: str, headers: Sequence[str], rows: Iterable[Sequence[object]],
                widths: Sequence[int] = ()) -> int:
    """One sheet: a bold header row, then the rows (strings stay strings: score.xlsx.append);
    returns how many rows were written."""
    book = Workbook()
    sheet = book.active
    sheet.title = _sheet_title(title, set())  # Excel's limits: 31 characters, none of []:*?/\
    append(sheet, list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    count = 0
    for row in rows:
        append(sheet, list(row))
        for cell in sheet[sheet.max_row]:
            cell.alignment = Alignment(vertical="top", wrap_text=isinstance(cell.value, str))
        count += 1
    for index, width in enumerate(widths):
        sheet.column_dimensions[sheet.cell(row=1, column=index + 1).column_letter].width = width
    sheet.freeze_panes = "A2"
    book.save(path)
    return count
