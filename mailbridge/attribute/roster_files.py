"""Officer roster files (the 信息员登记表 as .docx table, .xlsx sheet or .csv) read into checked rows."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from mailbridge.parse.tables import ROSTER, Grid, Header, TableFormatError, grids, roster_header
from mailbridge.ledger.bounds import fit_to
from mailbridge.ledger.models import Officer, Unit

_FOOTERS = ("填表人", "填报人", "填表日期", "填报日期", "审核人", "注:", "备注:", "说明", "联系人:")
_SECTION = re.compile(r"^([一二三四五六七八九十]+、|[(][一二三四五六七八九十\d]+[)]|\d+[、.])")
_SAME_AS_ABOVE = {"同上", "同上。", "〃", "\""}
_NO_EMAIL = {"无", "暂无", "没有", "none", "n/a", "-", "--", "—", "/"}
_EMAIL_SPLIT = re.compile(r"[;,/、\s]+")
_EMAIL = re.compile(
    r"[a-z0-9_%+'-]+(\.[a-z0-9_%+'-]+)*@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}"
)
_CJK = "[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]"
_CJK_GAP = re.compile(rf"(?<={_CJK}) | (?={_CJK})")
_DASHES = re.compile(r"\s*[\u2010-\u2015\u2212\ufe63\uff0d-]\s*")
_EXCEL_NUMBER = re.compile(r"\d+(\.\d+)?([eE][+-]?\d+)?")


@dataclass
class RosterRow:
    line: int  # 1-based row number as the clerk sees it (header and title rows counted)
    unit: str
    name: str
    phone: str | None
    emails: list[str] = field(default_factory=list)
    unit_type: str | None = None
    quota: int | None = None


@dataclass
class RosterError:
    line: int
    message: str


@dataclass
class RosterRead:
    rows: list[RosterRow]
    errors: list[RosterError]
    source: str


def read_roster(filename: str, data: bytes) -> RosterRead:
    """Rows of the first table with a roster header; bad rows become errors, never exceptions."""
    name = Path(filename).name
    for source, grid in grids(name, data):
        header = ROSTER.find_header(grid, roster_header)
        if header:
            return _read_rows(source, grid, header)
    raise TableFormatError(
        f"no header row with 单位（部门） and 电子信箱 columns found in {name}; "
        "the first row of the table must name the columns"
    )


# ------------------------------------------------------------------------------ rows


def _fit_phone(phone: str | None) -> str | None:
    return None if phone is None else fit_to(phone, Officer.__table__.c.phone)


def _read_rows(source: str, grid: Grid, header: Header) -> RosterRead:
    start, columns = header
    rows: list[RosterRow] = []
    errors: list[RosterError] = []
    previous: dict[str, str] = {}
    for index in range(start + 1, len(grid)):
        line, raw = index + 1, grid[index]
        filled = [c for c in (unicodedata.normalize("NFKC", c).strip() for c in raw) if c]
        if not filled or re.sub(r"\s+", "", filled[0]).startswith(_FOOTERS):
            continue
        if roster_header(ROSTER.columns(raw)):
            continue  # the header repeated on each printed page
        cell = {f: raw[i].strip() if i < len(raw) else "" for f, i in columns.items()}
        cell = {f: previous.get(f, "") if v in _SAME_AS_ABOVE else v for f, v in cell.items()}
        unit, name = _clean(cell.get("unit", "")), _clean(cell.get("name", ""))
        email_text = cell.get("email", "")
        # An empty template row (only 序号), or a heading like "一、县（市、区）科协".
        heading = _SECTION.match(unicodedata.normalize("NFKC", unit))
        if not (name or email_text) and (not unit or heading):
            continue
        label = f"row {line} ({name or unit})" if name or unit else f"row {line}"
        if not unit:
            unit = _clean(previous.get("unit", ""))  # vertically merged or left out by the clerk
            if not unit:
                errors.append(RosterError(line, f"{label}: no unit is given and none is above it"))
                continue
        previous = dict(cell, unit=unit)
        emails, bad = _emails(email_text)
        errors += [RosterError(line, f"{label}: '{b}' is not an e-mail address") for b in bad]
        if not emails and not bad:
            errors.append(RosterError(line, f"{label}: no e-mail address"))
        quota, quota_text = None, unicodedata.normalize("NFKC", cell.get("quota", "")).strip()
        if quota_text:
            match = re.fullmatch(r"(\d+)(\.0*)?\s*[篇条]?", quota_text)
            if match:
                quota = int(match.group(1))
            else:
                message = f"{label}: quota '{quota_text}' is not a whole number"
                errors.append(RosterError(line, message))
        rows.append(
            RosterRow(
                line=line,
                # Cut to the ledger's columns here, not at the write: the sync compares these
                # names with the stored ones, and a name cut only when written never matches.
                unit=fit_to(unit, Unit.__table__.c.name),
                name=fit_to(name, Officer.__table__.c.name),
                phone=_fit_phone(_phone(cell.get("phone", ""))),
                emails=emails,
                unit_type=cell.get("type") or None,
                quota=quota,
            )
        )
    return RosterRead(rows=rows, errors=errors, source=source)


def _clean(text: str) -> str:
    """Collapse whitespace (full-width too); drop it next to Chinese: "杨 晓红" is 杨晓红."""
    text = re.sub(r"\s+", " ", text.replace("\u200b", "").replace("\ufeff", "")).strip()
    return _CJK_GAP.sub("", text)


def _emails(text: str) -> tuple[list[str], list[str]]:
    """The valid addresses of a cell, lower-cased and in order, and the tokens that are not."""
    text = unicodedata.normalize("NFKC", text).strip()  # ＠ and full-width letters become ASCII
    if text.lower() in _NO_EMAIL:
        return [], []
    good: list[str] = []
    bad: list[str] = []
    for token in _EMAIL_SPLIT.split(text):
        bracketed = re.search(r"<([^<>]*)>", token)  # 王喆<wz@163.com>
        token = (bracketed.group(1) if bracketed else token).strip("<>()[]\"'.。")
        if ":" in token and "@" in token.rsplit(":", 1)[1]:
            token = token.rsplit(":", 1)[1]  # mailto:, 邮箱:, QQ邮箱:
        if not token or token.lower() in _NO_EMAIL:
            continue
        if _EMAIL.fullmatch(token.lower()):
            if token.lower() not in good:
                good.append(token.lower())
        else:
            bad.append(token)
    return good, bad


def _phone(text: str) -> str | None:
    parts = []
    for part in unicodedata.normalize("NFKC", text).splitlines():
        part = part.strip()
        if _EXCEL_NUMBER.fullmatch(part) and ("." in part or "e" in part.lower()):
            try:  # Excel's 13912345678.0 or 1.39123E+10 in an exported CSV
                number = Decimal(part)
                if number == number.to_integral_value():
                    part = str(int(number))
            except InvalidOperation:
                pass
        part = re.sub(r"\s+", " ", _DASHES.sub("-", part))
        if part:
            parts.append(part)
    return ", ".join(parts) or None
