"""``retrieval:`` in task.yml, for the whole task or one bot (docs/retrieval.md).

::

    retrieval:
      mode: hybrid          # hybrid (default) | bm25 | embeddings
      threshold: auto       # auto (cross-validated on the examples) | a number 0..1
      out_of_scope:         # utterances no state/intent/Q&A should answer (or a file, one a line)
        - what's the weather like
        - tell me a joke

A bot's keys win over the task's, key by key. The environment variable
``WORKBENCH_RETRIEVAL`` sets the mode of bots and tasks that do not name one (``bm25``
keeps a machine without the model, or a test suite, on plain BM25).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from workbench.io.files import read_bytes

Mode = Literal["hybrid", "bm25", "embeddings"]
MODES: tuple[str, ...] = ("hybrid", "bm25", "embeddings")
DEFAULT_MODE = "hybrid"
ENV_MODE = "WORKBENCH_RETRIEVAL"
#: out-of-scope utterances read from a file at most (and bytes of that file)
MAX_OUT_OF_SCOPE = 10_000
MAX_FILE_BYTES = 2_000_000


class RetrievalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: how a person's words are matched: ``hybrid`` (BM25 and sentence embeddings fused),
    #: ``bm25`` (words only) or ``embeddings`` (meaning only)
    mode: Mode | None = None
    #: the score a match needs: ``auto`` (cross-validated on the examples) or a number 0..1
    threshold: Literal["auto"] | float | None = None
    #: utterances that should get no match: a list, or a text file (one a line) relative to the task
    out_of_scope: list[str] | str | None = None

    @field_validator("threshold")
    @classmethod
    def _in_range(cls, value: object) -> object:
        if isinstance(value, float) and not 0.0 < value <= 1.0:
            raise ValueError("a threshold is a number above 0 and at most 1, or auto")
        return value


@dataclass(frozen=True)
class Retrieval:
    """A bot's retrieval settings once the task's and the bot's keys are merged."""

    mode: str = DEFAULT_MODE
    #: "auto", a number, or None when task.yml says nothing (an engine's own threshold key,
    #: when set, then stands; otherwise it is calibrated as for "auto")
    threshold: str | float | None = None
    out_of_scope: tuple[str, ...] = field(default_factory=tuple)
    #: where the mode came from, for people: task.yml, WORKBENCH_RETRIEVAL or the default
    mode_source: str = "default"


def resolve(
    task_level: RetrievalConfig | None,
    bot_level: RetrievalConfig | None,
    root: Path | None = None,
    where: str = "task.yml",
) -> Retrieval:
    """The settings a bot runs with; ``root`` resolves an out-of-scope file."""
    mode: str | None = None
    source = "default"
    threshold: str | float | None = None
    oos: list[str] | str | None = None
    for level in (task_level, bot_level):
        if level is None:
            continue
        if level.mode is not None:
            mode, source = level.mode, "task.yml"
        if level.threshold is not None:
            threshold = level.threshold
        if level.out_of_scope is not None:
            oos = level.out_of_scope
    if mode is None:
        env = os.environ.get(ENV_MODE, "").strip().lower()
        if env in MODES:
            mode, source = env, ENV_MODE
        else:
            mode = DEFAULT_MODE
    texts = _out_of_scope(oos, root, where)
    return Retrieval(mode, threshold, tuple(texts), source)


def _out_of_scope(value: list[str] | str | None, root: Path | None, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [t.strip() for t in value if t.strip()][:MAX_OUT_OF_SCOPE]
    path = Path(value) if root is None or Path(value).is_absolute() else root / value
    # a regular file within the limit (a FIFO or a device would block or never end)
    raw = read_bytes(path, MAX_FILE_BYTES, "out-of-scope list (one utterance a line)")
    text = raw.decode("utf-8-sig", errors="replace")
    lines = [line.strip() for line in text.splitlines()]
    return [line for line in lines if line and not line.startswith("#")][:MAX_OUT_OF_SCOPE]
