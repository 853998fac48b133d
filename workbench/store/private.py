"""Files only their owner can read: the store (every conversation, e-mail addresses and
all) and what is exported from it.

The store's folder is created ``0700`` and its file ``0600`` before SQLite opens it;
SQLite gives its ``-wal`` and ``-shm`` files the database file's permissions. A store or
export found readable by others is tightened to ``0600`` when it is opened.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TextIO

#: SQLite's companion files in WAL mode
COMPANIONS = ("-wal", "-shm", "-journal")


def private_file(path: Path) -> None:
    """Create ``path`` (and its folder) readable by its owner only, or tighten it (and its
    SQLite companions) if it exists with wider permissions."""
    private_folder(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        os.fchmod(fd, 0o600)  # the umask may have taken bits away, never added them; be exact
        os.close(fd)
    for p in (path, *(path.with_name(path.name + suffix) for suffix in COMPANIONS)):
        _tighten(p)


def _tighten(path: Path) -> None:
    getuid = getattr(os, "getuid", None)  # POSIX permissions only
    try:
        info = path.stat()
    except OSError:
        return
    if getuid is not None and stat.S_ISREG(info.st_mode) and info.st_mode & 0o077 and info.st_uid == getuid():
        os.chmod(path, 0o600)


def open_private(path: Path, newline: str | None = None) -> TextIO:
    """``path`` opened for writing text (UTF-8), created ``0600``; an existing file is
    truncated and tightened."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    except OSError:
        os.close(fd)
        raise
    return os.fdopen(fd, "w", encoding="utf-8", newline=newline)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (UTF-8), created ``0600``."""
    with open_private(path, newline="") as out:
        out.write(text)


def private_folder(path: Path) -> None:
    """Create the folder ``path`` (``0700`` when new)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
