"""Topics in boteval's ``chat_topics.json`` format: each seeds the threads on it.

``[{"id": ..., "name": ..., "conversation": [{"speaker_id": ..., "text": ...}], "target_user": ...}]``.
The file is read within a size limit and checked entry by entry; a problem names the
file and the entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.io.untrusted import clean_value
from workbench.problems import Problem, TaskError

#: the largest topics file read
MAX_TOPICS_BYTES = 16 * 1024 * 1024
#: the topic of a study without a topics file
OPEN_TOPIC = "open"


@dataclass(frozen=True)
class SeedTurn:
    speaker: str
    text: str


@dataclass(frozen=True)
class Topic:
    id: str
    name: str
    #: the conversation shown before the person's first message
    seed: tuple[SeedTurn, ...] = ()
    #: the seed's speaker the person plays (boteval's ``target_user``)
    target_user: str | None = None
    #: the entry as it was in the file (exported with each thread)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def open_topic() -> Topic:
    return Topic(OPEN_TOPIC, "Open conversation", (), None, {"id": OPEN_TOPIC, "name": "Open conversation"})


def load_topics(path: Path) -> list[Topic]:
    """The topics of ``path``; :class:`TaskError` naming the entry that is wrong."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise TaskError(Problem(str(path), None, None, f"cannot read the topics file: {exc.strerror}")) from None
    if size > MAX_TOPICS_BYTES:
        raise TaskError(Problem(str(path), None, None, f"the topics file is larger than {MAX_TOPICS_BYTES} bytes"))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise TaskError(Problem(str(path), None, None, "the topics file is not UTF-8 text")) from None
    except json.JSONDecodeError as exc:
        raise TaskError(Problem(str(path), exc.lineno, None, f"not valid JSON: {exc.msg}")) from None
    data = clean_value(data, max_depth=16)
    if not isinstance(data, list) or not data:
        raise TaskError(Problem(str(path), 1, None, "expected a non-empty JSON array of topics"))
    topics: list[Topic] = []
    seen: set[str] = set()
    problems: list[Problem] = []
    for n, entry in enumerate(data):
        where = f"[{n}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), (str, int)):
            problems.append(Problem(str(path), None, where, 'expected {"id": ..., "name": ..., "conversation": [...]}'))
            continue
        tid = str(entry["id"])
        if tid in seen:
            problems.append(Problem(str(path), None, where, f"topic id {tid!r} appears twice"))
            continue
        seen.add(tid)
        turns = entry.get("conversation") or []
        if not isinstance(turns, list) or not all(
            isinstance(t, dict) and isinstance(t.get("text"), str) for t in turns
        ):
            problems.append(
                Problem(str(path), None, f"{where}.conversation", 'expected a list of {"speaker_id": ..., "text": ...}')
            )
            continue
        seed = tuple(SeedTurn(str(t.get("speaker_id") or "context"), t["text"]) for t in turns)
        target = entry.get("target_user")
        topics.append(Topic(tid, str(entry.get("name") or tid), seed, str(target) if target else None, entry))
    if problems:
        raise TaskError(problems)
    return topics
