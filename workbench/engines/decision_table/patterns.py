"""Linear-time patterns for analyzers: RE2, with Python's Unicode meaning of ``\\w``, ``\\d``, ``\\s``.

An analyzer's ``regex()``, ``vOneKeyword()`` and ``matchPatternRegex()`` run on every
turn against what a person wrote. A backtracking engine takes exponential time on
some patterns (``^(a+)+$`` on 24 letters takes most of a second, doubling with each
letter), so a table could stall every conversation. RE2 matches in time linear in
the text whatever the pattern; what it cannot do in linear time (backreferences,
lookahead and lookbehind) is refused with :class:`PatternError` when the table
loads, never discovered during a turn.

Patterns keep the meaning they had with Python's ``re``: ``\\w``, ``\\d`` and ``\\s``
(and their negations outside brackets) are Unicode classes, ``\\Z`` is the end of
the text, ``\\uXXXX`` a code point. ``\\b`` is RE2's (ASCII word characters only).
Whole-word matching, which Python wrote with lookarounds, is built from alternatives
that consume the neighbouring character; :meth:`Pattern.search` and
:meth:`Pattern.findall` report the word itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import re2

#: what RE2 may use to compile one pattern (RE2's own default); a pattern beyond it is refused
MAX_MEMORY = 8 << 20
#: the longest pattern accepted
MAX_LENGTH = 4096

_WORD = r"\pL\pN_"
_SPACE = r"\s\x0b\pZ\x{85}"
#: escapes with Python's Unicode meaning: outside brackets, inside brackets
_CLASSES = {
    "w": (f"[{_WORD}]", _WORD),
    "W": (f"[^{_WORD}]", None),
    "d": (r"\p{Nd}", r"\p{Nd}"),
    "D": (r"\P{Nd}", r"\P{Nd}"),
    "s": (f"[{_SPACE}]", _SPACE),
    "S": (f"[^{_SPACE}]", None),
}
_NOT_WORD = f"[^{_WORD}]"


class PatternError(ValueError):
    """A pattern RE2 cannot run; ``position`` is the 0-based offset in it, when known."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


def _translate(pattern: str) -> str:
    """``pattern`` in RE2's syntax, with Python's Unicode classes."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt in _CLASSES:
                outside, inside = _CLASSES[nxt]
                out.append(outside if not in_class else inside if inside is not None else "\\" + nxt)
                i += 2
                continue
            if nxt == "Z":
                out.append(r"\z")
                i += 2
                continue
            if nxt in "uU":
                width = 4 if nxt == "u" else 8
                digits = pattern[i + 2 : i + 2 + width]
                if len(digits) == width and all(c in "0123456789abcdefABCDEF" for c in digits):
                    out.append(f"\\x{{{digits}}}")
                    i += 2 + width
                    continue
            if nxt.isdigit() and nxt != "0":
                raise PatternError(f"backreferences (\\{nxt}) cannot be matched in linear time", i)
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
            out.append(ch)
            i += 1
            # a ']' right after '[' or '[^' is a literal, not the end of the class
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":
                out.append("\\]")
                i += 1
            continue
        elif pattern.startswith(("(?=", "(?!", "(?<=", "(?<!"), i):
            raise PatternError("lookahead and lookbehind cannot be matched in linear time; rewrite without them", i)
        elif pattern.startswith("(?P=", i):
            raise PatternError("backreferences (?P=name) cannot be matched in linear time", i)
        out.append(ch)
        i += 1
    return "".join(out)


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
        body = _translate(pattern)
        self._own = _compile(body).groups  # checks the pattern alone, so errors are about it
        if whole_words:
            body = f"(?:^|{_NOT_WORD})({body})(?:{_NOT_WORD}|$)"
        self._rx = _compile(body)
        #: the pattern's own capturing groups
        self.groups: int = self._own

    def _found(self, m: Any) -> Found:
        if self.whole_words:
            groups = m.groups()[1:]
            return Found(m.group(1), m.span(1), tuple(groups))
        return Found(m.group(0), m.span(), tuple(m.groups()))

    def search(self, text: str, pos: int = 0) -> Found | None:
        """The first match at or after ``pos``."""
        m = self._rx.search(text, pos)
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
