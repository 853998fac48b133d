"""Linear-time patterns for analyzers: RE2, with Python's Unicode meaning of ``\\w``, ``\\d``, ``\\s``.

An analyzer's ``regex()``, ``vOneKeyword()``, ``matchPatternRegex()`` and
``keyword()`` run on every turn against what a person wrote. A backtracking engine
takes exponential time on some patterns (``^(a+)+$`` on 24 letters takes most of a
second, doubling with each letter), so a table could stall every conversation. RE2
matches in time linear in the text whatever the pattern; what it cannot do in linear
time (backreferences, lookahead and lookbehind) is refused with :class:`PatternError`
when the table loads, never discovered during a turn.

Patterns keep the meaning they had with Python's ``re``: ``\\w``, ``\\d`` and ``\\s``
are Unicode classes, ``\\Z`` is the end of the text, ``\\uXXXX`` a code point, and
whole-word matching (which Python wrote with lookarounds) treats letters and digits
of every script as word characters. ``\\b`` is RE2's (ASCII word characters only).

Unicode classes are costly for RE2 to compile (a millisecond each; a 10,000-state
table would take seconds to load), so each pattern is compiled *widened*: every
class also admits any non-ASCII character, and a word boundary is any character
but an ASCII letter, digit or underscore. The widened pattern matches wherever the
exact one does; a match it finds is the exact one's when its neighbours are not
word characters (checked in Python) and, for a pattern with classes, its text is
ASCII. Otherwise the exact pattern, compiled on first need and kept, decides.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import re2

log = logging.getLogger(__name__)

#: what RE2 may use to compile one pattern (RE2's own default); a pattern beyond it is refused
MAX_MEMORY = 8 << 20
#: the longest pattern accepted
MAX_LENGTH = 4096

_WORD = r"\pL\pN_"
_SPACE = r"\s\x0b\x1c-\x1f\pZ\x{85}"
_ANY_NON_ASCII = r"\x{80}-\x{10FFFF}"
#: escape -> (outside brackets, inside brackets, inside negated brackets), exact and widened.
#: Exact: Python's Unicode classes (a negated escape inside brackets stays RE2's, the one
#: approximation). Widened: a superset of the exact class, so the widened pattern matches
#: wherever the exact one does (inside negated brackets, a subset of what is excluded).
_EXACT = {
    "w": (f"[{_WORD}]", _WORD, _WORD),
    "W": (f"[^{_WORD}]", r"\W", r"\W"),
    "d": (r"\p{Nd}", r"\p{Nd}", r"\p{Nd}"),
    "D": (r"\P{Nd}", r"\P{Nd}", r"\P{Nd}"),
    "s": (f"[{_SPACE}]", _SPACE, _SPACE),
    "S": (f"[^{_SPACE}]", r"\S", r"\S"),
}
_WIDE = {
    "w": (rf"[\w{_ANY_NON_ASCII}]", rf"\w{_ANY_NON_ASCII}", r"\w"),
    "W": (r"\W", r"\W", r"\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f"),
    "d": (rf"[0-9{_ANY_NON_ASCII}]", rf"0-9{_ANY_NON_ASCII}", r"0-9"),
    "D": (r"\D", r"\D", r"\x00-\x2f\x3a-\x7f"),
    "s": (rf"[\s\x0b\x1c-\x1f{_ANY_NON_ASCII}]", rf"\s\x0b\x1c-\x1f{_ANY_NON_ASCII}", r"\s\x0b\x1c-\x1f"),
    "S": (r"\S", r"\S", r"\x00-\x08\x0e-\x1b\x21-\x7f"),
}
#: whole words: the exact boundary, and the widened one (anything but an ASCII word character)
_EXACT_EDGE = f"[^{_WORD}]"
_WIDE_EDGE = r"\W"


class PatternError(ValueError):
    """A pattern RE2 cannot run; ``position`` is the 0-based offset in it, when known."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


def _class_start(pattern: str, i: int, out: list[str]) -> tuple[int, bool]:
    """Copy a ``[`` (with a leading ``^`` and a literal ``]``); the index after it and whether it negates."""
    out.append("[")
    i += 1
    negated = i < len(pattern) and pattern[i] == "^"
    if negated:
        out.append("^")
        i += 1
    if i < len(pattern) and pattern[i] == "]":  # a ']' right after '[' or '[^' is a literal
        out.append("\\]")
        i += 1
    return i, negated


