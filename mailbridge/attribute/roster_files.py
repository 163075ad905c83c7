"""Officer roster files (the 信息员登记表 as .docx table, .xlsx sheet or .csv) read into checked rows."""
from __future__ import annotations

import csv
import datetime
import io
import itertools
import re
import unicodedata
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from mailbridge.errors import MailbridgeError
from mailbridge.ledger.bounds import fit
from mailbridge.ledger.models import Officer, Unit
from mailbridge.parse import zipread

ACCEPTED = (".docx", ".xlsx", ".csv")
_HEADER_SCAN = 10  # a header lower than this is not a roster table
# Sizes counted by inflating, never as declared (issue 10): a 1.6 KB .xlsx with cells A1 and
# XFD1048576 exhausted 3 GB when its grid was built from the declared dimension.
_MAX_UNPACKED = 64 * 1024 * 1024  # a roster file the admin imports
_MAX_UNPACKED_SCAN = 16 * 1024 * 1024  # a mail attachment checked for a roster form: forms are small
_SCAN_BYTES = 1024 * 1024  # of a .csv attachment, for its first rows
_MAX_COLUMNS = 64  # columns read of a sheet: a roster has about eight
_MAX_ROWS = 100_000

# Header spellings seen on real forms, in NFKC form (full-width brackets become ASCII ones).
_SYNONYMS = {
    "unit": ("单位(部门)", "单位", "部门", "单位名称", "所在单位"),
    "name": ("姓名", "信息员", "信息员姓名", "联系人"),
    "phone": ("联系电话", "电话", "手机", "手机号", "联系方式"),
    "email": ("电子信箱", "电子邮箱", "邮箱", "信箱", "email", "e-mail", "邮件地址"),
    "type": ("单位类型", "类型", "type"),
    "quota": ("任务数", "月任务", "每月任务", "quota"),
}
_FIELD_OF = {spelling: fld for fld, spellings in _SYNONYMS.items() for spelling in spellings}

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


class RosterFormatError(MailbridgeError):
    """The whole file is unusable (cannot be opened, or no header row): the admin must fix it."""

    exit_code = 2


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


Grid = list[list[str]]
Header = tuple[int, dict[str, int]]  # row index of the header, column index of each field


def read_roster(filename: str, data: bytes) -> RosterRead:
    """Rows of the first table with a roster header; bad rows become errors, never exceptions."""
    name = Path(filename).name
    for source, grid in _grids(name, data):
        header = _find_header(grid, need_email=False)
        if header:
            return _read_rows(source, grid, header)
    raise RosterFormatError(
        f"no header row with 单位（部门） and 电子信箱 columns found in {name}; "
        "the first row of the table must name the columns"
    )


def looks_like_roster(filename: str, data: bytes) -> bool:
    """True for a .docx/.xlsx/.csv whose table has a unit column and an e-mail column.

    Runs on every such attachment of every mail: it reads only the first rows of each table."""
    if Path(filename.lower()).suffix == ".docx" and not _docx_has_table(data):
        return False  # most attachments are articles: skip opening them twice
    try:
        return any(_find_header(grid, need_email=True) for _, grid in _grids(filename, data, scan=True))
    except Exception:  # noqa: BLE001 - a mail attachment may be anything; the answer is just "no"
        return False


def _docx_has_table(data: bytes) -> bool:
    """Whether word/document.xml has a table, read a chunk at a time (never held whole)."""
    try:
        with zipread.open_zip(data) as archive, zipread.Member(archive, "word/document.xml", _MAX_UNPACKED) as xml:
            tail = b""
            while chunk := xml.read(zipread.CHUNK):
                window = tail + chunk
                if b"<w:tbl>" in window or b"<w:tbl " in window:
                    return True
                tail = window[-8:]
            return False
    except (zipfile.BadZipFile, zipread.TooBig, KeyError, OSError, RuntimeError, EOFError):
        return False


# ------------------------------------------------------------------------------ file formats


def _grids(name: str, data: bytes, scan: bool = False) -> Iterator[tuple[str, Grid]]:
    """Each candidate table of the file as rows of cell texts, row i being line i + 1.
    With `scan`, only the first rows of each (enough to find a header) and a smaller size cap."""
    suffix = Path(name.lower()).suffix
    if suffix == ".docx":
        yield from _docx_grids(name, data, scan)
    elif suffix == ".xlsx":
        yield from _xlsx_grids(name, data, scan)
    elif suffix == ".csv":
        yield from _csv_grids(name, data[:_SCAN_BYTES] if scan else data, scan)
    else:
        raise RosterFormatError(
            f"{name} cannot be read as a roster: save the 信息员登记表 as a .docx, .xlsx or .csv file"
        )


def _check_zip(name: str, data: bytes, what: str, cap: int) -> None:
    """Refuse a package that really inflates past `cap`: python-docx and openpyxl read each
    member whole. Counted by inflating, since declared sizes can lie."""
    try:
        with zipread.open_zip(data) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            if unpacked <= cap:
                unpacked = zipread.inflated_size(archive, cap)
    except (zipfile.BadZipFile, zipread.TooBig, zlib.error, EOFError):
        raise RosterFormatError(
            f"{name} is not {what} file (an old .doc/.xls or a damaged file?); "
            f"open it in Word, WPS or Excel and save it again as {Path(name).suffix}"
        ) from None
    if unpacked > cap:
        raise RosterFormatError(f"{name} unpacks to more than {cap // (1024 * 1024)} MB, which no roster needs")


