"""Whole conversations through the webhook and the Send API's local double."""

from __future__ import annotations

import base64
import logging

import support.messenger as ev
from support import copy_sample, write_task

from workbench.services.messenger.outgoing import MAX_TEXT_CHARS, split_text


async def test_echo_task_conversation_with_mark_seen_and_typing_before_each_reply(messenger, tmp_path) -> None:
    s = await messenger(copy_sample("echo", tmp_path))
    await s.say(ev.text("200", "hello"))
    await s.until(lambda: s.graph.texts("200") == ["hello"])
    await s.say(ev.text("200", "how are you?"))
    await s.until(lambda: s.graph.texts("200") == ["hello", "how are you?"])

    sent = s.graph.sent("200")
    kinds = [b.get("sender_action") or b["message"]["text"] for b in sent]
    assert kinds == ["mark_seen", "typing_on", "hello", "mark_seen", "typing_on", "how are you?"]
    for body in sent:
        assert body["recipient"] == {"id": "200"}
    for body in (b for b in sent if "message" in b):
        assert body["messaging_type"] == "RESPONSE"

    sessions = list(s.ctx.runner.sessions.values())
    assert [(x.person, x.channel) for x in sessions] == [("200", "messenger")]
    stored = s.ctx.store.messages(sessions[0].conversation_id)
    assert [(m["role"], m["text"]) for m in stored] == [
        ("human", "hello"),
        ("bot", "hello"),
        ("human", "how are you?"),
        ("bot", "how are you?"),
    ]
    assert stored[0]["act"]["meta"]["channel"] == "messenger"
    assert s.graph.rejected == []


async def test_each_sender_is_a_person_of_their_own(messenger, tmp_path) -> None:
    s = await messenger(copy_sample("echo", tmp_path))
    await s.say(ev.text("201", "one"), ev.text("202", "two"), ev.text("201", "three"))
    await s.until(lambda: s.graph.texts("201") == ["one", "three"] and s.graph.texts("202") == ["two"])
    people = sorted(x.person for x in s.ctx.runner.sessions.values())
    assert people == ["201", "202"]


async def test_overworld_demo_menu_by_quick_reply_payload(messenger, tmp_path) -> None:
    s = await messenger(copy_sample("overworld_demo", tmp_path))
    await s.say(ev.text("300", "hi"))  # a first message starts the overworld; it is not a choice
    await s.until(lambda: len(s.graph.messages("300")) == 1)
    menu = s.graph.messages("300")[0]
    assert menu["text"].startswith("Welcome to the overworld demo")
    assert menu["quick_replies"] == [
        {"content_type": "text", "title": t, "payload": t} for t in ("echo", "onboard data", "chat", "EXIT")
    ]

    await s.say(ev.quick_reply("300", "echo", "echo"))
    await s.until(lambda: "Echo demo: I repeat what you say. Send [DONE] to go back." in s.graph.texts("300"))
    await s.settle()
    await s.say(ev.text("300", "ping"))
    await s.until(lambda: s.graph.texts("300")[-1] == "ping")
    await s.say(ev.text("300", "[DONE]"))
    await s.until(lambda: len([t for t in s.graph.texts("300") if t.startswith("Welcome")]) == 2)

    # the onboarding demo through quick reply and typed answers
    await s.settle()
    await s.say(ev.quick_reply("300", "onboard data", "onboard data"))
    await s.until(lambda: s.graph.texts("300")[-1] == "Welcome to the onboarding world. What is your name?")
    await s.say(ev.text("300", "Ada"))
    await s.until(lambda: s.graph.texts("300")[-1] == "What is your favourite colour?")
    await s.say(ev.text("300", "green"))
    await s.until(lambda: any("Your name is Ada and your favourite colour is green" in t for t in s.graph.texts("300")))
    assert s.graph.rejected == []


