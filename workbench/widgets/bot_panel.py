"""BotPanel: the base of the chat's live panels of one bot (decision-table state, form slots).

A panel *follows* one conversation: it loads the bot's engine and stored state
in a worker, then is fed the runner's ``state`` events as :class:`BotPanel.Update`
messages. Updates replace each other in the queue (``can_replace``), so a burst
of turns renders once; subclasses only say how to show a state (:meth:`show`).
"""

from __future__ import annotations

from typing import Any

from textual import work
from textual.containers import VerticalScroll
from textual.message import Message


class BotPanel(VerticalScroll):
    """Follows one bot in one conversation; subclasses render :attr:`state` in :meth:`show`."""

    #: the tab's title in the inspector
    TITLE = "Bot"

    class Update(Message, bubble=False):
        """A new engine state and the trace of the turn that made it (None: set by hand)."""

        def __init__(
            self,
            conversation_id: str | None,
            state: dict[str, Any] | None,
            trace: dict[str, Any] | None,
            data: dict[str, Any] | None = None,
            engine: Any = None,
            loaded: bool = False,
        ) -> None:
            super().__init__()
            self.conversation_id = conversation_id
            self.state = state
            self.trace = trace
            self.data = data
            self.engine = engine
            #: from the store when the panel started following (not a live turn)
            self.loaded = loaded

        def can_replace(self, message: Message) -> bool:
            # Textual asks the queued message whether the one behind it (``message``) may
            # drop it: a live update gives way to the next live one; the load's update
            # carries the engine and is never dropped, nor is a live one for a load
            return isinstance(message, BotPanel.Update) and not self.loaded and not message.loaded

    class Failed(Message, bubble=False):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(self, task: Any, bot: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.wb_task = task
        self.bot = bot
        self.engine: Any = None
        self.runner: Any = None
        self.conversation_id: str | None = None
        self.state: dict[str, Any] | None = None
        self.trace: dict[str, Any] | None = None
        self.data: dict[str, Any] = {}
        #: the last view rendered (tests and tools read it)
        self.view: Any = None
        self._live = False
        #: the conversation whose stored state was last asked for (:meth:`_load_followed`)
        self._loading: str | None = None

    def follow(self, runner: Any, conversation_id: str) -> None:
        """Show ``conversation_id``: its stored state now, its turns as they come."""
        if conversation_id == self.conversation_id:
            return
        self.runner = runner
        self.conversation_id = conversation_id
        self.state, self.trace, self._live = None, None, False
        if self.is_mounted:
            self._load_followed()
        else:
            # mid-mount (its on_mount may have run before this call, with nothing to follow):
            # the callback is handled once mounting is done, whichever came first
            self.call_later(self._load_followed)

    def on_mount(self) -> None:
        self._load_followed()

    def _load_followed(self) -> None:
        """Load the followed conversation, once per conversation followed."""
        if self.runner is None or self.conversation_id is None or self._loading == self.conversation_id:
            return
        self._loading = self.conversation_id
        self.load(self.runner, self.conversation_id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="bot-panel", name="load-bot-state")
    def load(self, runner: Any, conversation_id: str) -> None:
        """The engine (the runner has built it already, or it is built here, off the UI thread)
        and the bot's state and last trace in the conversation."""
        try:
            engine = self.wb_task.engine(self.bot)
            state = runner.bot_state(conversation_id, self.bot)
            trace = runner.store.last_trace(conversation_id, self.bot) if runner.store is not None else None
            session = runner.sessions.get(conversation_id)
        except Exception as exc:  # the chat goes on without the panel
            self.post_message(self.Failed(f"{type(exc).__name__}: {exc}"))
            return
        data = dict(session.data) if session is not None else None
        self.post_message(self.Update(conversation_id, state, trace, data, engine, loaded=True))

    def feed(
        self,
        conversation_id: str | None,
        state: dict[str, Any] | None,
        trace: dict[str, Any] | None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """A runtime ``state`` event for this bot."""
        self.post_message(self.Update(conversation_id, state, trace, data))

    def on_bot_panel_update(self, message: Update) -> None:
        if message.conversation_id != self.conversation_id:
            return  # for a conversation no longer shown
        if message.engine is not None:
            self.engine = message.engine
        if message.loaded and self._live:
            pass  # a live turn came first: it is newer than what the store had
        else:
            self._live = self._live or not message.loaded
            if message.state is not None:
                self.state = message.state
            if message.trace is not None:
                self.trace = message.trace  # a state set by hand keeps the last turn's trace
        if message.loaded and self.trace is None:
            self.trace = message.trace
        if message.data is not None:
            self.data = message.data
        if self.engine is not None:
            self.show()

    def on_bot_panel_failed(self, message: Failed) -> None:
        self.notify(f"The {self.bot} panel cannot show this conversation: {message.error}", severity="warning")

    def show(self) -> None:  # pragma: no cover - subclasses
        raise NotImplementedError
