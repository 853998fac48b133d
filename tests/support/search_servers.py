"""Search servers for the index contract suite: ``osmem-server`` (an in-memory OpenSearch-compatible
server from PyPI) started on 127.0.0.1 once per session, and a real Elasticsearch when
``WORKBENCH_ES_URL`` names one. Each test gets indices under a prefix of its own."""

from __future__ import annotations

import os
import uuid

#: where a real Elasticsearch is (set it to run the suite against one)
ES_URL_VARIABLE = "WORKBENCH_ES_URL"


def osmem_missing() -> str | None:
    try:
        import opensearchpy  # noqa: F401
        from osmem_server import resolve_binary
    except ImportError:
        return "osmem-server or opensearch-py is not installed: pip install -e '.[test]'"
    try:
        resolve_binary()
    except Exception as exc:  # no binary for this platform
        return str(exc)
    return None


def elasticsearch_url() -> str | None:
    return os.environ.get(ES_URL_VARIABLE) or None


def prefix() -> str:
    return f"wbt{uuid.uuid4().hex[:10]}"


def server_index(flavour: str, url: str, language: str = "english"):
    from workbench.index.server import ServerIndex

    return ServerIndex.from_spec({flavour: {"url": url, "index_prefix": prefix()}}, language=language)
