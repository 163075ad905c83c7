"""The 通报 and the workbook as their readers print them: rendered to PDF by headless LibreOffice
(libreoffice-writer-nogui, libreoffice-calc-nogui) and read back with poppler's pdfinfo/pdftotext,
for a 12-unit and a 47-unit month. One soffice run converts all four files (~10 s)."""
from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from support.fixtures import missing
from months import system_month

from mailbridge.config import Config, ScoringConfig
from mailbridge.score.docx import write_docx
from mailbridge.score.engine import Scorecard, evaluate
from mailbridge.score.period import parse
from mailbridge.score.xlsx import write_xlsx

SIZES = (12, 47)


def _need(tool: str) -> str:
    found = shutil.which(tool)
    if not found:
        missing(f"{tool} is missing (make test-deps installs LibreOffice and poppler-utils)",
                f"{tool} is missing: CI must render the documents (make test-deps installs it)")
    return found


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[Scorecard, Path, Path]]:
    soffice = _need("soffice")
    _need("pdftotext")
    root = tmp_path_factory.mktemp("render")
    config = Config(scoring=ScoringConfig(issuer="三门峡市科学技术协会"))
    out: dict[int, tuple[Scorecard, Path, Path]] = {}
    for n in SIZES:
        books = system_month(root / f"books{n}", config, n)
        card = evaluate(books.s, config, parse("month", "2024-09"), today=dt.date(2024, 10, 8))
        books.close()
        write_docx(card, config, root / f"bulletin{n}.docx")
        write_xlsx(card, config, root / f"workbook{n}.xlsx")
        out[n] = (card, root / f"bulletin{n}.pdf", root / f"workbook{n}.pdf")
    graded = Config(scoring=ScoringConfig(issuer="三门峡市科学技术协会", profile="chongqing"))
    books = system_month(root / "graded", config, 47)
    card = evaluate(books.s, graded, parse("month", "2024-09"), today=dt.date(2024, 10, 8))
    books.close()
    write_docx(card, graded, root / "graded.docx")
    out[0] = (card, root / "graded.pdf", root / "graded.pdf")
    # A private profile: a user's LibreOffice (or another test run) must not share its lock.
    subprocess.run([soffice, f"-env:UserInstallation=file://{root}/lo-profile", "--headless", "--norestore",
                    "--convert-to", "pdf", "--outdir", str(root)]
                   + [str(root / f"{kind}{n}.{ext}") for n in SIZES for kind, ext in (("bulletin", "docx"),
                                                                                      ("workbook", "xlsx"))]
                   + [str(root / "graded.docx")],
                   check=True, capture_output=True, timeout=180)
    return out


def pages(pdf: Path) -> list[list[str]]:
    """Each page's non-blank lines, in reading order."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    return [[line.strip() for line in page.splitlines() if line.strip()] for page in text.split("\f")[:-1]]


def page_sizes(pdf: Path) -> list[tuple[float, float]]:
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "999", str(pdf)], check=True, capture_output=True,
                          text=True).stdout
    return [(float(w), float(h)) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", info)]


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("n", SIZES)
def test_bulletin_pages_break_where_a_reader_expects(rendered, n: int) -> None:  # type: ignore[no-untyped-def]
    card, pdf, _ = rendered[n]
    got = pages(pdf)
    assert len(got) in {12: (2, 3), 47: (3, 4, 5)}[n]  # 4 and 2 here; font metrics vary a little
    names = {u.unit for u in card.units}
    headings = re.compile(r"^[一二三四五六七八九十]+、|^以下\d+个单位未完成")
    for number, lines in enumerate(got, 1):
        body, footer = lines[:-1], lines[-1]
        assert squeeze(footer) == f"—{number}—"  # 页码 "— 1 —" on every page
        # No page begins with a table row cut from its header (the header row repeats) ...
        first = squeeze(body[0])
        assert not any(name in first for name in names), f"page {number} starts with a row: {body[0]}"
        # ... and no heading is left at the foot of a page (keep with next).
        assert not headings.match(squeeze(body[-1])), f"page {number} ends with a heading: {body[-1]}"
    text = squeeze(" ".join(" ".join(p) for p in got))
    assert "未参加考核" not in text and "未报送" in text
    assert squeeze("各县（市、区）科协，市属各学（协）会、企业科协、高校科协，机关各部门及事业单位：") in text


@pytest.mark.parametrize("n", SIZES)
def test_workbook_prints_landscape_with_headers_on_every_page(rendered, n: int) -> None:  # type: ignore[no-untyped-def]
    card, _, pdf = rendered[n]
    sizes = page_sizes(pdf)
    assert sizes and all(w > h for w, h in sizes)  # landscape, every sheet
    got = pages(pdf)
    sheets = 2 + len({u.unit_type for u in card.units})  # 总表, one per unit type, 计分明细
    assert sheets <= len(got) <= {12: 9, 47: 14}[n]  # not 16 scattered pages for 12 units
    types = {u.unit_type_name for u in card.units if u.unit_type_name}
    for number, lines in enumerate(got, 1):
        # a page with table rows (a unit type's name, or a receipt number) starts with the title
        # rows (print titles) — chart pages hold names only
        if any(t in line for line in lines for t in types) or any("SMX-" in line for line in lines):
            assert "名次" in lines[1] or "回执号" in lines[0], f"page {number}: {lines[:2]}"
    # one page wide: every column is on the page that holds its row
    assert all("得分" in lines[1] for lines in got if "名次" in "".join(lines[:2]))


def test_graded_bulletin_keeps_not_assessed_on_one_line(rendered) -> None:  # type: ignore[no-untyped-def]
    card, pdf, _ = rendered[0]
    absent = sum(1 for u in card.units if not u.assessed)
    lines = [line for page in pages(pdf) for line in page]
    # "未参加考核" whole on its row's line, not "未参加" / "考核" over two or three lines
    assert absent > 5 and sum(line.count("未参加考核") for line in lines) == absent
    assert sum(1 for line in lines if re.search(r"[一二]等|特等", line)) == sum(1 for u in card.units if u.grade)
