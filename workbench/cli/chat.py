"""`workbench chat`: the plain terminal service, local or connected to a server."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.text import Text

from workbench.cli.render import console, err_console, is_interactive, show_message

#: seconds `workbench chat` waits for an answer before saying it has none (ctrl+c stops a long reply)
ANSWER_TIMEOUT = 300.0


def _pick(text: str, offered: list[str]) -> tuple[str, bool]:
    """A bare number picks that quick reply; a label typed in full is a click too."""
    stripped = text.strip()
    if offered and stripped.isdigit() and 1 <= int(stripped) <= len(offered):
        return offered[int(stripped) - 1], True
    for q in offered:
        if stripped == q:
            return q, True
    return text, False


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
        err_console.print(f"[dim]saved this chat as a conversation test: {escape(str(self.path))}[/dim]")


def run_local(task: Any, resume: str | None = None, record: Path | None = None, person: str | None = None) -> int:
    try:
        return asyncio.run(_local(task, resume, record, person))
    except KeyboardInterrupt:
        return 130


class _Terminal:
    """What the person sees: each message, and a model bot's reply as it is written (the final
    message then only ends the line, or adds what the streamed text did not have)."""

    def __init__(self, rec: _Recorder) -> None:
        self.rec = rec
        self.offered: list[str] = []
        self.open: str | None = None
        self.streamed = ""

    def delta(self, bot: str, stream: str, text: str) -> None:
        if self.open != stream:
            self._end_line()
            self.open, self.streamed = stream, ""
            console.print(Text(f"{bot}: ", style="bold cyan"), end="")
        self.streamed += text
        console.file.write(text)
        console.file.flush()

    def _end_line(self) -> None:
        if self.open is not None:
            console.file.write("\n")
            console.file.flush()
            self.open = None

    def __call__(self, msg: Any) -> None:
        meta = msg.get("meta")
        stream = meta.get("stream") if isinstance(meta, dict) else None
        if stream is not None and stream == self.open:
            rest = msg.text[len(self.streamed) :] if msg.text.startswith(self.streamed) else None
            if rest is None:  # the stored text is not what was streamed (a safety rule, say): show it
                self._end_line()
                show_message(msg)
            else:
                if rest:
                    console.file.write(rest)
                self._end_line()
                if meta.get("cancelled"):
                    err_console.print("[dim](stopped)[/dim]")
                show_message(msg, with_text=False)
        else:
            self._end_line()
            show_message(msg)
        self.offered = [str(q) for q in (msg.get("quick_replies") or [])]
        if msg.text:
            self.rec.add("bot", msg.text)


async def _local(task: Any, resume: str | None, record: Path | None, person: str | None) -> int:
    from workbench.runtime.runner import Runner

    store = task.store
    conv_id = None
    if resume:
        conv = store.latest_conversation() if resume == "latest" else store.conversation(resume)
        if conv is None:
            what = "no stored conversation to resume" if resume == "latest" else f"no conversation {resume!r}"
            err_console.print(f"[red]error:[/red] {escape(what)} in {escape(str(store.path))}")
            return 2
        conv_id = conv["id"]
        past = store.messages(conv_id)
        err_console.print(
            f"[dim]resuming conversation {escape(str(conv_id))} ({len(past)} stored messages) "
            f"in world {escape(str(conv.get('world')))}[/dim]"
        )
        for m in past[-6:]:
            who = m["act"].get("id") or m["agent"] or m["role"]
            console.print(f"[dim]{escape(str(who))}: {escape(m['text'] or '')}[/dim]")
    runner = Runner(task, store)
    rec = _Recorder(record)
    terminal = _Terminal(rec)
    session = await runner.connect(
        terminal, person=person or "you", channel="terminal", conversation_id=conv_id, resume=bool(conv_id)
    )
    if not resume:
        err_console.print(
            f"[dim]conversation {session.conversation_id} (resume with --resume {session.conversation_id})[/dim]"
        )
    loop = asyncio.get_running_loop()
    quit_now = asyncio.Event()

    def interrupted() -> None:
        # ctrl+c stops the reply being generated; when there is none (or again), it quits
        if runner.cancel_generation(session.conversation_id, "ctrl+c"):
            err_console.print("\n[dim](stopping the reply; ctrl+c again quits)[/dim]")
        else:
            quit_now.set()

    try:
        loop.add_signal_handler(signal.SIGINT, interrupted)
    except (NotImplementedError, RuntimeError):  # no signal handlers here: ctrl+c interrupts as usual
        pass
    quitting = asyncio.ensure_future(quit_now.wait())
    lines = _stdin_lines(loop)
    interactive = is_interactive()
    code = 0

    async def settle(timeout: float) -> bool:
        """Wait for the answer; False when the person quit meanwhile."""
        idle = asyncio.ensure_future(runner.wait_idle([session], timeout=timeout))
        await asyncio.wait([idle, quitting], return_when=asyncio.FIRST_COMPLETED)
        if not idle.done():
            idle.cancel()
            return False
        if not idle.result():
            err_console.print(f"[yellow]no answer within {timeout:g} s[/yellow]")
        return True

    try:
        if await settle(30):
            while not session.closed:
                if interactive:
                    console.print("[bold]>[/bold] ", end="")
                next_line = asyncio.ensure_future(lines.get())
                await asyncio.wait([next_line, quitting], return_when=asyncio.FIRST_COMPLETED)
                if not next_line.done():
                    next_line.cancel()
                    break
                line = next_line.result()
                if line is None:
                    break
                if not line.strip() and not interactive:
                    continue
                text, clicked = _pick(line, terminal.offered)
                rec.add("click" if clicked else "user", text)
                session.put(text)
                if not await settle(ANSWER_TIMEOUT):
                    break
        if quit_now.is_set():
            code = 130
    finally:
        quitting.cancel()
        try:
            loop.remove_signal_handler(signal.SIGINT)
        except (NotImplementedError, RuntimeError):
            pass
        terminal._end_line()
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


def _stdin_lines(loop: asyncio.AbstractEventLoop) -> asyncio.Queue:
    """Lines of standard input on a queue (``None`` at the end), read by a daemon thread
    so a server that closes the connection is noticed while we wait for the person."""
    import threading

    lines: asyncio.Queue = asyncio.Queue()

    def put(item: str | None) -> None:
        try:
            loop.call_soon_threadsafe(lines.put_nowait, item)
        except RuntimeError:  # the loop has closed: nobody is listening any more
            pass

    def pump() -> None:
        for line in sys.stdin:
            put(line.rstrip("\r\n"))
        put(None)

    threading.Thread(target=pump, name="stdin", daemon=True).start()
    return lines


def _parlai_text(frame: dict[str, Any]) -> dict[str, Any]:
    """ParlAI's server sends newlines as <br />; show them as newlines."""
    text = frame.get("text")
    if isinstance(text, str) and "<br />" in text:
        frame = dict(frame, text=text.replace("<br />", "\n"))
    return frame


