"""A person whose socket drops comes back with their session id and carries on: while the
conversation is live (nothing sent meanwhile is lost), after the grace period, after a restart."""

from __future__ import annotations

from support import copy_sample, wait_for
from support.servers import connect


async def _in_echo(c) -> str:
    reply = await c.hello()
    await c.text("Welcome to the overworld demo")
    await c.say("echo", "Echo demo")
    await c.say("one", "one")
    return reply["session"]


async def test_a_dropped_socket_comes_back_to_the_live_conversation(serve, tmp_path) -> None:
    server = await serve(copy_sample("overworld_demo", tmp_path))
    async with connect(server.ws_url) as c:
        sid = await _in_echo(c)
    await wait_for(lambda: server.runner.sessions[sid].detached, what="the session to be detached")
    async with connect(server.ws_url) as c:
        reply = await c.hello(sid)
        assert reply == {**reply, "session": sid, "resumed": True}
        await c.say("two", "two")  # still in the echo world, no onboarding again
    assert [m["text"] for m in server.store.messages(sid) if m["role"] == "human"][-3:] == ["echo", "one", "two"]


async def test_what_is_sent_while_away_arrives_on_return(serve, tmp_path) -> None:
    server = await serve(copy_sample("overworld_demo", tmp_path))
    async with connect(server.ws_url) as b:
        async with connect(server.ws_url) as a:
            sid = (await a.hello())["session"]
            await b.send({"text": ""})
            for c in (a, b):
                await c.text("Welcome to the overworld demo")
                await c.send({"text": "chat"})
            await a.text("You are connected")
            await b.text("You are connected")
        await wait_for(lambda: server.runner.sessions[sid].detached, what="a to be detached")
        await b.send({"text": "are you still there?"})
        await b.send({"text": "hello??"})
        # both sides of a chat are stored in each person's conversation: a's has them once relayed
        await wait_for(
            lambda: "hello??" in [m["text"] for m in server.store.messages(sid)], what="b's messages relayed to a"
        )
        async with connect(server.ws_url) as a:
            await a.hello(sid)
            await a.text("are you still there?")
            await a.text("hello??")
            await a.send({"text": "back now"})
            await b.text("back now")


async def test_after_the_grace_period_the_conversation_resumes_from_the_store(serve, tmp_path) -> None:
    server = await serve(copy_sample("overworld_demo", tmp_path), settings={"resume_grace": 0.2})
    async with connect(server.ws_url) as c:
        sid = await _in_echo(c)
    await wait_for(lambda: sid not in server.runner.sessions, what="the grace period to end the session")
    assert server.store.conversation(sid)["status"] == "ended"
    async with connect(server.ws_url) as c:
        reply = await c.hello(sid, history=10)
        assert reply["resumed"] is True
        # the history comes right after the hello, so before the answer to a new message
        await c.say("after the grace period", "after the grace period")
        history = [f for f in c.frames if f.get("history")]
        assert [(f["role"], f["text"]) for f in history][-2:] == [("human", "one"), ("world", "one")]


async def test_a_parlai_client_without_hello_ends_when_it_leaves(serve, tmp_path) -> None:
    server = await serve(copy_sample("overworld_demo", tmp_path))
    async with connect(server.ws_url) as c:
        await c.send({"text": ""})
        await c.text("Welcome to the overworld demo")
        assert len(server.runner.sessions) == 1
    await wait_for(lambda: not server.runner.sessions, what="the session to end")


async def test_a_second_connection_takes_the_conversation_over(serve, tmp_path) -> None:
    server = await serve(copy_sample("overworld_demo", tmp_path))
    async with connect(server.ws_url) as first:
        sid = await _in_echo(first)
        async with connect(server.ws_url) as second:
            await second.hello(sid)
            err = await first.until(lambda f: "error" in f)
            assert err["error"]["code"] == "resumed_elsewhere"
            assert await first.closed() == (4001, "resumed elsewhere")
            await second.say("mine now", "mine now")
            assert server.runner.sessions[sid].detached is False


async def test_the_conversation_resumes_after_a_restart(serve, tmp_path) -> None:
    task = copy_sample("overworld_demo", tmp_path)
    db = tmp_path / "restart.db"
    server = await serve(task, db=db)
    async with connect(server.ws_url) as c:
        sid = await _in_echo(c)
        await c.say("two", "two")
        await server.stop()
        await c.closed()
    server = await serve(task, db=db)
    async with connect(server.ws_url) as c:
        reply = await c.hello(sid, history=100)
        assert reply["resumed"] is True
        # the history comes right after the hello, so before the answer to a new message
        await c.say("three", "three")
        texts = [f["text"] for f in c.frames if f.get("history") and f["role"] == "human"]
        assert texts[-3:] == ["echo", "one", "two"]
