"""A websocket client walks ParlAI's overworld demo as a ParlAI client would."""

from __future__ import annotations

from support import copy_sample
from support.servers import connect


async def test_first_frame_starts_the_overworld_and_is_not_a_menu_choice(serve, tmp_path) -> None:
    server = await serve(copy_sample("overworld_demo", tmp_path))
    async with connect(server.ws_url) as c:
        # ParlAI's terminal client sends its id with every frame; "echo" here must not pick the echo demo
        await c.send({"id": "0b9e", "text": "echo"})
        menu = await c.text("Welcome to the overworld demo")
        assert menu["quick_replies"] == ["echo", "onboard data", "chat", "EXIT"]
        # the next message is still answered by the menu, and nothing came in between: the
        # first frame was not taken as a choice (the echo demo would have greeted)
        again = await c.say("nonsense", "That is not one of the demos")
        assert c.frames[c.frames.index(menu) + 1 :] == [again]
        assert all("text" in f for f in c.frames)


async def test_menu_to_echo_and_back(serve, tmp_path) -> None:
    server = await serve(copy_sample("overworld_demo", tmp_path))
    async with connect(server.ws_url) as c:
        await c.send({"text": ""})
        await c.text("Welcome to the overworld demo")
        await c.say("echo", "Echo demo: I repeat what you say")
        reply = await c.say("hello there", "hello there")
        assert reply == {"text": "hello there", "quick_replies": None, "id": "World"}
        menu = await c.say("[DONE]", "Welcome to the overworld demo")
        assert menu["quick_replies"]
        await c.say("nonsense", "That is not one of the demos")
        await c.send({"text": "EXIT"})
        await c.text("Goodbye!")
        assert await c.closed() == (1000, "conversation ended")
        assert all("text" in f for f in c.frames)


async def test_onboarding_data_reaches_the_task_world(serve, tmp_path) -> None:
    server = await serve(copy_sample("overworld_demo", tmp_path))
    async with connect(server.ws_url) as c:
        await c.send({"text": ""})
        await c.text("Welcome to the overworld demo")
        await c.say("onboard data", "What is your name?")
        await c.say("Ada", "What is your favourite colour?")
        await c.say("green", "Your name is Ada and your favourite colour is green")
        await c.text("Welcome to the overworld demo")


async def test_a_chat_between_two_people(serve, tmp_path) -> None:
    server = await serve(copy_sample("overworld_demo", tmp_path))
    async with connect(server.ws_url) as a, connect(server.ws_url) as b:
        for c in (a, b):
            await c.send({"text": ""})
            await c.text("Welcome to the overworld demo")
        await a.say("chat", "You will be paired with another person")
        await a.text("Waiting for other people")
        await b.say("chat", "You will be paired with another person")
        await a.text("You are connected")
        await b.text("You are connected")
        await a.send({"text": "hi, who are you?"})
        got = await b.text("hi, who are you?")
        assert got["id"] in ("Person 1", "Person 2")  # the world's assign_roles named them
        await b.send({"text": "a stranger"})
        assert (await a.text("a stranger"))["id"] != got["id"]
        await b.send({"text": "[DONE]"})
        await a.text("ended the chat")
        await a.text("Welcome to the overworld demo")
        await b.text("Welcome to the overworld demo")


async def test_a_person_waiting_for_a_partner_can_leave_with_exit(serve, tmp_path) -> None:
    server = await serve(copy_sample("overworld_demo", tmp_path))
    async with connect(server.ws_url) as a, connect(server.ws_url) as b:
        await a.send({"text": ""})
        await a.text("Welcome to the overworld demo")
        await a.say("chat", "Waiting for other people")
        # as in ParlAI: what a waiting person says is answered, not kept for the chat
        await a.say("anyone?", "Please wait while we pair you with another person. If you wish to exit, type EXIT.")
        await a.say("EXIT", "You left the queue.")
        await a.text("Welcome to the overworld demo")
        # nobody is left in the pool: b waits alone, then a comes back and they are paired
        await b.send({"text": ""})
        await b.text("Welcome to the overworld demo")
        await b.say("chat", "Waiting for other people")
        await a.say("chat", "You are connected")
        await b.text("You are connected")
        await a.send({"text": "hi b"})
        assert (await b.text("hi b"))["text"] == "hi b"
        assert not any("anyone?" in f["text"] for f in b.frames)
