"""Exports of a study: ``threads.jsonl`` (a thread a line, with messages and ratings),
``messages.csv``, ``ratings.csv``, and one JSON file per thread in boteval's shape under
``threads/``. Every file is written to a temporary name and renamed (a reader never sees
half a file), is readable by its owner only, and is named after its thread's unique id,
so two threads never write the same file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.evaluation.questions import index_of
from workbench.io.spreadsheet import neutralise
from workbench.store import EvalThread, Rating
from workbench.store.private import private_folder

if TYPE_CHECKING:
    from workbench.evaluation.study import Study


@dataclass
class ExportSummary:
    folder: Path
    threads: int
    files: list[Path]


def _iso(stamp: float | None) -> str | None:
    return dt.datetime.fromtimestamp(stamp).isoformat(timespec="seconds") if stamp else None


def write_atomic(path: Path, text: str) -> None:
    """``text`` to ``path`` through a temporary file in the same folder, created 0600."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def thread_file_name(thread: EvalThread) -> str:
    """``TOPIC_THREADID.json``: the topic made safe for a file name, the thread id unique."""
    topic = re.sub(r"[^A-Za-z0-9_-]+", "-", thread.topic)[:40].strip("-") or "topic"
    return f"{topic}_{thread.id}.json"


def _message(row: dict[str, Any]) -> dict[str, Any]:
    act = row.get("act") or {}
    meta = act.get("meta") or {}
    return {
        "seq": row["seq"],
        "role": "seed" if meta.get("seed") else row["role"],
        "speaker": act.get("id") or row.get("agent"),
        "text": row.get("text") or "",
        "text_orig": meta.get("text_orig"),
        "time": _iso(row.get("created")),
    }


def thread_record(study: Study, thread: EvalThread, ratings: list[Rating]) -> dict[str, Any]:
    """A thread with its messages and ratings (one line of threads.jsonl)."""
    return {
        "thread": thread.id,
        "study": thread.study,
        "topic": thread.topic,
        "bot": thread.bot,
        "person": thread.person,
        "status": thread.status,
        "created": _iso(thread.created),
        "updated": _iso(thread.updated),
        "completion_code": thread.data.get("completion_code"),
        "crowd": thread.data.get("crowd"),
        "messages": [_message(r) for r in study.transcript(thread.id)],
        "ratings": {r.question: r.value for r in ratings if r.seq == 0},
        "turn_ratings": [{"seq": r.seq, "question": r.question, "value": r.value} for r in ratings if r.seq > 0],
    }


