"""ModelPanel: a model bot, live during a chat (the inspector's "Model" tab).

It shows what the bot runs with in this conversation (its settings, with the system
prompt and parameters this conversation changed marked), the figures of its last turn
(time to first token, tokens per second, tokens in and out, estimated or reported), why
that turn stopped or failed, the prompt exactly as it was sent, and the replies a
regeneration replaced. Fed the runner's ``state`` events like every bot panel
(:class:`~workbench.widgets.bot_panel.BotPanel`).
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Label, Static

from workbench.widgets.bot_panel import BotPanel

#: the settings shown first, in this order (the rest follow)
FIRST = ("engine", "model", "base_url", "source", "api_key_env", "api_key", "system_prompt", "params")


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def figures_text(trace: dict[str, Any] | None) -> Text:
    """The last turn's figures as one short paragraph."""
    if not trace or "figures" not in trace:
        return Text("no generated turn yet", style="italic")
    f = trace["figures"]
    out = Text()

    def add(label: str, value: Any, unit: str = "") -> None:
        if value is not None:
            out.append(f"{label} ", style="dim")
            out.append(f"{value}{unit}", style="bold")
            out.append("   ")

    add("first token", f.get("ttft_ms"), " ms")
    add("tokens/s", f.get("tokens_per_s"))
    add("in", f.get("tokens_in"))
    add("out", f.get("tokens_out"))
    add("total", f.get("total_ms"), " ms")
    if f.get("waited_ms"):
        add("waited for the model", f.get("waited_ms"), " ms")
    if f.get("usage"):
        out.append(f"\ntoken counts {f['usage']}", style="dim")
    if trace.get("finish_reason"):
        out.append(f"   finished: {trace['finish_reason']}", style="dim")
    if trace.get("attempts"):
        out.append(f"   attempts: {trace['attempts']}", style="dim")
    if trace.get("replayed"):
        out.append("   replayed from a cassette", style="dim")
    if trace.get("cancelled"):
        out.append(f"\nstopped ({trace['cancelled']})", style="bold")
    error = trace.get("error")
    if isinstance(error, dict):
        out.append(f"\nfailed ({error.get('code')}): {error.get('cause')}", style="bold")
    return out


def prompt_text(trace: dict[str, Any] | None) -> Text:
    """The prompt as sent: chat messages one by one, or a local model's rendered text."""
    prompt = (trace or {}).get("prompt")
    if prompt is None:
        return Text("no prompt sent yet", style="italic")
    if isinstance(prompt, str):
        return Text(prompt)
    out = Text()
    for m in prompt if isinstance(prompt, list) else []:
        if isinstance(m, dict):
            out.append(f"{m.get('role')}: ", style="bold")
            out.append(f"{m.get('content')}\n")
    return out


class ModelPanel(BotPanel):
    """The settings, last turn and prompt of one model bot in the conversation the chat shows."""

    TITLE = "Model"

    def compose(self) -> ComposeResult:
        yield Label("Settings (F4 changes them for this conversation)", classes="panel-heading")
        yield Static("loading…", id="mp-settings", classes="panel-section")
        yield Label("Last turn", classes="panel-heading")
        yield Static("", id="mp-turn", classes="panel-section")
        yield Label("Prompt as sent", classes="panel-heading")
        yield Static("", id="mp-prompt", classes="panel-section")
        yield Label("Replaced replies (ctrl+r regenerates)", classes="panel-heading")
        yield Static("", id="mp-alternatives", classes="panel-section")

    def show(self) -> None:
        state = self.state or {}
        settings = self.engine.settings(state)
        self.view = {"settings": settings, "trace": self.trace, "alternatives": state.get("alternatives") or []}
        own = settings.get("this_conversation") or {}
        table = Table(box=None, show_header=False, pad_edge=False)
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("value", overflow="fold")
        keys = [k for k in FIRST if k in settings] + [
            k for k in settings if k not in FIRST and k != "this_conversation"
        ]
        for key in keys:
            mark = "  (this conversation)" if key in own else ""
            table.add_row(key, Text(_value(settings[key])) + Text(mark, style="italic"))
        self.query_one("#mp-settings", Static).update(table)
        self.query_one("#mp-turn", Static).update(figures_text(self.trace))
        self.query_one("#mp-prompt", Static).update(prompt_text(self.trace))
        alternatives = self.view["alternatives"]
        if alternatives:
            rows = [Text(f"{len(alternatives)} replaced repl{'y' if len(alternatives) == 1 else 'ies'}", style="dim")]
            for alt in alternatives[-3:]:
                rows.append(Text(f"to {alt.get('question')!r}: ", style="bold") + Text(str(alt.get("content"))))
            self.query_one("#mp-alternatives", Static).update(Group(*rows))
        else:
            self.query_one("#mp-alternatives", Static).update(Text("none", style="italic"))
