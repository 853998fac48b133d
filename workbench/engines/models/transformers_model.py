"""``engine: transformers``: a causal or seq2seq model run in this process (docs/model-bots.md).

The model comes from a local directory (or a hub name where the machine is online, or
``builtin:tiny-babbler``: a tiny random model workbench builds on first use). It is loaded
once per process and shared by every conversation (workbench/engines/models/loading.py),
in a background thread started when a conversation with the bot begins; torch and
transformers are imported there and nowhere else, so neither ``workbench --help`` nor the
TUI's first paint waits for them. The prompt is the tokenizer's chat template when it has
one, else :class:`PromptFormat`. Each reply is generated in a worker thread; a
``TextIteratorStreamer`` hands the text to the turn's stream as words complete, and a
stopping criterion ends the generation when the turn is cancelled or a stop string appears.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from workbench.engines.models import loading, tiny
from workbench.engines.models.engine import Backend, ModelEngine
from workbench.engines.models.request import Completion, ModelError, ModelRequest
from workbench.engines.models.settings import ModelConfig
from workbench.engines.streaming import ReplyStream
from workbench.problems import Problem, TaskError

log = logging.getLogger(__name__)

BUILTIN_PREFIX = "builtin:"
#: the longest reply when ``params.max_tokens`` is not given
DEFAULT_MAX_TOKENS = 256
#: generations run here (one at a time per model: loading.LoadedModel.lock)
_EXECUTOR: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _EXECUTOR
    if _EXECUTOR is None:
        _EXECUTOR = ThreadPoolExecutor(4, thread_name_prefix="generate")
    return _EXECUTOR


class PromptFormat(BaseModel):
    """How the conversation becomes text for a model whose tokenizer has no chat template;
    ``{content}`` is replaced by each message's text."""

    model_config = ConfigDict(extra="forbid")

    system: str = "{content}\n\n"
    user: str = "User: {content}\n"
    assistant: str = "Assistant: {content}\n"
    #: what the model continues from
    generation: str = "Assistant:"

    def render(self, messages: list[dict[str, str]]) -> str:
        parts = []
        for m in messages:
            template = {"system": self.system, "user": self.user, "assistant": self.assistant}[m["role"]]
            parts.append(template.replace("{content}", m["content"]))
        return "".join(parts) + self.generation


class Config(ModelConfig):
    engine: Literal["transformers"] = "transformers"
    #: a directory (relative to the task, or absolute), a hub name (online), or builtin:tiny-babbler
    model: str = Field(min_length=1, max_length=1024)
    #: causal (decoder-only) or seq2seq (encoder-decoder); auto reads the model's config
    kind: Literal["auto", "causal", "seq2seq"] = "auto"
    #: cpu, cuda, cuda:1, mps, or auto (CUDA or MPS where present, else the CPU)
    device: str = Field("auto", pattern=r"^(auto|cpu|mps|cuda(:\d+)?)$")
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    #: the prompt when the tokenizer has no chat template (or ``use_chat_template: false``)
    prompt_format: PromptFormat = Field(default_factory=PromptFormat)
    use_chat_template: bool = True
    #: where built-in models are built and kept (relative to the task)
    cache_dir: str = "data/models"


def _device(wanted: str) -> str:
    import torch

    if wanted != "auto":
        return wanted
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def _why(exc: BaseException) -> str:
    """An exception as one sentence (its first line), naming a missing package plainly."""
    if isinstance(exc, ImportError) and getattr(exc, "name", None):
        return f"it needs the Python package {exc.name!r}, which is not installed"
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return first[:400]


def load_model(source: str, kind: str, device: str, dtype: str, build_kind: str | None = None) -> loading.LoadedModel:
    """Load (building a built-in model first if need be); ModelError says why not."""
    started = time.perf_counter()
    try:
        loading.quiet()
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer
    except ImportError as exc:
        raise ModelError("model_unavailable", f"cannot load a local model: {_why(exc)}") from None
    if build_kind is not None and not (Path(source) / "config.json").is_file():
        try:
            tiny.build(Path(source), build_kind)  # type: ignore[arg-type]
        except Exception as exc:
            raise ModelError("model_unavailable", f"cannot build the tiny model in {source}: {_why(exc)}") from None
    where = f"the model {source}"
    try:
        config = AutoConfig.from_pretrained(source)
    except Exception as exc:
        raise ModelError("model_unavailable", f"cannot read the configuration of {where}: {_why(exc)}") from None
    if kind == "auto":
        kind = "seq2seq" if getattr(config, "is_encoder_decoder", False) else "causal"
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
    except Exception as exc:
        raise ModelError("model_unavailable", f"cannot load the tokenizer of {where}: {_why(exc)}") from None
    torch_dtype = "auto" if dtype == "auto" else getattr(torch, dtype)
    cls = AutoModelForSeq2SeqLM if kind == "seq2seq" else AutoModelForCausalLM
    try:
        on = _device(device)
        model = cls.from_pretrained(source, dtype=torch_dtype)
        # @functools.wraps(Module.to) hides that `to` is a method from mypy: `on` is not `self`
        model.to(on)  # type: ignore[arg-type]
        model.eval()
    except Exception as exc:
        raise ModelError(
            "model_unavailable", f"cannot load the weights of {where} as a {kind} model: {_why(exc)}"
        ) from None
    return loading.LoadedModel(
        model, tokenizer, kind, on, str(model.dtype).removeprefix("torch."), source, time.perf_counter() - started
    )