def boteval_thread(study: Study, thread: EvalThread, ratings: list[Rating]) -> dict[str, Any]:
    """The thread in the shape boteval 0.1 exports (tests/fixtures/boteval/export_example_thread.json):
    choice and Likert answers as their 0-based index in text, keyed by question text."""
    topic = study.topic_by_id.get(thread.topic)
    bot_name = study.spec.display_name
    answers: dict[str, Any] = {}
    for r in ratings:
        if r.seq:
            continue
        q = study.question(r.question)
        if q is None:
            continue
        index = index_of(q, r.value)
        answers[q.question] = str(index) if index is not None else r.value
    data = dict(topic.raw if topic else {"id": thread.topic})
    data["ratings"] = {thread.person: answers} if answers else {}
    data["rating_done"] = thread.status == "done"
    crowd = thread.data.get("crowd") or {}
    messages = []
    for row in study.transcript(thread.id):
        act = row.get("act") or {}
        meta = act.get("meta") or {}
        seed = bool(meta.get("seed"))
        if row["role"] == "system":
            continue
        author = "context" if seed else bot_name if row["role"] == "bot" else thread.person
        speaker = meta.get("speaker_id") or (
            bot_name if row["role"] == "bot" else (topic.target_user if topic else None) or thread.person
        )
        body: dict[str, Any] = {"speaker_id": speaker}
        if seed:
            body = {"text_orig": None, "speaker_id": speaker, "fake_start": True}
        elif meta.get("text_orig") is not None:
            body["text_orig"] = meta["text_orig"]
        messages.append(
            {
                "id": row["seq"],
                "data": body,
                "time_created": _iso(row.get("created")),
                "time_updated": None,
                "ext_id": None,
                "ext_src": None,
                "text": row.get("text") or "",
                "is_seed": True if seed else (False if row["role"] == "bot" else None),
                "user_id": author,
                "thread_id": thread.id,
            }
        )

    def user(uid: str, name: str, role: str) -> dict[str, Any]:
        return {
            "id": uid,
            "data": {},
            "time_created": _iso(thread.created),
            "time_updated": None,
            "ext_id": None,
            "ext_src": None,
            "name": name,
            "role": role,
        }

    questions: list[dict[str, Any]] = []
    for q in study.questions:
        if q.kind in ("choice", "likert"):
            questions.append({"question": q.question, "choices": list(q.choices)})
        elif q.kind == "text":
            questions.append({"question": q.question, "freetext": {"default": q.help or "", "required": q.required}})
        else:
            questions.append({"question": q.question, "range": [q.min, q.max]})
    limits = study.spec.limits
    return {
        "id": thread.id,
        "data": data,
        "time_created": _iso(thread.created),
        "time_updated": _iso(thread.updated),
        "ext_id": crowd.get("assignment_id") or crowd.get("session_id"),
        "ext_src": crowd.get("platform"),
        "topic_id": thread.topic,
        "episode_done": thread.status != "chatting",
        "users": [
            user(thread.person, thread.person, "human"),
            user(bot_name, bot_name, "bot"),
            user("context", "Context User", "hidden"),
        ],
        "messages": messages,
        "speakers": {thread.person: (topic.target_user if topic else None) or thread.person},
        "_exported_": str(dt.datetime.now()),
        "meta": {
            "rating_questions": questions,
            "engine": thread.bot,
            "max_threads_per_topic": limits.max_threads_per_topic,
            "max_turns_per_thread": limits.max_turns_per_thread,
        },
    }


def _csv(rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    for row in rows:
        writer.writerow([neutralise(str(c)) if isinstance(c, str) else ("" if c is None else c) for c in row])
    return buf.getvalue()


def export_study(study: Study, folder: Path) -> ExportSummary:
    """Write every export of ``study`` into ``folder`` (created 0700)."""
    private_folder(folder)
    per_thread = folder / "threads"
    private_folder(per_thread)
    ratings_by_thread: dict[str, list[Rating]] = {}
    for r in study.ratings():
        ratings_by_thread.setdefault(r.thread, []).append(r)
    lines: list[str] = []
    message_rows: list[list[Any]] = [
        ["thread", "topic", "bot", "person", "seq", "role", "speaker", "text", "text_orig", "time"]
    ]
    rating_rows: list[list[Any]] = [["thread", "topic", "bot", "person", "question", "seq", "value", "time"]]
    files: list[Path] = []
    threads = study.threads()
    for thread in threads:
        ratings = ratings_by_thread.get(thread.id, [])
        record = thread_record(study, thread, ratings)
        lines.append(json.dumps(record, ensure_ascii=False, default=str))
        for m in record["messages"]:
            message_rows.append(
                [
                    thread.id,
                    thread.topic,
                    thread.bot,
                    thread.person,
                    m["seq"],
                    m["role"],
                    m["speaker"],
                    m["text"],
                    m["text_orig"],
                    m["time"],
                ]
            )
        for r in ratings:
            value = r.value if not isinstance(r.value, (dict, list)) else json.dumps(r.value)
            rating_rows.append(
                [thread.id, thread.topic, thread.bot, r.person, r.question, r.seq, value, _iso(r.created)]
            )
        path = per_thread / thread_file_name(thread)
        write_atomic(
            path, json.dumps(boteval_thread(study, thread, ratings), ensure_ascii=False, indent=2, default=str)
        )
        files.append(path)
    for name, text in (
        ("threads.jsonl", "".join(line + "\n" for line in lines)),
        ("messages.csv", _csv(message_rows)),
        ("ratings.csv", _csv(rating_rows)),
    ):
        write_atomic(folder / name, text)
        files.append(folder / name)
    return ExportSummary(folder, len(threads), files)
