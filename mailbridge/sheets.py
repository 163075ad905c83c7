"""Writing .xlsx sheets people open in Excel or WPS: nothing a sender typed is ever executed, and
sheet names keep to Excel's rules. Used by the scorecard workbook and the clerk's sheets."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.worksheet.worksheet import Worksheet

_INVALID = str.maketrans(dict.fromkeys("[]:*?/\\", "_"))


def active(book: Workbook) -> Worksheet:
    """The one sheet a new workbook opens with (openpyxl types `active` as any sheet, or none)."""
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    return sheet


def append(sheet: Worksheet, values: Sequence[Any]) -> list[Cell]:
    """Append a row whose strings stay strings, and return its cells: a title a sender wrote as
    `=HYPERLINK(…)` or `=cmd|…` is text, never a formula (openpyxl makes any str starting with '='
    one). Control characters, which openpyxl refuses and XML 1.0 cannot hold, are dropped.

    The cells are made here, not looked up after the append: `sheet.max_row` scans every cell, so
    calling it per row made a long sheet quadratic."""
    cells = []
    for value in values:
        text = isinstance(value, str)
        # types-openpyxl makes row and column required; openpyxl defaults them (append places the cell).
        cell = Cell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value) if text else value)  # type: ignore[call-arg]
        if text:
            cell.data_type = "s"
        cells.append(cell)
    sheet.append(cells)
    return cells


def sheet_title(text: str, taken: set[str]) -> str:
    """A unique sheet name within Excel's limits: 31 characters, none of []:*?/\\ ."""
    title = text.translate(_INVALID)[:31] or "Sheet"
    n = 2
    while title in taken:
        title = f"{text.translate(_INVALID)[:28]}({n})"
        n += 1
    taken.add(title)
    return title