async def test_a_postback_is_a_message(messenger, tmp_path) -> None:
    s = await messenger(copy_sample("echo", tmp_path))
    await s.say(ev.postback("301", "GET_STARTED"))
    await s.until(lambda: s.graph.texts("301") == ["GET_STARTED"])
    cid = next(iter(s.ctx.runner.sessions))
    first = s.ctx.store.messages(cid)[0]["act"]
    assert first["meta"]["kind"] == "postback" and first["meta"]["title"] == "Get Started"


async def test_long_text_is_split_on_word_boundaries(messenger, tmp_path) -> None:
    s = await messenger(copy_sample("echo", tmp_path))
    words = [f"word{i:04d}" for i in range(600)]  # 5,399 characters
    long_text = " ".join(words)
    await s.say(ev.text("400", long_text))
    await s.until(lambda: len(s.graph.texts("400")) == 3)
    pieces = s.graph.texts("400")
    assert all(0 < len(p) <= MAX_TEXT_CHARS for p in pieces)
    assert " ".join(pieces).split(" ") == words  # no word cut, none lost
    assert s.graph.actions("400") == ["mark_seen", "typing_on"]  # one typing indicator per reply


def test_split_text_edge_cases() -> None:
    assert split_text("") == []
    assert split_text("short") == ["short"]
    assert split_text("x" * 4500) == ["x" * 2000, "x" * 2000, "x" * 500]
    exact = "a" * 2000 + " " + "b"
    assert split_text(exact) == ["a" * 2000, "b"]
    lines = "\n".join(["line"] * 1000)
    assert all(len(p) <= 2000 for p in split_text(lines))
    assert "".join(split_text(lines)).replace("\n", "") == "line" * 1000


MANY = """
name: many
bots:
  echo: {engine: echo, prefix: "echo: "}
worlds:
  overworld:
    type: menu
    text: Pick one
    options:
OPTIONS
  echo: {type: bot_chat, bot: echo}
"""


async def test_quick_replies_are_cut_to_messenger_limits_and_a_cut_title_still_works(
    messenger, tmp_path, caplog
) -> None:
    labels = [f"Option number {i} with a long label" for i in range(15)]
    labels[12] = "Talk to the echo bot please"
    options = "\n".join(f'      "{label}": {"echo" if i == 12 else "overworld"}' for i, label in enumerate(labels))
    task = write_task(tmp_path / "many", MANY.replace("OPTIONS", options))
    s = await messenger(task)
    with caplog.at_level(logging.WARNING, logger="workbench.services.messenger"):
        await s.say(ev.text("500", "hi"))
        await s.until(lambda: len(s.graph.messages("500")) == 1)
    qrs = s.graph.messages("500")[0]["quick_replies"]
    assert len(qrs) == 13
    assert all(len(q["title"]) <= 20 and q["content_type"] == "text" for q in qrs)
    assert [q["payload"] for q in qrs] == labels[:13]
    assert qrs[12]["title"] == "Talk to the echo bo…"
    assert "at most 13" in caplog.text

    await s.say(ev.quick_reply("500", qrs[12]["title"], qrs[12]["payload"]))
    await s.settle()
    await s.say(ev.text("500", "still there?"))
    await s.until(lambda: "echo: still there?" in s.graph.texts("500"))
    assert s.graph.rejected == []


async def test_an_incoming_image_is_a_payload_and_goes_back_by_url(messenger, tmp_path) -> None:
    s = await messenger(copy_sample("echo", tmp_path))
    await s.say(ev.attachment("600", "image", "https://example.com/cat.png"))
    await s.until(lambda: len(s.graph.messages("600")) == 1)
    assert s.graph.messages("600")[0] == {
        "attachment": {"type": "image", "payload": {"url": "https://example.com/cat.png", "is_reusable": True}}
    }
    cid = next(iter(s.ctx.runner.sessions))
    act = s.ctx.store.messages(cid)[0]["act"]
    assert act["payload"] == {"type": "image", "url": "https://example.com/cat.png"}
    assert act["meta"]["kind"] == "attachment"


PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 64).decode()

UPLOADING = """
name: uploading
bots:
  artist: {engine: python, name: Artist}
worlds:
  draw: {type: bot_chat, bot: artist}
"""

ARTIST = f'''
from workbench import bot

PNG = "{PNG}"

@bot("Artist")
class Artist:
    def observe(self, msg):
        self.text = msg["text"]

    def act(self):
        if self.text == "upload":
            return {{"text": "Here it is.", "payload": {{"type": "image", "data": PNG, "mime_type": "image/png"}},
                    "quick_replies": ["again", "stop"]}}
        if self.text == "by url":
            return {{"text": "", "payload": {{"type": "image", "url": "https://example.com/a.png", "upload": True}}}}
        return {{"text": "say upload"}}
'''


async def test_attachments_by_upload_and_personas(messenger, tmp_path) -> None:
    task = write_task(tmp_path / "uploading", UPLOADING, ARTIST)
    personas = {"artist": {"name": "The Artist", "profile_picture_url": "https://example.com/artist.png"}}
    s = await messenger(task, settings={"personas": personas})
    await s.say(ev.text("700", "upload"))
    await s.until(lambda: len(s.graph.messages("700")) == 2)

    uploads = [r for r in s.graph.requests if r["endpoint"] == "message_attachments"]
    assert len(uploads) == 1
    assert uploads[0]["mode"] == "file" and uploads[0]["mime_type"] == "image/png" and uploads[0]["size"] == 72
    text_part, image_part = s.graph.messages("700")
    assert text_part == {"text": "Here it is."}
    assert image_part["attachment"] == {"type": "image", "payload": {"attachment_id": uploads[0]["attachment_id"]}}
    assert [q["payload"] for q in image_part["quick_replies"]] == ["again", "stop"]

    # the persona was created once, and every reply and typing indicator carries it
    created = [r for r in s.graph.requests if r["endpoint"] == "personas"]
    assert [r["body"] for r in created] == [
        {"name": "The Artist", "profile_picture_url": "https://example.com/artist.png"}
    ]
    persona_id = created[0]["id"]
    bodies = [b for b in s.graph.sent("700") if b.get("sender_action") != "mark_seen"]
    assert bodies and all(b.get("persona_id") == persona_id for b in bodies)

    # by URL, uploaded once and reused
    await s.say(ev.text("700", "by url"))
    await s.until(lambda: len(s.graph.messages("700")) == 3)
    await s.say(ev.text("700", "by url"))
    await s.until(lambda: len(s.graph.messages("700")) == 4)
    url_uploads = [r for r in s.graph.requests if r["endpoint"] == "message_attachments" and r["mode"] == "url"]
    assert len(url_uploads) == 1
    assert s.graph.messages("700")[3]["attachment"]["payload"] == {"attachment_id": url_uploads[0]["attachment_id"]}
    assert s.graph.rejected == []

    # the server deletes the personas it created when it stops
    await s.server.stop()
    assert s.graph.deleted_personas == [persona_id]


async def test_5xx_answers_are_retried_and_4xx_are_logged_without_harm(messenger, tmp_path, caplog) -> None:
    s = await messenger(copy_sample("echo", tmp_path), settings={"typing": False, "mark_seen": False})
    s.graph.fail_next(500, times=2)
    await s.say(ev.text("800", "retry me"))
    await s.until(lambda: s.graph.texts("800") == ["retry me"])
    failed = [r for r in s.graph.requests if r.get("failed")]
    assert [r["failed"] for r in failed] == [500, 500]

    s.graph.fail_next(400, message="(#100) No matching user found", code=100)
    with caplog.at_level(logging.ERROR, logger="workbench.services.messenger"):
        await s.say(ev.text("800", "lost"))
        await s.until(lambda: "No matching user found" in caplog.text)
    assert "the Graph API refused a reply to 800: HTTP 400, code 100: (#100) No matching user found" in caplog.text
    assert "fbtrace_id AbCdEfGh" in caplog.text

    # more failures than retries: given up and logged, the conversation goes on
    s.graph.fail_next(502, times=4)
    with caplog.at_level(logging.ERROR, logger="workbench.services.messenger"):
        await s.say(ev.text("800", "gone"))
        await s.until(lambda: "after 4 attempts" in caplog.text)
    await s.say(ev.text("800", "still works"))
    await s.until(lambda: s.graph.texts("800") == ["retry me", "still works"])


