"""Stored conversations for the debugger's benchmarks: scripted people talk to a sample task
through the real runner (engines, group commit, state history) into a store.

    from conversations import SCRIPTS, make_conversations
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

#: what people say to each sample task (each conversation takes the next script in turn)
SCRIPTS: dict[str, list[list[str]]] = {
    "helpdesk": [
        ["I have a problem with my account", "Account locked", "bye", "Excellent"],
        ["I forgot my password", "ann@example.org", "thanks"],
        ["What are your opening hours?", "how long does a refund take", "can I speak to a human being"],
        ["is there a mobile app", "my account is locked", "my account is locked"],
        ["trouble with my account", "Specify your problem", "I cannot log in", "bye", "Terrible"],
    ],
    "restaurant": [
        ["I'm looking for a restaurant", "medium", "italian please", "in berlin", "4"],
        ["I'm looking for a restaurant", "something cheap, mexican food in london for 6 people"],
        ["book a table for 4 at an italian place", "expensive", "in rome", "yes"],
        ["I need a hotel", "in paris", "from tomorrow", "until next friday", "no", "yes"],
    ],
}


async def _one(runner: Any, person: str, lines: list[str], timeout: float) -> tuple[str, int]:
    received: list[Any] = []
    session = await runner.connect(received.append, person=person)
    if not await runner.wait_idle([session], timeout=timeout):
        raise RuntimeError(f"{person}: no greeting within {timeout} s")
    for line in lines:
        session.put(line)
        if not await runner.wait_idle([session], timeout=timeout):
            raise RuntimeError(f"{person}: no answer to {line!r} within {timeout} s")
    await runner.disconnect(session)
    return session.conversation_id, len(lines)


async def make_conversations(
    task: Any, store: Any, count: int, sample: str, at_once: int = 50, timeout: float = 30.0
) -> tuple[list[str], int]:
    """``count`` conversations of ``sample``'s scripts in ``store``; their ids and the turns taken."""
    from workbench.runtime.runner import Runner

    runner = Runner(task, store)
    scripts = itertools.cycle(SCRIPTS[sample])
    gate = asyncio.Semaphore(at_once)

    async def one(n: int, lines: list[str]) -> tuple[str, int]:
        async with gate:
            return await _one(runner, f"person{n}", lines, timeout)

    try:
        done = await asyncio.gather(*(one(n, next(scripts)) for n in range(count)))
    finally:
        await runner.stop()
    return [cid for cid, _ in done], sum(turns for _, turns in done)


def sample_dir(name: str, into: Path) -> Path:
    """A copy of sample_tasks/NAME (without its data) in ``into``."""
    import shutil

    repo = Path(__file__).resolve().parents[1]
    target = into / name
    shutil.copytree(repo / "sample_tasks" / name, target, ignore=shutil.ignore_patterns("data", "__pycache__"))
    return target
