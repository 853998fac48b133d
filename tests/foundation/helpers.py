"""Helpers of the foundation tests (shared ones live in tests/support)."""

from __future__ import annotations

from typing import Any

from support import REPO, Person, copy_sample, wait_for, write_task  # noqa: F401
from support.cli import WORKBENCH, LineReader, popen_cli, run_cli  # noqa: F401


async def say(runner: Any, person: Person, text: str | dict, timeout: float = 5.0) -> list[str]:
    """Send ``text`` as ``person`` and return the texts they received in answer."""
    before = len(person.received)
    person.put(text)
    assert await runner.wait_idle(timeout=timeout), f"no answer to {text!r} within {timeout} s"
    return [m.text for m in person.received[before:]]
