"""Caps over calendar months or years, so that a year card is the sum of its twelve month cards.

A cap (a rule's, an item's, the bonus cap, the penalty cap) holds a unit's points per window: a
month (YYYY-MM) or a year (YYYY), as the profile's `caps_per` says. A card for part of a year is
given the lines of the year's earlier months (`prior`): what they used of the cap is gone. A week
card (progress) holds its lines to the caps within the week only.
"""
from __future__ import annotations

from collections import defaultdict

from mailbridge.score.rules import Line


def window(month: str, per: str) -> str:
    return month if per == "month" else month[:4]


def hold(lines: list[Line], prior: list[Line], cap: float, per: str, sign: int = 1) -> None:
    """Hold the lines of one rule or item to `cap` per window, earliest first; `sign` -1 caps deductions.

    `prior` lines were held already; they only use up room. A line cut gets note "capped" and
    keeps its points before the cut in `uncapped`.
    """
    room: dict[str, float] = defaultdict(lambda: cap)
    for line in prior:
        room[window(line.when, per)] -= max(sign * line.points, 0)
    for line in sorted(lines, key=lambda ln: ln.when):  # stable: same-month lines keep their order
        points = sign * line.points
        if points <= 0:
            continue
        w = window(line.when, per)
        left = max(room[w], 0)
        if points > left:
            line.uncapped = line.points
            line.detail["uncapped"] = line.points
            line.points, line.note = sign * left, "capped"
        room[w] -= sign * line.points


def capped_sum(lines: list[Line], prior: list[Line], cap: float | None, per: str) -> float:
    """The sum of the lines' magnitudes held to `cap` per window, after what `prior` used."""
    now: dict[str, float] = defaultdict(float)
    before: dict[str, float] = defaultdict(float)
    for line in lines:
        now[window(line.when, per)] += abs(line.points)
    for line in prior:
        before[window(line.when, per)] += abs(line.points)
    if cap is None:
        return sum(now.values())
    return sum(max(0.0, min(cap, before[w] + now[w]) - min(cap, before[w])) for w in now)
