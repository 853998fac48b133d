"""starchat's REST API (the 2016 dialect: snake_case bodies, paths from the server root).

``routes(ctx)`` gives the server its routes: ``get_next_response`` (one
conversation per ``user_id``, channel ``rest``, stored like any other),
``decisiontable`` and ``knowledgebase`` (read, write, search, CSV upload) and
``/openapi.json``. Writes need ``Authorization: Bearer <WORKBENCH_API_TOKEN>``;
with no token configured they are refused (403). Bad input gets a 400 whose
body names the field, never a bare 422 from a framework.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from workbench.problems import Problem
from workbench.services.settings import environment, secret

TOKEN_ENV = "WORKBENCH_API_TOKEN"

Handler = Callable[[Request], Awaitable[Response]]


class ApiError(Exception):
    """An error answered as JSON: ``{"error": message, "field": field}`` with ``status``."""

    def __init__(self, status: int, message: str, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"error": message}
        if field is not None:
            self.body["field"] = field
        self.body.update(extra)


def _json(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def _guard(handler: Handler) -> Handler:
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
            return JSONResponse(exc.body, status_code=exc.status, headers=headers)

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped


def _authorize(request: Request) -> None:
    token = secret(environment().api_token) or ""
    if not token:
        raise ApiError(403, f"writes are disabled on this server: set {TOKEN_ENV} to allow them")
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise ApiError(401, "this request needs an 'Authorization: Bearer <token>' header", field="Authorization")
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise ApiError(401, "the bearer token is not valid", field="Authorization")


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        raise ApiError(400, "the request body is empty; expected a JSON object", field="body")
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise ApiError(400, f"the body is not valid JSON{where}", field="body") from None
    if not isinstance(value, dict):
        raise ApiError(400, f"expected a JSON object, got {type(value).__name__}", field="body")
    return value


def _string(body: dict[str, Any], key: str, path: str | None = None, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise ApiError(400, "required", field=path or key)
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ApiError(400, f"expected a string, got {type(value).__name__}", field=path or key)
    return str(value)


def _mapping(body: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ApiError(400, f"expected an object, got {type(value).__name__}", field=path)
    return value


def _int_param(request: Request, name: str, default: int, lo: int = 1, hi: int = 1000) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"expected a whole number, got {raw!r}", field=name) from None
    if not lo <= value <= hi:
        raise ApiError(400, f"must be between {lo} and {hi}", field=name)
    return value


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("1", "true", "yes", "on")


def _hits(docs: list[tuple[dict[str, Any], float]]) -> dict[str, Any]:
    """starchat's search result shape."""
    return {
        "hits": [{"document": d, "score": s} for d, s in docs],
        "max_score": max((s for _, s in docs), default=0.0),
        "total": len(docs),
    }


