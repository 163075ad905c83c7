"""What a reader of the scorecard's documents sees: the 通报 (.docx) as GB/T 9704 sets a 公文 and
the seeds write it, the workbook (.xlsx) as it prints. Asserted on the written files with
python-docx and openpyxl, and on the raw XML where the libraries do not expose it."""
from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest
from months import system_month
from openpyxl.worksheet.worksheet import Worksheet

from mailbridge.config import Config, ScoringConfig
from mailbridge.score.docx import TABLE_PT, write_docx
from mailbridge.score.engine import Scorecard, evaluate
from mailbridge.score.period import parse
from mailbridge.score.xlsx import CM_PER_UNIT, write_xlsx

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
ISSUER = "三门峡市科学技术协会"
SALUTATION = "各县（市、区）科协，市属各学（协）会、企业科协、高校科协，机关各部门及事业单位："  # seed 000


def config(**scoring: str) -> Config:
    return Config(scoring=ScoringConfig(**({"issuer": ISSUER} | scoring)))


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    books = system_month(tmp_path_factory.mktemp("books"), config(), 47)
    yield books
    books.close()


def card_of(books, cfg: Config) -> Scorecard:  # type: ignore[no-untyped-def]
    return evaluate(books.s, cfg, parse("month", "2024-09"), today=dt.date(2024, 10, 8))


def bulletin(card: Scorecard, cfg: Config) -> tuple[docx.document.Document, zipfile.ZipFile]:
    out = io.BytesIO()
    write_docx(card, cfg, out)
    return docx.Document(io.BytesIO(out.getvalue())), zipfile.ZipFile(out)


def rows(table) -> list[list[str]]:  # type: ignore[no-untyped-def]
    return [[c.text for c in row.cells] for row in table.rows]


def test_bulletin_has_the_masthead_salutation_and_citation_of_the_seed(month) -> None:  # type: ignore[no-untyped-def]
    cfg = config(doc_number="三科协字〔2024〕30号")
    document, _ = bulletin(card_of(month, cfg), cfg)
    paragraphs = document.paragraphs
    texts = [p.text for p in paragraphs]
    mark = paragraphs[0]
    assert mark.text == f"{ISSUER}文件"  # 发文机关标志, red (GB/T 9704 7.2.2)
    assert mark.runs[0].font.color.rgb == docx.shared.RGBColor(0xFF, 0, 0)
    assert 'w:eastAsia="方正小标宋简体"' in mark.runs[0]._r.xml
    number = next(p for p in paragraphs if p.text == "三科协字〔2024〕30号")
    assert number.alignment == docx.enum.text.WD_ALIGN_PARAGRAPH.CENTER
    border = number._p.find(f"{W}pPr/{W}pBdr/{W}bottom")  # the red 分隔线 under the 发文字号
    assert border is not None and border.get(f"{W}color") == "FF0000"
    assert texts.index("三科协字〔2024〕30号") < texts.index("关于2024年9月信息报送采用情况的通报")
    assert SALUTATION in texts
    summary = next(t for t in texts if t.startswith("2024年9月，全系统47个单位"))
    assert "按照《三门峡市科协信息宣传工作考评实施细则》（三科协字〔2024〕24号）计分" in summary
    today = dt.datetime.now(cfg.ingest.zone).date()  # the office's day (Asia/Shanghai), not the machine's
    assert texts[-2:] == [ISSUER, f"{today.year}年{today.month}月{today.day}日"]


def test_blank_doc_number_leaves_its_line_for_the_office_and_no_issuer_no_masthead(month) -> None:  # type: ignore[no-untyped-def]
    cfg = config()
    paragraphs = bulletin(card_of(month, cfg), cfg)[0].paragraphs
    line = next(p for p in paragraphs if p._p.find(f"{W}pPr/{W}pBdr") is not None)
    assert line.text == "" and paragraphs.index(line) < 5  # the 文号 line, blank, above the red line
    bare = Config()
    texts = [p.text for p in bulletin(card_of(month, bare), bare)[0].paragraphs]
    assert texts[0] == "关于2024年9月信息报送采用情况的通报" and not any("文件" in t for t in texts)


def test_demo_issues_its_bulletin_under_an_issuer() -> None:
    from mailbridge.commands.admin import DEMO_CONFIG

    assert tomllib.loads(DEMO_CONFIG)["scoring"]["issuer"] == ISSUER


def test_bulletin_tables_break_across_pages_as_a_reader_needs(month) -> None:  # type: ignore[no-untyped-def]
    cfg = config()
    card = card_of(month, cfg)
    document, _ = bulletin(card, cfg)
    headings = [p for p in document.paragraphs if re.match(r"^[一二三四五六七八九十]+、", p.text)]
    assert len(headings) == 6 and all(p.paragraph_format.keep_with_next for p in headings)
    for table in document.tables:
        trs = table._tbl.findall(f"{W}tr")
        assert trs[0].find(f"{W}trPr/{W}tblHeader") is not None  # repeated on every page
        assert all(tr.find(f"{W}trPr/{W}cantSplit") is not None for tr in trs)
        assert all(tc.find(f"{W}tcPr/{W}vAlign").get(f"{W}val") == "center" for tc in table._tbl.iter(f"{W}tc"))
    # 未完成: a table of names, not one sentence of every unit.
    below = [u for u in card.units if u.below_quota]
    assert len(below) > 10
    assert rows(document.tables[-1])[0] == ["序号", "单位", "单位类型", "报送数", "任务数"]
    assert [r[1] for r in rows(document.tables[-1])[1:]] == [u.unit for u in below]
    assert max(len(p.text) for p in document.paragraphs) < 200


