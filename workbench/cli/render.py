"""Rich rendering shared by `workbench chat` (local and --connect) and other commands.

Text from files, people and servers is printed literally: the consoles never turn
``:x:`` into an emoji, and every such value is escaped (or put in a ``Text``) so that
``[red]`` in a task file is shown, not obeyed. Only the templates written here are markup.
"""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

console = Console(highlight=False, soft_wrap=True, emoji=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def show_message(msg: dict[str, Any], me: str | None = None, with_text: bool = True) -> None:
    """One message a person receives: speaker, text, attachments, quick replies (``with_text=False``:
    all but the text, already shown as it was streamed)."""
    speaker = msg.get("id") or "bot"
    text = msg.get("text")
    text = "" if text is None else str(text)
    line = Text()
    line.append(f"{speaker}: ", style="bold cyan")
    line.append(text)
    if with_text and (text or not msg.get("payload")):
        console.print(line)
    payload = msg.get("payload")
    if isinstance(payload, dict) and payload:
        kind = payload.get("type", "attachment")
        if isinstance(payload.get("fields"), dict):
            # a form the bot wants filled: name the fields and their types
            where = ", ".join(f"{k} ({v})" for k, v in payload["fields"].items())
        else:
            where = payload.get("url") or payload.get("mime_type") or ""
        console.print(f"[dim]  {escape(f'[{kind}]')} {escape(str(where))}[/dim]")  # [image] is not a style
    qr = msg.get("quick_replies") or []
    if qr:
        choices = "  ".join(f"[bold][{i}][/bold] {escape(str(q))}" for i, q in enumerate(qr, 1))
        console.print(f"  {choices}", style="green")
    if msg.get("error"):
        err = msg["error"]
        err_console.print(f"[red]error {escape(str(err.get('code', '')))}: {escape(str(err.get('message', '')))}[/red]")


def show_problems(exc: Exception) -> None:
    problems = getattr(exc, "problems", None)
    if problems:
        for p in problems:
            kind = "[yellow]warning:[/yellow]" if getattr(p, "severity", "error") == "warning" else "[red]error:[/red]"
            err_console.print(f"{kind} {escape(str(p))}")
    else:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}")


def is_interactive() -> bool:
    return sys.stdin.isatty()
