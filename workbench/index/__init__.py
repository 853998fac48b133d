"""Retrieval behind one interface: an embedded backend (no server) by default, Elasticsearch or
OpenSearch (workbench/index/server.py) when several processes or machines share one index.

The store stays the source of truth: an index can always be rebuilt from it.
"""

from workbench.index.base import Document, Hit, Index, open_index

__all__ = ["Document", "Hit", "Index", "open_index"]
