"""The decisiontable endpoints: read, write, search and upload a bot's states.

Every store write, table import and ranking runs in a worker thread; the edits
themselves are in :mod:`workbench.services.starchat.edits`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from workbench.engines.decision_table.model import State, field_for
from workbench.engines.decision_table.table_io import state_from_json
from workbench.services.starchat import edits
from workbench.services.starchat.auth import Caller
from workbench.services.starchat.bodies import json_body, json_object, text_of, upload
from workbench.services.starchat.errors import ApiError
from workbench.services.starchat.schemas import (
    Deleted,
    StateHit,
    StateHits,
    StateSearch,
    TableLoaded,
    Written,
)
from workbench.services.starchat.service import Starchat, answer, flag, render

log = logging.getLogger(__name__)


def hits(scored: Sequence[tuple[State, float, list[str] | None]]) -> StateHits:
    """starchat's search result shape."""
    return StateHits(
        hits=[
            StateHit(document=s, score=score, **({"why": why} if why is not None else {})) for s, score, why in scored
        ],
        max_score=max((score for _, score, _ in scored), default=0.0),
        total=len(scored),
    )


def _state(body: dict[str, Any]) -> State:
    state, errors = state_from_json(body)
    if state is None:
        first = errors[0]
        problems = [{"field": p.key, "message": p.message, **({"char": p.char} if p.char else {})} for p in errors]
        message = f"{first.message} (character {first.char})" if first.char else first.message
        raise ApiError(400, message, field=first.key, problems=problems)
    return state


async def get(api: Starchat, request: Request, caller: Caller) -> Response:
    """States by id (``?ids=A&ids=B``), or every state without ids."""
    table = (await api.engine(request)).table
    ids = request.query_params.getlist("ids")

    def build() -> StateHits:
        states = [s for s in (table.get(i) for i in ids) if s is not None] if ids else table.list()
        return hits([(s, 0.0, None) for s in states])

    return await render(build)


async def post(api: Starchat, request: Request, caller: Caller) -> Response:
    """Insert (or replace) one state."""
    body = await json_object(request, api.max_body)
    engine = await api.engine(request)
    state = await asyncio.to_thread(_state, body)
    created = await asyncio.to_thread(edits.upsert_state, api.editor, engine.bot, state)
    return answer(
        Written(
            created=created, dtype="state", id=state.state, index=api.index_name(engine), version=engine.table.revision
        ),
        201,
    )


async def put(api: Starchat, request: Request, caller: Caller) -> Response:
    """Change some fields of a state."""
    name = request.path_params["state"]
    body = await json_object(request, api.max_body)
    engine = await api.engine(request)
    if "state" in body and body["state"] != name:
        raise ApiError(
            400, "a state cannot be renamed by an update (POST the new state, DELETE the old)", field="state"
        )
    for key in body:
        if field_for(key) is None:
            raise ApiError(400, "unknown field", field=key)

    def merged() -> State:
        current = engine.table.get(name)
        if current is None:
            raise ApiError(404, f"there is no state {name[:80]!r}", field="state")
        document = current.document()
        document.update({(field_for(k) or k): v for k, v in body.items()})
        return _state(document)

    state = await asyncio.to_thread(merged)
    await asyncio.to_thread(edits.upsert_state, api.editor, engine.bot, state)
    return answer(
        Written(created=False, dtype="state", id=name, index=api.index_name(engine), version=engine.table.revision), 201
    )


async def delete(api: Starchat, request: Request, caller: Caller) -> Response:
    """Delete a state (``found`` says whether it existed)."""
    name = request.path_params["state"]
    engine = await api.engine(request)
    found = await asyncio.to_thread(edits.delete_state, api.editor, engine.bot, name)
    return answer(
        Deleted(found=found, dtype="state", id=name, index=api.index_name(engine), version=engine.table.revision)
    )


async def search(api: Starchat, request: Request, caller: Caller) -> Response:
    """States ranked for a text, with why each matched."""
    body = await json_body(request, StateSearch, api.max_body)
    table = (await api.engine(request)).table

    def build() -> StateHits:
        ranking = table.rank(
            body.queries, body.data or {}, evaluation_class=body.evaluation_class, limit=body.max_results
        )
        scored: list[tuple[State, float, list[str] | None]] = []
        for c in ranking.candidates:
            state = table.get(c.state)
            if state is not None:  # deleted meanwhile
                scored.append((state, round(c.score, 6), list(c.why)))
        return hits(scored)

    return await render(build)


async def upload_csv(api: Starchat, request: Request, caller: Caller) -> Response:
    """A table in any starchat CSV layout (or JSON); ``?skip_invalid=true`` loads the valid
    rows of a defective file, ``?replace=true`` replaces the whole table."""
    raw, name = await upload(request, api.max_upload)
    engine = await api.engine(request)
    skip = flag(request, "skip_invalid")

    def load() -> TableLoaded:
        text = text_of(raw)
        try:
            read = edits.import_table(
                api.editor, engine.bot, text, name or "upload", skip_invalid=skip, replace=flag(request, "replace")
            )
        except (ValueError, OverflowError, RecursionError) as exc:  # a reader that failed where it should report
            log.warning("an uploaded table could not be read: %s: %s", type(exc).__name__, exc)
            raise ApiError(400, f"the table cannot be read: {exc}", field="body", loaded=0) from None
        problems = [p.to_dict() for p in read.problems]
        if read.errors and not skip:
            first = read.errors[0]
            raise ApiError(400, str(first), field=first.key or "body", problems=problems, loaded=0)
        return TableLoaded.model_validate(
            {
                "created": len(read.states),
                "layout": read.layout,
                "rejected": read.rejected,
                "problems": problems,
                "version": engine.table.revision,
            }
        )

    return answer(await asyncio.to_thread(load), 201)
