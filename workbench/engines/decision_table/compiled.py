"""Parsed analyzers kept in the store, so a large table starts without parsing them again.

Parsing an analyzer costs about a third of a millisecond (mostly compiling its
regular expressions): 20,000 analyzers took seven seconds at every start. The
:class:`AnalyzerCache` keeps each distinct analyzer text's AST and triggers in the
table's document set (``derived("analyzers")``), encoded as plain JSON lists, and
rebuilds nodes from them; atoms share their compiled regexes (a table repeats the
same keywords thousands of times). The cache is keyed by the analyzer module's
source, so a change to the language's parser or semantics drops it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.engines.decision_table import analyzer as language
from workbench.engines.decision_table.analyzer import Atom, Node, Op, Trigger, parse, triggers

if TYPE_CHECKING:
    from workbench.store.base import DocumentSet

NAME = "analyzers"
FORMAT = 1


def _version() -> str:
    source = Path(language.__file__).read_bytes()
    return f"{FORMAT}:{hashlib.sha1(source).hexdigest()}"


def encode(node: Node) -> list[Any]:
    if isinstance(node, Op):
        return ["o", node.name, node.pos, [encode(c) for c in node.children]]
    assert isinstance(node, Atom)
    return ["a", node.name, node.pos, list(node.args)]


class AnalyzerCache:
    """Analyzer text -> (AST, triggers), from the store when it has them, parsed otherwise."""

    def __init__(self, entries: dict[str, list[Any]] | None = None) -> None:
        self._entries: dict[str, list[Any]] = entries or {}
        self._regexes: dict[tuple[str, tuple[str, ...]], Any] = {}
        self._used: set[str] = set()
        self._triggers: dict[str, frozenset[Trigger] | None] = {}
        self.parsed = 0

    @classmethod
    def load(cls, docs: DocumentSet) -> AnalyzerCache:
        found = docs.derived(NAME)
        if found is None:
            return cls()
        try:
            data = json.loads(found[1])
        except ValueError:
            return cls()
        if not isinstance(data, dict) or data.get("version") != _version() or not isinstance(data.get("entries"), dict):
            return cls()
        return cls(data["entries"])

    def lazy(self, text: str) -> tuple[Callable[[], Node], frozenset[Trigger] | None]:
        """A function that builds the AST of ``text``, and its triggers (known at once): only the
        states a turn evaluates ever build theirs."""
        self._used.add(text)
        entry = self._entries.get(text)
        if entry is not None:
            try:
                found = self._triggers.get(text) or self._triggers.setdefault(text, _triggers(entry[1]))
            except (TypeError, ValueError):
                found = None
            else:
                data = entry[0]
                return (lambda: self._rebuild(text, data)), found
        ast, found = self.compile(text)
        return (lambda: ast), found

    def _rebuild(self, text: str, data: list[Any]) -> Node:
        try:
            return self._decode(data)
        except (TypeError, ValueError, IndexError, KeyError):
            return parse(text)  # a damaged entry: parse it again

    def compile(self, text: str) -> tuple[Node, frozenset[Trigger] | None]:
        """The AST and triggers of ``text`` (raises AnalyzerError for a bad analyzer)."""
        self._used.add(text)
        entry = self._entries.get(text)
        if entry is not None:
            try:
                return self._decode(entry[0]), _triggers(entry[1])
            except (TypeError, ValueError, IndexError, KeyError):
                pass  # a damaged entry: parse it again
        ast = parse(text)
        found = triggers(ast)
        self._entries[text] = [encode(ast), None if found is None else sorted(map(list, found))]
        self.parsed += 1
        return ast, found

    def _decode(self, data: list[Any]) -> Node:
        kind, name, pos, rest = data
        if kind == "o":
            return Op(name, pos, [self._decode(c) for c in rest])
        atom = Atom(name, pos, list(rest))
        key = (name, tuple(atom.args))
        compiled = self._regexes.get(key)
        if compiled is None and key not in self._regexes:
            compiled = self._regexes[key] = language._compile_atom(atom)  # the parser's own compilation
        atom.compiled = compiled
        return atom

    def save(self, docs: DocumentSet, revision: int) -> bool:
        """Write the cache back when this load parsed anything (keeping only analyzers in use)."""
        if not self.parsed:
            return False
        entries = {t: e for t, e in self._entries.items() if t in self._used}
        blob = json.dumps({"version": _version(), "entries": entries}, separators=(",", ":")).encode()
        docs.set_derived(NAME, revision, blob)
        self.parsed = 0
        return True


def _triggers(data: list[list[str]] | None) -> frozenset[Trigger] | None:
    if data is None:
        return None
    return frozenset((kind, word) for kind, word in data)
