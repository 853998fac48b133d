"""The retrieval interface every backend implements.

An index holds named *collections* (``decision_table:<bot>``, ``knowledge_base:<bot>``,
``nlu:<bot>``...). A document has an ``id``, a ``text`` to match (a state's
queries joined, a question, an intent example), a ``group`` it belongs to (the
state, the intent; several documents may share one) and ``fields`` for filters.
``search`` ranks documents for a query; scores are normalised to 0..1 per query
(the top hit of a query that matches everything it can is near 1), so one
threshold works for every backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Document:
    id: str
    text: str
    group: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    #: a dense embedding of ``text`` for backends that match vectors too (None: text only)
    vector: list[float] | None = None


@dataclass
class Hit:
    id: str
    score: float  # 0..1
    group: str | None = None
    raw_score: float = 0.0
    fields: dict[str, Any] = field(default_factory=dict)


class Index:
    """Abstract retrieval backend."""

    name = "abstract"
    #: a server reached over the network (engines searching it run off the event loop)
    remote = False

    def upsert(self, collection: str, docs: Iterable[Document]) -> None:
        raise NotImplementedError

    def delete(self, collection: str, ids: Iterable[str]) -> None:
        raise NotImplementedError

    def clear(self, collection: str) -> None:
        raise NotImplementedError

    def search(
        self,
        collection: str,
        query: str,
        k: int = 10,
        filters: dict[str, Any] | None = None,
        groups: Iterable[str] | None = None,
    ) -> list[Hit]:
        """Top ``k`` hits for ``query``; ``filters`` match ``fields`` exactly;
        ``groups`` restricts to documents of those groups."""
        raise NotImplementedError

    def count(self, collection: str) -> int:
        raise NotImplementedError

    def rebuild(
        self,
        collection: str,
        docs: Iterable[Document],
        revision: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Replace a collection's documents with ``docs``; searches see the old ones until the new
        ones are all in (a backend shared by several processes swaps them at once), and with
        ``revision`` the collection records the store revision it now mirrors. ``progress`` is
        told how many documents are in so far."""
        batch = list(docs)
        self.clear(collection)
        self.upsert(collection, batch)
        if progress is not None:
            progress(len(batch))
        if revision is not None:
            self.set_revision(collection, revision)

    def revision(self, collection: str) -> int | None:
        """The store revision the collection mirrors, when the backend keeps one (a shared index
        does, so a process that starts finds it up to date instead of rebuilding it); else None."""
        return None

    def set_revision(self, collection: str, revision: int) -> None:
        """Record that the collection mirrors store revision ``revision`` (see :meth:`revision`)."""
        return None

    def close(self) -> None:
        return None


def open_index(spec: str | dict | None = "embedded", path: str | None = None, language: str = "english") -> Index:
    """The backend a task's ``index:`` key names (``embedded`` by default)."""
    if spec in (None, "embedded"):
        from workbench.index.embedded import EmbeddedIndex

        return EmbeddedIndex(path=path, language=language)
    if isinstance(spec, dict) and ("elasticsearch" in spec or "opensearch" in spec):
        from workbench.index.server import ServerIndex

        return ServerIndex.from_spec(spec, language=language)
    raise ValueError(f"unknown index backend {spec!r}")
