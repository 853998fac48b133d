"""An utterance is encoded once, in the background, while the ranking searches BM25: what the
prefetch starts, the query takes (no second encoding), and a failure reaches the caller."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pytest
from support.retrieval import service


class Gated:
    """An encoder that waits for the test to let it finish, and counts what it encodes."""

    name = "gated"
    dim = 4

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.started = threading.Event()
        self.release = threading.Event()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        self.started.set()
        assert self.release.wait(10), "the test never released the encoder"
        if "boom" in texts:
            raise RuntimeError("the model's process has ended")
        return np.ones((len(texts), self.dim), dtype=np.float32) / 2


def test_a_prefetched_utterance_is_encoded_once_while_the_caller_works() -> None:
    encoder = Gated()
    model = service(lambda: encoder)
    model.prefetch("where is my card")
    assert encoder.started.wait(10)  # encoding in the background, the caller is free
    assert encoder.texts == ["where is my card"]
    encoder.release.set()
    vector = model.query("where is my card")  # waits for the one in flight
    assert vector.shape == (4,) and encoder.texts == ["where is my card"]
    model.prefetch("where is my card")  # known now: nothing to do
    assert model.query("where is my card") is vector and encoder.texts == ["where is my card"]


def test_a_failed_prefetch_fails_the_query_that_takes_it() -> None:
    encoder = Gated()
    model = service(lambda: encoder)
    encoder.release.set()
    model.prefetch("boom")
    with pytest.raises(RuntimeError, match="process has ended"):
        model.query("boom")


def test_nothing_is_prefetched_before_the_model_is_loaded() -> None:
    def unavailable() -> Gated:
        raise ImportError("no module named torch")

    model = service(unavailable)
    model.prefetch("hello")  # BM25 answers meanwhile: no encoding to start
    assert not model.ready()
