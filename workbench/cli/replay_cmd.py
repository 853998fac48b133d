"""`workbench replay TASK`: what would the bot as it is now say in the conversations people had?

Per conversation ``same`` or ``diverged at turn K`` with what the person said there and
the two replies (then, now); ``--json FILE`` writes every turn of every conversation.
Exit codes: 0 every conversation the same, 1 any diverged (so it can gate a deploy), 2 bad
usage (an unknown conversation, a date that is not one, options that do not go together).
docs/debugging.md describes the replay; workbench/testing/replay.py does it.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from rich.markup import escape

from workbench.cli.render import console, err_console

#: the replies shown per side of a diverged turn
SHOWN_REPLIES = 4


def run(
    task: Any,
    conversations: list[str] | None,
    last: int | None,
    since: str | None,
    json_file: Path | None,
    regenerate: bool,
) -> int:
    from workbench.testing.replay import Replayer, parse_since, select

    if conversations and (last is not None or since is not None):
        return _usage("--conversation names the conversations: it does not go with --last or --since")
    if last is not None and last < 1:
        return _usage(f"--last expects a number of conversations of at least 1, got {last}")
    try:
        after = parse_since(since) if since is not None else None
        ids = select(task.store, task.name, conversations, last, after)
    except (ValueError, LookupError) as exc:
        return _usage(str(exc.args[0]) if exc.args else str(exc))
    if not ids:
        console.print(f"no conversations to replay in {escape(str(task.store.path))}")
        _write_json(json_file, {"conversations": 0, "same": 0, "diverged": 0, "skipped": 0, "results": []})
        return 0

    def show(r: Any) -> None:
        cid = escape(r.conversation_id)
        if r.status == "skipped":
            console.print(f"{cid} [yellow]skipped[/yellow]: {escape(r.skipped or '')}")
        elif r.status == "same":
            console.print(f"{cid} [green]same[/green] [dim]({r.turns} turn(s))[/dim]")
        else:
            pair = r.at(r.diverged_at)
            console.print(f"{cid} [red]diverged at turn {r.diverged_at}[/red]")
            if pair is not None:
                if pair.said is not None:
                    console.print(f"    you:  {escape(pair.said)}")
                console.print(f"    then: {escape(_replies(pair.then))}")
                console.print(f"    now:  {escape(_replies(pair.now))}")

    # results arrive as conversations finish; each is printed once those before it are
    position = {cid: n for n, cid in enumerate(ids)}
    arrived: dict[int, Any] = {}
    shown = 0

    def in_order(r: Any) -> None:
        nonlocal shown
        arrived[position[r.conversation_id]] = r
        while shown in arrived:
            show(arrived.pop(shown))
            shown += 1

    report = asyncio.run(Replayer(task.root, task.store, regenerate=regenerate).run(ids, on_result=in_order))
    _write_json(json_file, report.to_json())
    summary = report.to_json()
    rate = report.turns / report.seconds if report.seconds > 0 else 0.0
    style = "red" if report.diverged else "green"
    console.print(
        f"[{style}]{summary['conversations']} conversation(s): {summary['same']} same, "
        f"{summary['diverged']} diverged, {summary['skipped']} skipped[/{style}] "
        f"[dim]({report.turns} turns in {report.seconds:.2f} s, {rate:.0f} turns/s)[/dim]"
    )
    recorded = sorted({b for r in report.results for b in r.recorded_bots})
    if recorded:
        console.print(
            f"[dim]model bots replayed their recorded replies: {escape(', '.join(recorded))} (--regenerate steps them)[/dim]"
        )
    return 1 if report.diverged else 0


def _replies(texts: list[str]) -> str:
    if not texts:
        return "(nothing)"
    shown = " / ".join(t.replace("\n", " ") for t in texts[:SHOWN_REPLIES])
    return shown + (f" / … ({len(texts) - SHOWN_REPLIES} more)" if len(texts) > SHOWN_REPLIES else "")


def _usage(message: str) -> int:
    err_console.print(f"[red]error:[/red] {escape(message)}")
    return 2


def _write_json(path: Path | None, data: dict[str, Any]) -> None:
    """The report written whole or not at all (a temporary file renamed into place)."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, path)
    err_console.print(f"[dim]replay report: {escape(str(path))}[/dim]")
