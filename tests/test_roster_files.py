"""Roster files as clerks make them: Word tables, Excel sheets, CSV in UTF-8 and GBK."""
from __future__ import annotations

import io

import docx
import openpyxl
import pytest

from mailbridge.attribute.roster_files import read_roster
from mailbridge.parse.tables import TableFormatError, looks_like_roster


def _docx_bytes(document: docx.document.Document) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def seed_form_docx() -> bytes:
    """附件2 of the seed notice, filled in the way a county clerk fills it in."""
    document = docx.Document()
    document.add_paragraph("附件2")
    rows = [
        None,  # title row, merged below
        ["单位（部门）", "姓 名", "联系电话", "电子信箱"],
        ["卢氏县科协", "杨 晓红", "13839821576", "lsxkx@163.com"],
        ["渑池县科协", "王建军", "13603986142", "2856471930@qq.com；mcxkx@163.com"],
        ["", "李娜", "0398－4812230", "MCXKX_LN@163.COM"],
        ["", "", "", ""],
        ["灵宝市科协", "张　丽", "13938192703", "ｌｂｓｋｘ＠126.com"],
        None,  # footer row, merged below
    ]
    table = document.add_table(rows=len(rows), cols=4)
    for r, values in enumerate(rows):
        for c, value in enumerate(values or []):
            table.cell(r, c).text = value
    table.cell(0, 0).merge(table.cell(0, 3)).text = "三门峡市科协系统信息员登记表"
    table.cell(3, 0).merge(table.cell(4, 0)).text = "渑池县科协"
    table.cell(7, 0).merge(table.cell(7, 3)).text = "填表人：何雪    联系电话：0398-2826152"
    return _docx_bytes(document)


def article_docx() -> bytes:
    document = docx.Document()
    document.add_paragraph("卢氏县科协开展科技活动周活动")
    document.add_paragraph("5月20日，卢氏县科协在县城广场举办科技活动周启动仪式。")
    table = document.add_table(rows=3, cols=2)
    for r, (a, b) in enumerate([("项目", "人数"), ("科普讲座", "120"), ("义诊", "80")]):
        table.cell(r, 0).text, table.cell(r, 1).text = a, b
    return _docx_bytes(document)


def roster_xlsx() -> bytes:
    book = openpyxl.Workbook()
    notes = book.active
    notes.title = "填表说明"
    notes["A1"] = "请各单位于8月14日前报送"
    sheet = book.create_sheet("信息员")
    sheet.append(["三门峡市科协系统信息员登记表"])
    sheet.merge_cells("A1:F1")
    sheet.append(["序号", "姓名", "电子邮箱", "单位名称", "单位类型", "手机"])
    sheet.append([1, "马超", "kx@smxpt.edu.cn", "三门峡职业技术学院科协", "university", 13938190462])
    sheet.append([2, "周婷", "ZhouTing@smxpt.edu.cn", None, None, 15938190462.0])
    sheet.append([3, "王喆", "wangzhe@zyhjyl.com.cn", "河南中原黄金冶炼厂科协", " 企业科协 ", "0398-2186115"])
    sheet.merge_cells("D3:D4")
    sheet.merge_cells("E3:E4")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


GBK_CSV = (
    "单位,姓名,电话,邮箱,任务数\n"
    "河南中原黄金冶炼厂科协,王喆,1.39123E+10,wangzhe@zyhjyl.com.cn,1\n"
    "市科协科普部,何雪,0398-2826152,smxkxkpb@163.com,2\n"
).encode("gbk")

UTF8_TAB_CSV = (
    "\ufeff电子信箱\t单位（部门）\t姓名\t联系电话\n"
    "lsxkx@163.com\t卢氏县科协\t杨晓红\t13839821576\n"
    "mailto:szqkx2019@163.com\t陕州区科协\t刘洋\t\n"
).encode()


def test_seed_form_docx() -> None:
    read = read_roster("三门峡市科协系统信息员登记表.docx", seed_form_docx())
    assert read.source == "table 1 of 三门峡市科协系统信息员登记表.docx"
    assert read.errors == []
    got = [(r.line, r.unit, r.name, r.phone, r.emails) for r in read.rows]
    assert got == [
        (3, "卢氏县科协", "杨晓红", "13839821576", ["lsxkx@163.com"]),
        (4, "渑池县科协", "王建军", "13603986142", ["2856471930@qq.com", "mcxkx@163.com"]),
        (5, "渑池县科协", "李娜", "0398-4812230", ["mcxkx_ln@163.com"]),
        (7, "灵宝市科协", "张丽", "13938192703", ["lbskx@126.com"]),
    ]
    assert all(r.unit_type is None and r.quota is None for r in read.rows)


def test_xlsx_other_order_merged_units_numeric_phones() -> None:
    read = read_roster("roster.xlsx", roster_xlsx())
    assert read.source == "sheet 信息员 of roster.xlsx"
    assert read.errors == []
    got = [(r.line, r.unit, r.name, r.phone, r.emails, r.unit_type) for r in read.rows]
    assert got == [
        (3, "三门峡职业技术学院科协", "马超", "13938190462", ["kx@smxpt.edu.cn"], "university"),
        (4, "三门峡职业技术学院科协", "周婷", "15938190462", ["zhouting@smxpt.edu.cn"], "university"),
        (5, "河南中原黄金冶炼厂科协", "王喆", "0398-2186115", ["wangzhe@zyhjyl.com.cn"], "企业科协"),
    ]


