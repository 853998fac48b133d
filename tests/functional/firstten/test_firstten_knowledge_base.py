"""The knowledge base in the TUI (issue 14, point 5): search shows scores, the table tab shows the
knowledge base's candidates with their scores on a turn it answered or missed, and F6 previews
the exchanges it would add, with checkboxes, leaving out fallback answers and personal data."""

from __future__ import annotations

from support import copy_sample, until
from support.tui import ready, screen_lines, send, session, shown
from textual.widgets import DataTable, Input, SelectionList

from workbench.screens.kb_preview import KBPreviewScreen
from workbench.screens.knowledge_base import KnowledgeBaseScreen
from workbench.tui.app import make_app
from workbench.widgets.state_panel import StatePanel

SIZE = (120, 40)


async def test_search_shows_the_scores_in_view(tmp_path, store) -> None:
    app = make_app(copy_sample("helpdesk", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "help")
        await pilot.press("ctrl+b")
        await until(pilot, lambda: isinstance(app.screen, KnowledgeBaseScreen), what="the knowledge base")
        screen = app.screen
        await until(pilot, lambda: screen.kb is not None and len(screen.listed()) == 7)
        screen.query_one("#kb-search", Input).value = "refund"
        await until(pilot, lambda: [qa.question for qa in screen.listed()][:1] == ["how long does a refund take"])
        table = screen.query_one("#kb-table", DataTable)
        assert "█" in str(table.get_cell_at((0, 0)))  # a score bar and its number, first
        await pilot.pause()
        assert any("how long does a refund take" in line and "█" in line for line in screen_lines(app))


async def test_the_table_tab_shows_the_knowledge_bases_candidates(tmp_path, store) -> None:
    app = make_app(copy_sample("helpdesk", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "help")
        # the inspector's panels mount after the conversation goes live
        await until(pilot, lambda: bool(app.chat.query(StatePanel)), what="the state panel")
        panel = app.chat.query_one(StatePanel)
        # answered: the Q/A that answered, with its score
        await send(pilot, app, "what are your opening hours", "open Monday to Friday")
        await until(pilot, lambda: panel.view is not None and panel.view.turn == 1)
        candidates = panel.query_one("#sp-candidates")
        assert panel.view.route == "knowledge_base" and panel.view.kb_candidates
        await until(pilot, lambda: "what are your opening hours" in shown(candidates), what="the answer's Q/A")
        text = shown(candidates)
        assert "knowledge base" in text and "← answered" in text and "█" in text
        assert "no ranking in the last turn" not in text
        # missed: what it had, and why it did not answer
        await send(pilot, app, "is there a mobile app", "I do not understand your input")
        await until(pilot, lambda: panel.view.turn == 2)
        await until(pilot, lambda: "is there a mobile app" in shown(candidates), what="the missed Q/A")
        assert "unverified: never answers" in shown(candidates)


async def test_f6_previews_the_exchanges_leaving_out_fallbacks_and_personal_data(tmp_path, store) -> None:
    app = make_app(copy_sample("helpdesk", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "help")
        await send(pilot, app, "my account is locked", "If your account is locked")
        await send(pilot, app, "zzz qqq", "I do not understand your input")  # the fallback answers
        await send(pilot, app, "I forgot my password", "Please type your email address")
        await send(pilot, app, "ada@example.com", "An e-mail will be sent to this address")  # personal data
        await send(pilot, app, "I want to talk to an operator", "You can talk with a human operator")
        cid = session(app).conversation_id
        await pilot.press("f6")
        await until(pilot, lambda: isinstance(app.screen, KBPreviewScreen), what="the preview")
        preview = app.screen
        offered = [p.qa.question for p in preview.offered]
        assert offered == ["my account is locked", "I forgot my password", "I want to talk to an operator"]
        choices = preview.query_one(SelectionList)
        assert choices.option_count == 3 and len(choices.selected) == 3  # ticked
        left_out = shown(preview.query_one("#kb-preview-left-out"))
        assert "'zzz qqq': the answer is a fallback" in left_out
        assert "'ada@example.com': it holds an e-mail address" in left_out
        # untick one, add the others
        choices.deselect(f"{cid}-{preview.offered[1].qa.index_in_conversation}")
        await pilot.click("#kb-preview-add")
        kb = app.wb_task.engine("desk").kb
        await until(pilot, lambda: len(kb) == 9, what="two Q/As added")
        added = sorted(qa.question for qa in kb.all() if qa.conversation == cid)
        assert added == ["I want to talk to an operator", "my account is locked"]
        assert not any(qa.verified for qa in kb.all() if qa.conversation == cid)
