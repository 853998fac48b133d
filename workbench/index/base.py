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

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


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
        with_fields: bool = True,
    ) -> list[Hit]:
        """Top ``k`` hits for ``query``; ``filters`` match ``fields`` exactly;
        ``groups`` restricts to documents of those groups; ``with_fields=False``: hits
        without their ``fields``."""
        raise NotImplementedError

    def count(self, collection: str) -> int:
        raise NotImplementedError

    def rebuild(
        self,
        collection: str,
        docs: Iterable[Document],
        stamp: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Replace a collection's documents with ``docs``; searches see the old ones until the new
        ones are all in (a backend shared by several processes swaps them at once), and with
        ``stamp`` the collection records what it now mirrors (:meth:`stamp`). ``progress`` is
        told how many documents are in so far."""
        batch = list(docs)
        self.clear(collection)
        self.upsert(collection, batch)
        if progress is not None:
            progress(len(batch))
        if stamp is not None:
            self.set_stamp(collection, stamp)

    def delete_groups(self, collection: str, groups: Iterable[str]) -> None:
        """Remove every document of these groups (a state's queries, whatever their number)."""
        raise NotImplementedError

    def stamp(self, collection: str) -> str | None:
        """What the collection's owner last said it holds (which document set, at which store
        revision: workbench/engines/mirror.py), or None.

        An owner that rebuilds from the store sets it after each change it applied; a backend
        whose collections outlive the process (:attr:`persistent`: an index on disk, a shared
        server) keeps the stamp with them, so the owner, or another process, catches up from
        there instead of rebuilding."""
        return None

    def set_stamp(self, collection: str, value: str | None) -> None:
        """Record what the collection mirrors (see :meth:`stamp`); None forgets it."""
        return None

    @property
    def persistent(self) -> bool:
        """True when collections outlive the process (an index on disk, a server)."""
        return False

    def close(self) -> None:
        return None


def open_index(
    spec: str | dict | None = "embedded", path: str | Path | None = None, language: str = "english", lock: bool = False
) -> Index:
    """The backend a task's ``index:`` key names (``embedded`` by default)."""
    if spec in (None, "embedded"):
        from workbench.index.embedded import EmbeddedIndex

        return EmbeddedIndex(path=path, language=language, lock=lock)
    if isinstance(spec, dict) and ("elasticsearch" in spec or "opensearch" in spec):
        from workbench.index.server import ServerIndex

        return ServerIndex.from_spec(spec, language=language)
    raise ValueError(f"unknown index backend {spec!r}")


def index_folder(store_path: str | Path, language: str = "english") -> Path | None:
    """Where the index of the store at ``store_path`` is kept (None for a store in memory)."""
    text = str(store_path)
    if not text or text == ":memory:" or text.startswith("file::memory:"):
        return None
    suffix = "-index" if language.lower() in ("english", "en") else f"-index-{language.lower()}"
    return Path(text + suffix)


def open_task_index(spec: str | dict | None, store_path: str | Path, language: str = "english") -> Index:
    """A task's index, kept on disk beside its store so a restart does not re-index; in memory
    when the store is, or when another process already owns the folder."""
    folder = index_folder(store_path, language)
    if folder is None or spec not in (None, "embedded"):
        return open_index(spec, language=language)
    from workbench.index.embedded import IndexInUse

    try:
        return open_index(spec, path=folder, language=language, lock=True)
    except IndexInUse:
        log.info("%s is used by another process: this one indexes in memory", folder)
        return open_index(spec, language=language)