def test_csv_gbk_comma() -> None:
    read = read_roster("roster.csv", GBK_CSV)
    assert read.source == "roster.csv (GBK)"
    assert read.errors == []
    assert [(r.unit, r.name, r.phone, r.quota) for r in read.rows] == [
        ("河南中原黄金冶炼厂科协", "王喆", "13912300000", 1),
        ("市科协科普部", "何雪", "0398-2826152", 2),
    ]


def test_csv_utf8_bom_tab() -> None:
    read = read_roster("roster.csv", UTF8_TAB_CSV)
    assert read.source == "roster.csv (UTF-8)"
    assert read.errors == []
    assert [(r.line, r.unit, r.name, r.phone, r.emails) for r in read.rows] == [
        (2, "卢氏县科协", "杨晓红", "13839821576", ["lsxkx@163.com"]),
        (3, "陕州区科协", "刘洋", None, ["szqkx2019@163.com"]),
    ]


def test_bundled_demo_roster_reads_clean() -> None:
    from importlib.resources import files

    data = files("mailbridge.demo").joinpath("roster.csv").read_bytes()
    read = read_roster("roster.csv", data)
    assert read.errors == [] and len(read.rows) == 15
    assert read.rows[1].emails == ["2856471930@qq.com", "mcxkx@163.com"]
    assert read.rows[1].unit_type == "county"


def test_row_errors_name_row_and_person() -> None:
    data = (
        "单位（部门）,姓名,电子信箱,月任务\n"
        "河南中原黄金冶炼厂科协,王喆,wz@163 wangzhe@zyhjyl.com.cn,1\n"
        "市科协学会部,韩冬,,2\n"
        "市科协科普部,何雪,smxkxkpb@163.com,两篇\n"
    ).encode()
    read = read_roster("roster.csv", data)
    assert [(e.line, e.message) for e in read.errors] == [
        (2, "row 2 (王喆): 'wz@163' is not an e-mail address"),
        (3, "row 3 (韩冬): no e-mail address"),
        (4, "row 4 (何雪): quota '两篇' is not a whole number"),
    ]
    # bad rows are still returned with what was good in them
    assert [(r.name, r.emails, r.quota) for r in read.rows] == [
        ("王喆", ["wangzhe@zyhjyl.com.cn"], 1),
        ("韩冬", [], 2),
        ("何雪", ["smxkxkpb@163.com"], None),
    ]


def test_repeated_header_section_heading_and_template_rows_are_skipped() -> None:
    data = (
        "序号,单位,姓名,邮箱\n"
        ",一、县（市、区）科协,,\n"
        "1,义马市科协,陈静,ymskx@163.com\n"
        "序号,单位,姓名,邮箱\n"
        "2,同上,,ymskx2@163.com\n"
        "3,,,\n"
        "注：每单位限报1至2名信息员,,,\n"
    ).encode()
    read = read_roster("r.csv", data)
    assert read.errors == []
    assert [(r.line, r.unit, r.name, r.emails) for r in read.rows] == [
        (3, "义马市科协", "陈静", ["ymskx@163.com"]),
        (5, "义马市科协", "", ["ymskx2@163.com"]),
    ]


@pytest.mark.parametrize(
    ("filename", "data", "says"),
    [
        ("article.docx", article_docx(), "no header row with 单位（部门） and 电子信箱"),
        ("登记表.pdf", b"%PDF-1.4\n", ".docx, .xlsx or .csv"),
        ("roster.xlsx", b"\x00garbage\xff" * 50, "is not an Excel .xlsx file"),
        ("roster.docx", b"PK\x03\x04 not really", "is not a Word .docx file"),
    ],
)
def test_unreadable_files_raise_one_sentence(filename: str, data: bytes, says: str) -> None:
    with pytest.raises(TableFormatError) as caught:
        read_roster(filename, data)
    assert says in str(caught.value)
    assert filename in str(caught.value)


@pytest.mark.parametrize(
    ("filename", "data", "expected"),
    [
        ("登记表.docx", seed_form_docx(), True),
        ("roster.xlsx", roster_xlsx(), True),
        ("roster.csv", GBK_CSV, True),
        ("roster.csv", UTF8_TAB_CSV, True),
        ("卢氏县科协科技活动周.docx", article_docx(), False),
        ("roster.xlsx", b"\x00garbage\xff" * 50, False),
        ("roster.docx", b"", False),
        ("photo.jpg", b"\xff\xd8\xff\xe0", False),
        ("units.csv", "单位,姓名\n卢氏县科协,杨晓红\n".encode(), False),  # no e-mail column
    ],
)
def test_looks_like_roster(filename: str, data: bytes, expected: bool) -> None:
    assert looks_like_roster(filename, data) is expected
