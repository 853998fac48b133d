"""Bounded reading of the files a task names: regular files only, under a size limit, UTF-8 text.

Every file workbench reads but did not write (task.yml and the other task formats,
forms.yml, NLU data and lookup tables, decision tables, knowledge bases,
conversation tests, blocklists, onboarding pages) is read through :func:`read_text`
(or :func:`read_bytes`). It refuses what is not a regular file before opening it
(a FIFO would block the reader forever, ``/dev/zero`` never ends), refuses files
over a limit without reading them whole, and reports bytes that are not UTF-8 and
control characters (NUL included) at their line and column. Every refusal is a
:class:`~workbench.problems.TaskError` with one :class:`~workbench.problems.Problem`
naming the file, so a caller reports it like any other problem.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from workbench.problems import Problem, TaskError

#: configuration read as YAML: task.yml, forms.yml, NLU files, conversation tests
YAML_LIMIT = 8 << 20
#: data: decision tables, knowledge bases, lookup tables, blocklists
DATA_LIMIT = 64 << 20
#: text shown to people: onboarding agreements
PAGE_LIMIT = 1 << 20

#: characters no text file of a task contains: C0 controls but tab, newline and carriage
#: return; DEL; C1 controls but NEL; the non-characters U+FFFE and U+FFFF
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _a(what: str) -> str:
    """``what`` with its article: "a decision table", "an agreement page", "an NLU file"."""
    first = what.split()[0] if what else what
    vowel = what[:1].lower() in "aeiou" or (first.isupper() and first[:1] in "AEFHILMNORSX")
    return f"{'an' if vowel else 'a'} {what}"


def _refuse(path: Path, message: str, line: int | None = None, column: int | None = None) -> TaskError:
    return TaskError(Problem(str(path), line, None, message, column=column))


def _not_regular(mode: int) -> str | None:
    """What a file of this mode is, when it is not a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n} bytes"


def read_bytes(path: str | Path, limit: int, what: str) -> bytes:
    """The content of ``path``, a regular file of at most ``limit`` bytes.

    ``what`` names the file in messages ("decision table"). Raises :class:`TaskError`
    when the file is missing, not a regular file, or too large.
    """
    path = Path(path)
    try:
        info = os.stat(path)  # stat, not open: opening a FIFO blocks until someone writes
    except FileNotFoundError:
        raise _refuse(path, f"no such file; expected {_a(what)}") from None
    except OSError as exc:
        raise _refuse(path, f"cannot read this {what}: {exc.strerror or exc}") from None
    except ValueError:  # a NUL character in the name
        raise _refuse(path, f"is not a usable file name; expected {_a(what)}") from None
    kind = _not_regular(info.st_mode)
    if kind is not None:
        raise _refuse(path, f"is {kind}, not a regular file; expected {_a(what)}")
    if info.st_size > limit:
        raise _refuse(path, f"is {_size(info.st_size)}; {_a(what)} may be at most {_size(limit)}")
    try:
        # O_NONBLOCK: should the file have been replaced by a FIFO since the stat, the open
        # returns at once and the fstat below refuses it
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _refuse(path, f"cannot read this {what}: {exc.strerror or exc}") from None
    try:
        kind = _not_regular(os.fstat(fd).st_mode)
        if kind is not None:
            raise _refuse(path, f"is {kind}, not a regular file; expected {_a(what)}")
        chunks: list[bytes] = []
        left = limit + 1  # one byte more tells a file that grew past the limit
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise _refuse(path, f"cannot read this {what}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise _refuse(path, f"is larger than {_size(limit)}, the limit for {_a(what)}")
    return data


def decode_text(data: bytes, path: str | Path, what: str) -> str:
    """``data`` as text: UTF-8 (a leading byte-order mark is dropped), without control
    characters; raises :class:`TaskError` at the line and column of the first fault."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[line_start : exc.start].decode("utf-8", "replace")) + 1
        raise _refuse(
            Path(path), f"is not UTF-8 text (byte 0x{data[exc.start]:02x}); save the {what} as UTF-8", line, column
        ) from None
    bad = _CONTROL.search(text)
    if bad is not None:
        pos = bad.start()
        line = text.count("\n", 0, pos) + 1
        column = pos - (text.rfind("\n", 0, pos) + 1) + 1
        name = "a NUL character" if bad.group() == "\x00" else "a control character"
        raise _refuse(Path(path), f"contains {name} (U+{ord(bad.group()):04X}); {_a(what)} is text", line, column)
    return text


def read_text(path: str | Path, limit: int, what: str) -> str:
    """The text of ``path``: a regular file of at most ``limit`` bytes, UTF-8, without
    control characters. Raises :class:`TaskError` naming the file (and line and column)."""
    return decode_text(read_bytes(path, limit, what), path, what)
