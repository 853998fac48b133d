"""A person's conversation: their inbox, what they were sent, and where they are.

A session is the unit the store keeps (one conversation) and the unit a
service drives: put the person's messages in with :meth:`Session.put`,
receive what they are sent through the ``deliver`` callback.

A turn that cannot be completed (its transaction fails, the bot's step raises)
raises :class:`TurnFailed` naming the session it belongs to: the runner ends that
turn for that person and every conversation goes on.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from workbench.io.untrusted import UntrustedInput, clean_value
from workbench.message import Message
from workbench.runtime.group_commit import GroupCommit
from workbench.store import Commit, ConversationMoved, Record, Store

if TYPE_CHECKING:
    from workbench.engines.streaming import ReplyStream

log = logging.getLogger(__name__)

Deliver = Callable[[Message], Awaitable[None] | None]


@runtime_checkable
class DeltaOutlet(Protocol):
    """A channel that shows a reply while it is generated: ``delta`` gets each piece of bot
    ``bot``'s reply ``stream``; the final message (whose ``meta.stream`` is that id) follows
    through the usual delivery. A channel without it receives the final message only."""

    def delta(self, bot: str, stream: str, text: str) -> None: ...


_CLOSE = object()
#: how deeply a person's message may nest (channels check their own, tighter limits first)
MAX_MESSAGE_DEPTH = 64


class Disconnected(Exception):
    """The person left (closed the socket, end of input, server shutting down)."""


class TurnFailed(Exception):
    """One turn of ``session``'s conversation could not be completed: its messages were not
    stored (nor sent), or its bot's step raised. It ends that turn, not the conversation,
    and never another person's."""

    def __init__(self, session: Session, cause: BaseException, what: str = "storing the turn") -> None:
        super().__init__(f"{what} failed: {type(cause).__name__}: {cause}")
        self.session = session
        self.cause = cause
        self.what = what


