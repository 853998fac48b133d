"""ChatScreen: chat with the task's worlds, watch every message and state live."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Static

from workbench.engines.capabilities import KnowledgeBot, ModelBot, SlotBot, TableBot, bots_with
from workbench.runtime.editing import BotEditor
from workbench.runtime.transcript import entry_from_record, entry_from_row  # noqa: F401  (re-exported)
from workbench.screens.chat_debugging import DEBUG_BINDINGS, ChatDebugging
from workbench.screens.messages import DeltaTick, RuntimeEvent
from workbench.widgets import bot_tools
from workbench.widgets.inspector import Inspector
from workbench.widgets.quick_replies import QuickReplies
from workbench.widgets.slot_panel import SlotPanel
from workbench.widgets.transcript import Transcript, stream_of

#: seconds between two renders of a reply being generated (12 a second at most: a render lays the
#: screen out again, tens of milliseconds on a slow machine)...
RENDER_EVERY = 0.08
#: ...once more for each so many characters of the reply's plain tail (re-laid out at each render)
RENDER_TAIL_CHARS = 1000


@dataclass
class Person:
    """A person the developer plays in the TUI (several for multi-person worlds)."""

    name: str
    session: Any = None
    entries: list[dict[str, Any]] = field(default_factory=list)
    offered: list[str] = field(default_factory=list)


class ChatScreen(ChatDebugging, Screen):
    """Transcript, quick replies, composer and an inspector of world, state and messages.

    Narrower than 120 columns the inspector stacks under the chat (F2 hides it); lower than
    32 rows the header gives its line to the transcript (workbench.tcss)."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]

    BINDINGS = [
        Binding("ctrl+q", "app.quit", "Quit", id="chat.quit", tooltip="Leave workbench"),
        Binding(
            "ctrl+n", "restart", "New chat", id="chat.restart", tooltip="Start a new conversation from the first world"
        ),
        # priority: the composer (an Input, nearly always focused) binds ctrl+w to delete a word
        Binding(
            "ctrl+w",
            "switch_world",
            "Worlds",
            id="chat.switch_world",
            tooltip="Start a conversation in another world",
            priority=True,
        ),
        Binding(
            "ctrl+o",
            "conversations",
            "History",
            id="chat.conversations",
            tooltip="Browse past conversations in the store",
        ),
        Binding(
            "ctrl+t",
            "add_person",
            "Add person",
            id="chat.add_person",
            tooltip="Join as another person (for multi-person worlds)",
        ),
        Binding("f3", "next_person", "Next person", id="chat.next_person", tooltip="Type as the next person"),
        Binding(
            "f2", "toggle_inspector", "Inspector", id="chat.toggle_inspector", tooltip="Show or hide the inspector"
        ),
        # before focus_composer: Esc stops a reply being generated, else it focuses the composer
        Binding(
            "escape",
            "cancel_generation",
            "Stop",
            id="chat.cancel_generation",
            tooltip="Stop the reply the bot is generating (what it wrote is kept, marked stopped)",
        ),
        Binding(
            "escape",
            "focus_composer",
            "Composer",
            show=False,
            id="chat.focus_composer",
            tooltip="Focus the message box",
        ),
        # priority: the composer binds ctrl+d (delete right); ctrl+b is free but kept alike
        Binding(
            "ctrl+d",
            "decision_table",
            "Tables",
            id="chat.decision_table",
            tooltip="Browse, edit and try the decision table of this world's bot",
            priority=True,
        ),
        Binding(
            "ctrl+b",
            "knowledge_base",
            "Knowledge",
            id="chat.knowledge_base",
            tooltip="Browse, search and edit the bot's knowledge base",
            priority=True,
        ),
        Binding(
            "f6",
            "add_to_knowledge_base",
            "Add to KB",
            id="chat.add_to_knowledge_base",
            tooltip="Preview this conversation's question/answer exchanges, choose which become unverified Q/As",
        ),
        Binding(
            "ctrl+r",
            "regenerate",
            "Regenerate",
            show=False,
            id="chat.regenerate",
            tooltip="Generate the model bot's last reply again (the earlier one is kept as an alternative)",
        ),
        Binding(
            "ctrl+l",
            "model_settings",
            "Model settings",
            show=False,
            id="chat.model_settings",
            tooltip="Change the model bot's system prompt and parameters for this conversation",
        ),
        Binding(
            "f7",
            "set_slot",
            "Set slot",
            id="chat.set_slot",
            tooltip="Set or clear a slot of this world's form bot by hand, to try a path",
        ),
        *DEBUG_BINDINGS,
    ]
    #: the footer's order: Quit first (it must stay visible at 80 columns), then the engine tools
    #: this task has (check_action leaves the others out), then the chat's own keys
    FOOTER_ORDER = (
        "app.quit",
        "decision_table",
        "knowledge_base",
        "add_to_knowledge_base",
        "set_slot",
        "restart",
        "conversations",
        "switch_world",
        "add_person",
        "next_person",
        "toggle_inspector",
    )

    @property
    def active_bindings(self) -> dict[str, Any]:
        """The footer's order: this screen's keys as FOOTER_ORDER lists them, then the app's (a
        focused Input would otherwise put the keys it also binds, ctrl+d and ctrl+w, first)."""
        active = super().active_bindings
        rank = {action: i for i, action in enumerate(self.FOOTER_ORDER)}
        order = {b.key: rank.get(b.action, len(rank)) for b in self.BINDINGS if isinstance(b, Binding)}
        return dict(sorted(active.items(), key=lambda item: order.get(item[0], len(rank) + 1)))

    def __init__(self, task: Any, conversation_id: str | None = None) -> None:
        super().__init__()
        self.wb_task = task
        self.runner: Any = None
        self.people: list[Person] = []
        self.current = 0
        self._pending_resume = conversation_id
        self._unsubscribe = None
        #: runtime events posted to this screen and handled by it (all shown when equal)
        self._events_posted = 0
        self._events_handled = 0
        #: pieces of replies being generated, not rendered yet: stream -> (session, bot, pieces)
        self._deltas: dict[str, tuple[Any, str, list[str]]] = {}
        #: replies with a render scheduled, and when each was last rendered (time.monotonic)
        self._render_due: set[str] = set()
        self._rendered: dict[str, float] = {}

    # -- layout -------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with Horizontal(id="chat-body"):
            with Vertical(id="chat-main"):
                yield Static(f"{self.wb_task.name}: opening the store…", id="status")
                # quick replies are the buttons below, not repeated in the transcript
                yield Transcript(id="transcript", quick_replies=False, own_label="you")
                yield QuickReplies(id="quick-replies")
                yield Input(placeholder="Type a message and press Enter", id="composer")
            yield Inspector(id="inspector")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"workbench · {self.wb_task.name}"
        self.query_one("#composer", Input).focus()

    def on_resize(self, event: events.Resize) -> None:
        # narrow: the footer's keys closer together, so more of them show
        self.query_one(Footer).compact = event.size.width < 120

    @property
    def person(self) -> Person | None:
        return self.people[self.current] if self.people else None

    # -- runtime wiring -----------------------------------------------------
    async def attach(self, runner: Any) -> None:
        """The store and runner are ready: start (or resume) a conversation."""
        self.runner = runner
        self._unsubscribe = runner.subscribe(self._on_event)
        if self._pending_resume:
            cid, self._pending_resume = self._pending_resume, None
            await self.resume(cid)
        else:
            await self.start()

    def _post_event(self, event: Any) -> None:
        self._events_posted += 1
        self.post_message(RuntimeEvent(event))

    async def _close_people(self) -> None:
        for p in self.people:
            if p.session is not None and not p.session.closed:
                await self.runner.disconnect(p.session, wait=2.0)
        self.people = []
        self.current = 0

    async def start(self, world: str | None = None) -> None:
        await self._close_people()
        self.query_one(Inspector).clear()
        await self._connect(Person("you"), world=world)

    async def resume(self, conversation_id: str) -> None:
        await self._close_people()
        self.query_one(Inspector).clear()
        conv = self.runner.store.conversation(conversation_id)
        if conv is None:
            self.notify(f"No conversation {conversation_id} in the store", severity="error")
            await self._connect(Person("you"))
            return
        person = Person(conv["person"])
        person.entries = [entry_from_row(r) for r in self.runner.store.messages(conversation_id)]
        await self._connect(person, conversation_id=conversation_id)
        from workbench.screens.conversations import pairing_note

        note = pairing_note(self.wb_task, conv.get("world"))
        if note:
            self.notify(note, title="Resumed", timeout=12)

    async def _connect(self, person: Person, world: str | None = None, conversation_id: str | None = None) -> None:
        self.people.append(person)
        self.current = len(self.people) - 1
        await self._show_person()
        person.session = await self.runner.connect(
            None,
            person=person.name,
            channel="tui",
            conversation_id=conversation_id,
            resume=conversation_id is not None,
            world=world,
        )
        self._status()
        self._refresh_inspector()

    async def _show_person(self) -> None:
        p = self.person
        await self.query_one(Transcript).reset(p.entries if p else [])
        self._show_quick_replies(p.offered if p else [])
        self._status()

    def usable(self) -> bool:
        """The person can answer: their world waits for them and what they were sent is shown."""
        p = self.person
        s = p.session if p is not None else None
        if s is None or s.world is None or not s.waiting or not s.inbox.empty():
            return False
        return self._events_handled == self._events_posted

    def _person_of(self, session: Any) -> Person | None:
        return next((p for p in self.people if p.session is session), None)

    def _on_event(self, ev: Any) -> None:
        """A runner event (on the app's loop). Deltas are buffered and rendered at most every
        RENDER_EVERY seconds per reply, so a model writing hundreds of tokens a second renders
        in batches and leaves the app (and the model's own thread) time to run."""
        if ev.kind != "delta":
            self._post_event(ev)
            return
        stream = ev.fields["stream"]
        pending = self._deltas.get(stream)
        if pending is None:
            pending = self._deltas[stream] = (ev.session, str(ev.fields.get("bot")), [])
        pending[2].append(ev.fields["delta"])
        if stream not in self._render_due:
            self._render_due.add(stream)
            wait = max(0.0, self._rendered.get(stream, 0.0) + self._render_every(stream) - time.monotonic())
            # the listener runs in the runtime's context, not the app's: asyncio's timer, not Textual's
            asyncio.get_running_loop().call_later(wait, self.post_message, DeltaTick(stream))

    def _render_every(self, stream: str) -> float:
        """Seconds between renders of a reply: longer while its plain tail is long, since each
        render lays that tail out again (keeping the app, and a model generating in this
        process, from starving)."""
        item = self.query_one(Transcript).streaming_item(stream)
        tail = item.tail_length if item is not None else 0
        return RENDER_EVERY * (1 + tail / RENDER_TAIL_CHARS)

    @on(DeltaTick)
    async def _on_delta(self, message: DeltaTick) -> None:
        self._render_due.discard(message.stream)
        self._rendered[message.stream] = time.monotonic()
        pending = self._deltas.get(message.stream)
        if pending is None or not pending[2]:
            return
        session, bot, pieces = pending
        text = "".join(pieces)
        pieces.clear()
        if self.person is not None and session is self.person.session:
            transcript = self.query_one(Transcript)
            first = not transcript.generating
            await transcript.stream_delta(message.stream, bot, text)
            if first:
                self.refresh_bindings()  # Esc now stops the reply

    @on(RuntimeEvent)
    async def _on_runtime(self, message: RuntimeEvent) -> None:
        self._events_handled += 1
        ev = message.event
        person = self._person_of(ev.session)
        if ev.kind == "error":
            self.notify(str(ev.fields.get("error")), title="Runtime error", severity="error", timeout=8)
        if person is None:
            return
        visible = person is self.person
        if ev.kind == "message":
            entry = entry_from_record(ev.fields["record"], ev.fields.get("committed", False))
            person.entries.append(entry)
            act = entry["act"]
            if entry["role"] != "human":
                person.offered = [str(q) for q in (act.get("quick_replies") or [])]
            stream = stream_of(entry)
            if stream is not None:
                self._deltas.pop(stream, None)
                self._rendered.pop(stream, None)
            if visible:
                await self.query_one(Transcript).settle(entry)
                if entry["role"] != "human":
                    self._show_quick_replies(person.offered)
                if stream is not None:
                    self.refresh_bindings()
        elif ev.kind == "acknowledged":
            uid = ev.fields["record"].message.uid
            for e in person.entries:
                if e["uid"] == uid:
                    e["stored"] = True
            if visible:
                self.query_one(Transcript).acknowledge(uid)
        elif ev.kind in ("state", "world"):
            if visible:
                self._refresh_inspector()
                self._status()
                if ev.kind == "state":
                    bot_tools.feed_panel(
                        self.query_one(Inspector), person.session.conversation_id, ev.fields, person.session.data
                    )
        elif ev.kind == "session_end":
            if visible:
                self._status()
        elif ev.kind in ("paused", "resumed") and visible:
            self.debug_event(ev)
            self._status()

    # -- rendering helpers ---------------------------------------------------
    def _status(self) -> None:
        p = self.person
        if p is None or p.session is None:
            text = f"{self.wb_task.name}: connecting…"
        else:
            s = p.session
            state = "ended (ctrl+n for a new chat)" if s.closed else f"world: {s.world or '…'}"
            who = (
                f" · you are person {self.current + 1} of {len(self.people)} (F3: the next)"
                if len(self.people) > 1
                else ""
            )
            text = f"{self.wb_task.name} · conversation {s.conversation_id} · {state}{who}{self.pause_note()}"
        self.query_one("#status", Static).update(text)

    def _show_quick_replies(self, offered: list[str]) -> None:
        self.query_one(QuickReplies).offer(offered)

    def _refresh_inspector(self) -> None:
        p = self.person
        if p is None or p.session is None or self.runner is None:
            return
        s = p.session
        spec = self.wb_task.worlds.get(s.world or "")
        agents = [x.name for x in self.people if x.session is not None and x.session.world_instance == s.world_instance]
        bots = []
        if spec is not None:
            if getattr(spec, "bot", None):
                bots = [spec.bot]
            elif getattr(spec, "bots", None):
                bots = list(spec.bots)
        info = {
            "conversation": s.conversation_id,
            "person": p.name,
            "world": s.world,
            "world_type": getattr(spec, "type", None),
            "world_instance": s.world_instance,
            "agents": {
                "people": agents or [p.name],
                "bots": {b: self.wb_task.bot_configs[b].engine for b in bots if b in self.wb_task.bot_configs},
            },
            "data": s.data,
            "spec": spec.model_dump(exclude_defaults=True) if spec is not None else None,
            "store": str(self.runner.store.path) if self.runner.store else None,
        }
        inspector = self.query_one(Inspector)
        inspector.show_world(info)
        inspector.show_state(self.runner.store.states(s.conversation_id) if self.runner.store else {})
        # the live panels of the world's decision-table and form bots
        self.run_worker(
            bot_tools.show_panels(inspector, self.wb_task, self.runner, s.conversation_id, s.world),
            group="bot-panels",
            exit_on_error=False,
        )

    # -- input ----------------------------------------------------------------
    def send(self, text: str) -> bool:
        p = self.person
        if p is None or p.session is None or p.session.closed:
            self.notify("This conversation has ended; press ctrl+n to start a new one.", severity="warning")
            return False
        p.session.put(text)
        return True

    @on(Input.Submitted, "#composer")
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value
        if not text.strip():
            return
        if self.send(text):
            event.input.value = ""

    @on(Button.Pressed, ".quick-reply")
    def _quick_reply(self, event: Button.Pressed) -> None:
        label = str(event.button.label)
        if self.send(label):
            self._show_quick_replies([])
            self.query_one("#composer", Input).focus()

    @on(Transcript.Highlighted)
    def _highlighted(self, event: Transcript.Highlighted) -> None:
        item = event.item
        if item is not None and hasattr(item, "entry"):
            inspector = self.query_one(Inspector)
            inspector.show_message(item.entry)
            inspector.active = "tab-message"  # shown at once, not in a hidden tab

    @on(Transcript.Selected)
    def _selected(self, event: Transcript.Selected) -> None:
        if hasattr(event.item, "entry"):
            inspector = self.query_one(Inspector)
            inspector.show_message(event.item.entry)
            inspector.active = "tab-message"

    # -- actions --------------------------------------------------------------
    async def action_restart(self) -> None:
        if self.runner is None:
            return
        await self.start()
        self.notify("New conversation started")

    def action_switch_world(self) -> None:
        from workbench.screens.world_picker import WorldPicker

        def picked(world: str | None) -> None:
            if world:
                self.run_worker(self.start(world), exclusive=True, group="chat")

        self.app.push_screen(WorldPicker(self.wb_task), picked)

    def action_conversations(self) -> None:
        if self.runner is None:
            return
        from workbench.screens.conversations import ConversationsScreen

        def chosen(cid: str | None) -> None:
            if cid:
                self.run_worker(self.resume(cid), exclusive=True, group="chat")

        self.app.push_screen(ConversationsScreen(self.runner.store, self.wb_task), chosen)

    async def action_add_person(self) -> None:
        if self.runner is None:
            return
        person = Person(f"person {len(self.people) + 1}")
        await self._connect(person)
        self.notify(f"You are now {person.name}; F3 switches between people")

    async def action_next_person(self) -> None:
        if len(self.people) < 2:
            self.notify("Only one person here; ctrl+t adds another")
            return
        self.current = (self.current + 1) % len(self.people)
        await self._show_person()
        self._refresh_inspector()

    def action_toggle_inspector(self) -> None:
        inspector = self.query_one(Inspector)
        inspector.display = not inspector.display

    def action_focus_composer(self) -> None:
        self.query_one("#composer", Input).focus()

    # -- engine tools: decision tables, knowledge bases, slots --------------------------
    #: action -> the capability a bot needs for the action to apply, and what to call such a bot
    ENGINE_ACTIONS: ClassVar[dict[str, tuple[type, str]]] = {
        "decision_table": (TableBot, "decision-table bot"),
        "knowledge_base": (KnowledgeBot, "bot with a knowledge base"),
        "add_to_knowledge_base": (KnowledgeBot, "bot with a knowledge base"),
        "set_slot": (SlotBot, "form bot"),
        "regenerate": (ModelBot, "model bot"),
        "model_settings": (ModelBot, "model bot"),
    }

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Engine tools are left out of the footer of tasks without such a bot; Stop shows only
        while a reply is being generated (otherwise Esc focuses the composer)."""
        if action == "cancel_generation":
            return self._generating()
        if action in self.ENGINE_ACTIONS:
            return bool(bots_with(self.wb_task, self.ENGINE_ACTIONS[action][0]))
        return True

    def _generating(self) -> bool:
        s = self.person.session if self.person else None
        return s is not None and self.runner is not None and self.runner.generating(s.conversation_id)

    @property
    def editor(self) -> BotEditor:
        """Edits of the task's tables and knowledge bases, announced to the runner."""
        return BotEditor(self.wb_task, self.runner)

    def _bot_for(self, action: str) -> str | None:
        """The bot an engine tool acts on: the current world's first, else the task's first."""
        capability, what = self.ENGINE_ACTIONS[action]
        world = self.person.session.world if self.person and self.person.session else None
        bots = bots_with(self.wb_task, capability, bot_tools.world_bots(self.wb_task, world))
        if not bots:
            self.notify(f"This task has no {what}.", severity="warning")
        return bots[0] if bots else None

    def action_decision_table(self) -> None:
        bot = self._bot_for("decision_table")
        if bot is None:
            return
        from workbench.screens.decision_table import DecisionTableScreen

        s = self.person.session if self.person else None
        data = {**(self.wb_task.spec.data or {}), **(s.data if s else {})}
        self.app.push_screen(DecisionTableScreen(self.wb_task, bot, data, editor=self.editor))

    def action_knowledge_base(self) -> None:
        bot = self._bot_for("knowledge_base")
        if bot is not None:
            from workbench.screens.knowledge_base import KnowledgeBaseScreen

            self.app.push_screen(KnowledgeBaseScreen(self.wb_task, bot, editor=self.editor))

    def action_add_to_knowledge_base(self) -> None:
        s = self.person.session if self.person else None
        bot = self._bot_for("add_to_knowledge_base")
        if bot is not None and s is not None:
            self.preview_for_knowledge_base(bot, s.conversation_id)

    @work(thread=True, exit_on_error=False, group="knowledge-base", name="preview-conversation-for-kb")
    def preview_for_knowledge_base(self, bot: str, conversation_id: str) -> None:
        """The exchanges F6 would add, to choose from (built off the UI thread)."""
        try:
            previews = self.editor.preview_exchanges(bot, conversation_id)
        except Exception as exc:  # said to the person, never a traceback
            self.notify(f"Could not read the conversation: {exc}", severity="error", timeout=10)
            return
        self.app.call_from_thread(self._choose_exchanges, bot, conversation_id, previews)

    def _choose_exchanges(self, bot: str, conversation_id: str, previews: list[Any]) -> None:
        if not previews:
            self.notify("Nothing to add yet: the conversation has no question answered by the bot.")
            return
        from workbench.screens.kb_preview import KBPreviewScreen

        def chosen(ids: list[str] | None) -> None:
            if ids:
                self.add_to_knowledge_base(bot, conversation_id, ids)
            elif ids is not None:
                self.notify("Nothing ticked: nothing added.")

        self.app.push_screen(KBPreviewScreen(bot, conversation_id, previews), chosen)

    @work(thread=True, exit_on_error=False, group="knowledge-base", name="add-conversation-to-kb")
    def add_to_knowledge_base(self, bot: str, conversation_id: str, ids: list[str]) -> None:
        try:
            added = self.editor.add_chosen_exchanges(bot, conversation_id, ids)
        except Exception as exc:  # said to the person, never a traceback
            self.notify(f"Could not add the conversation: {exc}", severity="error", timeout=10)
            return
        self.notify(
            f"Added {len(added)} Q/A(s) from conversation {conversation_id} to {bot}'s knowledge base, "
            "unverified (verify them in the knowledge-base browser, ctrl+b)."
        )

    def action_set_slot(self) -> None:
        bot = self._bot_for("set_slot")
        panel = bot_tools.panel_of(self.query_one(Inspector), bot) if bot else None
        if bot is not None and panel is None:
            self.notify(f"{bot} does not speak in this world.", severity="warning")
        elif isinstance(panel, SlotPanel):  # a slot bot's panel (bot_tools.panel_class)
            panel.action_set_slot()

    @on(SlotPanel.SetSlotRequested)
    def _ask_for_slot(self, event: SlotPanel.SetSlotRequested) -> None:
        from workbench.screens.set_slot import SetSlotScreen

        panel = event.panel
        self.app.push_screen(
            SetSlotScreen(event.rows, event.requested),
            lambda choice: choice is not None and panel.apply(choice.slot, choice.value),
        )

    # -- model bots: stop, regenerate, settings for this conversation ------------------------
    def action_cancel_generation(self) -> None:
        s = self.person.session if self.person else None
        if s is not None and self.runner is not None and self.runner.cancel_generation(s.conversation_id):
            self.notify("Stopping the reply")

    def action_regenerate(self) -> None:
        s = self.person.session if self.person else None
        bot = self._bot_for("regenerate")
        if bot is not None and s is not None:
            self.run_worker(self._regenerate(s.conversation_id, bot), group="regenerate", exit_on_error=False)

    async def _regenerate(self, conversation_id: str, bot: str) -> None:
        try:
            replies = await self.runner.regenerate(conversation_id, bot)
        except LookupError:
            self.notify(f"{bot} does not speak in this world now.", severity="warning")
            return
        except Exception as exc:  # said to the developer, never a traceback
            self.notify(f"Could not regenerate: {exc}", severity="error", timeout=10)
            return
        if not replies:
            self.notify(f"{bot} has no reply to generate again yet.", severity="warning")

    def action_model_settings(self) -> None:
        s = self.person.session if self.person else None
        bot = self._bot_for("model_settings")
        if bot is None or s is None or self.runner is None:
            return
        from workbench.screens.model_settings import ModelSettingsScreen

        engine = self.wb_task.engine(bot)
        cid = s.conversation_id
        state = self.runner.bot_state(cid, bot) or engine.initial_state()

        def saved(new_state: dict[str, Any] | None) -> None:
            if new_state is not None:
                self.run_worker(self._set_model_state(cid, bot, new_state), group="model-settings", exit_on_error=False)

        apply = lambda prompt, params: engine.with_settings(state, prompt, params)
        self.app.push_screen(ModelSettingsScreen(bot, engine.settings(state), apply), saved)

    async def _set_model_state(self, conversation_id: str, bot: str, state: dict[str, Any]) -> None:
        try:
            await self.runner.set_bot_state(conversation_id, bot, state)
        except Exception as exc:
            self.notify(f"Could not store the settings: {exc}", severity="error", timeout=10)
            return
        self.notify(f"{bot} uses the new settings from its next turn in this conversation")

    def on_unmount(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
