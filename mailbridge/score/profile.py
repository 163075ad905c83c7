"""A scoring rule profile (a city's notice as TOML) loaded into typed models; errors name file and key.

A profile holds the channels an article can be adopted by, a list of rules, and how rule points
add up: parts with weights and maxima, capped bonus and penalty, grades. See the shipped profiles
in mailbridge/score/profiles/ for the three seed notices written this way.
"""
from __future__ import annotations

import tomllib
from functools import lru_cache
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
    """Points for an article of at least `min_chars` characters (body_chars, title excluded)."""

    min_chars: Annotated[int, Field(ge=0)]
    points: Points


class Channel(_Model):
    """Where an article can be adopted (采用), and what one adoption there is worth."""

    id: Id
    name: str
    aliases: list[str] = []
    points: Points = 0
    tiers: list[Tier] = []  # points by length instead of flat points (seed 001, 金水时讯)
    zero_categories: list[str] = []  # categories that score nothing here (seed 000: 通知公告)

    def points_for(self, chars: int, category: str | None) -> float:
        if category in self.zero_categories:
            return 0.0
        if self.tiers:
            return max((t for t in self.tiers if chars >= t.min_chars), key=lambda t: t.min_chars).points
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
    cap: Points | None = None  # at most this many points per unit and period from this rule
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
    """A weighted part of the total (seed 003: 工作考核 70%); `max` caps the part's own points."""

    id: str
    name: str
    weight: Annotated[float, Field(gt=0)] = 1.0
    max: Points | None = None


class Grade(_Model):
    """A grade reached at `min` points; `clean`: not with any deduction (seed 003: 出现扣分项的单位不能评为特等)."""

    name: str
    min: float
    clean: bool = False


class UnitRules(_Model):
    """Per-unit figures of a notice (seed 001's 任务分解表): a points target, required items."""

    target: Points | None = None  # points for a year; shorter periods get their share
    required: dict[str, Annotated[int, Field(ge=0)]] = {}


class ProfileInfo(_Model):
    name: str
    source: str = ""  # the notice it comes from, e.g. 三科协字〔2024〕24号
    bonus_cap: Points | None = None
    penalty_cap: Points | None = None
    # seed 003: 未报送单位不参加本次考核 — a unit that sent nothing is not ranked or graded.
    skip_silent: bool = False


class Profile(_Model):
    profile: ProfileInfo
    channels: list[Channel]
    rules: list[Rule]
    parts: list[Part] = [Part(id="main", name="得分")]
    grades: list[Grade] = []
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
        return self

    def channel(self, word: str) -> Channel | None:
        """A channel by id, Chinese name or alias."""
        key = word.strip().lower()
        return next((c for c in self.channels if key in (c.id, c.name.lower(), *(a.lower() for a in c.aliases))),
                    None)

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
