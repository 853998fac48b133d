"""The knowledge-base browser from the helpdesk chat: list, search, filter, edit with
validation (the chat answers with the edit at once), verify, delete, add; and adding
the running conversation's exchanges from the chat."""

from __future__ import annotations

from support import copy_sample, until
from support.tui import ready, send, session, shown
from textual.widgets import DataTable, Input, Select, TextArea

from workbench.screens.chat import ChatScreen
from workbench.screens.confirm import ConfirmScreen
from workbench.screens.kb_preview import KBPreviewScreen
from workbench.screens.knowledge_base import KnowledgeBaseScreen
from workbench.screens.qa_form import QAFormScreen
from workbench.screens.world_picker import WorldPicker
from workbench.tui.app import make_app

SIZE = (150, 48)


async def open_kb(pilot, app) -> KnowledgeBaseScreen:
    await pilot.press("ctrl+b")
    await until(pilot, lambda: isinstance(app.screen, KnowledgeBaseScreen), what="the knowledge-base screen")
    screen = app.screen
    await until(
        pilot, lambda: screen.kb is not None and screen.query_one("#kb-table", DataTable).row_count > 0, what="the Q/As"
    )
    return screen


def questions(screen: KnowledgeBaseScreen) -> list[str]:
    return [qa.question for qa in screen.listed()]


def highlight(screen: KnowledgeBaseScreen, question: str) -> None:
    table = screen.query_one("#kb-table", DataTable)
    table.focus()
    table.move_cursor(row=questions(screen).index(question))


async def test_browse_search_filter_edit_verify_and_delete(tmp_path, store) -> None:
    app = make_app(copy_sample("helpdesk", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "help")
        await send(pilot, app, "what are your opening hours", "open Monday to Friday")
        screen = await open_kb(pilot, app)
        kb = screen.kb
        everything = questions(screen)
        assert len(everything) == len(kb) == 7
        assert shown(screen.query_one("#kb-count")) == "7 of 7 Q/As"

        # search ranks by the question, with scores
        screen.query_one("#kb-search", Input).value = "refund"
        await until(pilot, lambda: questions(screen)[:1] == ["how long does a refund take"], what="the search")
        # the score is the first column, so a long question or answer cannot push it out of view
        assert "0." in str(screen.query_one("#kb-table", DataTable).get_cell_at((0, 0)))
        assert "refund" in shown(screen.query_one("#kb-detail"))
        screen.query_one("#kb-search", Input).value = ""
        await until(pilot, lambda: len(questions(screen)) == 7, what="the whole list")

        # filters: verified, doctype
        unverified = [qa.question for qa in kb.all() if not qa.verified]
        screen.query_one("#kb-verified", Select).value = "no"
        await until(pilot, lambda: questions(screen) == unverified, what="the unverified Q/As")
        screen.query_one("#kb-verified", Select).value = "any"
        screen.query_one("#kb-doctype", Select).value = "hidden"
        hidden = [qa.question for qa in kb.all() if qa.doctype == "hidden"]
        await until(pilot, lambda: questions(screen) == hidden, what="the hidden Q/As")
        screen.query_one("#kb-doctype", Select).value = "any"
        await until(pilot, lambda: len(questions(screen)) == 7, what="the whole list")

        # edit: an empty answer is refused, by field; then the chat answers with the edit at once
        highlight(screen, "what are your opening hours")
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, QAFormScreen), what="the Q/A form")
        form = app.screen
        form.query_one("#qa-answer", TextArea).load_text("   ")
        await pilot.press("ctrl+s")
        assert "answer: is empty" in shown(form.query_one("#qa-form-errors"))
        assert form.query_one("#qa-answer").has_class("-invalid") and app.screen is form
        form.query_one("#qa-answer", TextArea).load_text("We are open every day, 8:00 to 20:00.")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is screen, what="back on the list")
        qid = next(qa.id for qa in kb.all() if qa.question == "what are your opening hours")
        await until(pilot, lambda: kb.get(qid).answer == "We are open every day, 8:00 to 20:00.", what="the edit")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ChatScreen), what="the chat")
        await send(pilot, app, "what are your opening hours", "We are open every day, 8:00 to 20:00.")

        # verify / unverify: an unverified Q/A no longer answers
        screen = await open_kb(pilot, app)
        highlight(screen, "what are your opening hours")
        await pilot.press("v")
        await until(pilot, lambda: not kb.get(qid).verified, what="unverified")
        await until(
            pilot,
            lambda: screen.query_one("#kb-table", DataTable).get_cell(qid, "verified") == "no",
            what="the verified cell",
        )

        # delete, after a confirmation
        highlight(screen, "what are your opening hours")
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirmation")
        await pilot.press("y")
        await until(pilot, lambda: "what are your opening hours" not in questions(screen), what="the row gone")
        assert kb.get(qid) is None and len(kb) == 6

        # add one
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, QAFormScreen), what="the new Q/A form")
        form = app.screen
        form.query_one("#qa-question", TextArea).load_text("do you ship abroad")
        form.query_one("#qa-answer", TextArea).load_text("Yes, to every country in the EU.")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "do you ship abroad" in questions(screen), what="the new Q/A")
        assert len(kb) == 7


async def test_add_this_conversation_to_the_knowledge_base(tmp_path, store) -> None:
    app = make_app(copy_sample("helpdesk", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "help")
        await send(pilot, app, "my account is locked", "If your account is locked")
        await send(pilot, app, "I want to talk to an operator", "You can talk with a human operator")
        cid = session(app).conversation_id
        # the palette command (F6) previews the exchanges; confirmed, they are added unverified
        await pilot.press("f6")
        await until(pilot, lambda: isinstance(app.screen, KBPreviewScreen), what="the preview")
        await pilot.click("#kb-preview-add")
        kb = app.wb_task.engine("desk").kb
        await until(pilot, lambda: len(kb) == 9, what="two more Q/As")
        screen = await open_kb(pilot, app)
        await until(pilot, lambda: len(questions(screen)) == 9, what="the new Q/As in the list")
        added = [qa for qa in screen.kb.all() if qa.conversation == cid]
        assert [(qa.question, qa.verified) for qa in added] == [
            ("my account is locked", False),
            ("I want to talk to an operator", False),
        ]
        assert added[1].answer == "You can talk with a human operator calling 800 000 000"
        # unverified ones show under that filter
        screen.query_one("#kb-verified", Select).value = "no"
        await until(
            pilot,
            lambda: set(questions(screen)) >= {"my account is locked", "I want to talk to an operator"},
            what="the unverified filter",
        )


async def test_tasks_without_such_bots_say_so(tmp_path, store) -> None:
    app = make_app(copy_sample("echo", tmp_path), store)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot, app, "echo")
        # the engine tools are not in the footer of a task without such bots, and do nothing
        assert app.chat.check_action("decision_table", ()) is False
        assert app.chat.check_action("set_slot", ()) is False
        await pilot.press("ctrl+d")
        # a key pressed after it is handled after it: the chat is still there, nothing was pushed
        await pilot.press("ctrl+w")
        await until(pilot, lambda: isinstance(app.screen, WorldPicker), what="the world picker")
        assert [type(s) for s in app.screen_stack[1:]] == [ChatScreen, WorldPicker]
