"""Tables in files people send or import — a .docx table, an .xlsx sheet, a .csv file — read into
grids of cell texts, and header rows recognised by the column names seen on real forms.

One reader for the officer roster (信息员登记表), the clerk's adoption sheet (采用登记表) and the
forms of deadline collections: the same sizes are refused, the same cells read, and a header cell
is normalised one way everywhere (NFKC, no spaces, "(必填)"-style notes dropped).
"""
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
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from mailbridge.errors import MailbridgeError
from mailbridge.parse import zipread

if TYPE_CHECKING:  # openpyxl is imported where a sheet is read
    from openpyxl.worksheet.worksheet import Worksheet

ACCEPTED = (".docx", ".xlsx", ".csv")
HEADER_SCAN = 10  # a header lower than this is not a table's header
# Sizes counted by inflating, never as declared (issue 10): a 1.6 KB .xlsx with cells A1 and
# XFD1048576 exhausted 3 GB when its grid was built from the declared dimension.
_MAX_UNPACKED = 64 * 1024 * 1024  # a file the admin imports
_MAX_UNPACKED_SCAN = 16 * 1024 * 1024  # a mail attachment checked for a roster form: forms are small
_SCAN_BYTES = 1024 * 1024  # of a .csv attachment, for its first rows
_MAX_COLUMNS = 64  # columns read of a sheet: a roster has about eight
_MAX_ROWS = 100_000


class TableFormatError(MailbridgeError):
    """The whole file is unusable (cannot be opened, or no header row): the admin must fix it."""

    exit_code = 2


Grid = list[list[str]]
Header = tuple[int, dict[str, int]]  # row index of the header, column index of each field


# The roster's column names seen on real forms, in NFKC form (full-width brackets become ASCII ones).
ROSTER_COLUMNS = {
    "unit": ("单位(部门)", "单位", "部门", "单位名称", "所在单位"),
    "name": ("姓名", "信息员", "信息员姓名", "联系人"),
    "phone": ("联系电话", "电话", "手机", "手机号", "联系方式"),
    "email": ("电子信箱", "电子邮箱", "邮箱", "信箱", "email", "e-mail", "邮件地址"),
    "type": ("单位类型", "类型", "type"),
    "quota": ("任务数", "月任务", "每月任务", "quota"),
}


def header_key(text: str) -> str:
    """A header cell as it is compared: NFKC (full-width brackets become ASCII ones), without
    spaces, * and :, lower case."""
    return re.sub(r"[\s*:]+", "", unicodedata.normalize("NFKC", text)).lower()


class Columns:
    """A table's vocabulary: field -> the header spellings that name it."""

    def __init__(self, spellings: Mapping[str, tuple[str, ...]]) -> None:
        self.field_of = {header_key(s): fld for fld, names in spellings.items() for s in names}

    def field(self, cell: str) -> str | None:
        """The field a header cell names; a note in brackets ("电子信箱(必填)", "编号(必填)") is
        dropped unless the bracketed form is itself a spelling ("单位(部门)")."""
        key = header_key(cell)
        return self.field_of.get(key) or self.field_of.get(re.sub(r"\(.*?\)", "", key))

    def columns(self, row: list[str]) -> dict[str, int]:
        """Field -> column index of a row read as a header (the first column naming a field wins)."""
        found: dict[str, int] = {}
        for index, cell in enumerate(row):
            fld = self.field(cell)
            if fld and fld not in found:
                found[fld] = index
        return found

    def find_header(self, grid: Grid, accept: Callable[[dict[str, int]], bool]) -> Header | None:
        """The first of the top rows whose columns `accept` takes (title rows above are passed over)."""
        for index, row in enumerate(grid[:HEADER_SCAN]):
            columns = self.columns(row)
            if accept(columns):
                return index, columns
        return None


ROSTER = Columns(ROSTER_COLUMNS)


def roster_header(columns: dict[str, int], need_email: bool = False) -> bool:
    if need_email:
        return "unit" in columns and "email" in columns
    return "unit" in columns and ("name" in columns or "email" in columns)


def looks_like_roster(filename: str, data: bytes) -> bool:
    """True for a .docx/.xlsx/.csv whose table has a unit column and an e-mail column.

    Runs on every such attachment of every mail: it reads only the first rows of each table."""
    if Path(filename.lower()).suffix == ".docx" and not _docx_has_table(data):
        return False  # most attachments are articles: skip opening them twice
    try:
        return any(ROSTER.find_header(grid, lambda c: roster_header(c, need_email=True))
                   for _, grid in grids(filename, data, scan=True))
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


def grids(name: str, data: bytes, scan: bool = False) -> Iterator[tuple[str, Grid]]:
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
        raise TableFormatError(f"{name} cannot be read as a table: save it as a .docx, .xlsx or .csv file")


