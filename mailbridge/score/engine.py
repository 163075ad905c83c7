"""Apply the configured profile to a period: per-unit results, each point explained by a line.

What counts (the seeds' rules, read once here):
- An article is scored once, as its newest version; adoptions of any of its versions count
  (a superseded version never scores on its own).
- An article belongs to the period its newest version arrived in (Asia/Shanghai by default);
  adoptions recorded later update that period's scorecard.
- `submitted` is `ledger.queries` articles per month (versions once), summed over the period's
  months; a week counts the articles that arrived that week.
- Quotas are monthly: `Unit.quota`, else its unit type's; a unit with no type has none.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbridge.config import Config
from mailbridge.ledger.models import Unit
from mailbridge.ledger.queries import articles_per_unit_month, quota_of
from mailbridge.score import load
from mailbridge.score.period import Period
from mailbridge.score.profile import Profile, load_profile
from mailbridge.score.rules import Article, Line, UnitFacts, apply


@dataclass
class UnitScore:
    unit: str
    unit_type: str | None
    unit_type_name: str | None
    monthly_quota: int | None
    quota: int | None  # for the period: the monthly quota times its months (a week: the month's)
    submitted: int
    quota_met: bool
    adopted: int
    parts: dict[str, float]
    bonus: float
    penalty: float
    points: float
    lines: list[Line]
    articles: list[Article]
    assessed: bool = True
    grade: str | None = None
    target: float | None = None
    rank: int | None = None
    type_rank: int | None = None

    @property
    def below_quota(self) -> bool:
        return self.quota is not None and self.quota > 0 and self.submitted < self.quota

    @property
    def rate(self) -> float | None:
        return round(self.adopted / self.submitted, 4) if self.submitted else None

    def record(self) -> dict:
        """The `scorecard --json` record of CONTRACT.md, and more."""
        return {
            "unit": self.unit, "unit_type": self.unit_type, "unit_type_name": self.unit_type_name,
            "submitted": self.submitted, "quota": self.quota, "monthly_quota": self.monthly_quota,
            "quota_met": self.quota_met, "adopted": self.adopted, "adoption_rate": self.rate,
            "points": number(self.points), "rank": self.rank, "type_rank": self.type_rank,
            "parts": {k: number(v) for k, v in self.parts.items()}, "bonus": number(self.bonus),
            "penalty": number(self.penalty), "grade": self.grade, "assessed": self.assessed,
            "target": None if self.target is None else number(self.target),
        }


@dataclass
class Scorecard:
    period: Period
    profile: Profile
    units: list[UnitScore] = field(default_factory=list)  # ranked, then unranked, by name

    def by_type(self, config: Config) -> list[tuple[str | None, str, list[UnitScore]]]:
        """(type id, Chinese name, units) in the config's order of unit types; untyped last."""
        groups = [(t.id, t.name, [u for u in self.units if u.unit_type == t.id]) for t in config.unit_types]
        untyped = [u for u in self.units if u.unit_type not in {t.id for t in config.unit_types}]
        return [g for g in groups if g[2]] + ([(None, "", untyped)] if untyped else [])


def number(value: float) -> int | float:
    value = round(value, 2)
    return int(value) if value == int(value) else value


def evaluate(s: Session, config: Config, period: Period, today: date | None = None,
             profile: Profile | None = None) -> Scorecard:
    """Score every active unit (and any other unit with articles in the period)."""
    profile = profile or load_profile(config)
    today = today or datetime.now(config.ingest.zone).date()
    articles = load.articles(s, config, period)
    counts = articles_per_unit_month(s, period.months)
    units = [u for u in s.scalars(select(Unit).order_by(Unit.name)) if u.active or u.id in articles]
    card = Scorecard(period, profile)
    for unit in units:
        arts = articles.get(unit.id, [])
        monthly = quota_of(config, unit)
        rules = profile.units.get(unit.name)
        facts = UnitFacts(unit.name, monthly, arts, {m: counts.get((unit.id, m), 0) for m in period.months},
                          dict(rules.required) if rules else {})
        card.units.append(_score(config, profile, period, today, unit, facts, rules.target if rules else None))
    _rank(card)
    return card


def _score(config: Config, profile: Profile, period: Period, today: date, unit: Unit, facts: UnitFacts,
           target: float | None) -> UnitScore:
    lines = [line for rule in profile.rules for line in apply(rule, profile, facts, period, today)]
    base: dict[str, float] = {p.id: 0.0 for p in profile.parts}
    for line in lines:
        if line.kind == "part":
            base[line.part] += line.points
    parts = {p.id: min(base[p.id], p.max) if p.max is not None else base[p.id] for p in profile.parts}
    bonus = sum(line.points for line in lines if line.kind == "bonus")
    penalty = -sum(line.points for line in lines if line.kind == "penalty")
    info = profile.profile
    total = (sum(p.weight * parts[p.id] for p in profile.parts)
             + (min(bonus, info.bonus_cap) if info.bonus_cap is not None else bonus)
             - (min(penalty, info.penalty_cap) if info.penalty_cap is not None else penalty))
    if period.kind == "week":
        submitted = len(facts.articles)
        month = period.end.strftime("%Y-%m")
        quota, met = facts.monthly_quota, bool(facts.monthly_quota) and facts.counts.get(month, 0) >= facts.monthly_quota
    else:
        submitted = sum(facts.counts.values())
        quota = None if facts.monthly_quota is None else facts.monthly_quota * len(period.months)
        met = bool(facts.monthly_quota) and all(facts.counts[m] >= facts.monthly_quota for m in period.months)
    kind = config.unit_type(unit.type) if unit.type else None
    score = UnitScore(
        unit=unit.name, unit_type=unit.type, unit_type_name=kind.name if kind else None,
        monthly_quota=facts.monthly_quota, quota=quota, submitted=submitted, quota_met=met,
        adopted=sum(1 for a in facts.articles if a.adoptions), parts=parts, bonus=bonus, penalty=penalty,
        points=round(total, 2), lines=lines, articles=facts.articles,
        target=None if target is None or period.year_share is None else round(target * period.year_share, 2))
    # seed 003: 未报送单位不参加本次考核
    score.assessed = not (info.skip_silent and submitted == 0)
    if score.assessed:
        # seed 003: 出现扣分项的单位不能评为特等 — a clean grade needs no deduction at all.
        for grade in sorted(profile.grades, key=lambda g: -g.min):
            if score.points >= grade.min and not (grade.clean and penalty > 0):
                score.grade = grade.name
                break
    return score


def _rank(card: Scorecard) -> None:
    """Rank by points, ties sharing a place (1, 1, 3); overall and within each unit type."""
    def ranks(units: list[UnitScore]) -> dict[str, int]:
        out: dict[str, int] = {}
        for n, u in enumerate(units):
            out[u.unit] = out[units[n - 1].unit] if n and u.points == units[n - 1].points else n + 1
        return out

    ranked = sorted((u for u in card.units if u.assessed), key=lambda u: (-u.points, -u.adopted, u.unit))
    overall = ranks(ranked)
    by_type: dict[str | None, list[UnitScore]] = defaultdict(list)
    for u in ranked:
        by_type[u.unit_type].append(u)
    within = {name: r for group in by_type.values() for name, r in ranks(group).items()}
    for u in card.units:
        u.rank, u.type_rank = overall.get(u.unit), within.get(u.unit)
    card.units = ranked + sorted((u for u in card.units if not u.assessed), key=lambda u: u.unit)
