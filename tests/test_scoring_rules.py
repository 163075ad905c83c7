"""Golden cards through the CLI for what issue 14 asks of the profiles: clerk-recorded score items
with caps, ratings weighted into parts, a rule set per unit type, vetoes, grades for negative
totals, length-band boundaries, targets per column, and a year card that is the sum of its months.
Every figure is worked out by hand from the seed text (shared/seeds/001 and 003)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.books import Books, at
from support.mbcli import Mailbridge
from openpyxl import Workbook
from sqlalchemy import select

from mailbridge import config as config_mod
from mailbridge.ledger.models import Decision, ScoreEntry
from mailbridge.score.profile import Tier, band

JINSHUI_CATEGORIES = """
[[categories]]
id = "park_news"
name = "园区动态信息"
keywords = ["园区动态"]

[[categories]]
id = "resource_highlight"
name = "科技资源亮点"
keywords = ["资源亮点"]
"""


def install(root: Path, profile: str, extra: str = "") -> tuple[Mailbridge, Books]:
    mb = Mailbridge(root, [], scoring={"profile": profile})
    if extra:
        mb.config.write_text(mb.config.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return mb, Books(root, config_mod.load(mb.config), db_file="mb.db")


def card(mb: Mailbridge, *period: str) -> dict[str, dict]:
    return {r["unit"]: r for r in json.loads(mb.ok("scorecard", *period, "--json"))}


# --- chongqing (seed 003): 附件 1–4, ratings, vetoes, grades --------------------------------------

def test_chongqing_year_by_unit_type_with_items_ratings_and_vetoes(tmp_path: Path) -> None:
    mb, books = install(tmp_path, "chongqing")
    for name, kind in (("渝北区科协", "county"), ("江北区科协", "county"), ("万州区科协", "county"),
                       ("南岸区科协", "county"), ("市医学会", "society"), ("市农学会", "society"),
                       ("长安汽车科协", "enterprise")):
        books.unit(name, kind)
    summary = {}
    for name in ("渝北区科协", "江北区科协", "万州区科协", "市医学会", "市农学会", "长安汽车科协"):  # 南岸 sends nothing
        summary[name] = books.article(name, at("2020-12", 20), f"{name}2020年度工作总结")
    books.close()

    def add(unit: str, what: str, *args: str) -> str:
        return mb.ok("scores", "add", unit, what, *args, "--by", "李玲")

    # 渝北区科协 (附件 1): indicators 15 + 10 + 20 + 22 (→ its 20) + 10 + 8 + 6 + 9 = 98.
    for what, points in (("c_political", "15"), ("c_academic", "10"), ("c_tech", "20"), ("c_popsci", "22"),
                         ("c_kitchen", "10"), ("c_advice", "8"), ("c_reform", "6"), ("c_publicity", "9")):
        add("渝北区科协", what, points, "--date", "2020-12-21")
    # 加分项, each at most 3 (每项加分不超过3分) over the year: 表彰 2 (June) + 2 (Dec) → 3;
    # 批示 2 + 1 → 3; 推广 2 + 2 → 3; 承办会议 1 × 3 → 3. 12, and the bonus at most 10 (加减均不超过10分).
    evidence = tmp_path / "表彰文件.pdf"
    evidence.write_bytes(b"%PDF-1.4 commendation")
    add("渝北区科协", "表彰", "2", "--date", "2020-06-10", "--note", "中国科协表彰", "--evidence", str(evidence))
    add("渝北区科协", "honour", "2", "--date", "2020-12-05", "--receipt", summary["渝北区科协"].receipt_no)
    add("渝北区科协", "领导批示", "2", "--date", "2020-03-01")
    add("渝北区科协", "instruction", "1", "--date", "2020-09-01")
    add("渝北区科协", "promoted", "2", "--date", "2020-12-01")
    add("渝北区科协", "promoted", "2", "--date", "2020-12-02")
    for day in ("2020-04-01", "2020-05-01", "2020-12-03"):
        add("渝北区科协", "承办会议", "--date", day)  # the profile's 1 per time
    # A deduction recorded by mistake and revoked: it must not cost 特等.
    wrong = add("渝北区科协", "undone", "--date", "2020-12-10")
    entry_id = wrong.split()[2].rstrip(":")
    mb.ok("scores", "revoke", entry_id, "--note", "登记错误")
    # 服务对象评价: three sampled people 95, 85, 90 → 90; 市科协评价 100.
    for points in ("95", "85", "90"):
        add("渝北区科协", "服务对象评价", points, "--date", "2020-12-25")
    add("渝北区科协", "leaders", "100", "--date", "2020-12-25")
    # 工作考核 (98 + 10) × 0.7 = 75.6; 90 × 0.2 = 18; 100 × 0.1 = 10. 103.6, no deduction → 特等.

    # 江北区科协: indicators 100; 未完成市科协交办的工作 −2 (the profile's 2); ratings 100 and 100.
    # (100 − 2) × 0.7 = 68.6 + 20 + 10 = 98.6 ≥ 90, but 出现扣分项的单位不能评为特等 → 一等.
    for what, points in (("c_political", "15"), ("c_academic", "10"), ("c_tech", "20"), ("c_popsci", "20"),
                         ("c_kitchen", "10"), ("c_advice", "10"), ("c_reform", "6"), ("c_publicity", "9")):
        add("江北区科协", what, points, "--date", "2020-12-21")
    add("江北区科协", "未完成交办工作", "--date", "2020-08-08")
    add("江北区科协", "service", "100", "--date", "2020-12-25")
    add("江北区科协", "leaders", "100", "--date", "2020-12-25")

    # 万州区科协, from the clerk's sheet: indicators 100, ratings 100 and 100 → 70 + 20 + 10 = 100,
    # but a 党风廉政 veto (取消资格) bars 特等 and 一等 → 二等.
    (tmp_path / "批示.jpg").write_bytes(b"\xff\xd8 scan")
    book = Workbook()
    sheet = book.active
    sheet.append(["2020年度加扣分登记表"])
    sheet.append(["单位", "项目", "分值", "日期", "说明", "依据", "处理"])
    for what, points in (("政治引领", 15), ("学术交流与科技工作者服务", 10), ("技术服务", 20), ("科普活动", 20),
                         ("科普信息化", 10), ("决策咨询", 10), ("科协改革与组织建设", 6), ("科协宣传工作", 9),
                         ("服务对象评价", 100), ("市科协评价", 100)):
        sheet.append(["万州区科协", what, points, "2020-12-22", "", "", ""])
    sheet.append(["万州区科协", "党风廉政", None, "2020-11-30", "纪委通报", "批示.jpg", "取消资格"])
    book.save(tmp_path / "加扣分.xlsx")
    assert "11 entr(ies) recorded" in mb.ok("scores", "import", str(tmp_path / "加扣分.xlsx"))

    # 市医学会 (附件 2): indicators 20 + 30 + 15 + 15 + 20 = 100; 获奖 5/项 and 承办 5/次, each
    # held to 3 (每项加分不超过3分, read literally): 106, at full weight (no rated parts) → 特等.
    for what, points in (("s_political", "20"), ("s_innovation", "30"), ("s_popsci", "15"), ("s_advice", "15"),
                         ("s_self", "20")):
        add("市医学会", what, points, "--date", "2020-12-21")
    add("市医学会", "获奖", "--date", "2020-10-10")
    add("市医学会", "承办", "--date", "2020-11-11")
    # 市农学会: indicator 5; twelve 未参加 (1 each) = 12, deductions at most 10: 5 − 10 = −5, still graded 二等.
    add("市农学会", "s_political", "5", "--date", "2020-12-21")
    for month in range(1, 13):
        add("市农学会", "absent", "--date", f"2020-{month:02d}-15")
    # 长安汽车科协 (附件 3): 40, and a safety veto with 不予考核: not assessed, no points.
    add("长安汽车科协", "e_tech", "40", "--date", "2020-12-21")
    add("长安汽车科协", "safety", "--effect", "exclude", "--date", "2020-07-07")
    # 南岸区科协 sent nothing (未报送单位不参加本次考核): no points, although −10 was recorded.
    for month in range(1, 6):
        add("南岸区科协", "undone", "--date", f"2020-{month:02d}-20")

    # A rule set per unit type: a 学会 has no 服务对象评价, a 区县 no 学会 award.
    refused = mb.run("scores", "add", "市医学会", "service", "90", "--date", "2020-12-25")
    assert refused.returncode == 2 and "does not apply to 市医学会" in refused.stderr
    refused = mb.run("scores", "add", "渝北区科协", "award", "--date", "2020-12-25")
    assert refused.returncode == 2 and "does not apply" in refused.stderr

    got = card(mb, "--year", "2020")
    assert {u: (r["points"], r["grade"], r["rank"], r["assessed"]) for u, r in got.items()} == {
        "市医学会": (106, "特等", 1, True), "渝北区科协": (103.6, "特等", 2, True),
        "万州区科协": (100, "二等", 3, True), "江北区科协": (98.6, "一等", 4, True),
        "市农学会": (-5, "二等", 5, True),
        "南岸区科协": (None, None, None, False), "长安汽车科协": (None, None, None, False)}
    yubei = got["渝北区科协"]
    assert yubei["parts"] == {"county_work": 98, "service": 90, "leaders": 100}
    assert yubei["weighted"] == {"county_work": 75.6, "service": 18, "leaders": 10}
    # `bonus` is what went into the total; the uncapped sum beside it.
    assert (yubei["bonus"], yubei["bonus_uncapped"], yubei["penalty"]) == (10, 14, 0)
    assert (got["市农学会"]["penalty"], got["市农学会"]["penalty_uncapped"]) == (10, 12)
    assert got["万州区科协"]["vetoes"] == [{"veto": "integrity", "name": "党风廉政", "effect": "bar",
                                       "date": "2020-11-30"}]
    assert got["南岸区科协"]["bonus"] is None and got["南岸区科协"]["penalty_uncapped"] == 10
    # The notice sets no quota: a chongqing unit inherits none (the config's types have none of their own).
    assert all(r["quota"] is None and r["monthly_quota"] is None for r in got.values())

    wanzhou = mb.ok("scorecard", "--year", "2020", "--unit", "万州区科协")
    assert "一票否决：2020-11-30 党风廉政，取消评为特等、一等资格" in wanzhou and "合计：100分，第3名，二等" in wanzhou
    assert "工作考核 100分（满分100），含加减分 × 0.7 = 70分" in wanzhou
    assert "不计分" in mb.ok("scorecard", "--year", "2020", "--unit", "南岸区科协")
    explained = json.loads(mb.ok("scorecard", "--year", "2020", "--unit", "渝北区科协", "--json"))
    honour = [(ln["points"], ln["note"], ln["uncapped"]) for ln in explained["lines"] if ln["rule"] == "honour"]
    assert honour == [(2, "item", None), (1, "capped", 2)]  # June's 2, then December's cut to 1
    assert "中国科协表彰" in next(ln["text"] for ln in explained["lines"] if ln["rule"] == "honour")

    # The audit trail: one decision per entry (and one for the revocation), evidence archived.
    books = Books(tmp_path, config_mod.load(mb.config), db_file="mb.db")
    entries = list(books.s.scalars(select(ScoreEntry)))
    actions = [d.action for d in books.s.scalars(select(Decision).where(Decision.score_entry_id.is_not(None)))]
    assert len(actions) == len(entries) + 1 and actions.count("revoke") == 1 and actions.count("veto") == 2
    kept = next(e for e in entries if e.evidence_name == "表彰文件.pdf")
    assert (tmp_path / "store" / "files").exists() and kept.evidence_sha256 and kept.actor == "李玲"
    assert next(e for e in entries if e.evidence_name == "批示.jpg").via == "sheet"
    books.close()
    listed = json.loads(mb.ok("scores", "list", "--unit", "渝北区科协", "--json"))
    assert sum(r["revoked"] for r in listed) == 1


def test_chongqing_sheet_with_an_error_records_nothing(tmp_path: Path) -> None:
    mb, books = install(tmp_path, "chongqing")
    books.unit("渝北区科协", "county")
    books.close()
    book = Workbook()
    sheet = book.active
    sheet.append(["单位", "项目", "分值", "日期"])
    sheet.append(["渝北区科协", "c_tech", 20, "2020-12-01"])
    sheet.append(["渝北区科协", "不存在的项目", 3, "2020-12-01"])
    sheet.append(["渝北区科协", "service", 120, "2020-12-01"])
    book.save(tmp_path / "s.xlsx")
    done = mb.run("scores", "import", str(tmp_path / "s.xlsx"))
    assert done.returncode == 2 and "row 3:" in done.stderr and "row 4: a rating of 服务对象评价 is a number from 0 to 100" \
        in done.stderr
    assert json.loads(mb.ok("scores", "list", "--json")) == []


# --- jinshui (seed 001): band boundaries, per-column targets, caps per year ----------------------

def test_jinshui_year_is_the_sum_of_its_months(tmp_path: Path) -> None:
    mb, books = install(tmp_path, "jinshui", JINSHUI_CATEGORIES)
    for name in ("高新科", "综合科", "办公室 财务室"):
        books.unit(name)
    # 综合科 (required 科技资源亮点 1 a month): six 金水时讯 articles, one at each side of each
    # boundary. band_edges = "lower": 99 → 0.5; 100 and 299 → 1; 300 and 499 → 3; 500 → 5. 13.5.
    for n, chars in enumerate((99, 100, 299, 300, 499, 500), start=1):
        books.adopt(books.article("综合科", at("2017-03", n), f"综合科{chars}字", chars=chars,
                                  category="resource_highlight" if n == 1 else "news"), "时讯")
    # Every other month of 2017 misses its 科技资源亮点: −1 each, eleven months. Year 13.5 − 11 = 2.5.

    # 高新科 (required 园区动态 1 and 科技资源亮点 2 a month). March: two 内网 items (2) and eight
    # 市局网站 items (4 of the year's bonus cap of 5); nothing missing. March 2 + 4 = 6.
    for n, (category, channels) in enumerate((("park_news", ("内网", "市局网站")),
                                              ("resource_highlight", ("内网", "市局网站")),
                                              ("resource_highlight", ("市局网站",))) + (("news", ("市局网站",)),) * 5,
                                             start=1):
        books.adopt(books.article("高新科", at("2017-03", n), f"高新科三月{n}", chars=50, category=category), *channels)
    # April: a 专期 (5); four 市局网站 items (2, but only 1 left of the year's 5); a 河南日报 piece
    # (+5, no cap); 科技资源亮点 1 of 2: −1. April 5 + 1 + 5 − 1 = 10.
    for n, (category, channels) in enumerate((("park_news", ("专期", "市局网站")),
                                              ("resource_highlight", ("市局网站",)),
                                              ("news", ("市局网站",)), ("news", ("市局网站", "河南日报"))), start=1):
        books.adopt(books.article("高新科", at("2017-04", n), f"高新科四月{n}", chars=50, category=category), *channels)
    # The ten other months miss all three required items: −3 each.  Year: 内网 2 + 5 = 7; bonus
    # 5 + 5 = 10; −(3 × 10 + 1) = −31. 7 + 10 − 31 = −14.
    # 办公室 财务室 is one unit (任务分解表 row "办公室 财务室"): one 内网 item in March, 1.
    books.adopt(books.article("办公室 财务室", at("2017-03", 9), "机关效能建设"), "内网")
    books.close()

    months = {m: card(mb, "--month", f"2017-{m:02d}") for m in range(1, 13)}
    year = card(mb, "--year", "2017")
    assert {u: r["points"] for u, r in year.items()} == {"综合科": 2.5, "办公室 财务室": 1, "高新科": -14}
    assert months[3]["综合科"]["parts"] == {"intranet": 0, "newsletter": 13.5}
    assert (months[3]["高新科"]["points"], months[4]["高新科"]["points"]) == (6, 10)
    assert (months[4]["高新科"]["bonus"], months[4]["高新科"]["bonus_uncapped"]) == (6, 7)
    assert months[1]["高新科"]["points"] == -3 and months[1]["综合科"]["points"] == -1
    for unit, record in year.items():
        assert record["points"] == pytest.approx(sum(months[m][unit]["points"] for m in months)), unit
        assert record["bonus"] == pytest.approx(sum(months[m][unit]["bonus"] for m in months)), unit
    # A quarter takes what January and February left of the year's cap, too.
    q2 = card(mb, "--quarter", "2017-Q2")
    assert q2["高新科"]["bonus"] == 6 and q2["高新科"]["points"] == 10 - 3 - 3
    # Targets per column, for the year only (no month shows a twelfth of a 基础分).
    assert (year["高新科"]["targets"], year["高新科"]["target"]) == ({"intranet": 15, "newsletter": 5}, 20)
    assert (year["办公室 财务室"]["targets"], year["办公室 财务室"]["target"]) == ({"intranet": 10, "newsletter": 2}, 12)
    assert months[3]["高新科"]["target"] is None and months[3]["高新科"]["targets"] is None


def test_band_edges_read_one_way_throughout() -> None:
    tiers = [Tier(min_chars=0, points=0.5), Tier(min_chars=100, points=1), Tier(min_chars=300, points=3),
             Tier(min_chars=500, points=5)]
    lower = [band(tiers, n, "lower") for n in (99, 100, 101, 300, 500, 501)]
    upper = [band(tiers, n, "upper") for n in (99, 100, 101, 300, 500, 501)]
    assert lower == [0.5, 1, 1, 3, 5, 5]  # a boundary belongs to the band starting there
    assert upper == [0.5, 0.5, 1, 1, 3, 5]  # … or to the band ending there


# --- sanmenxia (seed 000): quotas come from the profile, once ------------------------------------

def test_quotas_are_the_profiles_and_the_config_may_override_one(tmp_path: Path) -> None:
    mb, books = install(tmp_path, "sanmenxia", '\n[[unit_types]]\nid = "county"\nname = "县（市、区）科协"\nquota = 7\n'
                        '\n[[unit_types]]\nid = "society"\nname = "市级学会"\n')
    books.unit("卢氏县科协", "county")
    books.unit("市医学会", "society")
    books.article("市医学会", at("2024-09", 3), "市医学会义诊")
    books.close()
    got = card(mb, "--month", "2024-09")
    # county: the config's 7 over the profile's 5; society: the profile's 1 (met: +3).
    assert (got["卢氏县科协"]["monthly_quota"], got["市医学会"]["monthly_quota"]) == (7, 1)
    assert got["市医学会"]["points"] == 3
    roster = {u["name"]: u["quota"] for u in json.loads(mb.ok("roster", "list", "--json"))}
    assert roster == {"卢氏县科协": 7, "市医学会": 1}