def _check_zip(name: str, data: bytes, what: str, cap: int) -> None:
    """Refuse a package that really inflates past `cap`: python-docx and openpyxl read each
    member whole. Counted by inflating, since declared sizes can lie."""
    try:
        with zipread.open_zip(data) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            if unpacked <= cap:
                unpacked = zipread.inflated_size(archive, cap)
    except (zipfile.BadZipFile, zipread.TooBig, zlib.error, EOFError):
        raise TableFormatError(
            f"{name} is not {what} file (an old .doc/.xls or a damaged file?); "
            f"open it in Word, WPS or Excel and save it again as {Path(name).suffix}"
        ) from None
    if unpacked > cap:
        raise TableFormatError(f"{name} unpacks to more than {cap // (1024 * 1024)} MB, which no form needs")


def _docx_grids(name: str, data: bytes, scan: bool = False) -> Iterator[tuple[str, Grid]]:
    import docx

    _check_zip(name, data, "a Word .docx", _MAX_UNPACKED_SCAN if scan else _MAX_UNPACKED)
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - python-docx raises KeyError, ValueError, lxml errors
        raise TableFormatError(f"{name} cannot be opened as a Word .docx file ({exc})") from None
    for number, table in enumerate(document.tables, 1):
        grid: Grid = []
        for row in table.rows[:HEADER_SCAN] if scan else table.rows:
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
        raise TableFormatError(f"{name} cannot be opened as an Excel .xlsx file ({exc})") from None
    try:
        for sheet in book.worksheets:
            if scan:
                rows = sheet.iter_rows(min_row=1, max_row=HEADER_SCAN, min_col=1, max_col=_MAX_COLUMNS,
                                       values_only=True)
                yield f"sheet {sheet.title} of {name}", [[cell_text(v) for v in row] for row in rows]
            else:
                yield f"sheet {sheet.title} of {name}", _sheet_grid(name, sheet)
    finally:
        book.close()


def _sheet_grid(name: str, sheet: Worksheet) -> Grid:
    """The cells the sheet holds, row i being line i + 1 (so line numbers are the sheet's own)."""
    cells = sheet._cells  # {(row, column): cell}: only the cells present in the file
    height = max((r for r, _ in cells), default=0)
    if height > _MAX_ROWS:
        raise TableFormatError(f"sheet {sheet.title} of {name} has more than {_MAX_ROWS} rows, which no form needs")
    width = min(max((c for _, c in cells), default=0), _MAX_COLUMNS)
    grid = [[""] * width for _ in range(height)]
    for (r, c), cell in cells.items():
        if c <= width:
            grid[r - 1][c - 1] = cell_text(cell.value)
    # A vertically merged cell holds its value only at the top: copy it down, so merged
    # unit (or shared e-mail) cells read like python-docx's; horizontal spans stay single.
    for span in sheet.merged_cells.ranges:
        if span.min_row > height or span.min_col > width:
            continue
        top = grid[span.min_row - 1][span.min_col - 1]
        for r in range(span.min_row, min(span.max_row, height)):
            grid[r][span.min_col - 1] = top
    return grid


_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
_EXCEL_EPOCH = datetime.date(1899, 12, 30)  # Excel's day 0 (with its 1900 leap-year bug folded in)


def cell_date(text: str) -> datetime.date | None:
    """A date cell: 2024-09-15, 2024/9/15, 2024年9月15日, or a day number Excel stored; '' is None;
    anything else raises ValueError."""
    text = text.strip()
    if not text:
        return None
    if re.fullmatch(r"\d{5}(\.0+)?", text):  # a date cell stored as a plain number
        return _EXCEL_EPOCH + datetime.timedelta(days=int(float(text)))
    match = _DATE.search(unicodedata.normalize("NFKC", text))
    if match is None:
        raise ValueError(text)
    return datetime.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))


def cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # phones and quotas typed as numbers: 13912345678.0
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    return str(value)


def _csv_grids(name: str, data: bytes, scan: bool = False) -> Iterator[tuple[str, Grid]]:
    text, label = _decode_csv(name, data)
    sample = "\n".join(text.splitlines()[:HEADER_SCAN])
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=",\t;").delimiter
    except csv.Error:
        sniffed = max(",\t;", key=sample.count)
    # The sniffer can be misled by ";" between e-mails: the delimiter that yields a header wins.
    for delimiter in dict.fromkeys((sniffed, ",", "\t", ";")):
        try:
            rows = csv.reader(io.StringIO(text), delimiter=delimiter)
            grid = list(itertools.islice(rows, HEADER_SCAN) if scan else rows)
        except csv.Error as exc:
            raise TableFormatError(f"{name} is not a readable CSV file ({exc})") from None
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
        raise TableFormatError(
            f"{name} is not UTF-8 or GBK text; save it from Excel as 'CSV UTF-8'"
        )
    return text, "GBK"  # GB18030 decodes it, but clerks know the family as GBK
