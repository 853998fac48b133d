"""The worlds a task declares in YAML: menu, onboarding, bot_chat, human_chat.

All are async: a person waiting in one costs a coroutine, not a thread.
"""

from __future__ import annotations

import asyncio
import html
import re
from typing import Any

from workbench.io.files import PAGE_LIMIT, read_text
from workbench.message import Message
from workbench.runtime.agents import BotAgent, HumanAgent, TurnFailed
from workbench.runtime.worlds.base import EXIT, World

#: what a ``session.takeover`` callable returns when the developer hands the
#: conversation back before answering: the bot then answers the message itself
HAND_BACK = object()
#: told to a person in a human_chat whose message could not be stored in a partner's conversation
NOT_DELIVERED_TEXT = "Sorry, your last message could not be delivered to {partner}."


def _text_of_file(path) -> str:
    """An agreement file as plain text (HTML tags dropped, entities decoded)."""
    raw = read_text(path, PAGE_LIMIT, "agreement page")
    if path.suffix.lower() in (".html", ".htm"):
        raw = re.sub(r"<(script|style)\b.*?</\1>", "", raw, flags=re.S | re.I)
        raw = re.sub(r"<br\s*/?>|</p>|</h\d>|</li>", "\n", raw, flags=re.I)
        raw = html.unescape(re.sub(r"<[^>]+>", "", raw))
        raw = re.sub(r"\n\s*\n+", "\n\n", raw)
    return raw.strip()


class DeclaredWorld(World):
    #: the people in the world: a declared world has at least one, and its bots run on the loop
    agents: list[HumanAgent]
    agent: HumanAgent
    bots: dict[str, BotAgent]

    def __init__(self, spec: Any, agents: list, name: str, task: Any = None, bots: dict | None = None) -> None:
        super().__init__(task.spec.opt if task else {}, agents)
        self.spec = spec
        self.name = name
        self.task = task
        self.bots = bots or {}

    async def ask(self, agent: HumanAgent, timeout: float | None = None) -> Message | None:
        # without a timeout the agent waits up to the world's (set by the runner), and
        # running out of it marks the agent timed out so the runner tells the person
        return await agent.act(timeout)


