"""The knowledgebase endpoints: read, write, search and upload a bot's Q/As.

Anonymous callers (no token: see :mod:`workbench.services.starchat.auth`) see only
verified Q/As, never hidden ones. Every store write, import and search runs in a worker
thread; the edits themselves are in :mod:`workbench.services.starchat.edits`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from workbench.engines.knowledge_base import KnowledgeBaseError
from workbench.engines.knowledge_base.kb import RETRIEVABLE
from workbench.services.starchat import edits
from workbench.services.starchat.auth import Caller
from workbench.services.starchat.bodies import json_body, text_of, upload
from workbench.services.starchat.errors import ApiError
from workbench.services.starchat.schemas import Deleted, QADocument, QAHit, QAHits, QAInput, QALoaded, QASearch, Written
from workbench.services.starchat.service import Starchat, answer, flag, render

if TYPE_CHECKING:
    from workbench.engines.knowledge_base import QA

log = logging.getLogger(__name__)

DTYPE = "question"


def visible(qa: QA, caller: Caller) -> bool:
    """Whether ``caller`` may see ``qa``: anyone with the token, else verified and not hidden."""
    return caller.trusted or (qa.verified and qa.doctype in RETRIEVABLE)


def hits(scored: list[tuple[QA, float]]) -> QAHits:
    return QAHits(
        hits=[QAHit(document=QADocument.model_validate(qa.to_dict()), score=score) for qa, score in scored],
        max_score=max((score for _, score in scored), default=0.0),
        total=len(scored),
    )


def _refused(exc: KnowledgeBaseError) -> ApiError:
    problems = [{"field": getattr(p, "key", None), "message": getattr(p, "message", str(p))} for p in exc.problems]
    first = problems[0] if problems else {"field": None, "message": str(exc)}
    return ApiError(400, str(first["message"]), field=first["field"] or "body", problems=problems)


async def get(api: Starchat, request: Request, caller: Caller) -> Response:
    """Q/As by id (``?ids=1&ids=2``), or every Q/A without ids."""
    kb = await api.knowledge_base(request)
    ids = request.query_params.getlist("ids")

    def build() -> QAHits:
        qas = kb.get_many(ids) if ids else kb.all()
        return hits([(qa, 0.0) for qa in qas if visible(qa, caller)])

    return await render(build)


async def post(api: Starchat, request: Request, caller: Caller) -> Response:
    """Insert (or replace) one Q/A."""
    body = await json_body(request, QAInput, api.max_body)
    kb = await api.knowledge_base(request)

    def write() -> QAHits:
        try:
            qa = edits.add_qa(api.editor, kb.name, body.fields())
        except KnowledgeBaseError as exc:
            raise _refused(exc) from None
        return hits([(qa, 0.0)])

    return answer(await asyncio.to_thread(write), 201)


async def put(api: Starchat, request: Request, caller: Caller) -> Response:
    """Change some fields of a Q/A."""
    qa_id = request.path_params["id"]
    body = await json_body(request, QAInput, api.max_body)
    kb = await api.knowledge_base(request)
    engine = await api.engine(request)

    def write() -> None:
        try:
            edits.update_qa(api.editor, kb.name, qa_id, body.fields())
        except KeyError:
            raise ApiError(404, f"there is no Q/A with id {qa_id[:80]!r}", field="id") from None
        except KnowledgeBaseError as exc:
            raise _refused(exc) from None

    await asyncio.to_thread(write)
    return answer(Written(created=False, dtype=DTYPE, id=qa_id, index=api.index_name(engine), version=1), 201)


async def delete(api: Starchat, request: Request, caller: Caller) -> Response:
    """Delete a Q/A (``found`` says whether it existed)."""
    qa_id = request.path_params["id"]
    kb = await api.knowledge_base(request)
    engine = await api.engine(request)
    found = await asyncio.to_thread(edits.delete_qa, api.editor, kb.name, qa_id)
    return answer(Deleted(found=found, dtype=DTYPE, id=qa_id, index=api.index_name(engine), version=1))


async def search(api: Starchat, request: Request, caller: Caller) -> Response:
    """Q/As ranked for a question, with filters."""
    body = await json_body(request, QASearch, api.max_body)
    kb = await api.knowledge_base(request)
    filters: dict[str, Any] = body.filters()
    if not caller.trusted:
        filters["verified"] = True
        asked = filters.get("doctype")
        wanted = asked if isinstance(asked, list) else [asked] if asked else list(RETRIEVABLE)
        filters["doctype"] = [d for d in wanted if d in RETRIEVABLE]

    def build() -> QAHits:
        if filters.get("doctype") == []:
            return hits([])
        try:
            found = kb.search(body.question, k=body.max_results, filters=filters)
        except ValueError as exc:
            raise ApiError(400, str(exc), field="body") from None
        return hits([(h.qa, round(h.score, 6)) for h in found])

    return await render(build)


async def upload_csv(api: Starchat, request: Request, caller: Caller) -> Response:
    """Q/As from a CSV with starchat's columns, or JSON Lines; ``?skip_invalid=true`` loads
    the valid rows of a defective file."""
    raw, name = await upload(request, api.max_upload)
    kb = await api.knowledge_base(request)
    strict = not flag(request, "skip_invalid")

    def load() -> QALoaded:
        text = text_of(raw)
        try:
            report = edits.import_qas(api.editor, kb.name, text, name or "upload", strict=strict)
        except KnowledgeBaseError as exc:
            err = _refused(exc)
            err.body["problems"] = [str(p) for p in exc.problems]
            err.body["loaded"] = 0
            raise err from None
        except (ValueError, OverflowError, RecursionError) as exc:  # a reader that failed where it should report
            log.warning("an uploaded knowledge base could not be read: %s: %s", type(exc).__name__, exc)
            raise ApiError(400, f"the knowledge base cannot be read: {exc}", field="body", loaded=0) from None
        return QALoaded(created=report.added, problems=[str(p) for p in report.problems])

    return answer(await asyncio.to_thread(load), 201)
