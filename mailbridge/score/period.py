"""Scoring periods: a week (YYYY-Www), month (YYYY-MM), quarter (YYYY-Qn) or year (YYYY), in local dates."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from mailbridge.errors import ConfigError


@dataclass(frozen=True)
class Period:
    kind: str  # week | month | quarter | year
    label: str  # as given: 2024-09, 2024-W37, 2024-Q3, 2024
    start: date
    end: date  # inclusive
    months: tuple[str, ...]  # YYYY-MM of every month the period touches

    @property
    def whole_months(self) -> bool:
        """Quotas are monthly (seed 000: 每月): only whole months earn or lose them."""
        return self.kind != "week"

    @property
    def year_share(self) -> float | None:
        """The part of a year this period is, for yearly targets (seed 001's 基础分)."""
        return {"month": 1 / 12, "quarter": 1 / 4, "year": 1.0}.get(self.kind)


def _months(start: date, end: date) -> tuple[str, ...]:
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return tuple(out)


def _month_end(year: int, month: int) -> date:
    first_next = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return first_next - timedelta(days=1)


def month_end(month: str) -> date:
    return _month_end(int(month[:4]), int(month[5:]))


def parse(kind: str, value: str) -> Period:
    """The period a CLI option names; a malformed value is one sentence saying the form."""
    value = value.strip()
    forms = {"month": (r"(\d{4})-(\d{2})", "YYYY-MM, e.g. 2024-09"),
             "week": (r"(\d{4})-W(\d{2})", "YYYY-Www (ISO week), e.g. 2024-W37"),
             "quarter": (r"(\d{4})-Q([1-4])", "YYYY-Qn, e.g. 2024-Q3"),
             "year": (r"(\d{4})", "YYYY, e.g. 2024")}
    pattern, form = forms[kind]
    match = re.fullmatch(pattern, value, re.IGNORECASE)
    try:
        if match is None:
            raise ValueError
        year = int(match.group(1))
        if kind == "month":
            month = int(match.group(2))
            start, end = date(year, month, 1), _month_end(year, month)
        elif kind == "week":
            start = date.fromisocalendar(year, int(match.group(2)), 1)
            end = start + timedelta(days=6)
        elif kind == "quarter":
            first = 3 * int(match.group(2)) - 2
            start, end = date(year, first, 1), _month_end(year, first + 2)
        else:
            start, end = date(year, 1, 1), date(year, 12, 31)
    except ValueError:
        raise ConfigError(f"--{kind} {value!r} is not {form}.") from None
    return Period(kind, value.upper() if kind != "month" else value, start, end, _months(start, end))


def before(period: Period) -> Period | None:
    """The months of the period's year before it (a month or quarter not starting in January), for
    caps per year; None when there are none."""
    if period.kind not in ("month", "quarter") or period.start.month == 1:
        return None
    start, end = date(period.start.year, 1, 1), period.start - timedelta(days=1)
    return Period("month" if end.month == 1 else "quarter", f"{start:%Y-%m}..{end:%Y-%m}", start, end,
                  _months(start, end))
