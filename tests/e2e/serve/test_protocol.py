"""The websocket protocol: ParlAI's frames, images, the opt-in hello and debug frames, and the
rest of ParlAI's chat-service behaviour (password, next/EXIT, eligibility, roles, shutdown)."""

from __future__ import annotations

import base64
import sqlite3

from support import copy_sample, write_task
from support.servers import connect

from workbench.services.server import SHUTDOWN_TEXT

PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
        "0000000d49444154789c6360f8cfc0f01f0005000201a5f1bd9b0000000049454e44ae426082"
    )
).decode()

ECHO = """
name: echo
bots:
  echo: {engine: echo, greeting: "Hi, I echo."}
worlds:
  echo: {type: bot_chat, bot: echo}
"""

BEHAVIOURS_YML = """
name: behaviours
start: overworld
worlds:
  overworld: {type: python, world: Menu}
  vip: {type: python, world: VipWorld}
  relay: {type: python, world: RelayWorld}
  finale: {type: python, world: Finale}
  pair: {type: python, world: PairWorld, agents_required: 2}
"""

BEHAVIOURS_PY = """
from workbench.runtime.worlds import EXIT, World


class Menu(World):
    def __init__(self, opt, agent):
        super().__init__(opt, agent)
        self.first = True

    def parley(self):
        if self.first:
            self.first = False
            self.agent.observe({"id": "Menu", "text": "Pick a world.", "quick_replies": ["vip", "relay", "pair", "nowhere"]})
        a = self.agent.act()
        if a is None:
            self.episodeDone = True
            return None
        if a["text"] == "make me vip":
            self.agent.data["vip"] = True
            self.agent.observe({"id": "Menu", "text": "You are a VIP now."})
            return None
        self.episodeDone = True
        return a["text"]


class VipWorld(World):
    @staticmethod
    def eligibility_function(agent):
        return bool(agent.data.get("vip"))

    def parley(self):
        self.agent.observe({"id": "VIP", "text": "Welcome to the VIP lounge."})
        self.episodeDone = True


class RelayWorld(World):
    def parley(self):
        self.agent.observe({"id": "Relay", "text": "Sending you on to the finale."})
        self.episodeDone = True
        return "finale"


class Finale(World):
    def parley(self):
        self.agent.observe({"id": "Finale", "text": "That is all. Bye!"})
        self.episodeDone = True
        return EXIT


class PairWorld(World):
    @staticmethod
    def assign_roles(agents):
        for a, role in zip(agents, ["Teller", "Listener"]):
            a.disp_id = role

    def __init__(self, opt, agents):
        super().__init__(opt, agents)

    def parley(self):
        for a in self.agents:
            a.observe({"id": "Pair", "text": f"You are the {a.disp_id}."})
        self.episodeDone = True
"""


async def test_server_frames_follow_parlai(serve, tmp_path) -> None:
    server = await serve(write_task(tmp_path / "echo", ECHO))
    async with connect(server.ws_url) as c:
        await c.send({"text": ""})
        greeting = await c.text("Hi, I echo.")
        assert greeting == {"text": "Hi, I echo.", "quick_replies": None, "id": "echo"}
        # ParlAI's image frame: empty text and a payload; the echo bot sends it back
        image = {"type": "image", "data": PNG, "mime_type": "image/png"}
        await c.send({"text": "", "payload": image})
        echoed = await c.until(lambda f: "payload" in f, what="the echoed image")
        assert echoed["payload"] == image and echoed["text"] == ""
        assert all("text" in f for f in c.frames)


async def test_hello_gives_a_session_and_debug_sends_traces(serve, tmp_path) -> None:
    server = await serve(write_task(tmp_path / "echo", ECHO))
    async with connect(server.ws_url) as c:
        reply = await c.hello()
        assert reply["text"] == "" and reply["resumed"] is False and len(reply["session"]) >= 8
        assert reply["limits"]["max_frame_bytes"] == 65536
        await c.text("Hi, I echo.")
        # a second hello without an id (or with the same one) just repeats the id
        assert (await c.hello())["session"] == reply["session"]
        await c.send({"hello": {"session": "someone-else"}})
        late = await c.until(lambda f: "error" in f)
        assert late["error"]["code"] == "hello_too_late"

        await c.send({"debug": True})
        await c.until(lambda f: f.get("debug", {}).get("enabled") is True)
        await c.send({"text": "trace me"})
        answer = await c.text("trace me")
        debug = [f["debug"] for f in c.frames if "debug" in f]
        kinds = [d["event"] for d in debug]
        assert "acknowledged" in kinds and "state" in kinds
        state = next(d for d in debug if d["event"] == "state")
        assert state["bot"] == "echo" and state["trace"] == {"engine": "echo", "turn": 1}
        # the trace comes before the reply it explains
        assert c.frames.index(answer) > max(
            i for i, f in enumerate(c.frames) if f.get("debug", {}).get("event") == "state"
        )
        assert all(f["text"] == "" for f in c.frames if "debug" in f)

        await c.send({"debug": False})
        await c.until(lambda f: f.get("debug", {}).get("enabled") is False)
        off = len(c.frames)
        await c.say("quiet now", "quiet now")
        await c.say("still quiet", "still quiet")  # whatever the first turn sent has arrived by now
        assert not any("debug" in f for f in c.frames[off:])


