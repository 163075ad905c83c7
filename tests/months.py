"""A month of a whole 科协 system, made up but plausible: N units of every unit type (long and short
names), some that send nothing, articles with long titles and adoptions on every channel. For the
bulletin and workbook tests (what a reader sees at 12 or 47 units) and bench/documents.py (2,000)."""
from __future__ import annotations

import random
from pathlib import Path

from support.books import Books, at

from mailbridge.config import Config

_PLACES = ["卢氏", "渑池", "灵宝", "义马", "陕州", "湖滨", "开发区", "城乡一体化示范区", "洛宁", "栾川", "嵩县"]
_SOCIETIES = ["医学会", "农学会", "中西医结合学会", "土木建筑学会", "计算机学会", "气象学会", "林学会",
              "畜牧兽医学会", "科普作家协会", "老科技工作者协会", "青少年科技教育研究会"]
_FIRMS = ["河南中原黄金冶炼厂", "三门峡戴卡轮毂制造有限公司", "义马煤业集团", "灵宝金源矿业股份有限公司"]
_SCHOOLS = ["三门峡职业技术学院", "三门峡社会管理职业学院", "三门峡市卫生学校"]
_DEPARTMENTS = ["市科协办公室", "市科协科普部", "市科协学会部", "市科协调宣部", "市科技馆", "市科学技术服务中心"]
_TOPICS = ["开展全国科普日主题活动", "举办乡村振兴农业实用技术培训班", "召开第三次会员代表大会",
           "组织专家深入企业开展科技服务", "青少年科技创新大赛圆满落幕", "关于基层科协组织建设的调研报告",
           "科技志愿者走进社区宣讲应急避险知识"]
_CHANNELS = ["website", "wechat", "weibo", "中国科协网", "省级媒体"]


def unit_names(n: int, rng: random.Random) -> list[tuple[str, str]]:
    """n distinct (name, unit type) pairs, spread over the five unit types of config.example.toml."""
    pools = {"county": [f"{p}县科协" for p in _PLACES], "society": [f"三门峡市{f}" for f in _SOCIETIES],
             "enterprise": [f"{f}科协" for f in _FIRMS], "university": [f"{s}科协" for s in _SCHOOLS],
             "department": list(_DEPARTMENTS)}
    kinds = list(pools)
    out: list[tuple[str, str]] = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        pool = pools[kind]
        k = i // len(kinds)
        name = pool[k] if k < len(pool) else f"{pool[k % len(pool)]}第{k // len(pool) + 1}分会"
        out.append((name, kind))
    return out


def system_month(root: Path, config: Config, units: int, month: str = "2024-09", seed: int = 13,
                 silent: float = 0.25) -> Books:
    """The books of `month` for `units` units; about `silent` of them send nothing."""
    rng = random.Random(seed)
    books = Books(root, config)
    for name, kind in unit_names(units, rng):
        books.unit(name, kind)
        if rng.random() < silent:
            continue
        for n in range(rng.randint(1, 7)):
            title = f"{name.removesuffix('科协')}{rng.choice(_TOPICS)}"
            sub = books.article(name, at(month, 1 + (n * 4 + rng.randint(0, 3)) % 28), title,
                                chars=rng.randint(80, 1500))
            if rng.random() < 0.4:
                books.adopt(sub, rng.choice(_CHANNELS))
    books.s.commit()
    return books
