"""A breakpoint on a state pauses a live conversation over the websocket (a real server on
127.0.0.1): the person's message is held and what they send meanwhile waits, a hand edit of
the bot's state is applied, and continuing answers from the edited state with nothing lost."""

from __future__ import annotations

from typing import Any

from support import wait_for
from support.servers import connect

from workbench.runtime.debugger import Breakpoint

LOCKED = "If your account is locked you need to call our customer service at 800 000 000"
WHAT = "What seems to be the problem exactly?"
RESET = "We can reset your password by sending you a message to your registered e-mail address. Please type your email address:"


async def test_a_state_breakpoint_pauses_a_websocket_conversation(serve, helpdesk) -> None:
    server = await serve(helpdesk)
    runner = server.runner
    events: list[Any] = []
    runner.subscribe(lambda e: events.append(e) if e.kind in ("paused", "resumed") else None)
    runner.breakpoints.add(Breakpoint("state", "account_locked", bot="desk"))
    async with connect(server.ws_url) as c:
        await c.send({"text": ""})
        await c.text("Hello and welcome")
        await c.send({"text": "my account is locked"})
        await wait_for(lambda: any(e.kind == "paused" for e in events), what="the pause")
        paused = events[0]
        cid = paused.session.conversation_id
        assert paused.fields["reasons"] == ["entered account_locked"]
        # sent while the bot holds its reply: it waits in the person's inbox
        await c.send({"text": "and I forgot my password"})
        await wait_for(lambda: paused.session.inbox.qsize() == 1, what="the second message queued")
        stored = [r["text"] for r in server.store.messages(cid)]
        assert "my account is locked" not in stored  # held, not yet committed
        # a hand edit: account_locked has had its two visits, so it can no longer be entered
        state = runner.bot_state(cid, "desk")
        await runner.set_bot_state(cid, "desk", {**state, "counts": {**state["counts"], "account_locked": 2}})
        assert runner.breakpoints.resume(cid)
        await c.text(WHAT)
        await c.text(RESET)
    texts = [f.get("text") for f in c.frames if f.get("text")]
    assert LOCKED not in texts and texts.index(WHAT) < texts.index(RESET)
    assert events[-1].kind == "resumed" and events[-1].fields["edited"] is True
    await wait_for(lambda: len(server.store.messages(cid)) >= 5, what="the turns stored")
    said = [(r["role"], r["text"]) for r in server.store.messages(cid)]
    assert said[1:5] == [
        ("human", "my account is locked"),
        ("bot", WHAT),
        ("human", "and I forgot my password"),
        ("bot", RESET),
    ]
    assert [h.source for h in server.store.state_history(cid, "desk")][:3] == ["turn", "hand", "turn"]
