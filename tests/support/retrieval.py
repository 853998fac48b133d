"""The embedding model for retrieval tests: the real one, loaded once per test process.

``real_model`` is a session-scoped fixture (import it into a test module): the process's
:class:`Embeddings` with all-MiniLM-L6-v2 loaded, waited for once. ``counting`` wraps that
loaded encoder so a test can see how many texts were encoded; ``service`` gives a fresh
:class:`Embeddings` around any encoder (or a loader that fails) without touching the
process's own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from workbench.engines.retrieval.embedder import Embeddings, Encoder, embeddings

#: seconds the model may take to load on a busy CI machine
LOAD_TIMEOUT = 300.0


@pytest.fixture(scope="session")
def real_model() -> Embeddings:
    model = embeddings()
    assert model.wait(LOAD_TIMEOUT), f"the embedding model did not load: {model.status.detail}"
    return model


class Counting:
    """An encoder that counts the texts it encodes (and otherwise is the real one)."""

    def __init__(self, inner: Encoder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.texts: list[str] = []

    def encode(self, texts: Sequence[str]) -> Any:
        self.texts.extend(texts)
        return self.inner.encode(texts)


def counting(real: Embeddings) -> Counting:
    encoder = real._encoder
    assert encoder is not None
    return Counting(encoder)


def service(loader: Callable[[], Any]) -> Embeddings:
    """A fresh model service around ``loader``, loaded (or failed) before it is returned."""
    model = Embeddings(loader=loader)
    model.wait(LOAD_TIMEOUT)
    return model