class StarchatApi:
    """The handlers, bound to a server context (``.task``, ``.store``, ``.runner``)."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self._locks: dict[str, asyncio.Lock] = {}

    # -- what the requests act on --------------------------------------------------
    @property
    def task(self) -> Any:
        return self.ctx.task

    @property
    def store(self) -> Any:
        return getattr(self.ctx, "store", None) or self.task.store

    def _bot(self, request: Request) -> str:
        bots = [n for n, c in self.task.bot_configs.items() if getattr(c, "engine", None) == "decision_table"]
        wanted = request.query_params.get("bot")
        if wanted is not None:
            if wanted not in bots:
                raise ApiError(
                    404, f"no decision_table bot named {wanted!r}; bots: {', '.join(bots) or 'none'}", field="bot"
                )
            return wanted
        if not bots:
            raise ApiError(404, "this task has no bot with `engine: decision_table`")
        if len(bots) > 1:
            raise ApiError(400, f"several decision_table bots ({', '.join(bots)}): name one with ?bot=", field="bot")
        return bots[0]

    def _engine(self, request: Request) -> Any:
        bot = self._bot(request)
        try:
            return self.task.engine(bot)
        except Exception as exc:  # a table that cannot load: say why instead of a bare 500
            raise ApiError(500, f"the decision table of bot {bot!r} cannot be loaded: {exc}") from None

    def _kb(self, request: Request) -> Any:
        engine = self._engine(request)
        if engine.kb is None:
            from workbench.engines.knowledge_base import KnowledgeBase

            # a knowledge base started through the API is consulted by the bot from then on
            engine.kb = KnowledgeBase(self.task.store, engine.table.index, engine.bot)
        return engine.kb

    def _index_name(self, engine: Any) -> str:
        return f"{self.task.name}-{engine.bot}"

    # -- get_next_response ---------------------------------------------------------------
    async def get_next_response(self, request: Request) -> Response:
        """One turn of the user's conversation (starchat's get_next_response)."""
        body = await _body(request)
        user_id = _string(body, "user_id", required=True)
        assert user_id is not None
        text = _string(body, "text") or ""
        user_input = body.get("user_input")
        if isinstance(user_input, dict):
            text = _string(user_input, "text", "user_input.text") or text
        elif isinstance(user_input, str):
            text = user_input or text
        elif user_input is not None:
            raise ApiError(
                400, f'expected an object {{"text": ...}}, got {type(user_input).__name__}', field="user_input"
            )
        values = _mapping(body, "values", "values")
        return_value = _string(values, "return_value", "values.return_value") or _string(body, "return_value")
        data = dict(_mapping(body, "data", "data"))
        data.update(_mapping(values, "data", "values.data"))
        evaluation_class = _string(body, "evaluation_class")
        engine = self._engine(request)

        lock = self._locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            return self._turn(engine, user_id, text, return_value or None, data, evaluation_class)

    def _conversation(self, user_id: str) -> str:
        store = self.store
        found = store.find_conversation(self.task.name, user_id, "rest")
        if found is not None:
            return found
        return store.new_conversation(self.task.name, user_id, "rest", world="get_next_response")

    def _turn(
        self,
        engine: Any,
        user_id: str,
        text: str,
        return_value: str | None,
        data: dict[str, Any],
        evaluation_class: str | None,
    ) -> Response:
        from workbench.engines.base import Context
        from workbench.message import Message
        from workbench.store import Commit, Record

        store = self.store
        cid = self._conversation(user_id)
        state = store.state(cid, engine.bot) or engine.initial_state()
        context = Context(conversation_id=cid, bot=engine.bot, task=self.task, registry=self.task.registry)
        outcome, new_state, trace = engine.respond(
            state,
            text=text,
            return_value=return_value,
            data=data,
            evaluation_class=evaluation_class,
            context=context,
        )
        asked = Message(text=text, id=user_id)
        if return_value or data:
            asked["data"] = {**data, **({"return_value": return_value} if return_value else {})}
        records = [Record(asked, agent=user_id, role="human", world="get_next_response")]
        reply_doc: dict[str, Any] | None = None
        if outcome.status == "ok" and outcome.rendered:
            last = outcome.rendered[-1]
            reply_doc = last.document(new_state["data"])
            before = [r.bubble for r in outcome.rendered[:-1] if r.bubble]
            if before:  # a knowledge-base answer that leads on to its state
                reply_doc["bubble"] = "\n".join(before + ([last.bubble] if last.bubble else []))
            reply = Message(text=reply_doc["bubble"], id=engine.bot, meta={"state": last.state})
            records.append(Record(reply, agent=engine.bot, role="bot", trace=trace, world="get_next_response"))
        else:
            records.append(
                Record(
                    Message(text="", meta={"no_reply": True, "status": outcome.status}),
                    agent=engine.bot,
                    role="system",
                    trace=trace,
                    world="get_next_response",
                )
            )
        store.commit(Commit(records={cid: records}, states=[(cid, engine.bot, new_state)]))

        if outcome.status == "not_found":
            raise ApiError(404, outcome.error or "no such state", field="return_value")
        if outcome.status == "template_error":
            return _json(
                {"code": 100, "message": "error evaluating the template strings, bad values", "detail": outcome.error},
                422,
            )
        if reply_doc is None:
            return Response(status_code=204)
        return _json(reply_doc)

    # -- decisiontable -------------------------------------------------------------------
    async def decisiontable_get(self, request: Request) -> Response:
        """States by id (``?ids=A&ids=B``), or every state without ids."""
        table = self._engine(request).table
        ids = request.query_params.getlist("ids")
        states = [s for s in (table.get(i) for i in ids) if s is not None] if ids else table.list()
        return _json(_hits([(s.document(), 0.0) for s in states]))

    def _state_errors(self, errors: list[Problem]) -> ApiError:
        first = errors[0]
        extra = {
            "problems": [{"field": p.key, "message": p.message, **({"char": p.char} if p.char else {})} for p in errors]
        }
        msg = f"{first.message} (character {first.char})" if first.char else first.message
        return ApiError(400, msg, field=first.key, **extra)

    async def decisiontable_post(self, request: Request) -> Response:
        """Insert (or replace) one state."""
        _authorize(request)
        from workbench.engines.decision_table.table_io import state_from_json

        body = await _body(request)
        engine = self._engine(request)
        state, errors = state_from_json(body)
        if state is None:
            raise self._state_errors(errors)
        _, created = engine.table.upsert(state)
        return _json(
            {
                "created": created,
                "dtype": "state",
                "id": state.state,
                "index": self._index_name(engine),
                "version": engine.table.revision,
            },
            201,
        )

    async def decisiontable_put(self, request: Request) -> Response:
        """Change some fields of a state."""
        _authorize(request)
        from workbench.engines.decision_table.table_io import state_from_json

        name = request.path_params["state"]
        body = await _body(request)
        engine = self._engine(request)
        current = engine.table.get(name)
        if current is None:
            raise ApiError(404, f"there is no state {name!r}", field="state")
        if "state" in body and body["state"] != name:
            raise ApiError(
                400, "a state cannot be renamed by an update (POST the new state, DELETE the old)", field="state"
            )
        merged = current.document()
        for key, value in body.items():
            from workbench.engines.decision_table.model import field_for

            fname = field_for(key)
            if fname is None:
                raise ApiError(400, "unknown field", field=key)
            merged[fname] = value
        state, errors = state_from_json(merged)
        if state is None:
            raise self._state_errors(errors)
        engine.table.upsert(state)
        return _json(
            {
                "created": False,
                "dtype": "state",
                "id": name,
                "index": self._index_name(engine),
                "version": engine.table.revision,
            },
            201,
        )

    async def decisiontable_delete(self, request: Request) -> Response:
        _authorize(request)
        name = request.path_params["state"]
        engine = self._engine(request)
        found = engine.table.delete(name)
        return _json(
            {
                "dtype": "state",
                "found": found,
                "id": name,
                "index": self._index_name(engine),
                "version": engine.table.revision,
            }
        )

    async def decisiontable_search(self, request: Request) -> Response:
        """States ranked for a text, with why each matched."""
        body = await _body(request)
        text = _string(body, "queries")
        if text is None:
            text = _string(body, "text", required=False)
        if text is None:
            raise ApiError(400, "required: the text to rank states for", field="queries")
        evaluation_class = _string(body, "evaluation_class")
        size = body.get("max_results", body.get("size", 10))
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 1000:
            raise ApiError(400, "expected a whole number from 1 to 1000", field="max_results")
        data = _mapping(body, "data", "data")
        table = self._engine(request).table
        ranking = table.rank(text, data, evaluation_class=evaluation_class, limit=size)
        out = _hits([(table.get(c.state).document(), round(c.score, 6)) for c in ranking.candidates])  # type: ignore[union-attr]
        for hit, c in zip(out["hits"], ranking.candidates, strict=False):
            hit["why"] = c.why
        return _json(out)

    async def _upload_text(self, request: Request) -> tuple[str, str | None]:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("multipart/form-data"):
            form = await request.form()
            for _, value in form.multi_items():
                if hasattr(value, "read"):
                    raw = await value.read()
                    name = getattr(value, "filename", None)
                    break
            else:
                raise ApiError(400, "the form has no file", field="csv")
        else:
            raw = await request.body()
            name = None
        if not raw.strip():
            raise ApiError(400, "the upload is empty", field="body")
        try:
            return raw.decode("utf-8-sig"), name
        except UnicodeDecodeError as exc:
            raise ApiError(400, f"not UTF-8 text (byte {exc.start})", field="body") from None

    async def decisiontable_upload(self, request: Request) -> Response:
        """A CSV in any starchat layout (or JSON); ``?skip_invalid=true`` loads the valid rows of a defective file."""
        _authorize(request)
        text, name = await self._upload_text(request)
        engine = self._engine(request)
        read = engine.table.import_text(
            text,
            source=name or "upload",
            skip_invalid=_flag(request, "skip_invalid"),
            replace=_flag(request, "replace"),
        )
        problems = [p.to_dict() for p in read.problems]
        if read.errors and not _flag(request, "skip_invalid"):
            first = read.errors[0]
            raise ApiError(400, str(first), field=first.key, problems=problems, loaded=0)
        return _json(
            {
                "created": len(read.states),
                "layout": read.layout,
                "rejected": read.rejected,
                "problems": problems,
                "version": engine.table.revision,
            },
            201,
        )

    # -- knowledgebase ----------------------------------------------------------------------
    async def knowledgebase_get(self, request: Request) -> Response:
        kb = self._kb(request)
        ids = request.query_params.getlist("ids")
        qas = kb.get_many(ids) if ids else kb.all()
        return _json(_hits([(qa.to_dict(), 0.0) for qa in qas]))

    def _kb_error(self, exc: Exception) -> ApiError:
        problems = getattr(exc, "problems", None) or []
        first = problems[0] if problems else None
        field = getattr(first, "key", None) if first else None
        message = getattr(first, "message", str(exc)) if first else str(exc)
        return ApiError(
            400,
            message,
            field=field or "body",
            problems=[{"field": getattr(p, "key", None), "message": getattr(p, "message", str(p))} for p in problems],
        )

    async def knowledgebase_post(self, request: Request) -> Response:
        _authorize(request)
        body = await _body(request)
        kb = self._kb(request)
        from workbench.engines.knowledge_base import KnowledgeBaseError

        try:
            qa = kb.add(body)
        except KnowledgeBaseError as exc:
            raise self._kb_error(exc) from None
        return _json(_hits([(qa.to_dict(), 0.0)]), 201)

    async def knowledgebase_put(self, request: Request) -> Response:
        _authorize(request)
        qa_id = request.path_params["id"]
        body = await _body(request)
        kb = self._kb(request)
        from workbench.engines.knowledge_base import KnowledgeBaseError

        try:
            kb.update(qa_id, body)
        except KeyError:
            raise ApiError(404, f"there is no Q/A with id {qa_id!r}", field="id") from None
        except KnowledgeBaseError as exc:
            raise self._kb_error(exc) from None
        engine = self._engine(request)
        return _json(
            {"created": False, "dtype": "question", "id": qa_id, "index": self._index_name(engine), "version": 1}, 201
        )

    async def knowledgebase_delete(self, request: Request) -> Response:
        _authorize(request)
        qa_id = request.path_params["id"]
        kb = self._kb(request)
        found = kb.delete(qa_id)
        engine = self._engine(request)
        return _json(
            {"dtype": "question", "found": found, "id": qa_id, "index": self._index_name(engine), "version": 1}
        )

    async def knowledgebase_search(self, request: Request) -> Response:
        body = await _body(request)
        question = _string(body, "question", required=True)
        size = body.get("max_results", body.get("size", 10))
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 1000:
            raise ApiError(400, "expected a whole number from 1 to 1000", field="max_results")
        from workbench.engines.knowledge_base import FILTERS

        filters = {k: body[k] for k in FILTERS if k in body}
        if "verified" in filters and not isinstance(filters["verified"], bool):
            raise ApiError(400, "expected true or false", field="verified")
        kb = self._kb(request)
        try:
            hits = kb.search(question, k=size, filters=filters)
        except ValueError as exc:
            raise ApiError(400, str(exc), field="body") from None
        return _json(_hits([(h.qa.to_dict(), round(h.score, 6)) for h in hits]))

    async def knowledgebase_upload(self, request: Request) -> Response:
        _authorize(request)
        import io

        from workbench.engines.knowledge_base import KnowledgeBaseError

        text, name = await self._upload_text(request)
        kb = self._kb(request)
        stream = io.StringIO(text, newline="")
        stream.name = name or "upload"  # type: ignore[attr-defined]
        try:
            if text.lstrip().startswith("{"):
                report = kb.import_jsonl(stream, strict=not _flag(request, "skip_invalid"))
            else:
                report = kb.import_csv(stream, strict=not _flag(request, "skip_invalid"))
        except KnowledgeBaseError as exc:
            err = self._kb_error(exc)
            err.body["problems"] = [str(p) for p in exc.problems]
            raise err from None
        return _json({"created": report.added, "problems": [str(p) for p in report.problems]}, 201)

    async def openapi(self, request: Request) -> Response:
        return _json(openapi_document(self.task.name))


# -- OpenAPI ------------------------------------------------------------------------------


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _resp(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description}
    if schema is not None:
        out.update(_content(schema))
    return out


_ERR = {
    "400": _resp("Invalid JSON or field; `field` names it", _ref("Error")),
    "401": _resp("Missing or wrong bearer token", _ref("Error")),
    "403": _resp("Writes are disabled: the server has no WORKBENCH_API_TOKEN", _ref("Error")),
}
_BOT = {
    "name": "bot",
    "in": "query",
    "required": False,
    "schema": {"type": "string"},
    "description": "The decision_table bot, when the task has several",
}
_IDS = {
    "name": "ids",
    "in": "query",
    "required": False,
    "schema": {"type": "array", "items": {"type": "string"}},
    "style": "form",
    "explode": True,
    "description": "Repeat for several; none: every document",
}
_UPLOAD_PARAMS = [
    _BOT,
    {
        "name": "skip_invalid",
        "in": "query",
        "schema": {"type": "boolean"},
        "description": "Load the valid rows of a defective file",
    },
]
_SECURE = [{"bearer": []}]


def _write(
    summary: str,
    ok: str,
    ok_schema: dict[str, Any],
    body: dict[str, Any] | None,
    params: list | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "security": _SECURE,
        "parameters": params or [_BOT],
        "responses": {ok.split()[0]: _resp(ok.split(" ", 1)[1], ok_schema), **_ERR, **(extra or {})},
    }
    if body is not None:
        op["requestBody"] = {"required": True, **_content(body)}
    return op


def openapi_document(title: str = "workbench") -> dict[str, Any]:
    """The OpenAPI 3.1 description of these routes."""
    state_props = {
        "state": {"type": "string"},
        "execution_order": {"type": "integer"},
        "max_state_count": {"type": "integer"},
        "analyzer": {"type": "string"},
        "queries": {"type": "array", "items": {"type": "string"}},
        "bubble": {"type": "string"},
        "action": {"type": "string"},
        "action_input": {"type": "object", "additionalProperties": {"type": "string"}},
        "state_data": {"type": "object"},
        "success_value": {"type": "string"},
        "failure_value": {"type": "string"},
        "evaluation_class": {"type": "string"},
    }
    qa_props = {
        "id": {"type": "string"},
        "conversation": {"type": "string"},
        "index_in_conversation": {"type": ["integer", "null"]},
        "question": {"type": "string"},
        "answer": {"type": "string"},
        "verified": {"type": "boolean"},
        "topics": {"type": "string"},
        "doctype": {"type": "string", "enum": ["normal", "hidden", "decisiontable"]},
        "state": {"type": "string"},
        "status": {"type": "integer"},
    }
    hits = lambda doc: {
        "type": "object",
        "properties": {  # noqa: E731
            "hits": {
                "type": "array",
                "items": {"type": "object", "properties": {"document": _ref(doc), "score": {"type": "number"}}},
            },
            "max_score": {"type": "number"},
            "total": {"type": "integer"},
        },
    }
    index_result = {
        "type": "object",
        "properties": {
            "created": {"type": "boolean"},
            "dtype": {"type": "string"},
            "id": {"type": "string"},
            "index": {"type": "string"},
            "version": {"type": "integer"},
        },
    }
    delete_result = {
        "type": "object",
        "properties": {
            "found": {"type": "boolean"},
            "dtype": {"type": "string"},
            "id": {"type": "string"},
            "index": {"type": "string"},
            "version": {"type": "integer"},
        },
    }
    csv_body = {
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"csv": {"type": "string", "format": "binary"}}}
            },
        }
    }
    upload_ok = {"type": "object", "properties": {"created": {"type": "integer"}, "problems": {"type": "array"}}}
    paths: dict[str, Any] = {
        "/get_next_response": {
            "post": {
                "summary": "The next state of the user's conversation",
                "parameters": [_BOT],
                "requestBody": {"required": True, **_content(_ref("ResponseRequest"))},
                "responses": {
                    "200": _resp("The state reached", _ref("ResponseRequestOut")),
                    "204": {"description": "No state passed the threshold and the knowledge base has no answer"},
                    "400": _ERR["400"],
                    "404": _resp("return_value names no state", _ref("Error")),
                    "422": _resp(
                        "A template could not be evaluated",
                        {
                            "type": "object",
                            "properties": {"code": {"type": "integer", "const": 100}, "message": {"type": "string"}},
                        },
                    ),
                },
            }
        },
        "/decisiontable": {
            "get": {
                "summary": "States by id",
                "parameters": [_IDS, _BOT],
                "responses": {"200": _resp("Documents", hits("State"))},
            },
            "post": _write("Insert or replace a state", "201 Written", index_result, _ref("State")),
        },
        "/decisiontable/{state}": {
            "parameters": [{"name": "state", "in": "path", "required": True, "schema": {"type": "string"}}],
            "put": _write(
                "Change some fields of a state",
                "201 Updated",
                index_result,
                {"type": "object", "properties": state_props},
                extra={"404": _resp("No such state", _ref("Error"))},
            ),
            "delete": _write("Delete a state", "200 Deleted (found says whether it existed)", delete_result, None),
        },
        "/decisiontable_search": {
            "post": {
                "summary": "States ranked for a text (analyzer or retrieval), with why each matched",
                "parameters": [_BOT],
                "requestBody": {
                    "required": True,
                    **_content(
                        {
                            "type": "object",
                            "required": ["queries"],
                            "properties": {
                                "queries": {"type": "string"},
                                "evaluation_class": {"type": "string"},
                                "max_results": {"type": "integer"},
                                "data": {"type": "object"},
                            },
                        }
                    ),
                },
                "responses": {"200": _resp("Ranked states", hits("State")), "400": _ERR["400"]},
            }
        },
        "/decisiontable/upload_csv": {
            "post": {
                "summary": "Load a table: CSV in any starchat layout, or JSON",
                "security": _SECURE,
                "parameters": _UPLOAD_PARAMS + [{"name": "replace", "in": "query", "schema": {"type": "boolean"}}],
                "requestBody": {"required": True, **csv_body},
                "responses": {"201": _resp("Loaded", upload_ok), **_ERR},
            }
        },
        "/knowledgebase": {
            "get": {
                "summary": "Q/As by id",
                "parameters": [_IDS, _BOT],
                "responses": {"200": _resp("Documents", hits("QA"))},
            },
            "post": _write("Insert or replace a Q/A", "201 Written", hits("QA"), _ref("QA")),
        },
        "/knowledgebase/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "put": _write(
                "Change some fields of a Q/A",
                "201 Updated",
                index_result,
                {"type": "object", "properties": qa_props},
                extra={"404": _resp("No such Q/A", _ref("Error"))},
            ),
            "delete": _write("Delete a Q/A", "200 Deleted (found says whether it existed)", delete_result, None),
        },
        "/knowledgebase_search": {
            "post": {
                "summary": "Q/As ranked for a question, with filters",
                "parameters": [_BOT],
                "requestBody": {
                    "required": True,
                    **_content(
                        {
                            "type": "object",
                            "required": ["question"],
                            "properties": {
                                "question": {"type": "string"},
                                "verified": {"type": "boolean"},
                                "doctype": {"type": "string"},
                                "topics": {"type": "string"},
                                "state": {"type": "string"},
                                "status": {"type": "integer"},
                                "conversation": {"type": "string"},
                                "max_results": {"type": "integer"},
                            },
                        }
                    ),
                },
                "responses": {"200": _resp("Ranked Q/As", hits("QA")), "400": _ERR["400"]},
            }
        },
        "/knowledgebase/upload_csv": {
            "post": {
                "summary": "Load Q/As: CSV with starchat's columns, or JSON Lines",
                "security": _SECURE,
                "parameters": _UPLOAD_PARAMS,
                "requestBody": {"required": True, **csv_body},
                "responses": {"201": _resp("Loaded", upload_ok), **_ERR},
            }
        },
        "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{title}: starchat API",
            "version": "1",
            "description": "starchat's REST API (2016 dialect) served by workbench.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "The server's WORKBENCH_API_TOKEN"}
            },
            "schemas": {
                "State": {"type": "object", "required": ["state"], "properties": state_props},
                "QA": {"type": "object", "required": ["question"], "properties": qa_props},
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {"type": "string"},
                        "field": {"type": "string"},
                        "problems": {"type": "array"},
                    },
                },
                "ResponseRequest": {
                    "type": "object",
                    "required": ["user_id"],
                    "properties": {
                        "user_id": {"type": "string"},
                        "user_input": {"type": "object", "properties": {"text": {"type": "string"}}},
                        "values": {
                            "type": "object",
                            "properties": {"return_value": {"type": "string"}, "data": {"type": "object"}},
                        },
                        "text": {"type": "string"},
                        "return_value": {"type": "string"},
                        "data": {"type": "object"},
                        "evaluation_class": {"type": "string"},
                    },
                },
                "ResponseRequestOut": {
                    "type": "object",
                    "properties": {
                        "bubble": {"type": "string"},
                        "action": {"type": "string"},
                        "action_input": {"type": "object", "additionalProperties": {"type": "string"}},
                        "state_data": {"type": "object"},
                        "data": {"type": "object"},
                        "success_value": {"type": "string"},
                        "failure_value": {"type": "string"},
                        "state": {"type": "string"},
                        "score": {"type": "number"},
                    },
                },
            },
        },
    }


def routes(ctx: Any) -> list[BaseRoute]:
    """The starchat API's routes for a server context (``ctx.task``, ``ctx.store``, ``ctx.runner``)."""
    api = StarchatApi(ctx)
    g = _guard
    return [
        Route("/get_next_response", g(api.get_next_response), methods=["POST"]),
        Route("/decisiontable", g(api.decisiontable_get), methods=["GET"]),
        Route("/decisiontable", g(api.decisiontable_post), methods=["POST"]),
        Route("/decisiontable/upload_csv", g(api.decisiontable_upload), methods=["POST"]),
        Route("/decisiontable/{state}", g(api.decisiontable_put), methods=["PUT"]),
        Route("/decisiontable/{state}", g(api.decisiontable_delete), methods=["DELETE"]),
        Route("/decisiontable_search", g(api.decisiontable_search), methods=["POST"]),
        Route("/knowledgebase", g(api.knowledgebase_get), methods=["GET"]),
        Route("/knowledgebase", g(api.knowledgebase_post), methods=["POST"]),
        Route("/knowledgebase/upload_csv", g(api.knowledgebase_upload), methods=["POST"]),
        Route("/knowledgebase/{id}", g(api.knowledgebase_put), methods=["PUT"]),
        Route("/knowledgebase/{id}", g(api.knowledgebase_delete), methods=["DELETE"]),
        Route("/knowledgebase_search", g(api.knowledgebase_search), methods=["POST"]),
        Route("/openapi.json", g(api.openapi), methods=["GET"]),
    ]