class TransformersBackend(Backend):
    def __init__(self, config: Config, source: str, build_kind: str | None = None) -> None:
        self.config = config
        self.source = source
        self.model_id = config.model
        key = (source, config.kind, config.device, config.dtype)
        self.slot = loading.slot(key, lambda: load_model(source, config.kind, config.device, config.dtype, build_kind))

    def describe(self) -> dict[str, Any]:
        loaded = self.slot.loaded
        info: dict[str, Any] = {"model": self.config.model, "source": self.source}
        if loaded is None:
            info["loaded"] = False
        else:
            template = self.config.use_chat_template and bool(getattr(loaded.tokenizer, "chat_template", None))
            info.update(
                loaded=True,
                kind=loaded.kind,
                device=loaded.device,
                dtype=loaded.dtype,
                prompt="chat template" if template else "prompt_format",
                load_seconds=round(loaded.load_seconds, 2),
            )
        return info

    def warm_up(self) -> None:
        self.slot.start()

    def render(self, loaded: loading.LoadedModel, messages: list[dict[str, str]]) -> str:
        tokenizer = loaded.tokenizer
        if self.config.use_chat_template and getattr(tokenizer, "chat_template", None):
            try:
                return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            except Exception as exc:
                raise ModelError("bad_prompt", f"the tokenizer's chat template failed: {_why(exc)}") from None
        return self.config.prompt_format.render(messages)

    async def complete(self, request: ModelRequest, out: ReplyStream, stream: bool) -> Completion:
        started = time.perf_counter()
        try:
            loaded = await self.slot.ready()
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError("model_unavailable", f"cannot load the model {self.source}: {_why(exc)}") from None
        if out.cancelled:
            return Completion("", "cancelled", cancelled=True, waited=time.perf_counter() - started)
        loop = asyncio.get_running_loop()
        job = _Generation(self, loaded, request, out, stream)
        completion = await loop.run_in_executor(_executor(), job.run)
        completion.waited = (job.began or time.perf_counter()) - started
        return completion


