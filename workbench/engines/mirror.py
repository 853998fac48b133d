"""What an index collection mirrors: one document set of one store, at one store revision.

A decision table or a knowledge base keeps its documents in the store and mirrors them into an
index collection. An index whose collections outlive the process (on disk beside the store, or
an Elasticsearch/OpenSearch cluster every process shares) keeps a *stamp* with each collection:
the document set's identity (a random id the store keeps with the set, so a collection is never
taken for another store's, even after the store file was replaced) and the revision mirrored.
An owner that finds its own stamp applies the changes since that revision instead of indexing
everything again; any other stamp, or none, means a rebuild.
"""

from __future__ import annotations

import uuid

from workbench.store.base import DocumentSet


def identity(docs: DocumentSet, create: bool = True) -> str:
    """The document set's identity, made and saved with the set the first time it is asked
    (without ``create``: "" for a set that has none yet)."""
    found = docs.derived("identity")
    if found is not None:
        return found[1].decode()
    if not create:
        return ""
    made = uuid.uuid4().hex
    docs.set_derived("identity", 0, made.encode())
    return made


def stamp(owner: str, revision: int) -> str:
    """The stamp of a collection mirroring ``owner``'s set at ``revision``."""
    return f"{owner}:{revision}"


def stamped_revision(found: str | None, owner: str) -> int | None:
    """The revision a stamp says its collection mirrors, when it is ``owner``'s stamp; else None."""
    if not found or not owner:
        return None
    who, _, revision = found.rpartition(":")
    if who != owner:
        return None
    try:
        return int(revision)
    except ValueError:
        return None
