"""The helpdesk sample's conversation tests pass through the same runner as `workbench test`."""

from __future__ import annotations

from workbench.task.loader import load_task
from workbench.testing.conversation import discover, run_tests


async def test_helpdesk_conversation_tests_pass(helpdesk):
    task = load_task(helpdesk)
    tests = discover(task)
    assert len(tests) >= 8
    results = await run_tests(task, tests)
    failed = [(r.name, r.failure) for r in results if not r.ok]
    assert not failed
