"""Retrieval settings: the task's and the bot's keys merged, out-of-scope examples from a file
read as any file a task names (a regular file, within a size limit, a clear error otherwise)."""

from __future__ import annotations

import os

import pytest

from workbench.engines.retrieval.config import MAX_FILE_BYTES, RetrievalConfig, resolve
from workbench.problems import TaskError


def test_the_bots_keys_win_over_the_tasks_key_by_key(tmp_path) -> None:
    task = RetrievalConfig(mode="bm25", threshold=0.4)
    bot = RetrievalConfig(threshold="auto", out_of_scope=["tell me a joke", "  "])
    got = resolve(task, bot, tmp_path)
    assert (got.mode, got.threshold, got.out_of_scope, got.mode_source) == (
        "bm25",
        "auto",
        ("tell me a joke",),
        "task.yml",
    )


def test_out_of_scope_examples_come_from_a_file_in_the_task(tmp_path) -> None:
    (tmp_path / "oos.txt").write_text("# said to the bot, never meant for it\nwhat is the weather\n\nsing a song\n")
    got = resolve(None, RetrievalConfig(out_of_scope="oos.txt"), tmp_path)
    assert got.out_of_scope == ("what is the weather", "sing a song")


def test_a_missing_out_of_scope_file_is_named(tmp_path) -> None:
    with pytest.raises(TaskError) as caught:
        resolve(None, RetrievalConfig(out_of_scope="missing.txt"), tmp_path)
    assert "missing.txt" in str(caught.value) and "no such file" in str(caught.value)


def test_an_out_of_scope_file_beyond_the_limit_is_refused(tmp_path) -> None:
    (tmp_path / "big.txt").write_bytes(b"x" * (MAX_FILE_BYTES + 1))
    with pytest.raises(TaskError, match="big.txt"):
        resolve(None, RetrievalConfig(out_of_scope="big.txt"), tmp_path)


def test_an_out_of_scope_fifo_is_refused_not_waited_on(tmp_path) -> None:
    os.mkfifo(tmp_path / "pipe.txt")  # opening it would block until someone writes
    with pytest.raises(TaskError, match="pipe.txt"):
        resolve(None, RetrievalConfig(out_of_scope="pipe.txt"), tmp_path)


def test_a_threshold_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="above 0 and at most 1"):
        RetrievalConfig(threshold=1.5)
