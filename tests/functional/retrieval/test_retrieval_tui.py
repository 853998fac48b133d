"""The TUI says when hybrid matching answers, and the state tab says how a turn was matched."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from support import copy_sample, wait_for
from support.retrieval import real_model  # noqa: F401  (the session's model, a fixture)
from support.tui import ready
from textual.widgets import Input, Static

from workbench.store import open_store
from workbench.task import load_task
from workbench.tui.app import WorkbenchApp
from workbench.widgets.state_panel import StatePanel

pytestmark = pytest.mark.usefixtures("real_model")


def shown(widget: Static) -> str:
    """The plain text a Static shows."""
    console = Console(width=200, record=True, color_system=None, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


async def test_hybrid_matching_is_announced_and_explained(tmp_path) -> None:
    root = copy_sample("helpdesk", tmp_path)
    with open(root / "task.yml", "a", encoding="utf-8") as f:
        f.write("retrieval: {mode: hybrid}\n")
    store = open_store(tmp_path / "tui.db")
    app = WorkbenchApp(load_task(root), store=store)
    async with app.run_test(size=(150, 48)) as pilot:

        def announced() -> bool:
            return any(n.title == "Hybrid matching ready" for n in app._notifications)

        await wait_for(announced, 60, what="the hybrid-matching notification")
        assert any("decision_table:desk" in str(n.message) for n in app._notifications)
        await ready(pilot, app)  # the store opened and the conversation is live
        composer = app.chat.query_one("#composer", Input)
        composer.focus()
        composer.value = "how do I change where you deliver my parcel"
        await pilot.press("enter")
        panel = app.chat.query_one(StatePanel)
        await wait_for(lambda: panel.view is not None and panel.view.turn == 1, 20, what="the first turn")
        assert "matched by hybrid" in panel.view.matching
        await wait_for(
            lambda: "matched by hybrid" in shown(panel.query_one("#sp-candidates", Static)),
            10,
            what="the note under the candidates",
        )
    store.close()
