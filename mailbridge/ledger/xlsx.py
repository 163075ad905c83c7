"""Sheets a clerk keeps in Excel or WPS (.xlsx), written so that nothing a sender typed is executed."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.styles import Alignment, Font


def text_cell(cell: Cell, value: object) -> None:
    """A value as Excel shows it; text is always a string cell. openpyxl stores a str that starts
    with '=' as a formula, and a subject like '=HYPERLINK(...)' from a sender must stay text."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"


def write_sheet(path: Path, title: str, headers: Sequence[str], rows: Iterable[Sequence[object]],
                widths: Sequence[int] = ()) -> int:
    """One sheet: a bold header row, then the rows; returns how many rows were written."""
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]  # Excel's limit on sheet names
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    count = 0
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row, start=1):
            text_cell(sheet.cell(row=r, column=c), value)
            sheet.cell(row=r, column=c).alignment = Alignment(vertical="top", wrap_text=isinstance(value, str))
        count += 1
    for index, width in enumerate(widths):
        sheet.column_dimensions[sheet.cell(row=1, column=index + 1).column_letter].width = width
    sheet.freeze_panes = "A2"
    book.save(path)
    return count
