"""RatingSessionScreen: one person's rating session in the terminal: consent, a topic, the
chat, the ratings, the completion code, the next thread.

The terminal's person gets a worker account of their own (``terminal-NAME``, no password:
whoever can run the TUI can read the store anyway). Everything goes through the study
(workbench/evaluation/), so the limits and checks are those the server applies.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Checkbox, ContentSwitcher, Footer, Header, Input, Label, Select, Static

from workbench.widgets.rating_form import RatingForm


class RatingSessionScreen(Screen):
    CSS_PATH = "eval.tcss"
    BINDINGS = [
        Binding("escape", "close", "Back", id="rate.close", tooltip="Leave the rating session (the thread waits)"),
    ]

    def __init__(self, study: Any, runner: Any) -> None:
        super().__init__()
        self.study = study
        self.runner = runner
        self.account: Any = None
        self.thread: Any = None
        from workbench.evaluation.chats import ThreadChats

        self.chats = ThreadChats(study, runner)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="eval-status", markup=False)
        with ContentSwitcher(initial="step-who", id="steps"):
            with Vertical(id="step-who", classes="step"):
                yield Label("Your name for this study (letters, digits, . _ -):")
                yield Input(id="who-name", max_length=40)
                yield Button("Begin", id="who-begin", variant="primary")
            with VerticalScroll(id="step-consent", classes="step"):
                yield Static("", id="agreement", markup=False)
                for i, statement in enumerate(self.study.checkboxes.values()):
                    yield Checkbox(Text(statement), id=f"consent-{i}")
                yield Button("I agree", id="consent-agree", variant="primary")
            with Vertical(id="step-home", classes="step"):
                yield Static("", id="home-text", markup=False)
                yield Button("Start a conversation", id="home-start", variant="primary")
            with Vertical(id="step-chat", classes="step"):
                yield VerticalScroll(id="eval-transcript")
                if self.study.turn_questions:
                    with Horizontal(id="turn-rating"):
                        q = self.study.turn_questions[0]
                        yield Label(Text(f"{q.question} "), id="turn-question")
                        yield Select([(Text(c), str(i)) for i, c in enumerate(q.choices)], id="turn-answer", prompt="—")
                        yield Button("Rate the last reply", id="turn-rate")
                yield Input(placeholder="Your message (Enter to send)", id="eval-say")
            with VerticalScroll(id="step-rate", classes="step"):
                yield Label("Please rate the conversation:")
                yield RatingForm(self.study.questions, id="eval-form")
                yield Button("Submit ratings", id="rate-submit", variant="primary")
            with Vertical(id="step-done", classes="step"):
                yield Static(self.study.spec.completion.text, markup=False)
                yield Static("", id="completion-code", markup=False)
                yield Button("Next conversation", id="done-next", variant="primary")
        yield Footer()

    def show(self, step: str, status: str = "") -> None:
        self.query_one("#steps", ContentSwitcher).current = f"step-{step}"
        self.query_one("#eval-status", Static).update(status)

    def action_close(self) -> None:
        self.app.pop_screen()

    # -- who and consent ---------------------------------------------------------------
    @on(Button.Pressed, "#who-begin")
    @on(Input.Submitted, "#who-name")
    def _begin(self) -> None:
        name = self.query_one("#who-name", Input).value.strip()
        self.sign_in(name)

    @work(thread=True, exit_on_error=False, group="eval", name="sign-in")
    def sign_in(self, name: str) -> None:
        from workbench.evaluation.people import PasswordRefused, check_account_id, crowd_worker

        try:
            check_account_id(name)
        except PasswordRefused as exc:
            self.app.call_from_thread(self.show, "who", str(exc))
            return
        account, _ = crowd_worker(self.study.store, "terminal", name)
        agreement = self.study.agreement()
        self.app.call_from_thread(self._signed_in, account, agreement.plain() if agreement else "")

    def _signed_in(self, account: Any, agreement: str) -> None:
        self.account = account
        if self.study.has_consented(account):
            self.go_home()
            return
        self.query_one("#agreement", Static).update(agreement)
        self.show("consent")

    @on(Button.Pressed, "#consent-agree")
    def _agree(self) -> None:
        keys = list(self.study.checkboxes)
        ticked = {keys[i] for i in range(len(keys)) if self.query_one(f"#consent-{i}", Checkbox).value}
        self.give_consent(ticked)

    @work(thread=True, exit_on_error=False, group="eval", name="consent")
    def give_consent(self, ticked: set[str]) -> None:
        from workbench.evaluation.study import StudyError

        try:
            self.study.give_consent(self.account, ticked)
        except StudyError as exc:
            self.app.call_from_thread(self.show, "consent", exc.message)
            return
        self.app.call_from_thread(self.go_home)

    # -- threads ------------------------------------------------------------------------
    def go_home(self) -> None:
        self.query_one("#home-text", Static).update(
            f"You will chat with {self.study.spec.display_name} about a short conversation, then rate it."
        )
        self.show("home")

    @on(Button.Pressed, "#home-start")
    @on(Button.Pressed, "#done-next")
    async def _start(self) -> None:
        self.start_thread()

    @work(exclusive=True, exit_on_error=False, group="eval", name="start-thread")
    async def start_thread(self) -> None:
        import asyncio

        from workbench.evaluation.study import StudyError

        try:
            self.thread = await asyncio.to_thread(self.study.start_thread, self.account)
        except StudyError as exc:
            self.show("home", exc.message)
            return
        await self.chats.open(self.thread)
        await self.refresh_thread()

    async def refresh_thread(self) -> None:
        import asyncio

        thread = await asyncio.to_thread(self.study.own_thread, self.account, self.thread.id)
        self.thread = thread
        rows = await asyncio.to_thread(self.study.transcript, thread.id)
        box = self.query_one("#eval-transcript", VerticalScroll)
        await box.remove_children()
        for row in rows:
            act = row.get("act") or {}
            kind = "seed" if (act.get("meta") or {}).get("seed") else row["role"]
            who = self.study.spec.display_name if kind == "bot" else "You" if kind == "human" else act.get("id", "")
            await box.mount(Static(f"{who}: {row.get('text') or ''}", classes=f"message {kind}", markup=False))
        box.scroll_end(animate=False)
        if thread.status == "chatting":
            self.show("chat", f"{thread.topic}: your turn")
            self.query_one("#eval-say", Input).focus()
        elif thread.status == "rating":
            self.show("rate", "The conversation has ended: please rate it.")
        else:
            self.query_one("#completion-code", Static).update(
                f"Completion code: {thread.data.get('completion_code', '')}"
            )
            self.show("done")

    @on(Input.Submitted, "#eval-say")
    def _say(self, event: Input.Submitted) -> None:
        text = event.value
        event.input.value = ""
        if text.strip():
            self.say(text)

    @work(exclusive=True, exit_on_error=False, group="eval", name="say")
    async def say(self, text: str) -> None:
        from workbench.evaluation.study import StudyError

        try:
            await self.chats.say(self.thread, text)
        except StudyError as exc:
            self.show("chat", exc.message)
        await self.refresh_thread()

    @on(Button.Pressed, "#turn-rate")
    def _rate_turn(self) -> None:
        value = self.query_one("#turn-answer", Select).value
        if value is Select.BLANK or self.thread is None:
            return
        self.rate_turn(str(value))

    @work(thread=True, exit_on_error=False, group="eval", name="rate-turn")
    def rate_turn(self, value: str) -> None:
        from workbench.evaluation.study import StudyError

        seqs = self.study.rated_messages(self.thread.id)
        if not seqs:
            return
        q = self.study.turn_questions[0]
        try:
            self.study.rate_turn(self.account, self.thread.id, seqs[-1], {q.key: value})
        except StudyError as exc:
            self.app.call_from_thread(self.show, "chat", exc.message)
            return
        self.app.call_from_thread(self.show, "chat", "Thank you: the reply is rated.")

    @on(Button.Pressed, "#rate-submit")
    def _submit(self) -> None:
        form = self.query_one(RatingForm)
        self.submit(form.answers())

    @work(thread=True, exit_on_error=False, group="eval", name="submit")
    def submit(self, answers: dict[str, str]) -> None:
        from workbench.evaluation.study import StudyError

        try:
            code = self.study.submit(self.account, self.thread.id, answers)
        except StudyError as exc:
            self.app.call_from_thread(self._problems, exc)
            return
        self.app.call_from_thread(self._done, code)

    def _problems(self, exc: Any) -> None:
        self.query_one(RatingForm).show_problems(exc.fields)
        self.show("rate", exc.message)

    def _done(self, code: str) -> None:
        self.query_one("#completion-code", Static).update(f"Completion code: {code}")
        self.show("done")