async def test_hello_with_an_unknown_session_starts_a_new_one(serve, tmp_path) -> None:
    server = await serve(write_task(tmp_path / "echo", ECHO))
    async with connect(server.ws_url) as c:
        await c.send({"hello": {"session": "no-such-conversation"}})
        err = await c.until(lambda f: "error" in f)
        assert err["error"]["code"] == "unknown_session" and "no-such-conversation" in err["text"]
        reply = await c.until(lambda f: "session" in f)
        assert reply["resumed"] is False and reply["session"] != "no-such-conversation"


async def test_password_first_frame_or_prompt(serve, tmp_path) -> None:
    server = await serve(write_task(tmp_path / "echo", ECHO), password="sesame")
    async with connect(server.ws_url) as c:
        # as in ParlAI, a first message that is the password lets the person straight in
        await c.send({"text": "sesame"})
        await c.text("Hi, I echo.")
        assert not any("password" in f["text"] for f in c.frames)
    async with connect(server.ws_url) as c:
        await c.send({"text": "hello?"})
        await c.text("Please send the password")
        await c.say("open up", "That is not the password")
        await c.say("sesame", "Hi, I echo.")
        await c.say("now we talk", "now we talk")
    stored = sqlite3.connect(server.db).execute("SELECT text FROM messages").fetchall()
    assert not any("sesame" in (t or "") for (t,) in stored), "the password must not be stored as typed"


async def test_next_world_exit_unknown_world_and_eligibility(serve, tmp_path) -> None:
    server = await serve(write_task(tmp_path / "b", BEHAVIOURS_YML, BEHAVIOURS_PY))
    async with connect(server.ws_url) as c:
        await c.send({"text": ""})
        await c.text("Pick a world.")
        # an overworld naming an unknown world: the person hears about it, then the menu again
        await c.say("nowhere", "There is no world named 'nowhere'")
        await c.text("Pick a world.")
        # eligibility_function in worlds.py
        await c.say("vip", "not eligible for vip")
        await c.text("Pick a world.")
        await c.say("make me vip", "You are a VIP now.")
        await c.say("vip", "Welcome to the VIP lounge.")
        await c.text("Pick a world.")
        # a task world sends the person on to another world, which ends the session with EXIT
        await c.say("relay", "Sending you on to the finale.")
        await c.text("That is all. Bye!")
        assert await c.closed() == (1000, "conversation ended")


async def test_assign_roles_names_the_people_of_a_pair(serve, tmp_path) -> None:
    server = await serve(write_task(tmp_path / "b", BEHAVIOURS_YML, BEHAVIOURS_PY))
    async with connect(server.ws_url) as a, connect(server.ws_url) as b:
        for c in (a, b):
            await c.send({"text": ""})
            await c.text("Pick a world.")
            await c.send({"text": "pair"})
        roles = {(await a.text("You are the"))["text"], (await b.text("You are the"))["text"]}
        assert roles == {"You are the Teller.", "You are the Listener."}


async def test_live_people_hear_the_shutdown_and_get_a_closing_frame(serve, tmp_path) -> None:
    server = await serve(copy_sample("overworld_demo", tmp_path))
    async with connect(server.ws_url) as a, connect(server.ws_url) as idle:
        await a.send({"text": ""})
        await a.text("Welcome to the overworld demo")
        await a.say("echo", "Echo demo")
        await server.stop()
        assert (await a.text(SHUTDOWN_TEXT))["id"] == "System"
        assert await a.closed() == (1001, "server shutting down")
        # a socket that never started a conversation is closed too
        assert (await idle.closed())[0] == 1001


async def test_a_world_timeout_ends_the_world_and_the_person_hears_it(serve, tmp_path) -> None:
    task = write_task(
        tmp_path / "slow",
        """
        name: timeouts
        start: menu
        bots:
          echo: {engine: echo}
        worlds:
          menu: {type: menu, text: "Pick one.", options: {Talk: talk}}
          talk: {type: bot_chat, bot: echo, timeout: 0.3}
    """,
    )
    server = await serve(task)
    async with connect(server.ws_url) as c:
        await c.send({"text": ""})
        await c.text("Pick one.")
        await c.send({"text": "Talk"})
        await c.say("quick", "quick")
        await c.text("This conversation timed out.", timeout=5)
        await c.text("Pick one.")
