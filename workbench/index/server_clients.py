"""The two clients the search-server backend speaks through: the official async ``elasticsearch``
client (Elasticsearch 8 and 9: install the client of your cluster's major version) and
``opensearch-py``'s async client. Both are reduced to one small surface, :class:`Client`: a JSON
request, a bulk load through the client's own bulk helper (which retries 429 answers with
back-off), and close. Credentials come from the environment (workbench/index/settings.py).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from workbench.index.settings import Flavour, IndexEnvironment, ServerSpec

JSON_HEADERS = {"accept": "application/json", "content-type": "application/json"}
#: attempts of a bulk chunk the server answered 429 (too many requests), with back-off
BULK_RETRIES = 5


class ServerError(RuntimeError):
    """The search server answered with an error (``status``), or could not be reached (0)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status or 'unreachable'}: {message}")
        self.status = status


class Client:
    """What the backend needs of a client (see the module's docstring)."""

    flavour: Flavour

    async def request(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        raise NotImplementedError

    async def bulk(self, actions: AsyncIterator[dict[str, Any]], done: Callable[[int], None]) -> list[str]:
        """Send ``actions``; call ``done(n)`` as chunks land; return the errors of items that failed."""
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class ElasticsearchClient(Client):
    flavour: Flavour = "elasticsearch"

    def __init__(self, spec: ServerSpec, env: IndexEnvironment) -> None:
        try:
            from elasticsearch import AsyncElasticsearch
        except ImportError as exc:  # pragma: no cover - the extra is missing
            raise ImportError(
                "the Elasticsearch backend needs its client: pip install 'workbench[elasticsearch]'"
            ) from exc
        auth: dict[str, Any] = {}
        if env.api_key is not None:
            auth["api_key"] = env.api_key.get_secret_value()
        elif env.username:
            auth["basic_auth"] = (env.username, env.password.get_secret_value() if env.password else "")
        self.es = AsyncElasticsearch(env.url or spec.url, request_timeout=spec.timeout, **auth)

    async def request(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        from elasticsearch import ApiError, TransportError

        headers = dict(JSON_HEADERS)
        if isinstance(body, str):
            headers["content-type"] = "application/x-ndjson"
        try:
            response = await self.es.perform_request(method, path, params=params, headers=headers, body=body)
        except ApiError as exc:
            raise ServerError(exc.meta.status, str(exc.message)) from None
        except TransportError as exc:
            raise ServerError(0, str(exc)) from None
        return response.body

    async def bulk(self, actions: AsyncIterator[dict[str, Any]], done: Callable[[int], None]) -> list[str]:
        from elasticsearch.helpers import async_streaming_bulk

        errors: list[str] = []
        async for ok, item in async_streaming_bulk(
            self.es, actions, chunk_size=500, max_retries=BULK_RETRIES, initial_backoff=0.5, raise_on_error=False
        ):
            if not ok:
                errors.append(str(item)[:500])
            done(1)
        return errors

    async def close(self) -> None:
        await self.es.close()


class OpenSearchClient(Client):
    flavour: Flavour = "opensearch"

    def __init__(self, spec: ServerSpec, env: IndexEnvironment) -> None:
        try:
            from opensearchpy import AsyncOpenSearch
        except ImportError as exc:  # pragma: no cover - the extra is missing
            raise ImportError("the OpenSearch backend needs its client: pip install 'workbench[opensearch]'") from exc
        auth: dict[str, Any] = {}
        if env.username:
            auth["http_auth"] = (env.username, env.password.get_secret_value() if env.password else "")
        # the client logs every 4xx as a warning; a collection never written (404) is an answer
        # here, not a failure, and real failures are raised as ServerError
        logging.getLogger("opensearch").setLevel(logging.ERROR)
        self.os = AsyncOpenSearch(hosts=[env.url or spec.url], timeout=spec.timeout, **auth)

    async def request(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        from opensearchpy import ConnectionError as Unreachable
        from opensearchpy import TransportError

        try:
            return await self.os.transport.perform_request(method, path, params=params, body=body)
        except Unreachable as exc:
            raise ServerError(0, str(exc)) from None
        except TransportError as exc:
            status = exc.status_code if isinstance(exc.status_code, int) else 0
            raise ServerError(status, str(exc.info or exc.error)[:1000]) from None

    async def bulk(self, actions: AsyncIterator[dict[str, Any]], done: Callable[[int], None]) -> list[str]:
        from opensearchpy.helpers import async_streaming_bulk

        errors: list[str] = []
        async for ok, item in async_streaming_bulk(
            self.os, actions, chunk_size=500, max_retries=BULK_RETRIES, initial_backoff=0.5, raise_on_error=False
        ):
            if not ok:
                errors.append(str(item)[:500])
            done(1)
        return errors

    async def close(self) -> None:
        await self.os.close()


def make_client(flavour: Flavour, spec: ServerSpec) -> Client:
    env = IndexEnvironment()
    return ElasticsearchClient(spec, env) if flavour == "elasticsearch" else OpenSearchClient(spec, env)
