"""Files a task names, read only from inside the places the task allows, within a size limit.

A task may let its replies attach files (``serve.messenger.files``). The name in a reply
is checked twice: as text (relative, no ``..``, no hidden component, under one of the
allowed entries) and on disk (every symbolic link resolved, the file still inside the
allowed entry, which itself must lie inside the task directory, a regular file no larger
than the limit). Only then is it read. A person's message never reaches this far: the
channels refuse a ``path`` in anything a person sends; this is the second fence.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path


class FileRefused(ValueError):
    """A file name that does not name an allowed file; the message says why."""


def relative_path_problem(name: str) -> str | None:
    """Why ``name`` is not a plain relative path inside a folder (None when it is): no
    absolute path, no ``..``, no hidden component (``.env``, ``.git``), no backslash or NUL."""
    if not isinstance(name, str) or not name.strip():
        return "expected a path relative to the task directory"
    if "\x00" in name or "\\" in name:
        return "a path may not contain NUL or backslashes"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "expected a path relative to the task directory, not an absolute path"
    parts = _parts(name)
    if not parts:
        return "expected a file or folder inside the task directory, not the directory itself"
    if ".." in parts:
        return "'..' is not allowed: the path must stay inside the task directory"
    if any(p.startswith(".") for p in parts):
        return "hidden files and folders (starting with '.') cannot be used"
    return None


def _parts(name: str) -> list[str]:
    return [p for p in name.split("/") if p not in ("", ".")]


def read_contained(root: Path, allowed: Sequence[str], name: str, limit: int) -> bytes:
    """The bytes of file ``name`` (relative to ``root``) if it lies under one of ``allowed``
    (files or folders relative to ``root``) after resolving symbolic links, is a regular
    file and holds 1 to ``limit`` bytes. Blocking: call it from a worker thread.

    Raises :class:`FileRefused` naming what was wrong, never an ``OSError``.
    """
    problem = relative_path_problem(name)
    if problem is not None:
        raise FileRefused(problem)
    parts = _parts(name)
    entry = next(
        (e for e in allowed if relative_path_problem(e) is None and parts[: len(_parts(e))] == _parts(e)), None
    )
    if entry is None:
        raise FileRefused("not one of the task's attachable files (serve.messenger.files)")
    try:
        base = root.resolve(strict=True)
        top = base.joinpath(*_parts(entry)).resolve(strict=True)
        target = base.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, a loop of links, unreadable
        raise FileRefused("no such file") from None
    if not top.is_relative_to(base):
        raise FileRefused(f"the allowed entry {entry!r} leads outside the task directory")
    if not target.is_relative_to(top):
        raise FileRefused("the file leads outside the allowed files (a symbolic link?)")
    try:
        # O_NONBLOCK: a FIFO must not hang the reader; O_NOFOLLOW: no link swapped in since
        fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise FileRefused(f"cannot open it ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
    except OSError as exc:
        os.close(fd)
        raise FileRefused(f"cannot read it ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise FileRefused("not a regular file")
    with os.fdopen(fd, "rb") as f:
        if info.st_size > limit:
            raise FileRefused(f"{info.st_size} bytes, over the limit of {limit}")
        content = f.read(limit + 1)
    if len(content) > limit:
        raise FileRefused(f"over the limit of {limit} bytes")
    if not content:
        raise FileRefused("the file is empty")
    return content
