"""ModelEngine: a bot whose replies a language model generates, streamed as they come.

One turn: the messages to send are chosen from the engine state (workbench/engines/models/
history.py) with the conversation's system prompt and parameters, the backend (a server,
a local model) or a cassette produces the reply while writing its deltas to the
:class:`~workbench.engines.streaming.ReplyStream`, and the turn returned holds the final
reply, the new state and a trace with the prompt as sent and the turn's figures (time to
first token, tokens in and out, tokens per second). A cancelled turn keeps what was
generated, marked ``cancelled``; a failed one tells the person :attr:`ModelConfig.apology`
and the developer the cause (``trace["error"]``; the runtime turns it into an ``error``
event), never a traceback.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from workbench.engines.base import Context, Engine, Turn
from workbench.engines.models import history
from workbench.engines.models.request import Completion, ModelError, ModelRequest, estimate_tokens
from workbench.engines.models.settings import ModelConfig, check_params
from workbench.engines.streaming import ReplyStream
from workbench.io.untrusted import clean_text
from workbench.message import Message

log = logging.getLogger(__name__)


class Backend:
    """Where replies come from: a server (openai_compatible.py) or a local model (transformers_model.py)."""

    #: what identifies the model in requests, traces and cassettes
    model_id: str = "model"

    def describe(self) -> dict[str, Any]:
        """The backend's settings for the inspector (never a secret)."""
        return {}

    def warm_up(self) -> None:
        """Start whatever is slow (loading a model) in the background, without waiting."""

    async def complete(self, request: ModelRequest, out: ReplyStream, stream: bool) -> Completion:
        """The reply to ``request``; its deltas written to ``out`` as they come when ``stream``.
        Stops when ``out`` is cancelled (returning what it has, ``cancelled=True``); raises
        :class:`ModelError` when the model cannot answer."""
        raise NotImplementedError


class ModelEngine(Engine):
    """The engine both kinds of model bot are (``engine: openai``, ``engine: transformers``)."""

    name = "model"

    def __init__(self, config: ModelConfig, bot: str, backend: Backend) -> None:
        self.config = config
        self.bot = bot
        self.backend = backend
        self._tape: Any = None

    # -- the conversation -----------------------------------------------------------------
    def initial_state(self) -> dict[str, Any]:
        return history.initial_state()

    def greeting(self, state: dict[str, Any], context: Context) -> Turn | None:
        if self._tape is None:
            self.backend.warm_up()  # a conversation starts: the model loads while the person types
        if not self.config.greeting:
            return None
        return Turn([Message(text=self.config.greeting)], dict(state), {"engine": self.name, "greeting": True})

    async def step(self, state: dict[str, Any], message: Message, context: Context) -> Turn:
        """The whole reply at once (channels that take one-shot turns)."""
        return await self.stream(state, message, context, ReplyStream())

    async def stream(self, state: dict[str, Any], message: Message, context: Context, out: ReplyStream) -> Turn:
        text = message.text
        system_prompt, params = self._effective(state)
        messages = history.messages_for(state, text, system_prompt, self.config.history, estimate_tokens)
        request = ModelRequest(self.backend.model_id, messages, params)
        trace: dict[str, Any] = {"engine": self.name, "model": request.model, "system_prompt": system_prompt}
        trace["params"] = params
        stream = self.config.stream
        try:
            if self._tape is not None:
                completion = await self._tape.play(self.bot, request, out, stream, self.backend.complete)
            else:
                completion = await self.backend.complete(request, out, stream)
        except ModelError as exc:
            log.warning("bot %s: the model could not answer (%s): %s", self.bot, exc.code, exc.cause)
            trace["prompt"] = request.for_trace()
            trace["error"] = {"code": exc.code, "cause": exc.cause}
            trace["figures"] = self._figures(out, None, request)
            partial = clean_text(out.text)
            said = f"{partial}\n\n{self.config.apology}" if partial.strip() else self.config.apology
            reply = Message(text=said, meta={"stream": out.id, "error": exc.code})
            return Turn([reply], history.recorded(state, text, None), trace)
        reply_text = clean_text(completion.text)
        trace["prompt"] = request.for_trace()
        trace["figures"] = self._figures(out, completion, request)
        trace["finish_reason"] = completion.finish_reason
        if completion.attempts > 1:
            trace["attempts"] = completion.attempts
        if completion.replayed:
            trace["replayed"] = True
        meta: dict[str, Any] = {"stream": out.id}
        if completion.cancelled:
            meta["cancelled"] = True
            trace["cancelled"] = out.reason or "cancelled"
        new_state = history.recorded(state, text, reply_text, cancelled=completion.cancelled)
        return Turn([Message(text=reply_text, meta=meta)], new_state, trace)

    def _effective(self, state: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
        """The system prompt and parameters of this conversation (its own, else the bot's)."""
        own = history.overrides(state)
        system_prompt = own["system_prompt"] if "system_prompt" in own else self.config.system_prompt
        params = self.config.params.given()
        if isinstance(own.get("params"), dict):
            params = {**params, **own["params"]}
        return system_prompt, params

    @staticmethod
    def _figures(out: ReplyStream, completion: Completion | None, request: ModelRequest) -> dict[str, Any]:
        now = time.perf_counter()
        figures: dict[str, Any] = {"total_ms": round((now - out.started) * 1000, 1)}
        if out.first_at is not None:
            figures["ttft_ms"] = round((out.first_at - out.started) * 1000, 1)
        if completion is None:
            return figures
        if completion.waited:
            figures["waited_ms"] = round(completion.waited * 1000, 1)
        tokens_in = completion.tokens_in if completion.tokens_in is not None else request.estimated_tokens_in()
        tokens_out = completion.tokens_out
        estimated = completion.estimated or completion.tokens_in is None
        if tokens_out is None:
            tokens_out = len(completion.chunks) if completion.chunks else estimate_tokens(completion.text)
            estimated = True
        figures.update(tokens_in=tokens_in, tokens_out=tokens_out, usage="estimated" if estimated else "reported")
        generating = now - (out.first_at if out.first_at is not None else out.started)
        if tokens_out and generating > 0:
            figures["tokens_per_s"] = round(tokens_out / generating, 1)
        return figures

    # -- developer tools (the ModelBot capability) ----------------------------------------------
    def settings(self, state: dict[str, Any]) -> dict[str, Any]:
        system_prompt, params = self._effective(state)
        own = history.overrides(state)
        return {
            "engine": self.name,
            **self.backend.describe(),
            "system_prompt": system_prompt,
            "params": params,
            "history": self.config.history.model_dump(exclude_none=True),
            "stream": self.config.stream,
            "this_conversation": own or None,
        }

    def with_settings(
        self, state: dict[str, Any], system_prompt: str | None, params: dict[str, Any] | None
    ) -> dict[str, Any]:
        return history.with_overrides(state, system_prompt, check_params(params))

    def rewind(self, state: dict[str, Any]) -> tuple[dict[str, Any], Message] | None:
        back = history.rewound(state)
        if back is None:
            return None
        earlier, asked = back
        return earlier, Message(text=asked)

    def use_cassette(self, cassette: Any) -> None:
        self._tape = cassette
