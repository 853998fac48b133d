"""The Runner: moves each person overworld -> onboarding -> task world -> back.

Everything runs on one asyncio loop. Declarative and ``async`` Python worlds
are coroutines, so thousands of idle conversations cost no thread; ParlAI-style
synchronous worlds run in a thread pool of ``max_workers`` threads. People are
pooled for worlds that need several of them, and at most ``max_workers`` task
worlds run at once.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workbench.message import Message
from workbench.runtime.agents import BotAgent, Disconnected, HumanAgent, TurnFailed
from workbench.runtime.debugger import Breakpoints
from workbench.runtime.one_shot import OneShot, OneShotTurn
from workbench.runtime.safety import Safety
from workbench.runtime.session import Deliver, Session
from workbench.runtime.worlds.base import EXIT, build_world
from workbench.runtime.worlds.sync import SyncAgent
from workbench.store import Commit, Record, Store, new_id

if TYPE_CHECKING:
    from workbench.task.loader import Task

log = logging.getLogger(__name__)


@dataclass
class Event:
    """Something that happened, for observers such as the TUI's inspector."""

    # message | acknowledged | state | world | session_start | session_end | error | notice | safety
    # | delta (a piece of a bot's reply being generated: bot, stream, delta)
    kind: str
    session: Session | None
    fields: dict[str, Any] = field(default_factory=dict)


#: told to a person who writes while waiting in a pool (ParlAI's words)
POOL_WAIT_TEXT = "Please wait while we pair you with another person. If you wish to exit, type EXIT."
#: told to a person whose turn could not be completed (nothing of it was stored or sent)
TURN_FAILED_TEXT = "Sorry, that message could not be handled; please send it again."
#: turns of one person that may fail in one world before that person is taken out of it
MAX_FAILED_TURNS = 5
TOO_MANY_FAILED_TEXT = "Sorry, too many of your messages could not be handled; this conversation has ended."


@dataclass
class _Waiting:
    session: Session
    agent: HumanAgent
    future: asyncio.Future


