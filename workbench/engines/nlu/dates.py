"""Simple dates in English text, resolved against a reference day to ISO strings.

Covers what people type to a booking bot: today, tonight, now, tomorrow, the
day after tomorrow, yesterday, weekdays (``friday``, ``next friday``), ``in 3
days``/``in two weeks``, ``next week``, ISO dates and ``5 May``/``May 5th``/``the
5th of May`` (with or without a year; a past day without a year means next year).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from workbench.engines.nlu.numbers import words_to_number

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_MONTH_ALIASES = {m[:3]: i + 1 for i, m in enumerate(MONTHS)} | {m: i + 1 for i, m in enumerate(MONTHS)} | {"sept": 9}
_MONTH = "|".join(sorted(_MONTH_ALIASES, key=len, reverse=True))
_WEEKDAY = "|".join(WEEKDAYS)
_COUNT = r"\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(?P<year>\d{4}))?"

_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("iso", re.compile(r"(?<!\d)(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})(?!\d)")),
    ("day_after_tomorrow", re.compile(r"\b(?:the\s+)?day\s+after\s+tomorrow\b", re.I)),
    ("relative", re.compile(r"\b(?P<word>today|tonight|now|tomorrow|tmrw|yesterday)\b", re.I)),
    ("in_n", re.compile(rf"\bin\s+(?P<n>{_COUNT})\s+(?P<unit>days?|weeks?)\b", re.I)),
    ("n_from_now", re.compile(rf"\b(?P<n>{_COUNT})\s+(?P<unit>days?|weeks?)\s+from\s+(?:now|today)\b", re.I)),
    ("next_week", re.compile(r"\bnext\s+week\b", re.I)),
    ("weekday", re.compile(rf"\b(?:(?P<which>next|this|coming)\s+)?(?P<weekday>{_WEEKDAY})s?\b", re.I)),
    ("day_month", re.compile(rf"\b(?:the\s+)?{_DAY}(?:\s+of)?\s+(?P<month>{_MONTH})\.?\b{_YEAR}", re.I)),
    ("month_day", re.compile(rf"\b(?P<month>{_MONTH})\.?\s+(?:the\s+)?{_DAY}\b{_YEAR}", re.I)),
]


@dataclass
class DateMatch:
    value: str  # ISO date
    start: int
    end: int
    text: str


def _count(raw: str) -> int:
    raw = raw.lower()
    if raw in ("a", "an"):
        return 1
    if raw.isdigit():
        return int(raw)
    return words_to_number(raw) or 1


def _resolve(kind: str, m: re.Match, today: dt.date) -> dt.date | None:
    g = m.groupdict()
    if kind == "iso":
        return dt.date(int(g["year"]), int(g["month"]), int(g["day"]))
    if kind == "day_after_tomorrow":
        return today + dt.timedelta(days=2)
    if kind == "relative":
        word = g["word"].lower()
        return today + dt.timedelta(days={"tomorrow": 1, "tmrw": 1, "yesterday": -1}.get(word, 0))
    if kind in ("in_n", "n_from_now"):
        n = _count(g["n"])
        return today + dt.timedelta(days=n * (7 if g["unit"].lower().startswith("week") else 1))
    if kind == "next_week":
        return today + dt.timedelta(days=7)
    if kind == "weekday":
        target = WEEKDAYS.index(g["weekday"].lower())
        ahead = (target - today.weekday()) % 7
        if g.get("which") and g["which"].lower() == "next" and ahead == 0:
            ahead = 7
        return today + dt.timedelta(days=ahead)
    if kind in ("day_month", "month_day"):
        month = _MONTH_ALIASES[g["month"].lower().rstrip(".")]
        day = int(g["day"])
        year = int(g["year"]) if g.get("year") else today.year
        date = dt.date(year, month, day)
        if not g.get("year") and date < today:
            date = dt.date(year + 1, month, day)
        return date
    return None


def find_dates(text: str, today: dt.date | None = None) -> list[DateMatch]:
    """Every date in ``text`` with its span; overlapping matches keep the longest."""
    today = today or dt.date.today()
    found: list[DateMatch] = []
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            try:
                date = _resolve(kind, m, today)
            except ValueError:  # 31 February and friends
                continue
            if date is not None:
                found.append(DateMatch(date.isoformat(), m.start(), m.end(), m.group()))
    found.sort(key=lambda d: (d.start, -(d.end - d.start)))
    out: list[DateMatch] = []
    for d in found:
        if out and d.start < out[-1].end:
            if d.end - d.start > out[-1].end - out[-1].start:
                out[-1] = d
            continue
        out.append(d)
    return out
