"""io/files.py: only regular files under a size limit are read, as UTF-8 text without control
characters; every refusal is one Problem naming the file (and the line and column)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from workbench.io.files import read_bytes, read_text
from workbench.problems import Problem, TaskError


def refused(path: Path, limit: int = 1 << 20, what: str = "decision table") -> Problem:
    with pytest.raises(TaskError) as info:
        read_text(path, limit, what)
    (problem,) = info.value.problems
    return problem


def test_a_fifo_is_refused_without_opening_it(tmp_path: Path) -> None:
    fifo = tmp_path / "table.csv"
    os.mkfifo(fifo)
    outcome: list[object] = []

    def read() -> None:
        try:
            read_text(fifo, 1 << 20, "decision table")
        except TaskError as exc:
            outcome.append(exc.problems[0])

    # in a thread: were the FIFO opened, the read would block until a writer came
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():  # unblock the reader, then fail
        with open(fifo, "w"):
            pass
        reader.join(10)
        pytest.fail("reading a FIFO blocked")
    (problem,) = outcome
    assert problem.file == str(fifo) and "is a named pipe, not a regular file; expected a decision table" in str(
        problem
    )


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_devices_are_refused_through_a_link_too(tmp_path: Path, device: str) -> None:
    assert "is a character device" in refused(Path(device)).message
    link = tmp_path / "zero.csv"
    link.symlink_to(device)
    assert "is a character device, not a regular file" in refused(link).message


def test_directories_missing_files_and_odd_names(tmp_path: Path) -> None:
    assert refused(tmp_path).message == "is a directory, not a regular file; expected a decision table"
    assert refused(tmp_path / "nope.csv", what="agreement page").message == "no such file; expected an agreement page"
    assert "not a usable file name" in refused(tmp_path / "a\x00b").message


def test_the_size_limit_is_checked_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.yml"
    big.write_bytes(b"x" * 2048)
    assert refused(big, limit=1024, what="task file").message == "is 2048 bytes; a task file may be at most 1024 bytes"
    assert read_bytes(big, 2048, "task file") == b"x" * 2048


def test_proc_files_report_no_size_and_are_read_up_to_the_limit() -> None:
    # /proc files are regular files of size 0: the limit is enforced on what is read
    assert read_bytes("/proc/self/status", 1 << 20, "status").startswith(b"Name:")
    with pytest.raises(TaskError, match="is larger than 16 bytes"):
        read_bytes("/proc/self/status", 16, "status")


def test_bytes_that_are_not_utf8_are_placed_at_their_line_and_column(tmp_path: Path) -> None:
    f = tmp_path / "kb.csv"
    f.write_bytes(b"question,answer\nh\xc3\xa9llo,w\xffrld\n")
    p = refused(f, what="knowledge base")
    assert (p.line, p.column) == (2, 8)  # characters, not bytes: é is one
    assert str(p) == f"{f}:2:8: is not UTF-8 text (byte 0xff); save the knowledge base as UTF-8"


@pytest.mark.parametrize(
    ("char", "name"), [("\x00", "a NUL character (U+0000)"), ("\x1b", "a control character (U+001B)")]
)
def test_nul_and_control_characters_are_placed_at_their_line_and_column(tmp_path: Path, char: str, name: str) -> None:
    f = tmp_path / "task.yml"
    f.write_text(f"name: x\nworlds:{char}\n", encoding="utf-8")
    p = refused(f, what="task file")
    assert str(p) == f"{f}:2:8: contains {name}; a task file is text"


def test_a_byte_order_mark_is_dropped_and_tabs_newlines_stay(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_bytes(b"\xef\xbb\xbfa\tb\r\nc\n")
    assert read_text(f, 1024, "decision table") == "a\tb\r\nc\n"
