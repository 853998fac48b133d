"""starchat's REST API (the 2016 dialect: snake_case bodies, paths from the server root).

:data:`ENDPOINTS` is the one list of what the API offers: each endpoint's name (the
OpenAPI operation id, and what ``serve.public_api`` names), method and path, handler,
body and answers. The routes and the OpenAPI document are both made from it. Every
request passes :func:`workbench.services.starchat.auth.authorize` first; every refusal
is a JSON body ``{"error", "field", ...}``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import BaseModel
from starlette.convertors import PathConvertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from workbench.services.starchat import conversation, decisiontable, knowledgebase
from workbench.services.starchat.auth import Caller, authorize
from workbench.services.starchat.errors import ApiError
from workbench.services.starchat.schemas import (
    Deleted,
    QAHits,
    QAInput,
    QALoaded,
    QASearch,
    ResponseDocument,
    ResponseRequest,
    StateHits,
    StateSearch,
    TableLoaded,
    TemplateError,
    Written,
)
from workbench.services.starchat.service import Starchat

if TYPE_CHECKING:
    from workbench.services.server import ServerContext

log = logging.getLogger(__name__)

Handler = Callable[[Starchat, Request, Caller], Awaitable[Response]]

#: what an endpoint's request body is: a model, a state (whole or some fields), an upload
Body = type[BaseModel] | str | None


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    handler: Handler
    summary: str
    #: the success status, what it means, and its body (None: no body)
    ok: tuple[int, str, type[BaseModel] | None]
    body: Body = None
    write: bool = False
    #: query parameters besides ``bot``
    query: tuple[str, ...] = ()
    #: answers besides the ones every endpoint may give
    answers: dict[int, tuple[str, type[BaseModel] | None]] = field(default_factory=dict)


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "get_next_response",
        "POST",
        "/get_next_response",
        conversation.get_next_response,
        "The next state of the user's conversation",
        (200, "The state reached", ResponseDocument),
        body=ResponseRequest,
        answers={
            204: ("No state passed the threshold and the knowledge base has no answer", None),
            404: ("return_value names no state (or ?bot= no bot)", None),
            422: (
                "A template could not be filled (code 100), or the safety rules held the message (101)",
                TemplateError,
            ),
            503: ("The server is starting or shutting down", None),
        },
    ),
    Endpoint(
        "decisiontable_get",
        "GET",
        "/decisiontable",
        decisiontable.get,
        "States by id; every state without ids",
        (200, "The states", StateHits),
        query=("ids",),
    ),
    Endpoint(
        "decisiontable_post",
        "POST",
        "/decisiontable",
        decisiontable.post,
        "Insert or replace a state",
        (201, "Written", Written),
        body="state",
        write=True,
    ),
    Endpoint(
        "decisiontable_upload",
        "POST",
        "/decisiontable/upload_csv",
        decisiontable.upload_csv,
        "Load a table: CSV in any starchat layout, or JSON",
        (201, "Loaded", TableLoaded),
        body="upload",
        write=True,
        query=("skip_invalid", "replace"),
    ),
    Endpoint(
        "decisiontable_put",
        "PUT",
        "/decisiontable/{state}",
        decisiontable.put,
        "Change some fields of a state",
        (201, "Updated", Written),
        body="state-fields",
        write=True,
    ),
    Endpoint(
        "decisiontable_delete",
        "DELETE",
        "/decisiontable/{state}",
        decisiontable.delete,
        "Delete a state",
        (200, "Deleted (found says whether it existed)", Deleted),
        write=True,
    ),
    Endpoint(
        "decisiontable_search",
        "POST",
        "/decisiontable_search",
        decisiontable.search,
        "States ranked for a text (analyzer or retrieval), with why each matched",
        (200, "Ranked states", StateHits),
        body=StateSearch,
    ),
    Endpoint(
        "knowledgebase_get",
        "GET",
        "/knowledgebase",
        knowledgebase.get,
        "Q/As by id; every Q/A without ids (verified ones only without the token)",
        (200, "The Q/As", QAHits),
        query=("ids",),
    ),
    Endpoint(
        "knowledgebase_post",
        "POST",
        "/knowledgebase",
        knowledgebase.post,
        "Insert or replace a Q/A",
        (201, "Written", QAHits),
        body=QAInput,
        write=True,
    ),
    Endpoint(
        "knowledgebase_upload",
        "POST",
        "/knowledgebase/upload_csv",
        knowledgebase.upload_csv,
        "Load Q/As: CSV with starchat's columns, or JSON Lines",
        (201, "Loaded", QALoaded),
        body="upload",
        write=True,
        query=("skip_invalid",),
    ),
    Endpoint(
        "knowledgebase_put",
        "PUT",
        "/knowledgebase/{id}",
        knowledgebase.put,
        "Change some fields of a Q/A",
        (201, "Updated", Written),
        body=QAInput,
        write=True,
    ),
    Endpoint(
        "knowledgebase_delete",
        "DELETE",
        "/knowledgebase/{id}",
        knowledgebase.delete,
        "Delete a Q/A",
        (200, "Deleted (found says whether it existed)", Deleted),
        write=True,
    ),
    Endpoint(
        "knowledgebase_search",
        "POST",
        "/knowledgebase_search",
        knowledgebase.search,
        "Q/As ranked for a question, with filters (verified ones only without the token)",
        (200, "Ranked Q/As", QAHits),
        body=QASearch,
    ),
)


async def _openapi(api: Starchat, request: Request, caller: Caller) -> Response:
    from workbench.services.starchat.openapi import document

    return JSONResponse(document(ENDPOINTS, api.task.name))


OPENAPI = Endpoint("openapi", "GET", "/openapi.json", _openapi, "This document", (200, "OpenAPI 3.1", None))


def _route(api: Starchat, endpoint: Endpoint) -> Route:
    async def run(request: Request) -> Response:
        try:
            caller = authorize(request, endpoint.name, endpoint.write, api.public)
            return await endpoint.handler(api, request, caller)
        except ApiError as exc:
            return exc.response()
        except Exception:  # a bug: logged once, answered without a traceback
            log.exception("%s %s failed", endpoint.method, endpoint.path)
            return JSONResponse({"error": "the server failed to answer this request (logged)"}, status_code=500)

    run.__name__ = endpoint.name
    run.__doc__ = endpoint.handler.__doc__
    path = endpoint.path.replace("}", ":name}")
    return Route(path, run, methods=[endpoint.method], name=endpoint.name)


class NameConvertor(PathConvertor):
    """A state name or Q/A id in a path: the rest of the path, whatever it holds (a slash
    sent as %2F, a newline), so every name reaches its endpoint (Starlette's ``path``
    stops at a newline)."""

    regex = r"[\s\S]*"  # empty too: no id is a 404 from the endpoint, not a 405


register_url_convertor("name", NameConvertor())


def routes(ctx: ServerContext) -> list[BaseRoute]:
    """The starchat API's routes for a server context (``ctx.task``, ``ctx.store``, ``ctx.runner``)."""
    api = Starchat(ctx)
    return [_route(api, e) for e in (*ENDPOINTS, OPENAPI)]