class MenuWorld(DeclaredWorld):
    """An overworld: offers options as quick replies, returns the chosen world's name."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.first = True

    def _match(self, text: str) -> str | None:
        choice = text.strip().casefold()
        for label, target in self.spec.options.items():
            if choice == label.casefold():
                return target
        for _label, target in self.spec.options.items():
            if choice == str(target).casefold():
                return target
        return None

    async def parley(self) -> str | None:
        agent = self.agent
        labels = list(self.spec.options)
        if self.first:
            self.first = False
            await agent.observe(Message(id=self.name, text=self.spec.text, quick_replies=labels))
        msg = await self.ask(agent)
        if msg is None:
            self.episodeDone = True
            return None
        target = self._match(msg.text)
        if target is None:
            text = self.spec.invalid_text.format(options=", ".join(labels))
            await agent.observe(Message(id=self.name, text=text, quick_replies=labels))
            return None
        self.episodeDone = True
        if target == EXIT:
            await agent.observe(Message(id=self.name, text=self.spec.goodbye, episode_done=True))
        else:
            await agent.session.flush()
        return target


class OnboardingWorld(DeclaredWorld):
    """Agreement, consent checkboxes and questions; answers go to ``agent.data``."""

    declined = False

    async def parley(self) -> None:
        agent, spec = self.agent, self.spec
        self.episodeDone = True
        intro = []
        if spec.text:
            intro.append(spec.text)
        if spec.agreement:
            intro.append(_text_of_file(self.task.path(spec.agreement)))
        for text in intro:
            await agent.observe(Message(id=self.name, text=text))
        consent = agent.data.setdefault("consent", {})
        for key, statement in spec.checkboxes.items():
            while True:
                await agent.observe(Message(id=self.name, text=statement, quick_replies=[spec.yes, spec.no]))
                msg = await self.ask(agent)
                if msg is None:
                    self.declined = True
                    return
                answer = msg.text.strip().casefold()
                if answer in (spec.yes.casefold(), "y", "yes", "true", "1", "[x]", "x"):
                    consent[key] = True
                    break
                if answer in (spec.no.casefold(), "n", "no", "false", "0", "[ ]"):
                    consent[key] = False
                    self.declined = True
                    agent.session.save_data()
                    await agent.observe(Message(id=self.name, text=spec.declined_text))
                    return
        for q in spec.questions:
            while True:
                await agent.observe(Message(id=self.name, text=q.text, quick_replies=q.choices))
                msg = await self.ask(agent)
                if msg is None:
                    self.declined = True
                    return
                answer = msg.text.strip()
                if q.choices:
                    pick = next((c for c in q.choices if c.casefold() == answer.casefold()), None)
                    if pick is None:
                        await agent.observe(
                            Message(id=self.name, text=f"Please answer one of: {', '.join(q.choices)}.")
                        )
                        continue
                    answer = pick
                agent.data[q.key] = answer
                break
        agent.session.save_data()
        if spec.done_text:
            await agent.observe(
                Message(
                    id=self.name,
                    text=spec.done_text.format(**{k: v for k, v in agent.data.items() if isinstance(v, str)}),
                )
            )
        else:
            await agent.session.flush()


class BotChatWorld(DeclaredWorld):
    """A person and a bot, until the person sends the done word or the bot ends the episode."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.started = False
        self.bot: BotAgent = self.bots[self.spec.bot]

    async def _say(self, replies: list[Message]) -> None:
        human = self.agent
        for r in replies:
            r["_role"] = "bot"
            await human.observe(r)
            if r.get("episode_done"):
                self.episodeDone = True

    async def parley(self) -> None:
        human = self.agent
        if not self.started:
            self.started = True
            if self.spec.text:
                await human.observe(
                    Message(
                        id=self.name,
                        text=self.spec.text.format(**{k: v for k, v in human.data.items() if isinstance(v, str)}),
                    )
                )
            await self._say(await self.bot.greet())
            if self.episodeDone:
                return
        msg = await self.ask(human)
        if msg is None:
            self.episodeDone = True
            return
        if self.spec.done_word and msg.text.strip() == self.spec.done_word:
            self.episodeDone = True
            if self.spec.done_text:
                await human.observe(Message(id=self.name, text=self.spec.done_text))
            else:
                await human.session.flush()
            return
        takeover = human.session.takeover
        if takeover is not None:
            # a developer answers in the bot's place (TUI); the engine is not stepped
            await human.session.flush()
            reply = await takeover(msg)
            if reply is HAND_BACK:
                # handed back before answering: the bot answers this message after all
                await self._say(await self.bot.respond(msg))
            elif reply is not None:
                await self._say([Message.coerce(reply)])
            return
        await self._say(await self.bot.respond(msg))


class HumanChatWorld(DeclaredWorld):
    """N people relaying messages to each other until one sends the done word."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.started = False
        self._reads: dict[asyncio.Task, HumanAgent] = {}

    async def parley(self) -> None:
        if not self.started:
            self.started = True
            if self.spec.text:
                for a in self.agents:
                    partners = ", ".join(b.disp_id for b in self.agents if b is not a)
                    await a.observe(Message(id=self.name, text=self.spec.text.format(partners=partners)))
        waiting = {a for a in self._reads.values()}
        for a in self.agents:
            if a not in waiting:
                self._reads[asyncio.ensure_future(self.ask(a))] = a
        done, _ = await asyncio.wait(list(self._reads), return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            sender = self._reads.pop(t)
            exc = t.exception()
            if exc is not None:
                await self._end(sender, left=True)
                raise exc
            msg = t.result()
            if msg is None or msg.text.strip() == self.spec.done_word:
                await self._end(sender, left=msg is None)
                return
            # stored in the sender's conversation first: a message that cannot be stored is the
            # sender's failed turn (TurnFailed) and reaches nobody
            await sender.session.flush()
            for other in self.agents:
                if other is not sender:
                    relay = Message(msg)
                    relay["id"] = sender.disp_id
                    relay["_role"] = "human"
                    try:
                        await other.observe(relay)
                    except TurnFailed:
                        # the partner's conversation goes on without it; the sender hears so
                        sender.session.notify(NOT_DELIVERED_TEXT.format(partner=other.disp_id))

    async def _end(self, sender: HumanAgent, left: bool) -> None:
        self.episodeDone = True
        for t in self._reads:
            t.cancel()
        self._reads.clear()
        await sender.session.flush()
        for other in self.agents:
            if other is not sender:
                await other.observe(Message(id=self.name, text=self.spec.left_text.format(agent=sender.disp_id)))

    async def shutdown(self) -> None:
        for t in self._reads:
            t.cancel()


DECLARED = {
    "menu": MenuWorld,
    "onboarding": OnboardingWorld,
    "bot_chat": BotChatWorld,
    "human_chat": HumanChatWorld,
}
