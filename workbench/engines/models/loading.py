"""Local models loaded once per process, in a background thread, shared by every conversation.

A :class:`ModelSlot` is one model (its source, kind, device and dtype): the first who needs
it starts the load in a daemon thread and every turn awaits the same future, so the event
loop (and the TUI's first paint) never waits for torch to import or weights to read. A
load that fails is reported to every turn that waited for it and tried again on the next
one (the developer may have fixed the directory meanwhile). Generations of one model run
one at a time (:attr:`LoadedModel.lock`); a turn waiting for its turn can still be cancelled.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    #: causal | seq2seq
    kind: str
    device: str
    dtype: str
    source: str
    #: seconds the load took (torch's import included for the first model)
    load_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class ModelSlot:
    """One model of the process (see the module's docstring)."""

    def __init__(self, key: tuple, load: Callable[[], LoadedModel]) -> None:
        self.key = key
        self._load = load
        self._guard = threading.Lock()
        self._future: Future[LoadedModel] | None = None

    @property
    def loaded(self) -> LoadedModel | None:
        future = self._future
        if future is not None and future.done() and future.exception() is None:
            return future.result()
        return None

    def start(self) -> Future[LoadedModel]:
        """Start loading unless it is loading or loaded (a failed load starts again)."""
        with self._guard:
            future = self._future
            if future is None or (future.done() and future.exception() is not None):
                future = self._future = Future()
                threading.Thread(
                    target=self._run, args=(future,), name=f"load-model-{self.key[0]}", daemon=True
                ).start()
            return future

    def _run(self, future: Future[LoadedModel]) -> None:
        try:
            model = self._load()
        except BaseException as exc:  # handed to whoever awaits the model
            future.set_exception(exc)
        else:
            future.set_result(model)

    async def ready(self) -> LoadedModel:
        """The loaded model (raises what the load raised)."""
        return await asyncio.wrap_future(self.start())


def quiet() -> None:
    """No progress bars or advice from transformers on the terminal (the TUI owns it)."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


_SLOTS: dict[tuple, ModelSlot] = {}
_SLOTS_GUARD = threading.Lock()


def slot(key: tuple, load: Callable[[], LoadedModel]) -> ModelSlot:
    """The process's slot for ``key`` (made on first use; ``load`` builds the model)."""
    with _SLOTS_GUARD:
        found = _SLOTS.get(key)
        if found is None:
            found = _SLOTS[key] = ModelSlot(key, load)
        return found
