"""Sheets a clerk keeps in Excel or WPS (.xlsx), written so that nothing a sender typed is executed."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from mailbridge.sheets import active, append, sheet_title


def write_sheet(path: Path, title: str, headers: Sequence[str], rows: Iterable[Sequence[object]],
                widths: Sequence[int] = ()) -> int:
    """One sheet: a bold header row, then the rows (strings stay strings: sheets.append);
    returns how many rows were written."""
    book = Workbook()
    sheet = active(book)
    sheet.title = sheet_title(title, set())  # Excel's limits: 31 characters, none of []:*?/\
    for cell in append(sheet, list(headers)):
        cell.font = Font(bold=True)
    count = 0
    for row in rows:
        for cell in append(sheet, list(row)):
            cell.alignment = Alignment(vertical="top", wrap_text=isinstance(cell.value, str))
        count += 1
    for index, width in enumerate(widths):
        sheet.column_dimensions[get_column_letter(index + 1)].width = width
    sheet.freeze_panes = "A2"
    book.save(path)
    return count
