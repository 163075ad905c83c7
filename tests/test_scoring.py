"""Golden tests per profile: a month of books, each unit's score worked out by hand from its seed."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from support.books import Books, at

from mailbridge.config import DEFAULT_CATEGORIES, Config, from_dict
from mailbridge.errors import ConfigError
from mailbridge.ledger.queries import articles_in_month
from mailbridge.score import load as score_load
from mailbridge.score.engine import evaluate
from mailbridge.score.period import parse
from mailbridge.score.profile import load_profile


def scores(books: Books, label: str, today: dt.date, kind: str = "month") -> dict[str, dict]:
    card = evaluate(books.s, books.config, parse(kind, label), today=today)
    return {u.unit: u.record() | {"lines": u.lines} for u in card.units}


# --- sanmenxia (seed 000) -----------------------------------------------------------------------

@pytest.fixture
def sanmenxia(tmp_path: Path) -> Books:
    books = Books(tmp_path, Config())
    for name, kind, quota in (("卢氏县科协", "county", None), ("渑池县科协", "county", None),
                              ("灵宝市科协", "county", None), ("三门峡市医学会", "society", None),
                              ("河南中原黄金冶炼厂科协", "enterprise", 3), ("市科协科普部", "department", None),
                              ("市气象服务中心", None, None)):
        books.unit(name, kind, quota)
    m = "2024-09"
    # 卢氏县科协: six articles (a seventh submission is a corrected version of the sixth).
    a1 = books.article("卢氏县科协", at(m, 2), "卢氏县科协开展科普进社区活动")
    books.adopt(a1, "website", "公众号")  # 官网 5 and 公众号 5: highest only, 5 not 10
    a2 = books.article("卢氏县科协", at(m, 5), "卢氏县举办农业技术培训")
    books.adopt(a2, "中国科协网", "官网")  # 20 beats 5
    a3 = books.article("卢氏县科协", at(m, 9), "关于卢氏县基层科协组织建设的调研报告", category="research")
    books.adopt(a3, "website")  # 5, and research +5
    a4 = books.article("卢氏县科协", at(m, 12), "关于举办科技活动周的通知", category="notice")
    books.adopt(a4, "website")  # 通知公告类不计分: 0
    books.article("卢氏县科协", at(m, 15), "卢氏县科协召开工作推进会")  # not adopted: 0
    a6 = books.article("卢氏县科协", at(m, 20), "卢氏县青少年科技创新大赛落幕")
    books.adopt(a6, "weibo")  # adopted as the first version…
    books.article("卢氏县科协", at(m, 21), "卢氏县青少年科技创新大赛落幕", revises=a6)  # …scores once: 5
    # 6 articles >= quota 5 within September: +3.  Total 5 + 20 + 10 + 0 + 0 + 5 + 3 = 43.

    # 渑池县科协: four articles in September; a fifth arrived at 00:30 on 1 October (16:30 UTC on
    # 30 September): on time counts by the arrival in Asia/Shanghai, so the quota (5) is missed.
    b1 = books.article("渑池县科协", at(m, 3), "渑池县科协开展全国科普日活动")
    books.adopt(b1, "省级媒体", "中央媒体")  # 10 and 20: highest 20
    books.article("渑池县科协", at(m, 8), "渑池县科技工作者状况调研", category="research")  # research, not adopted: 0
    books.article("渑池县科协", at(m, 16), "渑池县科协举办科技讲座")
    books.article("渑池县科协", at(m, 25), "渑池县科协走访企业")
    books.article("渑池县科协", at("2024-10", 1, 0, 30), "渑池县科协九月工作总结")
    # Total 20.

    # 灵宝市科协: five articles, the last at 23:50 on 30 September: quota met on time, +3. Total 3.
    for day, hour, minute in ((2, 10, 0), (9, 10, 0), (16, 10, 0), (23, 10, 0), (30, 23, 50)):
        books.article("灵宝市科协", at(m, day, hour, minute), f"灵宝市科协信息{day}")

    # 三门峡市医学会 (quota 1): one article on 公众号 and 微博, 5 (not 10); +3 for the quota. Total 8.
    c1 = books.article("三门峡市医学会", at(m, 10), "市医学会开展义诊活动")
    books.adopt(c1, "wechat", "weibo")

    # 河南中原黄金冶炼厂科协: its own quota 3 (任务数) overrides the enterprise type's 1.
    d1 = books.article("河南中原黄金冶炼厂科协", at(m, 11), "黄金冶炼厂科协开展技术革新")
    books.adopt(d1, "省委省政府简报")  # 10
    d2 = books.article("河南中原黄金冶炼厂科协", at(m, 18), "黄金冶炼厂科协举办职工科普讲座")
    books.adopt(d2, "市委市政府简报")  # 5
    # 2 < 3: no quota bonus. Total 15.

    # 市科协科普部 (department, quota 2): nothing sent. Total 0, below quota.
    # 市气象服务中心: no unit type, so no quota and no quota bonus; 官网 5. Total 5.
    e1 = books.article("市气象服务中心", at(m, 6), "市气象服务中心发布秋季气候预测")
    books.adopt(e1, "网站")
    yield books
    books.close()


SANMENXIA = {  # unit: (points, rank, submitted, quota, quota_met, adopted)
    "卢氏县科协": (43, 1, 6, 5, True, 5),
    "渑池县科协": (20, 2, 4, 5, False, 1),
    "河南中原黄金冶炼厂科协": (15, 3, 2, 3, False, 2),
    "三门峡市医学会": (8, 4, 1, 1, True, 1),
    "市气象服务中心": (5, 5, 1, None, False, 1),
    "灵宝市科协": (3, 6, 5, 5, True, 0),
    "市科协科普部": (0, 7, 0, 2, False, 0),
}


def test_sanmenxia_golden_month(sanmenxia: Books) -> None:
    got = scores(sanmenxia, "2024-09", today=dt.date(2024, 10, 8))
    assert {u: (r["points"], r["rank"], r["submitted"], r["quota"], r["quota_met"], r["adopted"])
            for u, r in got.items()} == SANMENXIA
    lushi = {(ln.rule, ln.article.title if ln.article else ln.month): (ln.points, ln.note)
             for ln in got["卢氏县科协"]["lines"]}
    assert lushi[("adoption", "卢氏县科协开展科普进社区活动")] == (5, "highest_only")
    assert lushi[("adoption", "关于举办科技活动周的通知")] == (0, "zero_category")
    assert lushi[("research", "关于卢氏县基层科协组织建设的调研报告")] == (5, None)
    assert lushi[("quota", "2024-09")] == (3, "quota_met")
    # `submitted` is ledger.queries' count: versions once, months by arrival in Asia/Shanghai.
    s = sanmenxia.s
    lushi_id = sanmenxia.units["卢氏县科协"].id
    assert articles_in_month(s, lushi_id, "2024-09") == 6
    october = score_load.read(s, sanmenxia.config, parse("month", "2024-10")).counts
    assert october[(sanmenxia.units["渑池县科协"].id, "2024-10")] == 1


def test_sanmenxia_quarter_week_and_month_in_progress(sanmenxia: Books) -> None:
    quarter = scores(sanmenxia, "2024-Q3", today=dt.date(2024, 10, 8), kind="quarter")
    # July and August had nothing: the quota of three months is 15, and only September was met.
    assert quarter["卢氏县科协"]["points"] == 43 and quarter["卢氏县科协"]["quota"] == 15
    assert quarter["卢氏县科协"]["quota_met"] is False
    week = scores(sanmenxia, "2024-W38", today=dt.date(2024, 10, 8), kind="week")  # 16–22 September
    # Adoption points of the week's articles (a6 as its new version: 5); no monthly quota bonus in a week.
    assert week["卢氏县科协"]["points"] == 5 and week["卢氏县科协"]["submitted"] == 1  # the 15th was a Sunday
    assert week["卢氏县科协"]["quota_met"] is True  # month to date 6 >= 5
    # On 20 September the month is not over: 灵宝 has 4 of 5 and nothing is lost yet.
    early = scores(sanmenxia, "2024-09", today=dt.date(2024, 9, 20))
    assert early["渑池县科协"]["points"] == 20 and early["卢氏县科协"]["points"] == 43


# --- jinshui (seed 001) -------------------------------------------------------------------------

JINSHUI_CATEGORIES = [c.model_dump() for c in DEFAULT_CATEGORIES] + [
    {"id": "park_news", "name": "园区动态信息", "keywords": ["园区动态"]},
    {"id": "resource_highlight", "name": "科技资源亮点", "keywords": ["资源亮点"]}]


def test_jinshui_golden_month(tmp_path: Path) -> None:
    config = from_dict({"scoring": {"profile": "jinshui"}, "categories": JINSHUI_CATEGORIES,
                        "unit_types": [{"id": "office", "name": "科室", "quota": 0}]}, base=tmp_path)
    books = Books(tmp_path, config)
    for name in ("高新科", "综合科", "办公室"):
        books.unit(name, "office")
    m = "2017-03"
    # 高新科 (required each month: 园区动态信息 1, 科技资源亮点 2):
    g1 = books.article("高新科", at(m, 1), "园区动态：孵化器新入驻企业", chars=80, category="park_news")
    books.adopt(g1, "内网", "金水时讯", "市局网站")  # 1 + 0.5 (<100 chars); no highest-only: 1.5
    g2 = books.article("高新科", at(m, 2), "资源亮点：共享实验室", chars=100, category="resource_highlight")
    books.adopt(g2, "newsletter", "city_website")  # exactly 100 chars: the 100–300 tier, 1
    g3 = books.article("高新科", at(m, 3), "高新技术企业培育情况", chars=500)
    books.adopt(g3, "newsletter", "专期", "city_website")  # 500 chars: still 300–500, 3; 专期 5: 8
    g4 = books.article("高新科", at(m, 4), "技术市场交易活跃", chars=501)
    books.adopt(g4, "newsletter", "河南日报", "city_website")  # 501: over 500, 5; newspaper +5: 10
    for n in range(5, 13):  # eight more on the city website: 12 × 0.5 = 6, capped at +5
        books.adopt(books.article("高新科", at(m, n), f"高新科动态{n}", chars=50), "市局网站")
    # 科技资源亮点: 1 of 2, −1.  Total 1.5 + 1 + 10 + 10 + 5 − 1 = 26.5
    # 综合科 (required 科技资源亮点 1): 350 chars in 金水时讯, 3; none of the required item, −1. Total 2.
    books.adopt(books.article("综合科", at(m, 6), "科技活动周筹备", chars=350), "时讯")
    # 办公室: nothing sent and nothing required. Total 0.
    got = scores(books, m, today=dt.date(2017, 4, 5))
    assert {u: (r["points"], r["rank"]) for u, r in got.items()} == {
        "高新科": (26.5, 1), "综合科": (2, 2), "办公室": (0, 3)}
    capped = [ln for ln in got["高新科"]["lines"] if ln.note == "capped"]
    assert capped and sum(ln.points for ln in got["高新科"]["lines"] if ln.rule == "city_website") == 5
    missing = [(ln.points, ln.detail["category"]) for ln in got["高新科"]["lines"] if ln.note == "required_missing"]
    assert missing == [(-1, "resource_highlight")]
    # The 基础分 is a year's; a month card shows none (it used to show 20 / 12, which the seed never makes).
    assert got["高新科"]["target"] is None and got["高新科"]["targets"] is None
    books.close()


# --- chongqing (seed 003) -----------------------------------------------------------------------

# The chongqing golden month that stood here scored mail (quota ratio 70%, adoptions 20%, adoption
# rate 10%) under a 5-a-month quota the seed never sets; seed 003's weights belong to 工作考核,
# 服务对象评价 and 市科协评价 (issue 14). Its golden cards are in tests/test_scoring_rules.py.


# --- a new city is a new TOML file --------------------------------------------------------------

CUSTOM = """
[profile]
name = "某市科协信息考核"
bonus_cap = 10
penalty_cap = 4
caps_per = "month"  # per year, January to April's missed quotas would have used the penalty cap up

