"""Numbers in text: digits ("12", "2.5", "1,000") and English words ("twenty one")."""

from __future__ import annotations

import re
from dataclasses import dataclass

UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "a dozen": 12,
    "dozen": 12,
    "a couple": 2,
    "couple": 2,
    "single": 1,
}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}

_WORD = "|".join(sorted([re.escape(w) for w in (*UNITS, *TENS, *SCALES)], key=len, reverse=True))
#: a run of number words, joined by spaces, hyphens or "and" ("one hundred and five")
_WORDS_RE = re.compile(
    rf"(?<![\w-])(?:{_WORD})(?:(?:(?<=hundred)\s+and\s+|(?<=thousand)\s+and\s+|[\s-]+)(?:{_WORD}))*(?![\w-])",
    re.IGNORECASE,
)
_DIGITS_RE = re.compile(
    r"(?<![\w.,])[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w,]|\.\d)|(?<![\w.,])[-+]?\d+(?:\.\d+)?(?![\w]|\.\d)"
)


@dataclass
class NumberMatch:
    value: int | float
    start: int
    end: int
    text: str


def words_to_number(words: str) -> int | None:
    """``"one hundred and five"`` -> 105; None when the words are not a number."""
    tokens = re.split(r"[\s-]+", words.lower().strip())
    total, current, seen = 0, 0, False
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        pair = f"{tok} {tokens[i + 1]}" if i + 1 < len(tokens) else None
        if pair in UNITS:
            current += UNITS[pair]
            i += 2
            seen = True
            continue
        if tok == "and":
            i += 1
            continue
        if tok in UNITS:
            current += UNITS[tok]
        elif tok in TENS:
            current += TENS[tok]
        elif tok in SCALES:
            scale = SCALES[tok]
            current = max(current, 1) * scale
            if scale >= 1000:
                total, current = total + current, 0
        else:
            return None
        seen = True
        i += 1
    return total + current if seen else None


def _num(text: str) -> int | float:
    value = float(text.replace(",", ""))
    return int(value) if value.is_integer() and "." not in text else value


def find_numbers(text: str) -> list[NumberMatch]:
    """Every number in ``text`` with its span, in order of position."""
    out: list[NumberMatch] = []
    for m in _DIGITS_RE.finditer(text):
        out.append(NumberMatch(_num(m.group()), m.start(), m.end(), m.group()))
    for m in _WORDS_RE.finditer(text):
        raw = m.group()
        value = words_to_number(raw)
        if value is None:
            continue
        if raw.lower() in ("couple", "single", "dozen"):
            continue  # too ambiguous alone ("a single room")
        out.append(NumberMatch(value, m.start(), m.end(), raw))
    out.sort(key=lambda n: n.start)
    return out