def _docx_grids(name: str, data: bytes, scan: bool = False) -> Iterator[tuple[str, Grid]]:
    import docx

    _check_zip(name, data, "a Word .docx", _MAX_UNPACKED_SCAN if scan else _MAX_UNPACKED)
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - python-docx raises KeyError, ValueError, lxml errors
        raise RosterFormatError(f"{name} cannot be opened as a Word .docx file ({exc})") from None
    for number, table in enumerate(document.tables, 1):
        grid: Grid = []
        for row in table.rows[:_HEADER_SCAN] if scan else table.rows:
            cells = row.cells
            # python-docx repeats a horizontally merged cell once per grid column: keep it once.
            grid.append(
                ["" if k and c._tc is cells[k - 1]._tc else c.text for k, c in enumerate(cells)]
            )
        yield f"table {number} of {name}", grid


def _xlsx_grids(name: str, data: bytes, scan: bool = False) -> Iterator[tuple[str, Grid]]:
    """Each sheet as a grid. With `scan`, the first rows only, streamed (read-only mode);
    otherwise only the cells the file holds, never a grid sized by the declared dimension."""
    import openpyxl

    _check_zip(name, data, "an Excel .xlsx", _MAX_UNPACKED_SCAN if scan else _MAX_UNPACKED)
    try:
        with warnings.catch_warnings():  # openpyxl warns about styles and extensions it skips
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=scan, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for damaged files
        raise RosterFormatError(f"{name} cannot be opened as an Excel .xlsx file ({exc})") from None
    try:
        for sheet in book.worksheets:
            if scan:
                rows = sheet.iter_rows(min_row=1, max_row=_HEADER_SCAN, min_col=1, max_col=_MAX_COLUMNS,
                                       values_only=True)
                yield f"sheet {sheet.title} of {name}", [[_cell_text(v) for v in row] for row in rows]
            else:
                yield f"sheet {sheet.title} of {name}", _sheet_grid(name, sheet)
    finally:
        book.close()


def _sheet_grid(name: str, sheet) -> Grid:  # type: ignore[no-untyped-def]
    """The cells the sheet holds, row i being line i + 1 (so line numbers are the sheet's own)."""
    cells = sheet._cells  # {(row, column): cell}: only the cells present in the file
    height = max((r for r, _ in cells), default=0)
    if height > _MAX_ROWS:
        raise RosterFormatError(f"sheet {sheet.title} of {name} has more than {_MAX_ROWS} rows, which no roster needs")
    width = min(max((c for _, c in cells), default=0), _MAX_COLUMNS)
    grid = [[""] * width for _ in range(height)]
    for (r, c), cell in cells.items():
        if c <= width:
            grid[r - 1][c - 1] = _cell_text(cell.value)
    # A vertically merged cell holds its value only at the top: copy it down, so merged
    # unit (or shared e-mail) cells read like python-docx's; horizontal spans stay single.
    for span in sheet.merged_cells.ranges:
        if span.min_row > height or span.min_col > width:
            continue
        top = grid[span.min_row - 1][span.min_col - 1]
        for r in range(span.min_row, min(span.max_row, height)):
            grid[r][span.min_col - 1] = top
    return grid


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # phones and quotas typed as numbers: 13912345678.0
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    return str(value)


def _csv_grids(name: str, data: bytes, scan: bool = False) -> Iterator[tuple[str, Grid]]:
    text, label = _decode_csv(name, data)
    sample = "\n".join(text.splitlines()[:_HEADER_SCAN])
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=",\t;").delimiter
    except csv.Error:
        sniffed = max(",\t;", key=sample.count)
    # The sniffer can be misled by ";" between e-mails: the delimiter that yields a header wins.
    for delimiter in dict.fromkeys((sniffed, ",", "\t", ";")):
        try:
            rows = csv.reader(io.StringIO(text), delimiter=delimiter)
            grid = list(itertools.islice(rows, _HEADER_SCAN) if scan else rows)
        except csv.Error as exc:
            raise RosterFormatError(f"{name} is not a readable CSV file ({exc})") from None
        yield f"{name} ({label})", grid


def _decode_csv(name: str, data: bytes) -> tuple[str, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text"
        return data.decode("utf-16"), "UTF-16"
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        text = "\x00"
    if "\x00" in text:
        raise RosterFormatError(
            f"{name} is not UTF-8 or GBK text; save it from Excel as 'CSV UTF-8'"
        )
    return text, "GBK"  # GB18030 decodes it, but clerks know the family as GBK


# ------------------------------------------------------------------------------ rows


def _header_key(text: str) -> str:
    key = re.sub(r"[\s*:]+", "", unicodedata.normalize("NFKC", text)).lower()
    if key in _FIELD_OF:
        return key
    return re.sub(r"\(.*?\)", "", key)  # "电子信箱(必填)", "姓名(信息员)"


def _columns(row: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, cell in enumerate(row):
        fld = _FIELD_OF.get(_header_key(cell))
        if fld and fld not in columns:
            columns[fld] = index
    return columns


def _is_header(columns: dict[str, int], need_email: bool) -> bool:
    if need_email:
        return "unit" in columns and "email" in columns
    return "unit" in columns and ("name" in columns or "email" in columns)


def _find_header(grid: Grid, need_email: bool) -> Header | None:
    for index, row in enumerate(grid[:_HEADER_SCAN]):
        columns = _columns(row)
        if _is_header(columns, need_email):
            return index, columns
    return None


def _fit_phone(phone: str | None) -> str | None:
    return None if phone is None else fit(phone, Officer.__table__.c.phone.type.length)


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
        if _is_header(_columns(raw), need_email=False):
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
                unit=fit(unit, Unit.__table__.c.name.type.length),
                name=fit(name, Officer.__table__.c.name.type.length),
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