async def test_a_wrong_page_token_is_reported_clearly(messenger, tmp_path, monkeypatch, caplog) -> None:
    monkeypatch.setenv("WORKBENCH_FB_PAGE_TOKEN", "stale-token")
    s = await messenger(copy_sample("echo", tmp_path), settings={"typing": False, "mark_seen": False})
    with caplog.at_level(logging.ERROR, logger="workbench.services.messenger"):
        await s.say(ev.text("801", "hello"))
        await s.until(lambda: "Invalid OAuth access token" in caplog.text)
    assert "stale-token" not in caplog.text
    assert s.graph.rejected[0]["reason"].startswith("Invalid OAuth access token")


async def test_conversations_resume_after_a_restart(messenger, tmp_path) -> None:
    task = copy_sample("overworld_demo", tmp_path)
    db = tmp_path / "restart.db"
    first = await messenger(task, db=db)
    await first.say(ev.text("900", "hi"))
    await first.until(lambda: len(first.graph.messages("900")) == 1)
    await first.say(ev.quick_reply("900", "echo", "echo"))
    await first.until(lambda: any(t.startswith("Echo demo") for t in first.graph.texts("900")))
    await first.settle()
    cid = next(iter(first.ctx.runner.sessions))
    await first.server.stop()
    # the person heard about the shutdown
    await first.until(lambda: any("shutting down" in t for t in first.graph.texts("900")))

    second = await messenger(task, db=db)
    await second.say(ev.text("900", "still echoing?"))
    await second.until(lambda: first.graph.texts("900")[-1] == "still echoing?")
    [session] = second.ctx.runner.sessions.values()
    assert session.conversation_id == cid and session.world == "echo"


LOCKED = """
name: locked
password: open sesame
bots:
  echo: {engine: echo}
worlds:
  overworld: {type: menu, text: Pick one, options: {Echo: echo}}
  echo: {type: bot_chat, bot: echo}
"""


async def test_a_first_message_may_be_the_password(messenger, tmp_path) -> None:
    s = await messenger(write_task(tmp_path / "locked", LOCKED))
    await s.say(ev.text("950", "open sesame"))  # straight in, as in ParlAI
    await s.until(lambda: s.graph.texts("950") == ["Pick one"])
    await s.say(ev.text("951", "let me in"))
    await s.until(lambda: len(s.graph.texts("951")) == 2)
    prompt, refusal = s.graph.texts("951")
    assert prompt == "Please send the password to continue." and "not the password" in refusal


async def test_after_exit_the_next_message_starts_a_new_conversation(messenger, tmp_path) -> None:
    s = await messenger(copy_sample("overworld_demo", tmp_path))
    await s.say(ev.text("960", "hi"))
    await s.until(lambda: len(s.graph.messages("960")) == 1)
    first = next(iter(s.ctx.runner.sessions))
    await s.say(ev.quick_reply("960", "EXIT", "EXIT"))
    await s.until(lambda: s.graph.texts("960")[-1] == "Goodbye!")
    await s.until(lambda: s.ctx.runner.sessions == {}, what="the conversation to end")
    await s.until(lambda: "960" not in s.service.people, what="the person to be forgotten")
    await s.say(ev.text("960", "hello again"))
    await s.until(lambda: len([t for t in s.graph.texts("960") if t.startswith("Welcome")]) == 2)
    [again] = s.ctx.runner.sessions
    assert again != first
    assert s.ctx.store.conversation(first)["status"] == "ended"
