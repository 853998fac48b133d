"""`workbench test`: run conversation tests and report them with Rich."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from rich.markup import escape

from workbench.cli.render import console, show_problems


def run(
    task: Any,
    files: list[Path] | None,
    junit: Path | None,
    select: str | None,
    verbose: bool,
    models: str = "replay",
) -> int:
    from workbench.problems import TaskError
    from workbench.testing.conversation import discover, junit_xml, run_tests

    try:
        tests = discover(task, files or None)
    except TaskError as exc:
        show_problems(exc)
        return 2
    if select:
        tests = [t for t in tests if select in t.name]
    if not tests:
        console.print(f"[yellow]no conversation tests found in {escape(str(task.path(task.spec.tests)))}[/yellow]")
        return 1

    def show(r) -> None:
        mark = "[green]PASS[/green]" if r.ok else "[red]FAIL[/red]"
        console.print(f"{mark} {escape(r.name)} [dim]({escape(r.test.file.name)}, {r.duration * 1000:.0f} ms)[/dim]")
        if not r.ok:
            where = f"{r.test.file}:{r.failure_line}" if r.failure_line else str(r.test.file)
            console.print(f"     [red]{escape(where)}: {escape(r.failure or '')}[/red]")
        if verbose or not r.ok:
            # the whole conversation with -v; a failure's last lines otherwise
            for person, who, text in r.transcript if verbose else r.transcript[-12:]:
                console.print(f"     [dim]{escape(person)} | {escape(who)}: {escape(text)}[/dim]")

    results = asyncio.run(run_tests(task, tests, on_result=show, models=models))  # type: ignore[arg-type]
    failed = [r for r in results if not r.ok]
    passed = len(results) - len(failed)
    style = "red" if failed else "green"
    console.print(f"[{style}]{passed} passed, {len(failed)} failed[/{style}]")
    if models == "record":
        console.print("[dim]model responses recorded in the cassettes beside the test files (tests/cassettes/)[/dim]")
    if junit:
        junit.parent.mkdir(parents=True, exist_ok=True)
        junit.write_text(junit_xml(task.name, results), encoding="utf-8")
        console.print(f"[dim]JUnit report: {escape(str(junit))}[/dim]")
    return 1 if failed else 0