class _Generation:
    """One reply, generated in a worker thread (see the module's docstring)."""

    def __init__(
        self,
        backend: TransformersBackend,
        loaded: loading.LoadedModel,
        request: ModelRequest,
        out: ReplyStream,
        stream: bool,
    ) -> None:
        self.backend = backend
        self.loaded = loaded
        self.request = request
        self.out = out
        self.stream = stream
        self.text = ""
        self.stopped_at: int | None = None
        self.began: float | None = None

    def write(self, piece: str) -> None:
        """Text from the streamer: kept (up to a stop string) and handed to the stream."""
        if self.stopped_at is not None or not piece:
            return
        before = len(self.text)
        self.text += piece
        for stop in self.request.params.get("stop") or []:
            at = self.text.find(stop, max(0, before - len(stop)))
            if at >= 0 and (self.stopped_at is None or at < self.stopped_at):
                self.stopped_at = at
        if self.stopped_at is not None:
            self.text = self.text[: self.stopped_at]
            piece = self.text[before:]
        if self.stream and piece:
            self.out.write(piece)

    def should_stop(self) -> bool:
        return self.out.cancelled or self.stopped_at is not None

    def run(self) -> Completion:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        generation = self

        class Streamer(TextIteratorStreamer):
            # the text goes straight to the turn's stream (which hands it to the event loop),
            # so no thread has to drain the iterator's queue
            def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
                generation.write(text)

        class Cancelled(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                return torch.full((input_ids.shape[0],), generation.should_stop(), dtype=torch.bool)

        loaded, params = self.loaded, dict(self.request.params)
        lock = loaded.lock
        while not lock.acquire(timeout=0.05):  # one generation at a time per model; cancel while waiting
            if self.out.cancelled:
                return Completion("", "cancelled", cancelled=True)
        try:
            self.began = time.perf_counter()
            tokenizer, model = loaded.tokenizer, loaded.model
            self.request.text = self.backend.render(loaded, self.request.messages)
            inputs = tokenizer(self.request.text, return_tensors="pt", add_special_tokens=loaded.kind == "seq2seq")
            max_new = int(params.pop("max_tokens", None) or DEFAULT_MAX_TOKENS)
            limit = _context_length(model)
            ids = inputs["input_ids"]
            if limit and loaded.kind == "causal" and ids.shape[1] + max_new > limit:
                keep = max(1, limit - max_new)  # the end of the prompt matters most: cut from the left
                inputs = {k: v[:, -keep:] for k, v in inputs.items()}
            inputs = {k: v.to(loaded.device) for k, v in inputs.items()}
            tokens_in = int(inputs["input_ids"].shape[1])
            seed = params.pop("seed", None)
            params.pop("stop", None)
            kwargs = _generate_kwargs(params, tokenizer, max_new)
            if seed is not None:
                torch.manual_seed(int(seed))
            streamer = Streamer(tokenizer, skip_prompt=loaded.kind == "causal", skip_special_tokens=True)
            try:
                with torch.inference_mode():
                    output = model.generate(
                        **inputs, streamer=streamer, stopping_criteria=StoppingCriteriaList([Cancelled()]), **kwargs
                    )
            except (ValueError, TypeError) as exc:
                raise ModelError("bad_params", f"the model refused the parameters: {_why(exc)}") from None
            except RuntimeError as exc:
                raise ModelError("generation_failed", f"generation failed: {_why(exc)}") from None
        finally:
            lock.release()
        generated = int(output.shape[1]) - (tokens_in if loaded.kind == "causal" else 1)
        cancelled = self.out.cancelled and self.stopped_at is None
        finish = (
            "cancelled" if cancelled else "stop" if self.stopped_at is not None or generated < max_new else "length"
        )
        return Completion(self.text, finish, tokens_in, max(0, generated), cancelled=cancelled)


def _context_length(model: Any) -> int | None:
    value = getattr(model.config, "max_position_embeddings", None) or getattr(model.config, "n_positions", None)
    return int(value) if isinstance(value, int) else None


def _generate_kwargs(params: dict[str, Any], tokenizer: Any, max_new: int) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"max_new_tokens": max_new}
    temperature = params.pop("temperature", None)
    top_p = params.pop("top_p", None)
    sample = bool(temperature) or top_p is not None
    kwargs["do_sample"] = sample
    if sample:
        kwargs["temperature"] = temperature if temperature else 1.0
        if top_p is not None:
            kwargs["top_p"] = top_p
    penalty = params.pop("repetition_penalty", None)
    if penalty is not None:
        kwargs["repetition_penalty"] = penalty
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    if pad is not None:
        kwargs["pad_token_id"] = pad
    kwargs.update(params)  # passed through: top_k, min_new_tokens, no_repeat_ngram_size...
    return kwargs


def resolve(config: Config, task: Any) -> tuple[str, str | None]:
    """Where the model is (a path or a hub name) and, for a built-in one, its kind."""
    model = config.model
    if model.startswith(BUILTIN_PREFIX):
        name = model[len(BUILTIN_PREFIX) :]
        if name not in tiny.BUILTIN:
            known = ", ".join(BUILTIN_PREFIX + n for n in tiny.BUILTIN)
            raise ValueError(f"model: no built-in model {name!r}; built-in: {known}")
        root = Path(task.root) if task is not None else Path.cwd()
        cache = Path(config.cache_dir).expanduser()
        return str((cache if cache.is_absolute() else root / cache) / name), tiny.BUILTIN[name]
    path = Path(model).expanduser()
    looks_local = model.startswith((".", "/", "~")) or path.is_absolute()
    if task is not None and not path.is_absolute():
        local = Path(task.root) / path
        if looks_local or local.exists():
            path = local
            looks_local = True
    if looks_local:
        if not path.is_dir():
            raise ValueError(f"model: {path} is not a directory (a model saved with save_pretrained)")
        if not (path / "config.json").is_file():
            raise ValueError(f"model: {path} has no config.json; is it a model saved with save_pretrained?")
        return str(path.resolve()), None
    if not re.match(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$", model):
        raise ValueError(f"model: {model!r} is neither a directory nor a hub name such as org/model")
    return model, None


class TransformersEngine(ModelEngine):
    name = "transformers"


def create(config: Config, task: Any, name: str) -> TransformersEngine:
    try:
        source, build_kind = resolve(config, task)
    except ValueError as exc:
        file = str(getattr(task, "file", "task.yml"))
        raise TaskError(Problem(file, None, f"bots.{name}.model", str(exc).removeprefix("model: "))) from None
    return TransformersEngine(config, name, TransformersBackend(config, source, build_kind))


#: the engine class (workbench/engines/capabilities.py asks what it can do)
ENGINE = TransformersEngine