class Runner:
    def __init__(
        self, task: Task, store: Store | None = None, max_workers: int | None = None, password: str | None = None
    ) -> None:
        self.task = task
        self.store = store
        self.max_workers = max_workers or task.spec.max_workers
        #: a person must send this before anything else (ParlAI's --password)
        self.password = password if password is not None else task.spec.password
        #: the task's safety rules; sessions apply them to what people send and receive
        self.safety = Safety.for_task(task)
        self.sessions: dict[str, Session] = {}
        self._pools: dict[str, list[_Waiting]] = {}
        self._listeners: list[Callable[[Event], None]] = []
        self._slots: asyncio.Semaphore | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._overworld_executor: ThreadPoolExecutor | None = None
        self.running_worlds = 0
        self.stopping = False
        #: (conversation, bot) -> the BotAgent speaking in that conversation's world now
        self._live_bots: dict[tuple[str, str], BotAgent] = {}
        self._one_shot: OneShot | None = None
        #: turns held at a developer's breakpoints (workbench/runtime/debugger.py)
        self.breakpoints = Breakpoints()

    # -- observers ------------------------------------------------------------
    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def emit(self, kind: str, session: Session | None, **fields: Any) -> None:
        if not self._listeners:
            return
        event = Event(kind, session, fields)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # an observer's bug must not stop a conversation
                log.exception("event listener failed")

    def waiting(self, world: str) -> list[Session]:
        """The sessions waiting in ``world``'s pool for partners, first come first."""
        return [w.session for w in self._pools.get(world, [])]

    # -- engine state of live conversations ------------------------------------
    def bot_state(self, conversation_id: str, bot: str) -> dict[str, Any] | None:
        """``bot``'s engine state in a conversation: the live bot's, else the stored one."""
        agent = self._live_bots.get((conversation_id, bot))
        if agent is not None:
            return agent.state
        return self.store.state(conversation_id, bot) if self.store is not None else None

    async def set_bot_state(self, conversation_id: str, bot: str, state: dict[str, Any]) -> bool:
        """Replace ``bot``'s engine state in a conversation (a developer trying a path).

        The state is committed at once; a bot speaking in the conversation's world
        now continues from it at its next turn (a turn already running finishes
        with its own). Emits a ``state`` event with ``by_hand=True`` and no trace.
        Returns True when a live bot took the state, False when only the store did.
        """
        if self.store is not None:
            self.store.commit(Commit(states=[(conversation_id, bot, state)], state_source="hand"))
        agent = self._live_bots.get((conversation_id, bot))
        if agent is not None:
            agent.state = state
        self.emit("state", self.sessions.get(conversation_id), bot=bot, state=state, trace=None, by_hand=True)
        return agent is not None

    # -- model bots: stop or redo a reply ---------------------------------------------------
    def cancel_generation(self, conversation_id: str, reason: str = "developer") -> bool:
        """Stop the reply being generated in a conversation (stored as cancelled); False if none is."""
        session = self.sessions.get(conversation_id)
        return session is not None and session.cancel_generation(reason)

    def generating(self, conversation_id: str) -> bool:
        """Whether a bot is generating a reply in the conversation now."""
        session = self.sessions.get(conversation_id)
        return session is not None and session.generation is not None

    async def regenerate(self, conversation_id: str, bot: str | None = None) -> list[Message]:
        """Answer the last message of a live conversation again (a model bot speaking in it now):
        the new reply is committed and delivered; the earlier one stays, kept as an alternative.
        Raises LookupError when no such bot speaks there now; [] when it has no reply to redo."""
        agent = next(
            (
                a
                for (cid, name), a in self._live_bots.items()
                if cid == conversation_id and (bot is None or name == bot) and a.streams
            ),
            None,
        )
        if agent is None:
            raise LookupError(f"no model bot{' ' + bot if bot else ''} speaks in conversation {conversation_id} now")
        replies = await agent.regenerate()
        for reply in replies:
            await agent.owner.send(reply, role="bot")
        return replies

    # -- one-shot turns (channels without a live connection) ---------------------
    async def one_shot(
        self, message: Message, *, person: str, channel: str, bot: str, world: str = "one_shot"
    ) -> OneShotTurn:
        """One turn of ``person``'s conversation with ``bot`` on ``channel``: the message in,
        the replies out, through the same safety rules, events and group commit as a live
        world (workbench/runtime/one_shot.py). Turns of one person on one channel run in order."""
        if self._one_shot is None:
            self._one_shot = OneShot(self)
        return await self._one_shot.turn(message, person=person, channel=channel, bot=bot, world=world)

    # -- people come and go ---------------------------------------------------
    def _ensure_started(self) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_workers)
            self._executor = ThreadPoolExecutor(self.max_workers, thread_name_prefix="world")
            self._overworld_executor = ThreadPoolExecutor(256, thread_name_prefix="overworld")

    async def connect(
        self,
        deliver: Deliver | None = None,
        *,
        person: str | None = None,
        channel: str = "local",
        conversation_id: str | None = None,
        resume: bool = False,
        start: bool = True,
        world: str | None = None,
    ) -> Session:
        """A person arrives. With ``resume``, continue ``conversation_id`` where it was;
        ``world`` starts them in that world instead of the task's first one."""
        self._ensure_started()
        resume_world = None
        data: dict[str, Any] = {}
        epoch: int | None = None
        store = self.store
        if resume and conversation_id and store is not None:
            conv = await self._storing(store.conversation, conversation_id)
            if conv is None:
                raise LookupError(f"no conversation {conversation_id!r} in {store.path}")
            person = person or conv["person"]
            data = conv["data"]
            resume_world = conv.get("world")
            # this process takes the conversation: one that had it can no longer write to it
            epoch = await self._storing(store.claim_conversation, conversation_id)
            if epoch is None:
                raise LookupError(f"no conversation {conversation_id!r} in {store.path}")
        else:
            person = person or f"person-{uuid.uuid4().hex[:6]}"
            if store is not None:
                conversation_id = await self._storing(
                    store.new_conversation, self.task.name, person, channel, conversation_id=conversation_id
                )
                epoch = 0
            else:
                conversation_id = conversation_id or new_id()
        session = Session(self, conversation_id, person, channel, deliver, data=data, store=store, epoch=epoch)
        self.sessions[conversation_id] = session
        self.emit("session_start", session, resumed=bool(resume_world))
        if start:
            session.task = asyncio.ensure_future(self._life(session, resume_world, world))
        return session

    async def _storing(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A store call: in a worker thread when the store is a server over the network (a
        round trip must not hold up every other conversation), inline for a local file."""
        if getattr(self.store, "remote", False):
            return await asyncio.to_thread(call, *args, **kwargs)
        return call(*args, **kwargs)

    async def holds(self, session: Session) -> bool:
        """Whether this process still holds ``session``'s conversation: False once another
        process (an instance behind the same load balancer) has claimed it since."""
        if self.store is None or session.epoch is None:
            return True
        conv = await asyncio.to_thread(self.store.conversation, session.conversation_id)
        return conv is not None and conv.get("epoch", session.epoch) == session.epoch

    async def disconnect(self, session: Session, wait: float = 5.0) -> None:
        session.close()
        if session.task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(session.task), wait)
            except (TimeoutError, Exception):
                pass

    async def stop(self, message: str | None = None, wait: float = 5.0) -> None:
        """Tell live people (if ``message``), close every session, finish turns in flight."""
        self.stopping = True
        sessions = list(self.sessions.values())
        if message:
            for s in sessions:
                try:
                    await s.send(Message(id="System", text=message), role="system")
                except Exception:
                    log.exception("could not tell %s about the shutdown", s.person)
        for s in sessions:
            s.close()
        tasks = [s.task for s in sessions if s.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=wait)
        for t in tasks:
            t.cancel()
        for ex in (self._executor, self._overworld_executor):
            if ex is not None:
                ex.shutdown(wait=False, cancel_futures=True)

    async def wait_idle(self, sessions: list[Session] | None = None, timeout: float = 10.0) -> bool:
        """Wait until ``sessions`` (default: all) wait for input; False if ``timeout`` passes first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        # a few loop turns first, so a message just put is picked up
        for _ in range(3):
            await asyncio.sleep(0)
        while loop.time() < deadline:
            group = sessions if sessions is not None else list(self.sessions.values())
            if all(s.idle for s in group):
                await asyncio.sleep(0)
                if all(s.idle for s in group):
                    return True
            await asyncio.sleep(0.002)
        return False

    # -- a person's life ------------------------------------------------------
    def _resume_point(self, world: str | None) -> str:
        start = self.task.start_world
        if not world:
            return start
        spec = self.task.worlds.get(world)
        if spec is None or spec.type == "onboarding" or spec.agents_required > 1 or world.endswith("/onboarding"):
            return start
        return world

    async def _life(self, session: Session, resume_world: str | None, first_world: str | None = None) -> None:
        agent = HumanAgent(session)
        current = self._resume_point(resume_world) if resume_world else (first_world or self.task.start_world)
        skip_onboarding = resume_world is not None
        try:
            if self.password and not session.data.get("_password_ok"):
                await self._check_password(session, agent)
            while not session.closed and not self.stopping:
                if current == EXIT:
                    break
                spec = self.task.worlds.get(current)
                if spec is None:
                    await session.send(
                        Message(id="System", text=f"There is no world named {current!r}; back to the start."),
                        role="system",
                    )
                    self.emit("error", session, error=f"unknown world {current!r}")
                    current = self.task.start_world
                    continue
                if spec.onboarding and not skip_onboarding:
                    ok = await self._onboard(spec.onboarding, session, agent)
                    if not ok:
                        current = self.task.start_world if current != self.task.start_world else current
                        if session.closed:
                            break
                        continue
                skip_onboarding = False
                if not self._eligible(current, spec, agent):
                    await session.send(
                        Message(id="System", text=f"Sorry, you are not eligible for {spec.title or current}."),
                        role="system",
                    )
                    if current == self.task.start_world:
                        break
                    current = self.task.start_world
                    continue
                if spec.agents_required > 1:
                    outcome, nxt = await self._pool(current, spec, session, agent)
                    if outcome == "timeout":
                        current = nxt or self.task.start_world
                        skip_onboarding = False
                        continue
                else:
                    nxt = await self._run_world(current, [session], [agent])
                current = nxt or self.task.start_world
        except Disconnected:
            pass
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("conversation %s failed", session.conversation_id)
            self.emit("error", session, error=f"{type(exc).__name__}: {exc}")
            try:
                await session.send(
                    Message(id="System", text="Sorry, something went wrong on our side; this conversation has ended."),
                    role="system",
                )
            except Exception:
                pass
        finally:
            await self._end(session)

    async def _check_password(self, session: Session, agent: HumanAgent) -> None:
        # as in ParlAI, a first message that is the password lets the person straight in
        msg = await agent.act(0)
        if msg is None or msg.text.strip() != self.password:
            await session.send(Message(id="System", text="Please send the password to continue."), role="system")
        while True:
            if msg is None:
                msg = await agent.act(None)
            if msg is not None:
                ok = msg.text.strip() == self.password
                msg["text"] = "[password]" if ok else "[not the password]"  # never stored as typed
                if ok:
                    session.data["_password_ok"] = True
                    session.save_data()
                    await session.flush()
                    return
                await session.send(
                    Message(id="System", text="That is not the password. Please try again."), role="system"
                )
            msg = None

    def _eligible(self, name: str, spec: Any, agent: HumanAgent) -> bool:
        """ParlAI's per-world ``eligibility_function(agent)`` in worlds.py, when defined."""
        if spec.type != "python":
            return True
        check = getattr(self.task.python_world(spec.world), "eligibility_function", None)
        if not callable(check):
            return True
        try:
            return bool(check(agent))
        except Exception:
            log.exception("eligibility function of %s failed", name)
            return False

    async def _end(self, session: Session) -> None:
        try:
            await session.flush()
        except Disconnected:
            pass  # the conversation moved to another process, which has its messages
        except Exception:
            log.exception("could not store the last messages of %s", session.conversation_id)
        if self.store is not None and not session.moved:
            try:
                # fenced: a process that took the conversation over keeps it active
                await self._storing(
                    self.store.update_conversation, session.conversation_id, fence=session.epoch, status="ended"
                )
            except Exception:
                log.exception("could not close conversation %s", session.conversation_id)
        for pool in self._pools.values():
            pool[:] = [w for w in pool if w.session is not session]
        self.sessions.pop(session.conversation_id, None)
        session.closed = True
        self.emit("session_end", session)
        if session._deliver is not None:
            closing = getattr(session._deliver, "close", None)
            if closing is not None:
                result = closing()
                if inspect.isawaitable(result):
                    await result

    async def _onboard(self, name: str, session: Session, agent: HumanAgent) -> bool:
        world = await self._run_world(name, [session], [agent], want_world=True)
        session.save_data()  # onboarding answers outlive a restart
        return not getattr(world, "declined", False)

    async def _pool(self, name: str, spec: Any, session: Session, agent: HumanAgent) -> tuple[str, str | None]:
        loop = asyncio.get_running_loop()
        pool = self._pools.setdefault(name, [])
        me = _Waiting(session, agent, loop.create_future())
        pool.append(me)
        if len(pool) >= spec.agents_required:
            group = pool[: spec.agents_required]
            del pool[: spec.agents_required]
            run = asyncio.ensure_future(self._run_world(name, [w.session for w in group], [w.agent for w in group]))
            for w in group:
                w.future.set_result(run)
        else:
            session.enter(name, "pool")
            waiting = getattr(spec, "waiting_text", None) or "Waiting for other people to join..."
            await session.send(Message(id="System", text=waiting), role="system")
        closed = asyncio.ensure_future(session.wait_closed())
        deadline = loop.time() + spec.max_time_in_pool if spec.max_time_in_pool else None
        reader: asyncio.Future | None = None
        session.pooled = True  # idle while in the pool
        try:
            while True:
                # as in ParlAI, what a waiting person sends is not for the world: EXIT leaves the pool
                reader = asyncio.ensure_future(session.receive())
                left = None if deadline is None else max(0.0, deadline - loop.time())
                done, _ = await asyncio.wait(
                    [me.future, closed, reader], timeout=left, return_when=asyncio.FIRST_COMPLETED
                )
                if me.future.done() or reader not in done or reader.exception() is not None:
                    break
                msg = reader.result()
                reader = None
                session.hold(Record(msg, agent=agent.id, role="human", **session.where()))
                if msg.text.strip().upper() == EXIT:
                    if me in pool:
                        pool.remove(me)
                    await session.send(Message(id="System", text="You left the queue."), role="system")
                    return "left", None
                await session.send(Message(id="System", text=POOL_WAIT_TEXT), role="system")
        finally:
            session.pooled = False
            closed.cancel()
            if reader is not None:
                if not reader.done():
                    reader.cancel()
                elif not reader.cancelled() and reader.exception() is None:
                    session.inbox.put_nowait(reader.result())  # it came with the match: the world's now
        if not me.future.done():
            if me in pool:
                pool.remove(me)
            if session.closed:
                raise Disconnected(session.person)
            await session.send(Message(id="System", text="Nobody else came in time."), role="system")
            return "timeout", spec.backup_world
        run = me.future.result()
        return "ran", await asyncio.shield(run)

    # -- worlds ---------------------------------------------------------------
    def _bots_for(self, spec: Any, owner: Session) -> dict[str, BotAgent]:
        names: list[str] = []
        if spec.type == "bot_chat":
            names = [spec.bot]
        elif spec.type == "python":
            names = list(spec.bots)
        return {n: BotAgent(self.task.engine(n), n, owner, registry=self.task.registry, task=self.task) for n in names}

    def _make_world(self, name: str, spec: Any, agents: list, bots: dict, loop) -> tuple[Any, bool]:
        from workbench.runtime.worlds.declarative import DECLARED

        # the world's ``timeout`` is each person's default wait: an act() without its
        # own timeout that runs out of it ends the world and the person is told
        for a in agents:
            a.default_timeout = spec.timeout or None
        if spec.type in DECLARED:
            return DECLARED[spec.type](spec, agents, name, task=self.task, bots=bots), False
        cls = self.task.python_world(spec.world)
        sync = not inspect.iscoroutinefunction(getattr(cls, "parley", None))
        world_agents = [SyncAgent(a, loop) for a in agents] if sync else list(agents)
        assign = getattr(cls, "assign_roles", None)
        if callable(assign):
            assign(world_agents)
        world = build_world(cls, dict(self.task.spec.opt), world_agents)
        world.bots = {n: (SyncAgent(b, loop) if sync else b) for n, b in bots.items()}
        world.task = self.task
        return world, sync

    async def _acquire(self, slot: asyncio.Semaphore, sessions: list[Session]) -> None:
        """Wait for a ``max_workers`` slot; a lone person who leaves meanwhile stops waiting.

        (In a multi-person world the others still want the world, so all wait.)
        """
        if len(sessions) != 1 or not slot.locked():
            await slot.acquire()  # a free slot is taken at once, before anyone else looks
            return
        acquire = asyncio.ensure_future(slot.acquire())
        closed = asyncio.ensure_future(sessions[0].wait_closed())
        try:
            await asyncio.wait([acquire, closed], return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
        if not acquire.done():
            acquire.cancel()  # asyncio's Semaphore gives nothing to a cancelled waiter
            try:
                await acquire
            except asyncio.CancelledError:
                pass
        if acquire.done() and not acquire.cancelled():
            return
        raise Disconnected(sessions[0].person)

    async def _run_world(self, name: str, sessions: list[Session], agents: list[HumanAgent], want_world: bool = False):
        spec = self.task.worlds[name]
        loop = asyncio.get_running_loop()
        instance = new_id()
        for s in sessions:
            s.enter(name, instance)
        for a in agents:
            a.timed_out = False
        is_start = name == self.task.start_world and spec.agents_required == 1
        bots = self._bots_for(spec, sessions[0])
        live = {(sessions[0].conversation_id, n): b for n, b in bots.items()}
        world, sync = self._make_world(name, spec, agents, bots, loop)
        result: str | None = None
        slot = None if is_start else self._slots
        if slot is not None and slot.locked():
            for s in sessions:
                await s.send(
                    Message(id="System", text="All our workers are busy; you will be connected shortly."), role="system"
                )
        acquired = running = False
        self._live_bots.update(live)
        try:
            if slot is not None:
                await self._acquire(slot, sessions)
                acquired = True
            # counted once it runs: people waiting for a slot are not running worlds
            self.running_worlds += 1
            running = True
            failures: dict[Session, int] = {}
            if sync:

                def on_failure(failed: TurnFailed) -> bool:
                    return asyncio.run_coroutine_threadsafe(self._turn_failed(failed, failures), loop).result()

                executor = self._overworld_executor if is_start else self._executor
                result = await loop.run_in_executor(executor, self._sync_loop, world, agents, on_failure)
            else:
                while not world.episode_done():
                    try:
                        r = await world.parley()
                    except TurnFailed as failed:
                        if await self._turn_failed(failed, failures):
                            continue
                        break
                    if isinstance(r, str) and r:
                        result = r
                        if r == EXIT or r in self.task.worlds or world.episode_done():
                            break
                    if any(a.timed_out for a in agents):
                        break
            for a in agents:
                if a.timed_out and not a.session.closed:
                    await a.session.send(Message(id="System", text="This conversation timed out."), role="system")
        finally:
            for key, bot in live.items():
                if self._live_bots.get(key) is bot:
                    del self._live_bots[key]
            if running:
                self.running_worlds -= 1
            try:
                down = world.shutdown()
                if inspect.isawaitable(down):
                    await down
            except Exception:
                log.exception("world %s failed to shut down", name)
            if acquired and slot is not None:
                slot.release()
            for s in sessions:
                try:
                    await s.flush()
                except Exception:
                    log.exception("flush failed")
        if want_world:
            return world
        if result is not None and result != EXIT and result not in self.task.worlds:
            result = None if spec.type != "python" else result
        return result or getattr(world, "next_world", None) or spec.next

    async def _turn_failed(self, failed: TurnFailed, failures: dict[Session, int]) -> bool:
        """End the failed turn for its person only; False when the world cannot go on.

        The person is told (a notice: storing may be what failed), the message that
        broke a bot is kept when it can be, and a person whose turns keep failing is
        taken out as if they had left, so a world always ends in bounded time.
        """
        session = failed.session
        log.error("conversation %s: %s", session.conversation_id, failed, exc_info=failed.cause)
        self.emit("error", session, error=f"{type(failed.cause).__name__}: {failed.cause}")
        if session.closed:
            return False  # nobody left to tell: the world ends as if they had gone
        try:
            await session.flush()  # a bot failed: keep the person's message that it failed on
        except TurnFailed:
            pass
        failures[session] = failures.get(session, 0) + 1
        if failures[session] >= MAX_FAILED_TURNS:
            session.notify(TOO_MANY_FAILED_TEXT)
            session.close()
        else:
            session.notify(TURN_FAILED_TEXT)
        return True

    @staticmethod
    def _sync_loop(
        world: Any, agents: list[HumanAgent], on_failure: Callable[[TurnFailed], bool] | None = None
    ) -> str | None:
        result = None
        while not world.episode_done():
            try:
                r = world.parley()
            except TurnFailed as failed:
                if on_failure is None:
                    raise
                if on_failure(failed):
                    continue
                break
            if isinstance(r, str) and r:
                result = r
                break
            if any(a.timed_out for a in agents):
                break
        return result
