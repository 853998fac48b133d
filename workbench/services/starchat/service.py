"""What the REST handlers share: the server's task, store and runner, the body limits,
which decision-table bot a request addresses, and JSON answers rendered from models."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from workbench.runtime.editing import BotEditor
from workbench.services.starchat.errors import ApiError

if TYPE_CHECKING:
    from workbench.engines.decision_table.engine import DecisionTableEngine
    from workbench.engines.knowledge_base import KnowledgeBase
    from workbench.runtime.runner import Runner
    from workbench.services.server import ServerContext
    from workbench.store import Store
    from workbench.task.loader import Task


class Starchat:
    """The REST API of one server (``ctx``: the task, its store and runner, the serve settings)."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        spec = ctx.serve_spec()
        self.max_body: int = spec.max_body_bytes
        self.max_upload: int = spec.max_upload_bytes
        self.public: frozenset[str] = frozenset(spec.public_api)
        #: engines are built on first use (a table to load): one at a time, in a worker thread
        self._building = asyncio.Lock()

    @property
    def task(self) -> Task:
        return self.ctx.task

    @property
    def store(self) -> Store:
        return self.ctx.store if self.ctx.store is not None else self.task.store

    @property
    def runner(self) -> Runner:
        runner = self.ctx.runner
        if runner is None or runner.stopping or self.ctx.stopping:
            raise ApiError(503, "the server is starting or shutting down; try again shortly")
        return runner

    @property
    def editor(self) -> BotEditor:
        """The one edit path (the TUI's and the CLI's too): each edit is stored and announced."""
        return BotEditor(self.task, self.ctx.runner)

    # -- which bot ----------------------------------------------------------------------------
    def bot(self, request: Request) -> str:
        """The decision_table bot ``?bot=`` names, or the task's only one."""
        bots = self.editor.table_bots()
        wanted = request.query_params.get("bot")
        if wanted is not None:
            if wanted not in bots:
                raise ApiError(
                    404, f"no decision_table bot named {wanted[:80]!r}; bots: {', '.join(bots) or 'none'}", field="bot"
                )
            return wanted
        if not bots:
            raise ApiError(404, "this task has no bot with `engine: decision_table`")
        if len(bots) > 1:
            raise ApiError(400, f"several decision_table bots ({', '.join(bots)}): name one with ?bot=", field="bot")
        return bots[0]

    async def engine(self, request: Request) -> DecisionTableEngine:
        bot = self.bot(request)
        async with self._building:
            try:
                return await asyncio.to_thread(self.task.engine, bot)
            except Exception as exc:  # a table that cannot load: say why instead of a bare 500
                raise ApiError(500, f"the decision table of bot {bot!r} cannot be loaded: {exc}") from None

    async def knowledge_base(self, request: Request) -> KnowledgeBase:
        """The bot's knowledge base; one started through the API is consulted by the bot from then on."""
        engine = await self.engine(request)
        async with self._building:
            kb = await asyncio.to_thread(self.editor.knowledge_base, engine.bot, True)
        assert kb is not None
        return kb

    def index_name(self, engine: DecisionTableEngine) -> str:
        """starchat's name for the index a document lives in."""
        return f"{self.task.name}-{engine.bot}"


def flag(request: Request, name: str) -> bool:
    """A yes/no query parameter (``?skip_invalid=true``)."""
    return request.query_params.get(name, "").lower() in ("1", "true", "yes", "on")


async def render(build: Any, status: int = 200) -> Response:
    """A JSON answer from ``build()``, a pydantic model; built and serialised in a worker
    thread (a search or a listing can hold thousands of documents)."""

    def work() -> bytes:
        model: BaseModel = build()
        return model.model_dump_json(exclude_unset=True).encode()

    return Response(await asyncio.to_thread(work), status_code=status, media_type="application/json")


def answer(model: BaseModel, status: int = 200) -> Response:
    """A small JSON answer, serialised on the loop."""
    return Response(model.model_dump_json(exclude_unset=True), status_code=status, media_type="application/json")