async def _remote(url: str, record: Path | None) -> int:
    """Chat with a server that speaks ParlAI's websocket protocol (workbench's or ParlAI's own).

    Only ParlAI's frames are used: ``{"text": ...}`` out; ``text``, ``quick_replies``
    and ``payload`` in. A bare number picks a quick reply, as in local chat.
    """
    import websockets

    rec = _Recorder(record)
    offered: list[str] = []
    arrived = asyncio.Event()
    try:
        ws = await asyncio.wait_for(websockets.connect(url, max_size=2**22), 15)
    except (TimeoutError, OSError, websockets.InvalidURI, websockets.InvalidHandshake) as exc:
        err_console.print(
            f"[red]error:[/red] cannot connect to {escape(url)}: {escape(str(exc) or type(exc).__name__)}"
        )
        return 1

    async def reader() -> None:
        nonlocal offered
        async for raw in ws:
            try:
                frame = json.loads(raw)
            except (TypeError, ValueError):
                err_console.print(
                    f"[yellow]the server sent a frame that is not JSON: {escape(repr(str(raw)[:80]))}[/yellow]"
                )
                continue
            if not isinstance(frame, dict):
                continue
            if frame.get("error"):
                err = frame["error"] if isinstance(frame["error"], dict) else {}
                err_console.print(
                    f"[red]error {escape(str(err.get('code', '')))}:[/red] "
                    f"{escape(str(frame.get('text') or err.get('message', '')))}",
                    highlight=False,
                )
            elif frame.get("text") or frame.get("payload") or frame.get("quick_replies"):
                frame = _parlai_text(frame)
                show_message(frame)
                if frame.get("text"):
                    rec.add("bot", frame["text"])
                offered = [str(q) for q in (frame.get("quick_replies") or [])]
            arrived.set()

    async def settle(first_wait: float = 10.0, quiet: float = 0.4) -> None:
        """Wait for the server's answer: a first frame, then a quiet spell."""
        waiter = asyncio.ensure_future(arrived.wait())
        done, _ = await asyncio.wait([waiter, read_task], timeout=first_wait, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if waiter not in done:
            return
        while not read_task.done():
            arrived.clear()
            try:
                await asyncio.wait_for(arrived.wait(), quiet)
            except TimeoutError:
                return

    read_task = asyncio.ensure_future(reader())
    lines = _stdin_lines(asyncio.get_running_loop())
    interactive = is_interactive()
    try:
        # as ParlAI's clients do: the first frame starts the conversation (it is not an answer)
        await ws.send(json.dumps({"text": ""}))
        await settle()
        while not read_task.done():
            if interactive:
                console.print("[bold]>[/bold] ", end="")
            next_line = asyncio.ensure_future(lines.get())
            done, _ = await asyncio.wait([next_line, read_task], return_when=asyncio.FIRST_COMPLETED)
            if next_line not in done:
                next_line.cancel()
                break
            line = next_line.result()
            if line is None:
                break
            if not line.strip() and not interactive:
                continue
            text, clicked = _pick(line, offered)
            rec.add("click" if clicked else "user", text)
            arrived.clear()
            await ws.send(json.dumps({"text": text}))
            await settle()
    except websockets.ConnectionClosed:
        pass
    finally:
        read_task.cancel()
        try:
            await asyncio.wait_for(ws.close(), 5)
        except (TimeoutError, websockets.ConnectionClosed, OSError):
            pass
        rec.save("remote")
    code = ws.close_code
    if code not in (None, 1000, 1001, 1005):
        err_console.print(f"[yellow]the server closed the connection: {code} {escape(ws.close_reason or '')}[/yellow]")
        return 1
    if code is not None and ws.close_reason and ws.close_reason != "conversation ended":
        err_console.print(f"[dim]connection closed: {escape(ws.close_reason)}[/dim]")
    return 0
