"""`workbench chat`: the plain terminal service, local or connected to a server."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from workbench.cli.render import console, err_console, is_interactive, show_message


def _pick(text: str, offered: list[str]) -> tuple[str, bool]:
    """A bare number picks that quick reply; a label typed in full is a click too."""
    stripped = text.strip()
    if offered and stripped.isdigit() and 1 <= int(stripped) <= len(offered):
        return offered[int(stripped) - 1], True
    for q in offered:
        if stripped == q:
            return q, True
    return text, False


async def _read_line() -> str | None:
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    return None if line == "" else line.rstrip("\r\n")


class _Recorder:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.turns: list[tuple[str, Any]] = []

    def add(self, kind: str, value: Any) -> None:
        if self.path is not None:
            self.turns.append((kind, value))

    def save(self, task_name: str) -> None:
        if self.path is None or not self.turns:
            return
        from workbench.testing.conversation import recorded_test

        name = f"recorded {task_name} chat {time.strftime('%Y-%m-%d %H:%M')}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(recorded_test(name, self.turns), encoding="utf-8")
        err_console.print(f"[dim]saved this chat as a conversation test: {self.path}[/dim]")


def run_local(task: Any, resume: str | None = None, record: Path | None = None, person: str | None = None) -> int:
    try:
        return asyncio.run(_local(task, resume, record, person))
    except KeyboardInterrupt:
        return 130


async def _local(task: Any, resume: str | None, record: Path | None, person: str | None) -> int:
    from workbench.runner import Runner

    store = task.store
    conv_id = None
    if resume:
        conv = store.latest_conversation() if resume == "latest" else store.conversation(resume)
        if conv is None:
            what = "no stored conversation to resume" if resume == "latest" else f"no conversation {resume!r}"
            err_console.print(f"[red]error:[/red] {what} in {store.path}")
            return 2
        conv_id = conv["id"]
        past = store.messages(conv_id)
        err_console.print(f"[dim]resuming conversation {conv_id} ({len(past)} stored messages) in world {conv.get('world')}[/dim]")
        for m in past[-6:]:
            who = m["act"].get("id") or m["agent"] or m["role"]
            console.print(f"[dim]{who}: {m['text'] or ''}[/dim]", markup=True)
    runner = Runner(task, store)
    rec = _Recorder(record)
    offered: list[str] = []

    async def deliver(msg) -> None:
        nonlocal offered
        show_message(msg)
        offered = [str(q) for q in (msg.get("quick_replies") or [])]
        if msg.text:
            rec.add("bot", msg.text)

    session = await runner.connect(
        deliver, person=person or "you", channel="terminal", conversation_id=conv_id, resume=bool(conv_id)
    )
    if not resume:
        err_console.print(f"[dim]conversation {session.conversation_id} (resume with --resume {session.conversation_id})[/dim]")
    interactive = is_interactive()
    code = 0
    try:
        await runner.wait_idle([session], timeout=30)
        while not session.closed:
            if interactive:
                console.print("[bold]>[/bold] ", end="")
            line = await _read_line()
            if line is None:
                break
            if not line.strip() and not interactive:
                continue
            text, clicked = _pick(line, offered)
            rec.add("click" if clicked else "user", text)
            session.put(text)
            if not await runner.wait_idle([session], timeout=60):
                err_console.print("[yellow]no answer within 60 s[/yellow]")
    finally:
        await runner.stop()
        rec.save(task.name)
    return code


def _ws_url(url: str) -> str:
    if "://" not in url:
        url = "ws://" + url
    scheme, rest = url.split("://", 1)
    if "/" not in rest:
        rest += "/websocket"
    return f"{scheme}://{rest}"


def run_remote(url: str, record: Path | None = None) -> int:
    try:
        return asyncio.run(_remote(_ws_url(url), record))
    except KeyboardInterrupt:
        return 130


async def _remote(url: str, record: Path | None) -> int:
    import websockets

    rec = _Recorder(record)
    offered: list[str] = []
    arrived = asyncio.Event()
    try:
        ws = await websockets.connect(url, max_size=2**22)
    except (OSError, websockets.InvalidURI, websockets.InvalidHandshake) as exc:
        err_console.print(f"[red]error:[/red] cannot connect to {url}: {exc}")
        return 1

    async def reader() -> None:
        nonlocal offered
        async for raw in ws:
            try:
                msg = json.loads(raw)
            except (TypeError, ValueError):
                err_console.print(f"[yellow]server sent a frame that is not JSON: {str(raw)[:80]!r}[/yellow]")
                continue
            if not isinstance(msg, dict):
                continue
            if msg.get("text") or msg.get("payload") or msg.get("quick_replies") or msg.get("error"):
                show_message(msg)
                if msg.get("text"):
                    rec.add("bot", msg["text"])
                offered = [str(q) for q in (msg.get("quick_replies") or [])]
            arrived.set()

    async def settle(first_wait: float = 10.0, quiet: float = 0.4) -> None:
        """Wait for the server's answer: the first frame, then a quiet spell."""
        try:
            await asyncio.wait_for(arrived.wait(), first_wait)
        except asyncio.TimeoutError:
            return
        while True:
            arrived.clear()
            try:
                await asyncio.wait_for(arrived.wait(), quiet)
            except asyncio.TimeoutError:
                return

    read_task = asyncio.create_task(reader())
    interactive = is_interactive()
    try:
        # as ParlAI's client does, the first frame starts the conversation
        await ws.send(json.dumps({"text": ""}))
        await settle()
        while not read_task.done():
            if interactive:
                console.print("[bold]>[/bold] ", end="")
            line = await _read_line()
            if line is None:
                break
            text, clicked = _pick(line, offered)
            rec.add("click" if clicked else "user", text)
            arrived.clear()
            await ws.send(json.dumps({"text": text}))
            await settle()
    except websockets.ConnectionClosed:
        pass
    finally:
        read_task.cancel()
        await ws.close()
        rec.save("remote")
    return 0
