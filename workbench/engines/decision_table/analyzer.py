"""The analyzer language: one state's rule, parsed once to an AST and evaluated per turn.

An expression is an operator applied to expressions, or an atom applied to
string arguments::

    booleanAnd(vOneKeyword("password"), bor(keyword("reset"), keyword("forgot")))

Every expression scores an utterance in 0..1. Names are case-insensitive
(``booleanAnd``, ``booleanand`` and ``band`` are one operator). Whitespace,
newlines and one trailing comma in an argument list are accepted.

Patterns (``regex``, ``vOneKeyword``, ``matchPatternRegex``, ``keyword``) run on RE2
(:mod:`~workbench.engines.decision_table.patterns`): time linear in the message,
whatever the pattern; a pattern RE2 cannot run is a syntax error at its character.
Expressions nest at most :data:`MAX_NESTING` levels.

Besides evaluation, :func:`triggers` derives from an AST the words an utterance
must contain for the expression to score above 0 (or ``None`` when no such
condition exists); the table uses it to skip analyzers that cannot match.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from workbench.engines.decision_table.patterns import Pattern, PatternError

#: operator name (casefolded, aliases included) -> canonical name
OPERATORS: dict[str, str] = {
    "booleanand": "booleanAnd",
    "band": "booleanAnd",
    "booleanor": "booleanOr",
    "bor": "booleanOr",
    "booleannot": "booleanNot",
    "bnot": "booleanNot",
    "and": "and",
    "or": "or",
    "max": "max",
}

#: atom name (casefolded) -> (canonical name, min args, max args)
ATOMS: dict[str, tuple[str, int, int]] = {
    "keyword": ("keyword", 1, 1),
    "vonekeyword": ("vOneKeyword", 1, 1),
    "regex": ("regex", 1, 1),
    "search": ("search", 0, 1),
    "matchpatternregex": ("matchPatternRegex", 1, 1),
    "existsvariable": ("existsVariable", 1, 1),
    "checkvariablevalue": ("checkVariableValue", 2, 2),
    "hastravstate": ("hasTravState", 1, 1),
    "lasttravstateis": ("lastTravStateIs", 1, 1),
}

#: how deep operators may nest (real rules nest a few levels; the parser is recursive)
MAX_NESTING = 50

#: a word of an utterance: letters/digits with inner apostrophes ("don't")
TOKEN_RE = re.compile(r"\w+(?:['’]\w+)*")


_PART_RE = re.compile(r"\w+")


def tokenize(text: str) -> list[str]:
    """The lowercased words of ``text`` (what keyword() counts against)."""
    return [t.replace("’", "'") for t in TOKEN_RE.findall(text.lower())]


def word_parts(text: str) -> set[str]:
    """The runs of word characters in ``text``, lowercased (what triggers look up)."""
    return set(_PART_RE.findall(text.lower()))


class AnalyzerError(ValueError):
    """A syntax or argument error at ``position`` (0-based character offset in the expression)."""

    def __init__(self, message: str, position: int, source: str = "") -> None:
        self.message = message
        self.position = position
        self.source = source
        super().__init__(f"character {self.char}: {message}")

    @property
    def char(self) -> int:
        """1-based character number, as a person counts."""
        return self.position + 1

    def pointer(self) -> str:
        """The expression with a caret under the offending character (first line only)."""
        line_start = self.source.rfind("\n", 0, self.position) + 1
        line_end = self.source.find("\n", self.position)
        line = self.source[line_start : line_end if line_end >= 0 else None]
        return f"{line}\n{' ' * (self.position - line_start)}^"


# -- AST ----------------------------------------------------------------------


@dataclass
class Node:
    name: str  # canonical name
    pos: int

    def __str__(self) -> str:  # pragma: no cover - overridden
        return self.name


@dataclass
class Op(Node):
    children: list[Node] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.name}({', '.join(map(str, self.children))})"


@dataclass
class Atom(Node):
    args: list[str] = field(default_factory=list)
    #: compiled form of the argument (a Pattern, or (names, Pattern) for matchPatternRegex)
    compiled: Any = None

    def __str__(self) -> str:
        return f"{self.name}({', '.join(_quote(a) for a in self.args)})"


def _quote(s: str) -> str:
    return '"' + s.replace('"', '\\"') + '"'


# -- parser -------------------------------------------------------------------

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Parser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.i = 0
        self.depth = 0

    def error(self, msg: str, pos: int | None = None) -> AnalyzerError:
        return AnalyzerError(msg, self.i if pos is None else pos, self.src)

    def ws(self) -> None:
        while self.i < len(self.src) and self.src[self.i].isspace():
            self.i += 1

    def peek(self) -> str:
        return self.src[self.i] if self.i < len(self.src) else ""

    def expect(self, ch: str, what: str) -> None:
        self.ws()
        if self.peek() != ch:
            got = repr(self.peek()) if self.peek() else "the end of the expression"
            raise self.error(f"expected {what}, found {got}")
        self.i += 1

    def string(self) -> tuple[str, int]:
        self.ws()
        start = self.i
        quote = self.peek()
        if quote not in ('"', "'"):
            got = repr(quote) if quote else "the end of the expression"
            raise self.error(f"expected a quoted string, found {got}")
        self.i += 1
        out: list[str] = []
        while True:
            if self.i >= len(self.src):
                raise self.error("this string is never closed", start)
            ch = self.src[self.i]
            if ch == "\\" and self.i + 1 < len(self.src):
                nxt = self.src[self.i + 1]
                # \" and \\ are escapes; any other backslash stays for the regex (\d, \S, \.)
                if nxt in (quote, "\\"):
                    out.append(nxt)
                else:
                    out.append(ch + nxt)
                self.i += 2
                continue
            if ch == quote:
                self.i += 1
                return "".join(out), start
            out.append(ch)
            self.i += 1

    def expr(self) -> Node:
        self.ws()
        start = self.i
        m = _IDENT.match(self.src, self.i)
        if not m:
            got = repr(self.peek()) if self.peek() else "the end of the expression"
            raise self.error(f"expected an operator or atom such as booleanAnd( or keyword(, found {got}")
        name = m.group(0)
        key = name.casefold()
        self.i = m.end()
        self.ws()
        if self.peek() != "(":
            raise self.error(f"expected '(' after {name}")
        self.i += 1
        if key in OPERATORS:
            return self.op(OPERATORS[key], name, start)
        if key in ATOMS:
            return self.atom(key, name, start)
        known = ", ".join(sorted({*OPERATORS.values(), *(a[0] for a in ATOMS.values())}))
        raise self.error(f"unknown function {name!r}; known: {known}", start)

    def _args(self, parse_one: Callable[[], Any]) -> list[Any]:
        items: list[Any] = []
        self.ws()
        if self.peek() == ")":
            self.i += 1
            return items
        while True:
            items.append(parse_one())
            self.ws()
            ch = self.peek()
            if ch == ",":
                self.i += 1
                self.ws()
                if self.peek() == ")":  # a trailing comma, as starchat's own tables write
                    self.i += 1
                    return items
                continue
            if ch == ")":
                self.i += 1
                return items
            got = repr(ch) if ch else "the end of the expression"
            raise self.error(f"expected ',' or ')', found {got}")

    def op(self, canonical: str, written: str, start: int) -> Op:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"the expression is nested more than {MAX_NESTING} levels deep", start)
        try:
            children = self._args(self.expr)
        finally:
            self.depth -= 1
        if not children:
            raise self.error(f"{written}() needs at least one argument", start)
        if canonical == "booleanNot" and len(children) != 1:
            raise self.error(f"{written}() takes exactly one argument, got {len(children)}", start)
        return Op(canonical, start, children)

    def atom(self, key: str, written: str, start: int) -> Atom:
        canonical, lo, hi = ATOMS[key]
        positions: list[int] = []

        def one() -> str:
            self.ws()
            if _IDENT.match(self.src, self.i):
                raise self.error(f"{written}() takes quoted strings, not expressions")
            value, pos = self.string()
            positions.append(pos)
            return value

        args = self._args(one)
        if not lo <= len(args) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            raise self.error(f"{written}() takes {want} argument(s), got {len(args)}", start)
        atom = Atom(canonical, start, args)
        try:
            atom.compiled = _compile_atom(atom)
        except PatternError as exc:
            pos = positions[0] + 1 + (exc.position or 0) if positions else start
            raise self.error(f"invalid regular expression in {written}(): {exc.message}", pos) from None
        except ValueError as exc:
            raise self.error(str(exc), positions[0] if positions else start) from None
        return atom


#: "[name,...]regex": the regex's groups fill the names in order
_PATTERN_SPEC = re.compile(r"\s*\[([^\]]*)\]\s*(.+?)\s*$", re.S)


def _keyword_pattern(word: str) -> Pattern:
    """keyword(): whole words, ``*`` a wildcard inside a word."""
    parts = [re.escape(p) for p in word.lower().split("*")]
    return Pattern(r"\w*".join(parts), whole_words=True)


def _compile_atom(atom: Atom) -> Any:
    name, args = atom.name, atom.args
    if name == "keyword":
        return _keyword_pattern(args[0])
    if name == "vOneKeyword":
        # the argument is a regex matched as whole words; never lowercase a regex (\S is not \s)
        return Pattern(args[0], whole_words=True)
    if name == "regex":
        return Pattern(args[0])
    if name == "matchPatternRegex":
        m = _PATTERN_SPEC.match(args[0])
        if not m:
            raise ValueError('matchPatternRegex() expects "[name,...](regex)", e.g. "[email](\\S+@\\S+)"')
        names = [n.strip() for n in m.group(1).split(",") if n.strip()]
        if not names:
            raise ValueError("matchPatternRegex() needs at least one variable name inside [...]")
        rx = Pattern(m.group(2))
        groups = rx.groups
        if groups and groups != len(names):
            raise ValueError(f"matchPatternRegex() names {len(names)} variable(s) but its regex has {groups} group(s)")
        if not groups and len(names) != 1:
            raise ValueError("matchPatternRegex() without groups can fill one variable only")
        return (names, rx)
    return None


def parse(source: str) -> Node:
    """Parse one analyzer expression; raises :class:`AnalyzerError` with the character."""
    p = _Parser(source)
    p.ws()
    if p.i >= len(source):
        raise p.error("the expression is empty")
    node = p.expr()
    p.ws()
    if p.i < len(source):
        raise p.error(f"unexpected text after the expression: {source[p.i : p.i + 20]!r}")
    return node


# -- evaluation ---------------------------------------------------------------


@dataclass
class Env:
    """What an expression may look at during one turn."""

    text: str
    tokens: list[str]
    #: this state's name (what ``search()`` without argument refers to)
    state: str = ""
    #: state -> retrieval score of its queries for this utterance
    search: Callable[[str], float] = lambda state: 0.0
    data: dict[str, Any] = field(default_factory=dict)
    traversed: list[str] = field(default_factory=list)
    #: states visited at least once (hasTravState looks here: traversed is capped)
    visited: Iterable[str] = ()
    #: filled by matchPatternRegex
    extracted: dict[str, str] = field(default_factory=dict)
    #: when not None, atoms that scored above 0 append a reason here
    why: list[str] | None = None

    def __post_init__(self) -> None:
        self._low = self.text.lower()
        # text-only atoms repeat across states (many rules test "account"): score each once per turn
        self._memo: dict[tuple[str, str], tuple[float, str | None]] = {}


def evaluate(node: Node, env: Env) -> float:
    """The score of ``node`` for ``env`` in 0..1."""
    if isinstance(node, Op):
        name = node.name
        if name == "booleanAnd":
            return 1.0 if all(evaluate(c, env) > 0 for c in node.children) else 0.0
        if name == "booleanOr":
            # evaluate every child so that explanations and extracted variables are complete
            return 1.0 if sum(1 for c in node.children if evaluate(c, env) > 0) else 0.0
        if name == "booleanNot":
            saved = env.why
            env.why = None  # what a negated atom found is not a reason for a match
            try:
                return 1.0 if evaluate(node.children[0], env) <= 0 else 0.0
            finally:
                env.why = saved
        if name == "and":
            score = 1.0
            for c in node.children:
                score *= evaluate(c, env)
                if score <= 0:
                    return 0.0
            return score
        if name == "or":
            miss = 1.0
            for c in node.children:
                miss *= 1.0 - evaluate(c, env)
            return 1.0 - miss
        if name == "max":
            return max(evaluate(c, env) for c in node.children)
        raise AssertionError(name)
    return _atom(node, env)  # type: ignore[arg-type]


def _note(env: Env, atom: Atom, detail: str) -> None:
    if env.why is not None:
        env.why.append(f"{atom}: {detail}")


def _text_atom(atom: Atom, env: Env) -> tuple[float, str | None]:
    """keyword / vOneKeyword / regex: (score, reason), depending on the text only."""
    name = atom.name
    pattern: Pattern = atom.compiled
    if name in ("keyword", "vOneKeyword"):
        # starchat's keyword score: the share of the sentence's words that match
        # ("password" in "I forgot my password" scores 1/4); booleanAnd/booleanOr turn it into 1 or 0
        words = pattern.findall(env._low)
        if not words:
            return 0.0, None
        share = min(1.0, len(words) / max(1, len(env.tokens)))
        return share, f"found {words[0]!r} ({len(words)} of {max(1, len(env.tokens))} words)"
    match = pattern.search(env.text)  # regex
    return (1.0, f"matched {match.text!r}") if match else (0.0, None)


def _atom(atom: Atom, env: Env) -> float:
    name = atom.name
    if name in ("keyword", "vOneKeyword", "regex"):
        memo_key = (name, atom.args[0])
        got = env._memo.get(memo_key)
        if got is None:
            got = env._memo[memo_key] = _text_atom(atom, env)
        if got[1] is not None:
            _note(env, atom, got[1])
        return got[0]
    if name == "search":
        target = atom.args[0] if atom.args else env.state
        score = float(env.search(target))
        if score > 0:
            _note(env, atom, f"retrieval score {score:.2f}")
        return max(0.0, min(1.0, score))
    if name == "matchPatternRegex":
        names, rx = atom.compiled
        m = rx.search(env.text)
        if not m:
            return 0.0
        values = list(m.groups) if rx.groups else [m.text]
        for n, v in zip(names, values, strict=False):
            if v is not None:
                env.extracted[n] = v
        _note(env, atom, "extracted " + ", ".join(f"{n}={env.extracted.get(n)!r}" for n in names))
        return 1.0
    if name == "existsVariable":
        ok = atom.args[0] in env.data or atom.args[0] in env.extracted
        if ok:
            _note(env, atom, "variable is set")
        return 1.0 if ok else 0.0
    if name == "checkVariableValue":
        key, want = atom.args
        value = env.extracted.get(key, env.data.get(key))
        ok = value is not None and str(value) == want
        if ok:
            _note(env, atom, f"{key} == {want!r}")
        return 1.0 if ok else 0.0
    if name == "hasTravState":
        ok = atom.args[0] in env.visited or atom.args[0] in env.traversed
        if ok:
            _note(env, atom, "state was visited")
        return 1.0 if ok else 0.0
    if name == "lastTravStateIs":
        ok = bool(env.traversed) and env.traversed[-1] == atom.args[0]
        if ok:
            _note(env, atom, "it is the last state")
        return 1.0 if ok else 0.0
    raise AssertionError(name)


# -- pre-filter -----------------------------------------------------------------

#: ("w", word): the utterance must contain this word; ("p", prefix): a word starting so.
#: Words are runs of word characters (see :func:`word_parts`).
Trigger = tuple[str, str]

_WORDISH = re.compile(r"\w+(?:'\w+)*")


def _literal_trigger(head: str, exact: bool) -> Trigger | None:
    """The trigger of a match that starts at a word boundary with the literal ``head``."""
    if not head or not _WORDISH.fullmatch(head):
        return None
    first = re.match(r"\w+", head).group(0)  # type: ignore[union-attr]
    # a literal with an apostrophe: its first word part is a whole part of the text
    if exact or first != head:
        return ("w", first)
    return ("p", head)


def _pattern_trigger(pattern: str) -> Trigger | None:
    """A word or prefix that must be in the text for ``pattern`` to match as a whole word."""
    p = pattern.lower()
    if _WORDISH.fullmatch(p):
        return _literal_trigger(p, exact=True)
    for tail in (".*", ".+", r"\w*", r"\w+"):
        if p.endswith(tail):
            return _literal_trigger(p[: -len(tail)], exact=False)
    return None


def triggers(node: Node) -> frozenset[Trigger] | None:
    """Words of which the utterance must contain one for ``node`` to score above 0.

    ``None`` means no such condition is known (the expression is always evaluated).
    The derivation is conservative: skipping an expression whose triggers are all
    absent never changes a result.
    """
    if isinstance(node, Op):
        if node.name in ("booleanAnd", "and"):
            sets = [s for s in (triggers(c) for c in node.children) if s is not None]
            return min(sets, key=len) if sets else None
        if node.name in ("booleanOr", "or", "max"):
            out: set[Trigger] = set()
            for c in node.children:
                s = triggers(c)
                if s is None:
                    return None
                out |= s
            return frozenset(out)
        return None  # booleanNot scores 1 precisely when words are absent
    atom: Atom = node  # type: ignore[assignment]
    if atom.name == "keyword":
        words = atom.args[0].lower().split()
        if not words:
            return None
        first = words[0]
        if "*" in first:
            t = _literal_trigger(first.split("*", 1)[0], exact=False)
        else:
            t = _literal_trigger(first, exact=True)
        return frozenset({t}) if t else None
    if atom.name == "vOneKeyword":
        t = _pattern_trigger(atom.args[0])
        return frozenset({t}) if t else None
    return None


def atoms(node: Node) -> Iterable[Atom]:
    """Every atom in ``node``, depth first."""
    if isinstance(node, Op):
        for c in node.children:
            yield from atoms(c)
    else:
        yield node  # type: ignore[misc]


def uses_search(node: Node) -> bool:
    return any(a.name == "search" for a in atoms(node))
