"""What-if replay in the TUI: from the history, the highlighted conversation replayed against
the bot as it is now, then and now side by side with the diverging turn highlighted, and what
the bot says now saved as a conversation test."""

from __future__ import annotations

from pathlib import Path

from support import copy_sample, until
from support.tui import ready, send, session, shown
from textual.widgets import DataTable, Input

from workbench.screens.conversations import ConversationsScreen
from workbench.screens.path_prompt import PathPrompt
from workbench.screens.replay import ReplayScreen
from workbench.testing.conversation import load_file
from workbench.tui.app import make_app

SIZE = (160, 50)


async def test_replaying_a_conversation_after_an_edit(tmp_path: Path, store) -> None:
    app = make_app(copy_sample("helpdesk", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "help")
        await send(pilot, app, "I have a problem with my account", "What seems to be the problem exactly?")
        await send(pilot, app, "Account locked", "If your account is locked")
        cid = session(app).conversation_id
        app.chat.editor.update_state("desk", "account_locked", {"bubble": "Locked out? Call 800 111 111."})

        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, ConversationsScreen), what="the history")
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, ReplayScreen), what="the replay screen")
        screen = app.screen
        await until(pilot, lambda: screen.report is not None, timeout=30, what="the replay")
        assert [r.status for r in screen.report.results] == ["diverged"]
        assert "0 same, 1 diverged" in shown(screen.query_one("#replay-status"))
        turns = screen.query_one("#replay-turns", DataTable)
        assert turns.row_count == 3 and turns.cursor_row == 2  # on the diverging turn
        row = [str(c) for c in turns.get_row_at(2)]
        assert row[0] == "≠ 2" and row[1] == "Account locked"
        assert row[2].startswith("If your account is locked") and row[3].startswith("Locked out? Call 800 111 111.")
        assert [str(c) for c in screen.query_one("#replay-conversations", DataTable).get_row_at(0)][:2] == [
            cid,
            "diverged at turn 2",
        ]

        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, PathPrompt), what="where to save")
        target = tmp_path / "now.yml"
        app.screen.query_one("#path-input", Input).value = str(target)
        await pilot.press("enter")
        await until(pilot, lambda: target.exists(), what="the saved test")
        (test,) = load_file(target)
        assert test.steps[-2].value.startswith("Locked out? Call 800 111 111.")
