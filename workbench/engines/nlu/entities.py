"""Entity extraction by rules: regexes, lookup tables, synonyms, numbers and dates.

Every entity found carries its span (``start``/``end`` in the text), the text
it covered, the extractor that found it and, when the entity declares them, a
``role`` (from cue words just before it) and a ``group`` (the clause it is in).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from workbench.engines.nlu.dates import find_dates
from workbench.engines.nlu.numbers import find_numbers

#: clause boundaries used to number groups ("a large pizza with ham, and a small one")
_CLAUSE_RE = re.compile(r"\band\b|[,;]|\bthen\b|\bplus\b", re.IGNORECASE)
_WORD_RE = re.compile(r"[\w']+")
#: when two entities of one name overlap, the more specific extractor wins
_PRECEDENCE = {"notation": 0, "regex": 1, "lookup": 2, "synonym": 2, "date": 3, "number": 4}


@dataclass
class Entity:
    """One entity in a message: what, which value, where."""

    entity: str
    value: Any
    start: int | None = None
    end: int | None = None
    text: str | None = None
    extractor: str = "rule"
    role: str | None = None
    group: str | None = None
    confidence: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class EntityRule:
    """How one entity is recognised (the ``entities:`` section of an NLU file)."""

    name: str
    regex: list[str] = field(default_factory=list)
    #: surface forms that are the value as written (case-insensitive match)
    lookup: list[str] = field(default_factory=list)
    #: canonical value -> surface forms that mean it
    synonyms: dict[str, list[str]] = field(default_factory=dict)
    number: bool = False
    date: bool = False
    #: role -> cue words that, just before the entity, give it that role
    roles: dict[str, list[str]] = field(default_factory=dict)
    #: number entities by the clause they are in (1 for the first clause holding one, 2...)
    groups: bool = False


def _alternation(terms: list[str]) -> re.Pattern | None:
    terms = sorted({t for t in terms if t}, key=len, reverse=True)
    if not terms:
        return None
    body = "|".join(re.escape(t) for t in terms)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)


class EntityExtractor:
    """Applies a set of :class:`EntityRule` to a text."""

    def __init__(self, rules: list[EntityRule]) -> None:
        self.rules = {r.name: r for r in rules}
        self._compiled: list[tuple[EntityRule, str, re.Pattern, dict[str, str]]] = []
        for r in rules:
            for pattern in r.regex:
                self._compiled.append((r, "regex", re.compile(pattern, re.IGNORECASE), {}))
            canon: dict[str, str] = {}
            for value, forms in r.synonyms.items():
                canon[str(value).lower()] = str(value)
                for f in forms:
                    canon[str(f).lower()] = str(value)
            lookup = {str(t).lower(): str(t) for t in r.lookup}
            table = _alternation(list(lookup) + list(canon))
            if table is not None:
                self._compiled.append((r, "lookup", table, {**lookup, **canon}))
        self._synonym_forms = {
            name: {str(f).lower() for forms in r.synonyms.values() for f in forms} for name, r in self.rules.items()
        }

    @property
    def names(self) -> list[str]:
        return list(self.rules)

    def canonical(self, entity: str, value: Any) -> Any:
        """The synonym's canonical value for ``value`` (itself when none)."""
        rule = self.rules.get(entity)
        if rule is None or not isinstance(value, str):
            return value
        low = value.lower()
        for canon, forms in rule.synonyms.items():
            if low == str(canon).lower() or low in (str(f).lower() for f in forms):
                return canon
        return value

    def extract(self, text: str, today: dt.date | None = None) -> list[Entity]:
        found: list[Entity] = []
        for rule, kind, pattern, table in self._compiled:
            for m in pattern.finditer(text):
                if m.end() == m.start():
                    continue
                raw = m.group()
                if kind == "regex":
                    if m.groupdict().get("value") is not None:
                        # a named group ``value`` is the entity; the rest is context
                        found.append(
                            Entity(
                                rule.name, m.group("value"), m.start("value"), m.end("value"), m.group("value"), "regex"
                            )
                        )
                    else:
                        found.append(Entity(rule.name, raw, m.start(), m.end(), raw, "regex"))
                else:
                    low = raw.lower()
                    value = table.get(low, raw)
                    how = "synonym" if low in self._synonym_forms[rule.name] else "lookup"
                    found.append(Entity(rule.name, value, m.start(), m.end(), raw, how))
        want_dates = [r for r in self.rules.values() if r.date]
        want_numbers = [r for r in self.rules.values() if r.number]
        dates = find_dates(text, today) if (want_dates or want_numbers) else []
        for rule in want_dates:
            for d in dates:
                found.append(Entity(rule.name, d.value, d.start, d.end, d.text, "date"))
        if want_numbers:
            # a number inside a date ("5 May", "2024-06-01") is part of the date
            numbers = [n for n in find_numbers(text) if not any(d.start <= n.start and n.end <= d.end for d in dates)]
            for rule in want_numbers:
                for n in numbers:
                    found.append(Entity(rule.name, n.value, n.start, n.end, n.text, "number"))
        found = _resolve_overlaps(found)
        clauses: dict[int, list[Entity]] = {}
        for e in found:
            rule = self.rules[e.entity]
            if rule.roles:
                e.role = _role(text, e.start or 0, rule.roles)
            if rule.groups:
                clauses.setdefault(len(_CLAUSE_RE.findall(text[: e.start or 0])), []).append(e)
        # groups are numbered 1, 2... over the clauses that hold grouped entities
        for number, clause in enumerate(sorted(clauses), start=1):
            for e in clauses[clause]:
                e.group = str(number)
        found.sort(key=lambda e: (e.start or 0, e.entity))
        return found


def _resolve_overlaps(found: list[Entity]) -> list[Entity]:
    """Per entity name, overlapping spans keep the longest (then the most specific)."""
    found.sort(key=lambda e: (-((e.end or 0) - (e.start or 0)), _PRECEDENCE.get(e.extractor, 9), e.start or 0))
    kept: list[Entity] = []
    for e in found:
        if any(k.entity == e.entity and (e.start or 0) < (k.end or 0) and (k.start or 0) < (e.end or 0) for k in kept):
            continue
        kept.append(e)
    return kept


def _role(text: str, start: int, roles: dict[str, list[str]]) -> str | None:
    """The role whose cue word is nearest before ``start`` (within three words)."""
    before = [w.lower() for w in _WORD_RE.findall(text[:start])][-3:]
    best: tuple[int, str] | None = None
    for role, cues in roles.items():
        for cue in cues:
            cue_words = cue.lower().split()
            n = len(cue_words)
            for i in range(len(before) - n, -1, -1):
                if before[i : i + n] == cue_words:
                    distance = len(before) - (i + n)
                    if best is None or distance < best[0]:
                        best = (distance, role)
                    break
    return best[1] if best else None