[[channels]]
id = "site"
name = "网站"
points = 2

[[rules]]
id = "sent"
name = "报送计分"
type = "article"
tiers = [{ min_chars = 0, points = 1 }, { min_chars = 1000, points = 2 }]

[[rules]]
id = "adopted"
name = "采用加分"
type = "adoption"
channels = ["site"]
points = 6
bonus = true

[[rules]]
id = "quota"
name = "报送任务"
type = "quota"
per_missing = 1

[types.county]
quota = 5
"""


def test_custom_profile_file_caps_bonus_and_penalty(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "city.toml").write_text(CUSTOM, encoding="utf-8")
    config = from_dict({"scoring": {"profile": "rules/city.toml"}}, base=tmp_path)  # relative to the config
    assert config.scoring.profile == str(tmp_path / "rules" / "city.toml")
    books = Books(tmp_path, config)
    books.unit("县科协", "county")
    m = "2024-05"
    books.adopt(books.article("县科协", at(m, 1), "一", chars=1200), "site")
    books.adopt(books.article("县科协", at(m, 2), "二", chars=10), "网站")
    # sent: 2 + 1 = 3; bonus 6 + 6 = 12 → cap 10; quota 5, sent 2: −3 (cap 4 not reached). 3 + 10 − 3 = 10
    assert scores(books, m, today=dt.date(2024, 6, 1))["县科协"]["points"] == 10
    books.close()


@pytest.mark.parametrize(("body", "expected"), [
    ("[profile]\nname = 'x'\n[[channels]]\nid = 'a'\nname = 'A'\npoint = 1\n[[rules]]\n",
     "unknown key 'channels[0].point'"),
    ("[profile]\nname = 'x'\n[[channels]]\nid = 'a'\nname = 'A'\n[[rules]]\nid = 'r'\nname = 'R'\ntype = 'adoption'\n"
     + "channels = ['b']\n", "rules[0].channels names 'b'"),
    ("[profile]\nname = 'x'\nchannels = [\n", "is not valid TOML"),
    ("[[channels]]\nid = 'a'\nname = 'A'\n[[rules]]\nid = 'r'\nname = 'R'\ntype = 'adoption'\n", "missing key 'profile'"),
])
def test_profile_errors_name_the_file_and_key(tmp_path: Path, body: str, expected: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_profile(from_dict({"scoring": {"profile": str(path)}}, base=tmp_path))
    assert expected in str(info.value) and str(path) in str(info.value) and "\n" not in str(info.value)


def test_missing_profile_and_unknown_category() -> None:
    with pytest.raises(ConfigError, match=r"scoring\.profile: .*nowhere\.toml not found"):
        load_profile(Config(scoring={"profile": "/nowhere.toml"}))
    with pytest.raises(ConfigError, match="category 'park_news'"):
        load_profile(Config(scoring={"profile": "jinshui"}))


def test_check_config_reports_a_broken_profile_with_exit_2(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "city.toml").write_text("[profile]\nname = 'x'\n[[channels]]\nid = 'A'\nname = 'a'\n[[rules]]\n",
                                        encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text('[scoring]\nprofile = "city.toml"\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "mailbridge", "-c", str(config), "check-config"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"scoring profile {tmp_path / 'city.toml'}: key 'channels[0].id' is invalid" in done.stderr
