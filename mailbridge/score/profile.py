"""A scoring rule profile (a city's notice as TOML) loaded into typed models; errors name file and key.

A profile holds the channels an article can be adopted by, a list of rules, and how rule points
add up: parts with weights and maxima, capped bonus and penalty, grades. See the shipped profiles
in mailbridge/score/profiles/ for the three seed notices written this way.
"""
from __future__ import annotations

import tomllib
from functools import cached_property, lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mailbridge.config import Config, key_name
from mailbridge.errors import ConfigError

SHIPPED = ("sanmenxia", "jinshui", "chongqing")
Id = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
Points = Annotated[float, Field(ge=0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tier(_Model):
    """A length band starting at `min_chars` characters (body_chars, title excluded). Whether an
    article of exactly `min_chars` is in this band or the one below is the profile's
    `band_edges`, the same for every boundary."""

    min_chars: Annotated[int, Field(ge=0)]
    points: Points


def band(tiers: list[Tier], chars: int, edges: str = "lower") -> float:
    """The points of the band `chars` falls in. edges "lower": a boundary number belongs to the band
    that starts there (100—300 is 100 ≤ n < 300); "upper": to the band that ends there (100 < n ≤ 300)."""
    inside = [t for t in tiers if (chars >= t.min_chars if edges == "lower" else chars > t.min_chars)]
    lowest = min(tiers, key=lambda t: t.min_chars)
    return max(inside, key=lambda t: t.min_chars).points if inside else lowest.points


class Channel(_Model):
    """Where an article can be adopted (采用), and what one adoption there is worth."""

    id: Id
    name: str
    aliases: list[str] = []
    points: Points = 0
    tiers: list[Tier] = []  # points by length instead of flat points (seed 001, 金水时讯)
    zero_categories: list[str] = []  # categories that score nothing here (seed 000: 通知公告)

    def points_for(self, chars: int, category: str | None, edges: str = "lower") -> float:
        if category in self.zero_categories:
            return 0.0
        if self.tiers:
            return band(self.tiers, chars, edges)
        return self.points

    @model_validator(mode="after")
    def _tiers_from_zero(self) -> Channel:
        if self.tiers and min(t.min_chars for t in self.tiers) != 0:
            raise ValueError("tiers must start at min_chars = 0 so that every article has a tier")
        return self


class Rule(_Model):
    """One scoring rule of a notice. `type` says what it counts:

    - adoption: each adopted article earns its channels' points (or `points`); `highest_only`
      keeps its best channel only (seed 000: 分数不累加，按最高分计算).
    - article: each article (optionally only adopted ones, only some categories) earns `points`
      or points by `tiers` (seed 000: 工作研究或调研类 +5).
    - quota: each month the unit's quota is met earns `met`; a missed month costs `missed`, and
      each missing article `per_missing` (seed 000: +3 per month met on time).
    - required: each month, each category the unit must send (`required` here or per unit in
      [units]) costs `per_missing` per missing article (seed 001: 少报一条扣1分).
    - quota_ratio: `points` times the share of the period's quota met, at most 1.
    - adoption_rate: `points` times the share of the unit's articles adopted.
    """

    id: Id
    name: str
    type: Literal["adoption", "article", "quota", "required", "quota_ratio", "adoption_rate"]
    part: str | None = None  # default: the profile's first part
    bonus: bool = False  # points go to the (capped) bonus instead of the part
    cap: Points | None = None  # at most this many points per unit and cap period ([profile] caps_per)
    channels: list[str] = []  # adoption: only these channels (empty: all)
    categories: list[str] = []  # adoption/article: only articles of these categories (empty: all)
    exclude_categories: list[str] = []
    highest_only: bool = False
    adopted_only: bool = False
    points: Points | None = None
    tiers: list[Tier] = []
    met: Points = 0
    missed: Points = 0
    per_missing: Points = 0
    required: dict[str, Annotated[int, Field(ge=0)]] = {}  # category id -> articles a month


class Part(_Model):
    """A weighted part of the total (seed 003: 工作考核 70%); `max` caps the part's own points.

    `rated`: its points are ratings people give (seed 003: 服务对象评价, 市科协评价), entered per
    unit; the mean of the ratings dated in the period. `adjustments`: the capped bonus and
    penalty are added inside this part, before its weight (seed 003: 分数统计后按70%权重计入总分);
    with no such part they are added after the weighted parts, at full weight.
    """

    id: str
    name: str
    weight: Annotated[float, Field(gt=0)] = 1.0
    max: Points | None = None
    rated: bool = False
    adjustments: bool = False


class Item(_Model):
    """A score item a clerk records (seed 003: 表彰 加1分/次, 老科协组建 扣2分), not counted from mail.

    kind bonus / penalty: points to the capped bonus or penalty; kind part: an indicator's points
    (附件 1: 开展学术交流活动 … 4分) in `part`. `points` is what one occurrence is worth (the clerk
    may give other points); `cap` holds the item per unit and cap period (每项加分不超过3分).
    """

    id: Id
    name: str
    kind: Literal["bonus", "penalty", "part"]
    points: Points | None = None
    cap: Points | None = None
    part: str | None = None  # kind part: default the profile's first part
    aliases: list[str] = []


class Veto(_Model):
    """一票否决 (seed 003 注 1): recorded per unit with an effect — `bar`: none of `bars` (取消评为
    特等、一等资格), `exclude`: not assessed (不予考核)."""

    id: Id
    name: str
    bars: list[str] = []
    aliases: list[str] = []


class Grade(_Model):
    """A grade reached at `min` points (no `min`: any total, the lowest grade; seed 003 grades
    every assessed unit); `clean`: not with any deduction (seed 003: 出现扣分项的单位不能评为特等)."""

    name: str
    min: float | None = None
    clean: bool = False


class UnitRules(_Model):
    """Per-unit figures of a notice (seed 001's 任务分解表): targets per part, required items."""

    target: Points | None = None  # points for a year, when the notice gives only a total
    targets: dict[str, Points] = {}  # part id -> points for a year (机关内网 10, 金水时讯 2)
    required: dict[str, Annotated[int, Field(ge=0)]] = {}
    aliases: list[str] = []  # other names of the unit in the roster

    @property
    def year_target(self) -> float | None:
        return sum(self.targets.values()) if self.targets else self.target


class TypeRules(_Model):
    """What applies to units of one unit type (seed 003 附件 1–4: one table per kind of unit) and
    its monthly quota (seed 000). A list left out: all of the profile's; a type not listed: all."""

    quota: Annotated[int, Field(ge=0)] | None = None
    parts: list[str] | None = None
    rules: list[str] | None = None
    items: list[str] | None = None


class ProfileInfo(_Model):
    name: str
    source: str = ""  # the notice it comes from, e.g. 三科协字〔2024〕24号
    bonus_cap: Points | None = None
    penalty_cap: Points | None = None
    # seed 003: 未报送单位不参加本次考核 — a unit that sent nothing is not ranked or graded.
    skip_silent: bool = False
    # Every cap (a rule's, an item's, bonus_cap, penalty_cap) counts over a calendar month or a
    # calendar year; a month card then takes what is left of the year's cap, so a year card is
    # the sum of its months.
    caps_per: Literal["month", "year"] = "year"
    band_edges: Literal["lower", "upper"] = "lower"  # see `band`


class Profile(_Model):
    profile: ProfileInfo
    channels: list[Channel]
    rules: list[Rule]
    parts: list[Part] = [Part(id="main", name="得分")]
    grades: list[Grade] = []
    items: list[Item] = []
    vetoes: list[Veto] = []
    types: dict[str, TypeRules] = {}  # unit type id -> its rule set and quota
    units: dict[str, UnitRules] = {}
    path: str = Field(default="", exclude=True)

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        ids = [c.id for c in self.channels]
        if len(set(ids)) != len(ids):
            raise ValueError("two channels share an id")
        words: dict[str, str] = {}
        for channel in self.channels:
            for word in (channel.id, channel.name, *channel.aliases):
                if words.setdefault(word.lower(), channel.id) != channel.id:
                    raise ValueError(f"{word!r} names two channels ({words[word.lower()]} and {channel.id})")
        parts = {p.id for p in self.parts}
        first = self.parts[0].id if self.parts else None
        if first is None:
            raise ValueError("parts must not be empty")
        object.__setattr__(self, "rules", [r.model_copy(update={"part": r.part or first}) for r in self.rules])
        for n, rule in enumerate(self.rules):
            if rule.part not in parts:
                raise ValueError(f"rules[{n}].part {rule.part!r} is not a part (known: {', '.join(sorted(parts))})")
            for channel_id in rule.channels:
                if channel_id not in ids:
                    raise ValueError(f"rules[{n}].channels names {channel_id!r}, which is not a channel id")
            if rule.type in ("article", "quota_ratio", "adoption_rate") and rule.points is None and not rule.tiers:
                raise ValueError(f"rules[{n}] ({rule.type}) needs points or tiers")
        if len({r.id for r in self.rules}) != len(self.rules):
            raise ValueError("two rules share an id")
        object.__setattr__(self, "items", [i.model_copy(update={"part": i.part or first}) for i in self.items])
        for n, item in enumerate(self.items):
            if item.part not in parts:
                raise ValueError(f"items[{n}].part {item.part!r} is not a part")
        if len({i.id for i in self.items} | {v.id for v in self.vetoes} | parts) != \
                len(self.items) + len(self.vetoes) + len(parts):
            raise ValueError("an id is used twice among items, vetoes and parts")
        grades = {g.name for g in self.grades}
        for veto in self.vetoes:
            if set(veto.bars) - grades:
                raise ValueError(f"vetoes {veto.id!r} bars {min(set(veto.bars) - grades)!r}, which is not a grade")
        if sum(g.min is None for g in self.grades) > 1:
            raise ValueError("only the lowest grade may leave out min")
        known = {"parts": parts, "rules": {r.id for r in self.rules}, "items": {i.id for i in self.items}}
        for kind, rules in self.types.items():
            for key, known_ids in known.items():
                wrong = sorted(set(getattr(rules, key) or ()) - known_ids)
                if wrong:
                    raise ValueError(f"types.{kind}.{key} names {wrong[0]!r}, which is not one of the profile's {key}")
            chosen = [p for p in self.parts if rules.parts is None or p.id in rules.parts]
            if sum(p.adjustments for p in chosen) > 1:
                raise ValueError(f"types.{kind}: more than one part holds the adjustments")
        if sum(p.adjustments for p in self.parts) > 1 and not self.types:
            raise ValueError("more than one part holds the adjustments; choose the parts per unit type in [types]")
        return self

    def rule_set(self, unit_type: str | None) -> tuple[list[Part], list[Rule], list[Item]]:
        """The parts, rules and items that apply to a unit of this type."""
        chosen = self.types.get(unit_type or "")
        if chosen is None:
            return list(self.parts), list(self.rules), list(self.items)
        return ([p for p in self.parts if chosen.parts is None or p.id in chosen.parts],
                [r for r in self.rules if chosen.rules is None or r.id in chosen.rules],
                [i for i in self.items if chosen.items is None or i.id in chosen.items])

    def type_quotas(self) -> dict[str, int]:
        """Unit type id -> monthly quota, as the notice sets them (seed 003 sets none)."""
        return {kind: rules.quota for kind, rules in self.types.items() if rules.quota is not None}

    def has_caps(self) -> bool:
        info = self.profile
        return (info.bonus_cap is not None or info.penalty_cap is not None
                or any(r.cap is not None for r in self.rules) or any(i.cap is not None for i in self.items))

    def unit_rules(self, name: str) -> UnitRules | None:
        """A unit's figures by its name or an alias, whitespace ignored (seed 001: 办公室 财务室 is one unit)."""
        key = "".join(name.split())
        return next((r for n, r in self.units.items() if key in {"".join(w.split()) for w in (n, *r.aliases)}), None)

    def entry_target(self, word: str, unit_type: str | None = None) -> Item | Part | Veto | None:
        """What a clerk's entry names: an item, a rated part or a veto, by id, name or alias (those
        of the unit type's rule set first: two tables may name an indicator alike)."""
        key = "".join(word.split()).lower()
        parts, _, items = self.rule_set(unit_type)
        things: tuple[Item | Part | Veto, ...] = (*items, *(p for p in parts if p.rated), *self.items,
                                                 *(p for p in self.parts if p.rated), *self.vetoes)
        for thing in things:
            names = (thing.id, thing.name, *getattr(thing, "aliases", ()))
            if key in {"".join(n.split()).lower() for n in names}:
                return thing
        return None

    def channel(self, word: str) -> Channel | None:
        """A channel by id, Chinese name or alias (the first channel listed, when two share one)."""
        return self._channel_names.get(word.strip().lower())

    @cached_property
    def _channel_names(self) -> dict[str, Channel]:  # asked once per adoption: 30,000 in a province's year
        return {key: c for c in reversed(self.channels) for key in (c.id, c.name.lower(), *(a.lower() for a in c.aliases))}

    def channel_names(self) -> str:
        return ", ".join(f"{c.id} ({c.name})" for c in self.channels)

    def categories_used(self) -> set[str]:
        used = {c for ch in self.channels for c in ch.zero_categories}
        for rule in self.rules:
            used |= set(rule.categories) | set(rule.exclude_categories) | set(rule.required)
        for unit in self.units.values():
            used |= set(unit.required)
        return used


def profile_file(name_or_path: str) -> Path:
    if name_or_path in SHIPPED:
        return Path(str(files("mailbridge.score").joinpath("profiles", f"{name_or_path}.toml")))
    return Path(name_or_path)


def type_quotas(config: Config) -> dict[str, int]:
    """The configured profile's monthly quota per unit type (for receipts and the roster)."""
    return load_profile(config).type_quotas()


def load_profile(config: Config) -> Profile:
    """The profile the config selects, checked against the config's categories."""
    path = profile_file(config.scoring.profile)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        shipped = ", ".join(SHIPPED)
        raise ConfigError(f"scoring.profile: {path} not found; use a shipped profile ({shipped}) or the path of a "
                          "profile TOML file.") from None
    profile = _read(str(path), mtime)
    unknown = sorted(profile.categories_used() - set(config.category_names()))
    if unknown:
        raise ConfigError(f"{path}: the profile uses category {unknown[0]!r}, which the config does not define; "
                          f"add a [[categories]] entry with id = {unknown[0]!r} and its keywords.")
    return profile


@lru_cache(maxsize=8)
def _read(path: str, mtime: int) -> Profile:  # mtime: a changed file is read again
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read scoring profile {path}: {exc}.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"scoring profile {path} is not valid TOML: {exc}.") from None
    try:
        return Profile.model_validate(raw).model_copy(update={"path": path})
    except ValidationError as exc:
        err = exc.errors()[0]
        key = key_name(err["loc"])
        if err["type"] == "extra_forbidden":
            raise ConfigError(f"scoring profile {path}: unknown key '{key}'; remove it or check its spelling.") from None
        if err["type"] == "missing":
            raise ConfigError(f"scoring profile {path}: missing key '{key}'; add it.") from None
        msg = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"scoring profile {path}: key '{key}' is invalid: {msg}.") from None