def test_units_that_sent_nothing_have_no_tied_rank(month, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cfg = config()
    card = card_of(month, cfg)
    document, _ = bulletin(card, cfg)
    silent = {u.unit for u in card.units if u.submitted == 0}
    assert len(silent) > 5
    for table in document.tables[:-1]:
        body = rows(table)[1:]
        assert all(r[0] == "未报送" for r in body if r[1] in silent)
        assert all(r[0].isdigit() for r in body if r[1] not in silent)
        ranks = [r[0] == "未报送" for r in body]
        assert ranks == sorted(ranks)  # ranked units first
    # The CLI's table says the same (its JSON keeps the engine's rank, with `submitted` 0).
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "{month.db.engine.url}"\n[storage]\ndir = "store"\n', encoding="utf-8")
    month.s.commit()  # end the fixture's read, or the CLI waits for the database
    done = subprocess.run([sys.executable, "-m", "mailbridge", "-c", str(path), "scorecard", "--month", "2024-09"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    table = [[c.strip() for c in re.split(r"[│┃|]", line)[1:-1]] for line in done.stdout.splitlines()]
    ranks = {r[1]: r[0] for r in table if len(r) > 2 and r[1] in {u.unit for u in card.units}}
    assert len(ranks) == len(card.units) and {u for u, r in ranks.items() if r == "未报送"} == silent


def test_graded_bulletin_prints_grades_and_keeps_the_rank_column_on_one_line(month) -> None:  # type: ignore[no-untyped-def]
    cfg = config(profile="chongqing")
    card = card_of(month, cfg)
    assert any(u.grade for u in card.units) and any(not u.assessed for u in card.units)
    document, _ = bulletin(card, cfg)
    grades = {u.unit: u.grade or "—" for u in card.units}
    for table in document.tables[:-1]:
        header, *body = rows(table)
        assert header[-1] == "等次"
        assert all(r[-1] == grades[r[1]] for r in body)
        assert any(r[0] == "未参加考核" for r in body)
        first = table._tbl.find(f"{W}tblGrid/{W}gridCol")
        # five characters at the table's size, plus the cell's margins (0.19 cm a side = 108 twips)
        assert int(first.get(f"{W}w")) >= 5 * TABLE_PT * 20 + 2 * 108
        assert sum(int(g.get(f"{W}w")) for g in table._tbl.iter(f"{W}gridCol")) <= round(15.6 / 2.54 * 1440) + 1


def test_bulletin_document_properties_spacing_and_page_numbers(month) -> None:  # type: ignore[no-untyped-def]
    cfg = config()
    document, package = bulletin(card_of(month, cfg), cfg)
    props = document.core_properties
    assert props.author == props.last_modified_by == ISSUER and props.language == "zh-CN"
    assert abs(props.created - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)  # not 2013
    assert props.title == "关于2024年9月信息报送采用情况的通报"
    assert not any("thumbnail" in name for name in package.namelist())
    assert "thumbnail" not in package.read("_rels/.rels").decode()
    styles = package.read("word/styles.xml").decode()
    defaults = styles[styles.index("<w:docDefaults>"):styles.index("</w:docDefaults>")]
    assert 'w:val="zh-CN"' in defaults and 'w:eastAsia="zh-CN"' in defaults and "en-US" not in defaults
    assert 'w:after="0"' in defaults and 'w:after="200"' not in styles  # GB/T 9704: no space after
    assert document.styles["Normal"].paragraph_format.space_after == 0
    # 页码 "— 1 —" as a PAGE field, odd pages right and even pages left (GB/T 9704 7.5).
    assert document.settings.odd_and_even_pages_header_footer
    section = document.sections[0]
    for footer, align in ((section.footer, "right"), (section.even_page_footer, "left")):
        xml = footer._element.xml
        assert "PAGE" in "".join(t.text for t in footer._element.iter(f"{W}instrText"))
        assert "".join(t.text for t in footer._element.iter(f"{W}t")) == "— 1 —"
        assert f'w:jc w:val="{align}"' in xml
    # python-docx without it: every paragraph and all 14,000 cells of a province's tables.
    assert 'w:eastAsia="仿宋_GB2312"' in styles and 'w:eastAsia="宋体"' in styles


def _cells(sheet: Worksheet) -> list[list[object]]:
    return [[c.value for c in row] for row in sheet.iter_rows()]


def test_workbook_prints_landscape_one_page_wide_with_a_readable_chart(month) -> None:  # type: ignore[no-untyped-def]
    cfg = config()
    card = card_of(month, cfg)
    out = io.BytesIO()
    write_xlsx(card, cfg, out)
    book = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    for sheet in book.worksheets:
        setup = sheet.page_setup
        assert (setup.orientation, setup.fitToWidth, setup.fitToHeight) == ("landscape", 1, 0), sheet.title
        assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.print_title_rows
        assert sheet.auto_filter.ref and sheet.freeze_panes
    overall = book["总表"]
    body = _cells(overall)[2:2 + len(card.units)]
    silent = {u.unit for u in card.units if u.submitted == 0}
    assert all(r[0] == "未报送" for r in body if r[1] in silent)
    assert all(r[7] == "—" for r in body if r[1] in silent)  # 采用率 as the .docx prints it
    assert overall["A3"].alignment.horizontal == "center"  # the rank apart from the name
    assert overall["B3"].font.name == "宋体"  # body cells in a CJK font, no Calibri
    xml = zipfile.ZipFile(out).read("xl/charts/chart1.xml").decode()
    tags = re.findall(r'<(?:c:)?((?:catAx|valAx|delete|orientation|tickLblSkip)(?: val="\w+")?)', xml)
    # both axes written visible (Excel hides an axis without <c:delete val="0"/>), categories top-down
    assert tags == ["catAx", 'orientation val="maxMin"', 'delete val="0"', 'tickLblSkip val="1"',
                    "valAx", 'orientation val="minMax"', 'delete val="0"']
    drawing = zipfile.ZipFile(out).read("xl/drawings/drawing1.xml").decode()
    row, height = re.search(r"<(?:xdr:)?row>(\d+)</.*?<(?:xdr:)?ext [^>]*cy=\"(\d+)\"", drawing, re.DOTALL).groups()
    assert int(height) >= CM_PER_UNIT * len(card.units) * 360000  # EMU: a line for every unit's name
    assert int(row) >= 2 + len(card.units)  # below the table, not over it
    detail = book["计分明细"]
    assert detail.freeze_panes == "A2" and detail.auto_filter.ref == f"A1:G{detail.max_row}"
    assert detail.print_title_rows == "$1:$1" and book["总表"].print_title_rows == "$1:$2"
    assert detail["C2"].alignment.wrap_text and detail["G2"].alignment.wrap_text
    assert detail["A2"].font.name == "宋体"


def test_graded_workbook_has_grades(month) -> None:  # type: ignore[no-untyped-def]
    cfg = config(profile="chongqing")
    card = card_of(month, cfg)
    out = io.BytesIO()
    write_xlsx(card, cfg, out)
    overall = openpyxl.load_workbook(io.BytesIO(out.getvalue()))["总表"]
    assert overall["J2"].value == "等次"
    assert {r[1]: r[9] for r in _cells(overall)[2:2 + len(card.units)]} == {u.unit: u.grade for u in card.units}


def test_writers_do_not_grow_with_the_square_of_the_units(month, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """`Worksheet.max_row` scans every cell: once per appended row made the workbook quadratic."""
    cfg = config()
    card = card_of(month, cfg)
    calls = []
    original = Worksheet.max_row.fget
    monkeypatch.setattr(Worksheet, "max_row", property(lambda self: calls.append(1) or original(self)))
    write_xlsx(card, cfg, io.BytesIO())
    assert len(calls) < 4 * len(card.units) // 5  # openpyxl's save asks once or twice a sheet


def test_salutation_is_derived_from_the_unit_types_of_any_config(tmp_path: Path) -> None:
    from support.books import Books, at

    from mailbridge.config import UnitType

    cfg = Config(unit_types=[UnitType(id="county", name="县区科协", quota=5, salutation="各县区科协"),
                             UnitType(id="park", name="园区科协", quota=1),
                             UnitType(id="school", name="各高校科协", quota=1)],
                 scoring=ScoringConfig(issuer=ISSUER))
    books = Books(tmp_path, cfg)
    for name, kind in (("卢氏县科协", "county"), ("高新区科协", "park"), ("职业学院科协", "school"), ("气象服务中心", None)):
        books.unit(name, kind)
    books.article("卢氏县科协", at("2024-09", 3), "卢氏县科协开展科普日活动")
    document, _ = bulletin(card_of(books, cfg), cfg)
    books.close()
    # configured, 各 + name, a name that already starts with 各, and untyped units last
    assert "各县区科协，各园区科协，各高校科协，各有关单位：" in [p.text for p in document.paragraphs]


def test_a_units_own_scorecard_mail_gives_no_rank_for_nothing_sent(month) -> None:  # type: ignore[no-untyped-def]
    from mailbridge.render import render_mail

    cfg = config()
    card = card_of(month, cfg)
    silent = next(u for u in card.units if u.submitted == 0 and u.type_rank)
    sent = next(u for u in card.units if u.submitted and u.type_rank)
    for u, ranked in ((silent, False), (sent, True)):
        _, text, html = render_mail(cfg, "scorecard_unit", year=2024, month=9, u=u.record(), missing=0)
        assert ("排名第" in text) is ranked and ("排名第" in html) is ranked
