"""The matrix and columns a :class:`~workbench.engines.retrieval.retriever.HybridRetriever` ranks
with, swapped whole when its examples change; and what is derived from them alone: each group's
tightness and words (the evidence rejection.py weighs), and the index's filter rule applied to
examples' fields."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workbench.engines.retrieval import fusion, rejection

#: the group out-of-scope examples vote for (never returned)
OUT_OF_SCOPE = "\x00out_of_scope"


@dataclass
class Snapshot:
    """Everything :meth:`HybridRetriever.rank` reads, swapped whole when the examples change."""

    size: int  # examples (positions 0..size-1)
    ids: list[str | None]
    texts: list[str]
    position: dict[str, int]  # id -> position (examples with an id)
    matrix: np.ndarray  # (rows, dim) float32: one row per distinct text
    doc_row: np.ndarray  # (size,) matrix row of each example's text
    doc_group: np.ndarray  # (size,) group code (-1: a deleted example)
    doc_part: np.ndarray  # (size,) partition code (-1: none)
    alive: np.ndarray  # (size,) bool
    groups: list[str]
    group_code: dict[str, int]
    partitions: dict[str, int]
    fields: list[dict[str, Any] | None] | None
    #: the examples of group g are order[starts[g]:starts[g + 1]]
    order: np.ndarray
    starts: np.ndarray
    head: fusion.LinearHead | None = None
    #: per group code: how close its examples are to each other (NaN: not computed yet)
    tightness: np.ndarray | None = None
    #: the tightness of a group of one example (the median over the others)
    usual_tightness: float = 0.0
    masks: dict[str, np.ndarray] = field(default_factory=dict)
    #: group code -> in how many of its examples each word occurs (filled as groups are asked for)
    words: dict[int, Counter[str]] = field(default_factory=dict)

    def group_docs(self, code: int) -> np.ndarray:
        return self.order[self.starts[code] : self.starts[code + 1]]

    def locate(self, doc_id: str, group: str | None) -> int | None:
        """The position of an index document: by its id, or as the n-th example of its group."""
        pos = self.position.get(doc_id)
        if pos is not None or group is None:
            return pos
        code = self.group_code.get(group)
        name, sep, n = doc_id.rpartition("\x1f")
        if code is None or not sep or name != group or not n.isdigit():
            return None
        docs = self.group_docs(code)
        return int(docs[int(n)]) if int(n) < len(docs) else None

    def name_of(self, pos: int) -> str:
        """The id of the example at ``pos`` (its group and number when it has none)."""
        doc_id = self.ids[pos]
        if doc_id is not None:
            return doc_id
        code = int(self.doc_group[pos])
        docs = self.group_docs(code)
        return f"{self.groups[code]}\x1f{int(np.searchsorted(docs, pos))}"

    def tight(self, code: int) -> float:
        """Group ``code``'s tightness, computed now if the background has not yet."""
        known = float(self.tightness[code]) if self.tightness is not None else float("nan")
        if known == known:
            return known
        value = group_tightness(self, code)
        if value != value:
            return self.usual_tightness
        if self.tightness is not None:
            self.tightness[code] = value
        return value

    def group_words(self, code: int) -> Counter[str]:
        """In how many of group ``code``'s examples each word occurs (remembered)."""
        found = self.words.get(code)
        if found is None:
            found = Counter()
            for pos in self.group_docs(code)[:WORDS_SAMPLE].tolist():
                found.update(rejection.words(self.texts[pos]))
            if len(self.words) >= WORDS_REMEMBERED:
                self.words.clear()
            self.words[code] = found
        return found


#: examples of a group compared with each other at most, for its tightness
TIGHT_SAMPLE = 300
#: examples of a group whose words are counted at most (novelty), and groups whose counts are kept
WORDS_SAMPLE = 2000
WORDS_REMEMBERED = 4096


def group_tightness(snapshot: Snapshot, code: int) -> float:
    """How close group ``code``'s examples are to each other: the mean, over its examples, of the
    mean cosine of their :data:`~rejection.NEAREST` nearest fellow examples (NaN for a group of one).

    A match's ``closeness`` (rejection.py) is measured against it: a group of near-paraphrases
    is matched closely by its own paraphrases, and an utterance that comes only so close to it
    is more likely something else than the same cosine near a loose group would be."""
    docs = snapshot.group_docs(code)[:TIGHT_SAMPLE]
    if len(docs) < 2:
        return float("nan")
    vectors = snapshot.matrix[snapshot.doc_row[docs]]
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    k = min(rejection.NEAREST, len(docs) - 1)
    nearest = -np.partition(-sims, k - 1, axis=1)[:, :k]
    return float(nearest.mean())


def all_tightness(snapshot: Snapshot) -> tuple[np.ndarray, float]:
    """Every group's tightness, and the usual one (their median) for groups of one example."""
    out = np.full(len(snapshot.groups), np.nan, dtype=np.float32)
    sizes = np.diff(snapshot.starts)
    pairs = np.flatnonzero(sizes == 2)  # a table's states often have two queries: one product each
    if len(pairs):
        first = snapshot.order[snapshot.starts[pairs]]
        second = snapshot.order[snapshot.starts[pairs] + 1]
        a, b = snapshot.matrix[snapshot.doc_row[first]], snapshot.matrix[snapshot.doc_row[second]]
        out[pairs] = np.einsum("ij,ij->i", a, b)
    for code in np.flatnonzero(sizes > 2).tolist():
        out[code] = group_tightness(snapshot, code)
    known = out[~np.isnan(out)]
    return out, float(np.median(known)) if len(known) else 0.0


def matches_filters(fields: dict[str, Any], filters: dict[str, Any]) -> bool:
    """The index's filter rule: each filter's value (or one of its values) equals the field's
    value (or one of its values); a None filter is ignored."""
    for key, wanted in filters.items():
        if wanted is None:
            continue
        accepted = wanted if isinstance(wanted, (list, tuple, set, frozenset)) else [wanted]
        have = fields.get(key)
        values = have if isinstance(have, (list, tuple, set, frozenset)) else [have]
        if not any(same_value(v, a) for v in values for a in accepted):
            return False
    return True


def same_value(a: Any, b: Any) -> bool:
    # as the index spells filter values in JSON: True and 1 differ, "1" and 1 differ
    return type(a) is type(b) and a == b
