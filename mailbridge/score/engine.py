"""Apply the configured profile to a period: per-unit results, each point explained by a line.

What counts (the seeds' rules, read once here):
- An article is scored once, as its newest version; adoptions of any of its versions count
  (a superseded version never scores on its own).
- An article belongs to the period its newest version arrived in (Asia/Shanghai by default);
  adoptions recorded later update that period's scorecard.
- `submitted` is the articles per month (versions once, score.load's counts), summed over the period's
  months; a week counts the articles that arrived that week.
- Quotas are monthly: `Unit.quota`, else its unit type's (the profile's [types], or the
  config's `quota` where set); a unit with no type has none.
- Caps count per calendar month or year (score.caps); a card for part of a year is scored with
  the year's earlier months in view, so that a year card is the sum of its months.
- Clerk-recorded entries (score.entries) count in the periods holding their date: items add lines,
  ratings set rated parts (their mean), vetoes bar grades or take a unit out of the assessment.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbridge.config import Config
from mailbridge.ledger.models import ScoreEntry, Unit
from mailbridge.ledger.queries import quota_of
from mailbridge.score import caps, entries, load
from mailbridge.score.period import Period, before
from mailbridge.score.profile import Item, Profile, load_profile
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
    target: float | None = None  # a year card only: the year's 基础分 (seed 001); None otherwise
    rank: int | None = None
    type_rank: int | None = None
    targets: dict[str, float] | None = None  # a year card: part id -> the year's target
    weighted: dict[str, float] = field(default_factory=dict)  # part id -> points it adds to the total
    bonus_uncapped: float = 0.0
    penalty_uncapped: float = 0.0
    vetoes: list[dict] = field(default_factory=list)  # {veto, name, effect, date}

    @property
    def below_quota(self) -> bool:
        return self.quota is not None and self.quota > 0 and self.submitted < self.quota

    @property
    def rate(self) -> float | None:
        return round(self.adopted / self.submitted, 4) if self.submitted else None

    def record(self) -> dict:
        """The `scorecard --json` record of CONTRACT.md, and more. `bonus`/`penalty` are what went
        into the total (capped); a unit not assessed shows no points."""
        shown = self.assessed
        return {
            "unit": self.unit, "unit_type": self.unit_type, "unit_type_name": self.unit_type_name,
            "submitted": self.submitted, "quota": self.quota, "monthly_quota": self.monthly_quota,
            "quota_met": self.quota_met, "adopted": self.adopted, "adoption_rate": self.rate,
            "points": number(self.points) if shown else None, "rank": self.rank, "type_rank": self.type_rank,
            "parts": {k: number(v) for k, v in self.parts.items()} if shown else None,
            "weighted": {k: number(v) for k, v in self.weighted.items()} if shown else None,
            "bonus": number(self.bonus) if shown else None, "penalty": number(self.penalty) if shown else None,
            "bonus_uncapped": number(self.bonus_uncapped), "penalty_uncapped": number(self.penalty_uncapped),
            "grade": self.grade, "assessed": self.assessed, "vetoes": self.vetoes,
            "target": None if self.target is None else number(self.target),
            "targets": None if self.targets is None else {k: number(v) for k, v in self.targets.items()},
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


def _facts(s: Session, config: Config, profile: Profile, period: Period, units: list[Unit]
           ) -> tuple[dict[int, UnitFacts], dict[int, list[ScoreEntry]]]:
    articles, counts = load.read(s, config, period)
    quotas = profile.type_quotas()
    out = {}
    for unit in units:
        rules = profile.unit_rules(unit.name)
        out[unit.id] = UnitFacts(unit.name, quota_of(config, unit, quotas), articles.get(unit.id, []),
                                 {m: counts.get((unit.id, m), 0) for m in period.months},
                                 dict(rules.required) if rules else {})
    return out, entries.between(s, period.start, period.end)


def evaluate(s: Session, config: Config, period: Period, today: date | None = None,
             profile: Profile | None = None) -> Scorecard:
    """Score every active unit (and any other unit with articles in the period)."""
    with load.no_collector_passes():
        return _evaluate(s, config, period, today, profile)


def _evaluate(s: Session, config: Config, period: Period, today: date | None, profile: Profile | None) -> Scorecard:
    profile = profile or load_profile(config)
    today = today or datetime.now(config.ingest.zone).date()
    units = list(s.scalars(select(Unit).order_by(Unit.name)))
    facts, recorded = _facts(s, config, profile, period, units)
    units = [u for u in units if u.active or facts[u.id].articles]
    # Caps per year: the months of the year before this period use up room (score.caps).
    earlier = before(period) if profile.profile.caps_per == "year" and profile.has_caps() else None
    prior_facts, prior_recorded = _facts(s, config, profile, earlier, units) if earlier else ({}, {})
    card = Scorecard(period, profile)
    for unit in units:
        prior = None
        if earlier is not None:
            prior = _lines(profile, earlier, today, unit, prior_facts[unit.id], prior_recorded.get(unit.id, []))
        card.units.append(_score(config, profile, period, today, unit, facts[unit.id], recorded.get(unit.id, []),
                                 prior))
    _rank(card)
    return card


def _item_lines(items: list[Item], recorded: list[ScoreEntry]) -> list[Line]:
    by_id = {i.id: i for i in items}
    lines = []
    for entry in recorded:
        item = by_id.get(entry.key)
        if entry.kind != "item" or item is None or entry.points is None:
            continue
        kind = {"bonus": "bonus", "penalty": "penalty"}.get(item.kind, "part")
        lines.append(Line(item.id, item.name, entry.points, kind, item.part or "", month=entry.on.strftime("%Y-%m"),
                          note="item", detail={"entry": entry.id, "date": entry.on.isoformat(), "note": entry.note,
                                               "evidence": entry.evidence_name, "receipt_no": entry.receipt_no}))
    return lines


def _lines(profile: Profile, period: Period, today: date, unit: Unit, facts: UnitFacts,
           recorded: list[ScoreEntry]) -> list[Line]:
    """The unit's lines for the period, each rule and item held to its cap (none of the period's own)."""
    _, rules, items = profile.rule_set(unit.type)
    lines = [line for rule in rules for line in apply(rule, profile, facts, period, today)]
    return lines + _item_lines(items, recorded)


def _held(profile: Profile, unit: Unit, lines: list[Line], prior: list[Line] | None) -> None:
    """Each rule's and item's cap, over the windows of the profile's caps_per (prior lines first)."""
    _, rules, items = profile.rule_set(unit.type)
    per = profile.profile.caps_per
    capped = [(r.id, r.cap, 1) for r in rules if r.cap is not None]
    capped += [(i.id, i.cap, -1 if i.kind == "penalty" else 1) for i in items if i.cap is not None]
    if prior is not None:
        for key, cap, sign in capped:
            caps.hold([ln for ln in prior if ln.rule == key], [], cap, per, sign)
    for key, cap, sign in capped:
        caps.hold([ln for ln in lines if ln.rule == key], [ln for ln in prior or [] if ln.rule == key], cap, per,
                  sign)


