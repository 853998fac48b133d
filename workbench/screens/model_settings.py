"""ModelSettingsScreen: a model bot's system prompt and parameters for one conversation.

The developer edits the system prompt and the parameters (YAML, such as ``temperature:
0.2``); the engine checks them (``ModelBot.with_settings``) and a bad value is named under
the field, never a traceback. Saving hands back the bot's new engine state; the chat stores
it (``Runner.set_bot_state``), so the bot's next turn uses the new values and a resumed
conversation keeps them. "Use the bot's own" drops the conversation's values. An empty
system prompt means none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static, TextArea

#: (system prompt, parameters) -> the bot's new engine state; None for either: the bot's own
Apply = Callable[[str | None, Any], dict[str, Any]]


def params_text(params: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(params, sort_keys=False, allow_unicode=True) if params else ""


class ModelSettingsScreen(ModalScreen[dict[str, Any] | None]):
    """``settings``: what the bot runs with in this conversation (``ModelBot.settings``);
    ``apply``: the engine's new state for new values (raises ValueError naming a bad one)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="model_settings.cancel", tooltip="Close without changing anything"),
        Binding(
            "ctrl+y",
            "save",
            "Save",
            id="model_settings.save",
            tooltip="Use this system prompt and these parameters from the bot's next turn",
        ),
    ]

    def __init__(self, bot: str, settings: dict[str, Any], apply: Apply) -> None:
        super().__init__()
        self.bot = bot
        self.settings = settings
        self.apply = apply

    def compose(self) -> ComposeResult:
        with Vertical(id="model-settings", classes="wb-modal"):
            yield Label(f"{self.bot}: system prompt and parameters for this conversation", classes="wb-modal-title")
            yield Label("System prompt", classes="wb-field-label")
            yield TextArea(self.settings.get("system_prompt") or "", id="model-system-prompt", classes="wb-field-area")
            yield Label(
                "Parameters (YAML: temperature, top_p, max_tokens, seed, stop, repetition_penalty, others passed on)",
                classes="wb-field-label",
            )
            yield TextArea(
                params_text(self.settings.get("params") or {}),
                id="model-params",
                language="yaml" if _yaml_highlighting() else None,
                classes="wb-field-area",
            )
            yield Static("", id="model-settings-error")
            with Horizontal(classes="wb-modal-buttons"):
                yield Button("Save", id="model-settings-save", variant="primary")
                yield Button("Use the bot's own", id="model-settings-reset", variant="warning")
                yield Button("Cancel", id="model-settings-cancel")

    def on_mount(self) -> None:
        self.query_one("#model-system-prompt", TextArea).focus()

    def _error(self, text: str) -> None:
        self.query_one("#model-settings-error", Static).update(text)

    @on(Button.Pressed, "#model-settings-save")
    def action_save(self) -> None:
        import yaml

        prompt = self.query_one("#model-system-prompt", TextArea).text
        raw = self.query_one("#model-params", TextArea).text
        params_area = self.query_one("#model-params", TextArea)
        try:
            params = yaml.safe_load(raw) if raw.strip() else {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            params_area.add_class("-invalid")
            self._error(f"Parameters: not YAML{where}; write one `name: value` a line.")
            return
        try:
            state = self.apply(prompt, params)
        except ValueError as exc:
            params_area.add_class("-invalid")
            self._error(f"Parameters: {exc}")
            return
        params_area.remove_class("-invalid")
        self.dismiss(state)

    @on(Button.Pressed, "#model-settings-reset")
    def _reset(self) -> None:
        self.dismiss(self.apply(None, None))

    @on(Button.Pressed, "#model-settings-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def _yaml_highlighting() -> bool:
    """TextArea highlights YAML only with tree-sitter's grammar installed."""
    try:
        import tree_sitter_yaml  # noqa: F401
    except ImportError:
        return False
    return True
