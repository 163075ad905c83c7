"""What each rule type of a profile gives one unit: a list of lines, one per point-bearing fact.

A line names the rule, the submission (when there is one), the channel or month, and the points;
`note` is a code the explanation template turns into words (zero_category, highest_only, capped…).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import TypedDict, Unpack

from mailbridge.score.period import Period, month_end
from mailbridge.score.profile import Channel, Profile, Rule, band


@dataclass
class Article:
    """An article in the period: its newest version, and the adoptions of any of its versions."""

    submission_id: int
    receipt_no: str
    title: str
    month: str
    arrived: date
    category: str | None
    chars: int
    review_status: str
    adoptions: dict[str, date] = field(default_factory=dict)  # channel id -> adopted on


@dataclass
class Line:
    rule: str
    rule_name: str
    points: float
    kind: str  # part | bonus | penalty
    part: str
    article: Article | None = None
    channel: Channel | None = None
    month: str | None = None
    note: str | None = None
    detail: dict = field(default_factory=dict)
    uncapped: float | None = None  # the points before a cap took some (None: not capped)

    @property
    def when(self) -> str:
        """The month (YYYY-MM) the line's points belong to, for caps per month or year."""
        return self.month or (self.article.month if self.article else "")


@dataclass
class UnitFacts:
    """What the rules look at for one unit."""

    name: str
    monthly_quota: int | None
    articles: list[Article]
    counts: dict[str, int]  # YYYY-MM -> articles that month (versions once), for quotas
    required: dict[str, int]  # category -> articles a month the unit must send (seed 001)


class _LineDetails(TypedDict, total=False):
    article: Article | None
    channel: Channel | None
    month: str | None
    note: str | None
    detail: dict


def _line(rule: Rule, points: float, **kw: Unpack[_LineDetails]) -> Line:
    kind = "penalty" if points < 0 else ("bonus" if rule.bonus else "part")
    return Line(rule.id, rule.name, points, kind, rule.part or "", **kw)


def _selected(rule: Rule, art: Article) -> bool:
    if rule.categories and art.category not in rule.categories:
        return False
    return art.category not in rule.exclude_categories


def adoption(rule: Rule, profile: Profile, unit: UnitFacts, period: Period, today: date) -> list[Line]:
    lines = []
    order = {c.id: n for n, c in enumerate(profile.channels)}  # ties go to the channel listed first
    for art in unit.articles:
        if not art.adoptions or not _selected(rule, art):
            continue
        scored = []
        for channel_id in art.adoptions:
            channel = profile.channel(channel_id)
            if channel is None:  # the profile changed since: say so rather than drop it silently
                lines.append(_line(rule, 0, article=art, note="unknown_channel", detail={"channel": channel_id}))
                continue
            if rule.channels and channel.id not in rule.channels:
                continue
            points = channel.points_for(art.chars, art.category, profile.profile.band_edges)
            if rule.points is not None:
                points = 0.0 if art.category in channel.zero_categories else rule.points
            note = "zero_category" if art.category in channel.zero_categories else None
            scored.append((channel, points, note))
        if not scored:
            continue
        if rule.highest_only:  # seed 000 (六): 被重复采用的信息，分数不累加，按最高分计算
            best = max(scored, key=lambda cp: (cp[1], -order[cp[0].id]))
            others = [{"channel": c.name, "points": p} for c, p, _ in scored if c is not best[0]]
            lines.append(_line(rule, best[1], article=art, channel=best[0],
                               note=best[2] or ("highest_only" if others else None), detail={"others": others}))
        else:
            lines += [_line(rule, p, article=art, channel=c, note=n) for c, p, n in scored]
    return lines


def article(rule: Rule, profile: Profile, unit: UnitFacts, period: Period, today: date) -> list[Line]:
    lines = []
    for art in unit.articles:
        if not _selected(rule, art) or (rule.adopted_only and not art.adoptions):
            continue
        points = rule.points if rule.points is not None else band(rule.tiers, art.chars,
                                                                  profile.profile.band_edges)
        lines.append(_line(rule, points, article=art, detail={"chars": art.chars, "category": art.category}))
    return lines


@lru_cache(maxsize=8)  # asked for each unit and rule: the same few periods
def _closed_months(period: Period, today: date) -> tuple[str, ...]:
    """Months of the period that have ended: only those can be missed (on time = within the month)."""
    return tuple(m for m in period.months if month_end(m) < today)


def quota(rule: Rule, profile: Profile, unit: UnitFacts, period: Period, today: date) -> list[Line]:
    q = unit.monthly_quota
    if not period.whole_months or not q:
        return []
    lines = []
    for month in period.months:
        n = unit.counts.get(month, 0)
        detail = {"submitted": n, "quota": q}
        if n >= q:
            if rule.met:  # met within the month, even before it ends: it cannot be undone
                lines.append(_line(rule, rule.met, month=month, note="quota_met", detail=detail))
        elif month in _closed_months(period, today):
            if rule.missed:
                lines.append(_line(rule, -rule.missed, month=month, note="quota_missed", detail=detail))
            if rule.per_missing:
                lines.append(_line(rule, -rule.per_missing * (q - n), month=month, note="quota_short",
                                   detail=detail | {"missing": q - n}))
    return lines


def required(rule: Rule, profile: Profile, unit: UnitFacts, period: Period, today: date) -> list[Line]:
    if not period.whole_months:
        return []
    wanted = rule.required | unit.required
    lines = []
    for month in _closed_months(period, today):
        for category, count in wanted.items():
            n = sum(1 for a in unit.articles if a.month == month and a.category == category)
            if n < count:
                lines.append(_line(rule, -rule.per_missing * (count - n), month=month, note="required_missing",
                                   detail={"category": category, "submitted": n, "required": count,
                                           "missing": count - n}))
    return lines


def quota_ratio(rule: Rule, profile: Profile, unit: UnitFacts, period: Period, today: date) -> list[Line]:
    q = unit.monthly_quota
    if not period.whole_months:
        return []
    if not q:
        return [_line(rule, 0, note="no_quota")]
    due = q * len(period.months)
    n = sum(min(unit.counts.get(m, 0), q) for m in period.months)  # a month's surplus makes up no other
    points = (rule.points or 0) * n / due
    return [_line(rule, points, note="quota_ratio", detail={"submitted": n, "quota": due})]


def adoption_rate(rule: Rule, profile: Profile, unit: UnitFacts, period: Period, today: date) -> list[Line]:
    total = len(unit.articles)
    adopted = sum(1 for a in unit.articles if a.adoptions)
    points = (rule.points or 0) * adopted / total if total else 0.0
    return [_line(rule, points, note="adoption_rate", detail={"adopted": adopted, "submitted": total})]


RULES: dict[str, Callable[[Rule, Profile, UnitFacts, Period, date], list[Line]]] = {
    "adoption": adoption, "article": article, "quota": quota, "required": required,
    "quota_ratio": quota_ratio, "adoption_rate": adoption_rate,
}


def apply(rule: Rule, profile: Profile, unit: UnitFacts, period: Period, today: date) -> list[Line]:
    """The rule's lines, uncapped: caps count over months or years, across periods (score.caps)."""
    return RULES[rule.type](rule, profile, unit, period, today)