def _score(config: Config, profile: Profile, period: Period, today: date, unit: Unit, facts: UnitFacts,
           recorded: list[ScoreEntry], prior: list[Line] | None) -> UnitScore:
    parts_of, _, _ = profile.rule_set(unit.type)
    lines = _lines(profile, period, today, unit, facts, recorded)
    _held(profile, unit, lines, prior)
    base: dict[str, float] = {p.id: 0.0 for p in parts_of}
    for line in lines:
        if line.kind == "part" and line.part in base:
            base[line.part] += line.points
    for part in parts_of:
        if part.rated:  # seed 003: 20 sampled people score the unit; the part is their mean
            given = [e.points for e in recorded if e.kind == "rating" and e.key == part.id and e.points is not None]
            mean = sum(given) / len(given) if given else 0.0
            lines.append(Line(part.id, part.name, mean, "part", part.id, note="rating",
                              detail={"ratings": len(given)}))
            base[part.id] = mean
    parts = {p.id: min(base[p.id], p.max) if p.max is not None else base[p.id] for p in parts_of}
    info, per = profile.profile, profile.profile.caps_per
    bonus_lines = [ln for ln in lines if ln.kind == "bonus"]
    penalty_lines = [ln for ln in lines if ln.kind == "penalty"]
    bonus = caps.capped_sum(bonus_lines, [ln for ln in prior or [] if ln.kind == "bonus"], info.bonus_cap, per)
    penalty = caps.capped_sum(penalty_lines, [ln for ln in prior or [] if ln.kind == "penalty"], info.penalty_cap,
                              per)
    inside = next((p.id for p in parts_of if p.adjustments), None)
    weighted = {p.id: p.weight * (parts[p.id] + (bonus - penalty if p.id == inside else 0)) for p in parts_of}
    total = sum(weighted.values()) + (0 if inside else bonus - penalty)
    if period.kind == "week":
        submitted = len(facts.articles)
        month = period.end.strftime("%Y-%m")
        quota, met = facts.monthly_quota, bool(facts.monthly_quota and facts.counts.get(month, 0) >= facts.monthly_quota)
    else:
        submitted = sum(facts.counts.values())
        quota = None if facts.monthly_quota is None else facts.monthly_quota * len(period.months)
        met = bool(facts.monthly_quota and all(facts.counts[m] >= facts.monthly_quota for m in period.months))
    kind = config.unit_type(unit.type) if unit.type else None
    rules = profile.unit_rules(unit.name)
    yearly = period.kind == "year" and rules is not None
    score = UnitScore(
        unit=unit.name, unit_type=unit.type, unit_type_name=kind.name if kind else None,
        monthly_quota=facts.monthly_quota, quota=quota, submitted=submitted, quota_met=met,
        adopted=sum(1 for a in facts.articles if a.adoptions), parts=parts, bonus=bonus, penalty=penalty,
        points=round(total, 2), lines=lines, articles=facts.articles,
        # seed 001's 基础分 is a year's: shown on a year card, never divided into months.
        target=rules.year_target if yearly and rules else None,
        targets=dict(rules.targets) if yearly and rules and rules.targets else None,
        weighted=weighted,
        bonus_uncapped=sum(ln.uncapped if ln.uncapped is not None else ln.points for ln in bonus_lines),
        penalty_uncapped=-sum(ln.uncapped if ln.uncapped is not None else ln.points for ln in penalty_lines))
    vetoes = {v.id: v for v in profile.vetoes}
    barred: set[str] = set()
    for entry in recorded:
        if entry.kind == "veto" and entry.key in vetoes:
            score.vetoes.append({"veto": entry.key, "name": vetoes[entry.key].name, "effect": entry.effect,
                                 "date": entry.on.isoformat()})
            if entry.effect == "bar":
                barred |= set(vetoes[entry.key].bars)
    # seed 003: 未报送单位不参加本次考核; 一票否决 … 不予考核
    score.assessed = not (info.skip_silent and submitted == 0) and not any(
        v["effect"] == "exclude" for v in score.vetoes)
    if score.assessed:
        score.grade = grade(profile, score.points, penalty, barred)
    return score


def grade(profile: Profile, points: float, penalty: float, barred: set[str]) -> str | None:
    """The highest grade the points reach; a clean grade needs no deduction at all (seed 003:
    出现扣分项的单位不能评为特等), a vetoed unit none of the grades its veto bars."""
    for g in sorted(profile.grades, key=lambda g: -g.min if g.min is not None else float("inf")):
        if (g.min is None or points >= g.min) and not (g.clean and penalty > 0) and g.name not in barred:
            return g.name
    return None


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
