"""Writing .xlsx sheets people open in Excel or WPS: nothing a sender typed is ever executed, and
sheet names keep to Excel's rules. Used by the scorecard workbook and the clerk's sheets."""
from __future__ import annotations

from collections.abc import Sequence
from copy import copy
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


def append(sheet: Worksheet, values: Sequence[Any], like: list[Cell] | None = None) -> list[Cell]:
    """Append a row whose strings stay strings, and return its cells: a title a sender wrote as
    `=HYPERLINK(…)` or `=cmd|…` is text, never a formula (openpyxl makes any str starting with '='
    one). Control characters, which openpyxl refuses and XML 1.0 cannot hold, are dropped.
    `like`: a row whose cells' styles these take, column by column — styling a cell by its font
    or alignment costs a style lookup each, ~70 µs, which a province's 60,000 cells add up.

    The cells are made here, not looked up after the append: `sheet.max_row` scans every cell, so
    calling it per row made a long sheet quadratic."""
    cells = []
    for n, value in enumerate(values):
        # The style array is copied as openpyxl's own copy_worksheet does (no public API for it);
        # types-openpyxl makes row and column required, openpyxl defaults them (append places it).
        style = copy(like[n]._style) if like is not None and n < len(like) else None  # type: ignore[attr-defined]
        cell = Cell(sheet, style_array=style)  # type: ignore[call-arg]
        if isinstance(value, str):
            # Set past the value setter, which would make '=…' a formula; Excel's limit checked once.
            cell._value = ILLEGAL_CHARACTERS_RE.sub("", value)[:32767]  # type: ignore[attr-defined]
            cell.data_type = "s"
        else:
            cell.value = value
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