def _escape(pattern: str, i: int, table: dict[str, tuple[str, str, str]], where: int) -> tuple[str, int, bool]:
    """The RE2 text of the escape at ``i``, the index after it, and whether it was a class."""
    nxt = pattern[i + 1]
    if nxt in table:
        return table[nxt][where], i + 2, True
    if nxt == "Z":
        return r"\z", i + 2, False
    if nxt in "uU":
        width = 4 if nxt == "u" else 8
        digits = pattern[i + 2 : i + 2 + width]
        if len(digits) == width and all(c in "0123456789abcdefABCDEF" for c in digits):
            return f"\\x{{{digits}}}", i + 2 + width, False
    if nxt.isdigit() and nxt != "0":
        raise PatternError(f"backreferences (\\{nxt}) cannot be matched in linear time", i)
    return pattern[i : i + 2], i + 2, False


def _translate(pattern: str, table: dict[str, tuple[str, str, str]]) -> tuple[str, bool]:
    """``pattern`` in RE2's syntax with the classes of ``table``, and whether it used any."""
    out: list[str] = []
    used = False
    i, n = 0, len(pattern)
    in_class = negated = False
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            text, i, is_class = _escape(pattern, i, table, 0 if not in_class else 2 if negated else 1)
            out.append(text)
            used = used or is_class
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            i, negated = _class_start(pattern, i, out)
            continue
        elif pattern.startswith(("(?=", "(?!", "(?<=", "(?<!"), i):
            raise PatternError("lookahead and lookbehind cannot be matched in linear time; rewrite without them", i)
        elif pattern.startswith("(?P=", i):
            raise PatternError("backreferences (?P=name) cannot be matched in linear time", i)
        out.append(ch)
        i += 1
    return "".join(out), used


def _options() -> Any:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # the error comes back as an exception; RE2 would also print it
    options.max_mem = MAX_MEMORY
    return options


def _compile(source: str) -> Any:
    try:
        return re2.compile(source, _options())
    except re2.error as exc:
        detail = exc.args[0] if exc.args else exc
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        raise PatternError(f"RE2 cannot compile it: {detail}") from None


def _is_word(text: str, i: int) -> bool:
    """Python's ``\\w`` for the character at ``i`` (False outside the text)."""
    return 0 <= i < len(text) and (text[i].isalnum() or text[i] == "_")


@dataclass(frozen=True)
class Found:
    """A match: the matched text, its span and its groups (the pattern's own)."""

    text: str
    span: tuple[int, int]
    groups: tuple[str | None, ...]


class Pattern:
    """A case-insensitive pattern; ``whole_words``: a match starts and ends at word boundaries."""

    def __init__(self, pattern: str, whole_words: bool = False) -> None:
        if len(pattern) > MAX_LENGTH:
            raise PatternError(f"the pattern is {len(pattern)} characters long; at most {MAX_LENGTH} are accepted")
        self.pattern = pattern
        self.whole_words = whole_words
        wide, self._classes = _translate(pattern, _WIDE)
        self._wide = _compile(self._wrapped(wide, _WIDE_EDGE))
        #: the pattern's own capturing groups
        self.groups: int = self._wide.groups - (1 if whole_words else 0)
        self._exact: Any = None
        if self._classes and "{" in pattern:
            # a counted repetition of a Unicode class may be beyond RE2's limits: find out now
            self._exact_rx()

    def _wrapped(self, body: str, edge: str) -> str:
        return f"(?:^|{edge})({body})(?:{edge}|$)" if self.whole_words else body

    def _exact_rx(self) -> Any:
        if self._exact is None:
            self._exact = _compile(self._wrapped(_translate(self.pattern, _EXACT)[0], _EXACT_EDGE))
        return self._exact

    def _found(self, m: Any) -> Found:
        if self.whole_words:
            return Found(m.group(1), m.span(1), tuple(m.groups()[1:]))
        return Found(m.group(0), m.span(), tuple(m.groups()))

    def _exact_here(self, found: Found, text: str) -> bool:
        """Whether the widened pattern's match is the exact pattern's too."""
        start, end = found.span
        if self.whole_words and (_is_word(text, start - 1) or _is_word(text, end)):
            return False
        return not self._classes or text[start:end].isascii()

    def search(self, text: str, pos: int = 0) -> Found | None:
        """The first match at or after ``pos``."""
        m = self._wide.search(text, pos)
        if m is None:
            return None  # the widened pattern matches wherever the exact one does
        found = self._found(m)
        if self._exact_here(found, text):
            return found
        try:
            m = self._exact_rx().search(text, pos)
        except PatternError as exc:  # not expected: the widened form compiled, and so did the exact one's parts
            log.warning("pattern %r: %s; it matches nothing", self.pattern, exc.message)
            return None
        return self._found(m) if m is not None else None

    def findall(self, text: str) -> list[str]:
        """Every non-overlapping match, in order (the matched texts)."""
        out: list[str] = []
        pos = 0
        while pos <= len(text):
            found = self.search(text, pos)
            if found is None:
                break
            out.append(found.text)
            start, end = found.span
            # whole words: the next match may begin right after this word, at the
            # separator this match consumed
            pos = end if end > start else end + 1
        return out