class Session:
    def __init__(
        self,
        runner: Any,
        conversation_id: str,
        person: str,
        channel: str,
        deliver: Deliver | None,
        data: dict[str, Any] | None = None,
        store: Store | None = None,
        epoch: int | None = None,
    ) -> None:
        self.runner = runner
        self.conversation_id = conversation_id
        self.person = person
        self.channel = channel
        self._deliver = deliver
        self.data: dict[str, Any] = data if data is not None else {}
        self.store = store
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.world: str | None = None
        self.world_instance: str | None = None
        self._pending: list[Record] = []
        self._committed: collections.OrderedDict[str, None] = collections.OrderedDict()
        self.closed = False
        #: True while the person's world waits for their next message
        self.waiting = False
        #: True while the person waits in a pool for others to join
        self.pooled = False
        #: commits of this conversation waiting for their (group) transaction
        self.committing = 0
        self._closed_event: asyncio.Event | None = None
        self.last_active = asyncio.get_event_loop().time()
        self.task: asyncio.Task | None = None
        #: a developer taking over the bot's side (TUI); None normally
        self.takeover: Any = None
        #: True while the person's channel is gone but may come back (see :meth:`detach`)
        self.detached = False
        self._outbox: collections.deque[Message] = collections.deque(maxlen=500)
        #: the conversation's epoch when this process took it (None: writes are not fenced);
        #: once another process claims the conversation, this one's writes are refused
        self.epoch = epoch
        #: True once another process has taken the conversation over (see :meth:`release`)
        self.moved = False
        #: the bot reply being generated for this person now (workbench/engines/streaming.py)
        self.generation: ReplyStream | None = None
        self._delta_out: DeltaOutlet | None = deliver if isinstance(deliver, DeltaOutlet) else None

    # -- where the person is ----------------------------------------------
    def where(self) -> dict[str, Any]:
        return {"world": self.world, "world_instance": self.world_instance}

    def enter(self, world: str, instance: str) -> None:
        self.world, self.world_instance = world, instance
        self._update(world=world)
        self.emit("world", world=world, instance=instance)

    def save_data(self) -> None:
        self._update(data=self.data)

    def _update(self, **columns: Any) -> None:
        if self.store and not self.moved:
            if not self.store.update_conversation(self.conversation_id, fence=self.epoch, **columns):
                if self.epoch is not None:
                    self.release()

    def release(self) -> None:
        """Another process has taken the conversation over: this one lets it go without
        writing anything more (the person is with the other process now)."""
        if not self.moved:
            self.moved = True
            log.info("conversation %s moved to another process", self.conversation_id)
        self.close()

    # -- input --------------------------------------------------------------
    def put(self, message: Message | dict | str) -> None:
        """A service hands over what the person sent (the task's safety rules apply first)."""
        self.last_active = asyncio.get_event_loop().time()
        # every channel checks at its edge; this is the floor under all of them: no string a
        # person sends can hold what the store cannot encode (an unpaired surrogate, a NUL)
        try:
            msg = clean_value(Message.coerce(message), max_depth=MAX_MESSAGE_DEPTH)
        except UntrustedInput as exc:
            self.notify(f"That message was refused: {exc.message}.")
            return
        safety = getattr(self.runner, "safety", None)
        if safety is not None:
            msg = safety.incoming(self, msg)
            if msg is None:  # blocked, or a command such as /report: handled, not queued
                return
        self.inbox.put_nowait(msg)
        # the person moved on: the reply being generated is no longer what they wait for
        self.cancel_generation("new_message")

    def close(self) -> None:
        """The person left; whatever waits for their next message is woken."""
        if not self.closed:
            self.closed = True
            self.inbox.put_nowait(_CLOSE)
            if self._closed_event is not None:
                self._closed_event.set()
            self.cancel_generation("closed")

    async def wait_closed(self) -> None:
        if self._closed_event is None:
            self._closed_event = asyncio.Event()
            if self.closed:
                self._closed_event.set()
        await self._closed_event.wait()

    async def receive(self, timeout: float | None = None) -> Message:
        if self.closed and self.inbox.empty():
            raise Disconnected(self.person)
        self.waiting = True
        try:
            if timeout is None:
                item = await self.inbox.get()
            else:
                item = await asyncio.wait_for(self.inbox.get(), timeout)
        finally:
            self.waiting = False
        if item is _CLOSE:
            self.inbox.put_nowait(_CLOSE)  # every later receive sees it too
            raise Disconnected(self.person)
        return item

    def poll(self) -> Message | None:
        """The next message if one is waiting, else ``None`` (never blocks)."""
        try:
            item = self.inbox.get_nowait()
        except asyncio.QueueEmpty:
            return None
        if item is _CLOSE:
            self.inbox.put_nowait(_CLOSE)
            raise Disconnected(self.person)
        return item

    @property
    def idle(self) -> bool:
        """Nothing in flight: the world waits for the person and their inbox is empty."""
        return self.closed or ((self.waiting or self.pooled) and self.inbox.empty() and not self.committing)

    def hold(self, record: Record) -> None:
        """Keep a received message until the turn it belongs to commits."""
        self._pending.append(record)
        self.emit("message", record=record, committed=False)

    # -- output -------------------------------------------------------------
    def mark_committed(self, message: Message) -> None:
        self._committed[message.uid] = None
        while len(self._committed) > 256:
            self._committed.popitem(last=False)

    async def commit(self, records: list[Record], states: list[tuple[str, dict]] | None = None) -> None:
        """Store held messages + ``records`` + engine ``states`` in one transaction."""
        batch = self._pending + records
        self._pending = []
        if self.store is not None and (batch or states):
            if self.moved:
                raise Disconnected(self.person)
            commit = Commit(
                records={self.conversation_id: batch},
                states=[(self.conversation_id, bot, st) for bot, st in (states or [])],
                fences={} if self.epoch is None else {self.conversation_id: self.epoch},
            )
            # with the turns of every other conversation of this loop pass, in one transaction
            self.committing += 1
            try:
                await GroupCommit.of(self.store).commit(commit)
            except ConversationMoved:
                # nothing of the turn was stored; the process that took it over answers the person
                self.release()
                raise Disconnected(self.person) from None
            except Exception as exc:
                # nothing of the turn was stored, so nothing of it is sent: the turn fails alone
                raise TurnFailed(self, exc) from exc
            finally:
                self.committing -= 1
        for rec in batch:
            self.mark_committed(rec.message)
            if rec.role != "human":
                self.emit("message", record=rec, committed=True)
            else:
                self.emit("acknowledged", record=rec)

    async def flush(self) -> None:
        """Commit what is held (a world ending on the person's last message)."""
        if self._pending:
            await self.commit([])

    async def send(self, message: Message, role: str = "world") -> None:
        """Commit (if not yet) then deliver ``message`` to the person."""
        safety = getattr(self.runner, "safety", None)
        if safety is not None:
            message = safety.outgoing(self, message)
        if message.uid not in self._committed:
            await self.commit([Record(message, agent=message.get("id"), role=role, **self.where())])
        if not self.closed:
            out = Message(message)
            out.uid = message.uid
            result = self._hand_over(out)
            if result is not None:
                await result

    def notify(self, text: str) -> None:
        """Tell the person something outside the conversation (not stored): a safety notice, say."""
        self.emit("notice", text=text)
        if not self.closed:
            result = self._hand_over(Message(id="System", text=text))
            if asyncio.iscoroutine(result):
                asyncio.ensure_future(result)

    # -- a reply being generated ---------------------------------------------------------
    def begin_stream(self, out: ReplyStream) -> None:
        """A bot starts generating a reply for this person (a person already gone cancels it)."""
        self.generation = out
        if self.closed or self.detached:
            out.cancel("closed")

    def end_stream(self, out: ReplyStream) -> None:
        if self.generation is out:
            self.generation = None

    def cancel_generation(self, reason: str = "cancelled") -> bool:
        """Stop the reply being generated (it is stored as cancelled); False when there is none."""
        out = self.generation
        return out is not None and out.cancel(reason)

    def delta(self, bot: str, out: ReplyStream, text: str) -> None:
        """A piece of ``bot``'s reply: a ``delta`` event, and the channel if it shows replies as
        they come. Not to the person while the task has outgoing safety rules: those apply
        to whole messages, so the person gets the checked final message only."""
        self.emit("delta", bot=bot, stream=out.id, delta=text)
        outlet = self._delta_out
        if outlet is not None and not self.closed:
            safety = getattr(self.runner, "safety", None)
            if safety is None or not safety.rules.get("outgoing"):
                outlet.delta(bot, out.id, text)

    def _hand_over(self, message: Message) -> Any:
        if self._deliver is None:
            if self.detached:
                self._outbox.append(message)  # delivered when the person comes back
            return None
        result = self._deliver(message)
        if asyncio.iscoroutine(result):
            return self._await_delivery(result)
        return None

    async def _await_delivery(self, result: Awaitable[None]) -> None:
        try:
            await result
        except Exception:  # a broken channel must not break the world
            log.exception("delivering to %s failed", self.person)

    # -- the channel comes and goes (websocket resume) ------------------------------
    def detach(self) -> None:
        """The person's channel dropped but they may come back: keep what they are sent."""
        self._deliver = None
        self._delta_out = None
        self.detached = True
        self.cancel_generation("closed")

    async def attach(self, deliver: Deliver, replay: bool = True) -> None:
        """Connect the person's (new) channel; what was sent while detached goes first
        (``replay=False`` drops it: the channel re-sends the stored history instead)."""
        self._deliver = deliver
        self._delta_out = deliver if isinstance(deliver, DeltaOutlet) else None
        self.detached = False
        self.last_active = asyncio.get_event_loop().time()
        if not replay:
            self._outbox.clear()
        while self._outbox and self._deliver is deliver:
            result = self._hand_over(self._outbox.popleft())
            if result is not None:
                await result

    def emit(self, kind: str, **fields: Any) -> None:
        if self.runner is not None:
            self.runner.emit(kind, self, **fields)
