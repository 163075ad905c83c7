"""Import adoptions from the clerk's sheet (采用登记表, .xlsx, .csv or a .docx table): all rows
recorded, or none.

The header row is found among the first rows (title rows above it, merged or not, are passed
over) by its Chinese column names (read as every table is, `parse.tables`); a row names its
submission by receipt number (编号/回执号) or by title (and unit), and lists its channels
(采用渠道) and a date (采用日期).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbridge.attribute.match import unit_key
from mailbridge.config import Config
from mailbridge.errors import ConfigError
from mailbridge.ledger.models import Submission
from mailbridge.ledger.vocab import SubmissionStatus
from mailbridge.parse.tables import ACCEPTED, Columns, TableFormatError, cell_date, grids
from mailbridge.review import decisions
from mailbridge.review.codes import Refusal

_COLUMNS = Columns({
    "ref": ("编号", "回执号", "回执编号", "稿件编号", "receipt", "receipt_no"),
    "title": ("标题", "稿件标题", "信息标题", "题目", "文章标题", "title"),
    "unit": ("单位", "报送单位", "单位(部门)", "投稿单位", "来稿单位", "unit"),
    "channel": ("采用渠道", "渠道", "采用平台", "采用媒体", "采用情况", "channel", "channels"),
    "date": ("采用日期", "日期", "刊发日期", "发布日期", "采用时间", "date"),
})
_SPLIT = re.compile(r"[、,，;；/\s]+")


@dataclass
class SheetResult:
    rows: int = 0
    lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    new: int = 0
    known: int = 0


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def _is_header(columns: dict[str, int]) -> bool:
    return "channel" in columns and ("ref" in columns or "title" in columns)


def _titles(s: Session) -> dict[str, list[Submission]]:
    """Current versions by normalised title, built once per sheet (old sheets have no receipt numbers)."""
    index: dict[str, list[Submission]] = {}
    for sub in s.scalars(select(Submission).where(Submission.status != SubmissionStatus.SUPERSEDED)):
        index.setdefault(_norm(sub.title), []).append(sub)
    return index


def _by_title(index: dict[str, list[Submission]], title: str, unit: str) -> Submission:
    subs = index.get(_norm(title), [])
    if unit:
        subs = [sub for sub in subs if sub.unit is not None and unit_key(sub.unit.name) == unit_key(unit)]
    if len(subs) == 1:
        return subs[0]
    if not subs:
        raise decisions.DecisionError(Refusal.UNKNOWN_SUBMISSION, f"no submission titled 《{title}》"
                                      + (f" from {unit}" if unit else "") + "; add its receipt number (回执号)")
    raise decisions.DecisionError(Refusal.AMBIGUOUS, f"{len(subs)} submissions are titled 《{title}》; add the "
                                                     "receipt number (回执号) to tell them apart")


def import_sheet(s: Session, config: Config, filename: str, data: bytes, actor: str) -> SheetResult:
    """Record the sheet's adoptions in the caller's transaction; with errors the caller rolls back."""
    if not filename.lower().endswith(ACCEPTED):
        raise ConfigError(f"{filename} is not an .xlsx, .csv or .docx file; "
                          "save the sheet from Excel or WPS as .xlsx.")
    try:
        tables = list(grids(filename, data))
    except TableFormatError as exc:
        raise ConfigError(str(exc)) from None
    found = next(((src, grid, h) for src, grid in tables
                  if (h := _COLUMNS.find_header(grid, _is_header)) is not None), None)
    if found is None:
        raise ConfigError(f"no header row with 采用渠道 and 编号 (or 标题) columns found in {filename}; the sheet "
                          "must name its columns in one row.")
    _, grid, (top, cols) = found
    result = SheetResult()
    index: dict[str, list[Submission]] | None = None

    def cell(row: list[str], name: str) -> str:
        c = cols.get(name)
        return row[c].strip() if c is not None and c < len(row) else ""

    for r in range(top + 1, len(grid)):
        row, line = grid[r], r + 1
        ref, title, unit, channels = cell(row, "ref"), cell(row, "title"), cell(row, "unit"), cell(row, "channel")
        if not any(x.strip() for x in row):
            continue
        result.rows += 1
        if not channels:
            result.lines.append(f"row {line}: no channel, skipped")
            continue
        try:
            on = cell_date(cell(row, "date"))
        except ValueError:
            result.errors.append(f"row {line}: date {cell(row, 'date')!r} is not a date like 2024-09-15")
            continue
        try:
            if not ref and index is None:
                index = _titles(s)
            sub = decisions.find_submission(s, ref) if ref else _by_title(index or {}, title, unit)
            rows = decisions.adopt(s, config, sub, [c for c in _SPLIT.split(channels) if c], on, actor, "sheet")
        except decisions.DecisionError as exc:
            result.errors.append(f"row {line}: {exc.message.rstrip('.')}")
            continue
        for adoption in rows:
            state = "new" if adoption.recorded_now else "already recorded"
            result.new += adoption.recorded_now
            result.known += not adoption.recorded_now
            result.lines.append(f"row {line}: {sub.receipt_no} 《{sub.title[:30]}》 {adoption.channel} "
                                f"{adoption.adopted_on.isoformat()} ({state})")
    return result
