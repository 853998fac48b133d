"""The browser page in headless Chromium (Debian's, driven by Playwright): quick replies,
images, the typing indicator, accessible markup, and reconnecting to the same conversation."""

from __future__ import annotations

import base64
import os

import pytest
from support import copy_sample, write_task

CHROMIUM = "/usr/bin/chromium"

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)")

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201a5f1bd9b0000000049454e44ae426082"
)

SLOW_ECHO_YML = """
name: slow echo
bots:
  slow: {engine: python, name: slow}
worlds:
  echo: {type: bot_chat, bot: slow}
"""

SLOW_ECHO_PY = """
import asyncio

from workbench.task.registry import bot


@bot("slow")
class SlowEcho:
    '''Takes its time, so the page shows that it is waiting.'''

    def observe(self, message):
        self.last = message

    async def act(self):
        await asyncio.sleep(0.6)
        reply = {"text": self.last.get("text", "")}
        if self.last.get("payload"):
            reply["payload"] = self.last["payload"]
        return reply
"""


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
            timeout=30_000,
        )
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_quick_replies_and_a_reconnect_to_the_same_conversation(serve_process, tmp_path, page) -> None:
    from playwright.sync_api import expect

    server = serve_process(copy_sample("overworld_demo", tmp_path))
    page.goto(server.http_url + "/")
    status, transcript = page.locator("#status"), page.locator("#transcript")
    expect(status).to_have_text("Connected")
    expect(transcript).to_contain_text("Welcome to the overworld demo")
    replies = page.get_by_role("group", name="Suggested replies").get_by_role("button")
    expect(replies).to_have_text(["echo", "onboard data", "chat", "EXIT"])

    page.get_by_role("button", name="echo", exact=True).click()
    expect(transcript).to_contain_text("Echo demo: I repeat what you say")
    expect(replies).to_have_count(0)
    box = page.get_by_label("Your message")
    expect(box).to_be_focused()
    box.fill("hello from the browser")
    box.press("Enter")
    expect(page.locator("#transcript li.theirs").last).to_have_text("Worldhello from the browser")
    expect(box).to_have_value("")

    # the server restarts: the page hears why, reconnects by itself and resumes the conversation
    assert server.terminate() == 0
    expect(transcript).to_contain_text("The server is shutting down")
    expect(status).to_contain_text("reconnecting")
    expect(box).to_be_disabled()
    server.start()
    expect(status).to_have_text("Connected (conversation resumed)", timeout=30_000)
    box.fill("after the restart")
    box.press("Enter")
    expect(page.locator("#transcript li.theirs").last).to_have_text("Worldafter the restart")

    # a reload keeps the conversation: the transcript is repainted from the server's history
    page.reload()
    expect(status).to_have_text("Connected (conversation resumed)")
    expect(transcript).to_contain_text("hello from the browser")
    expect(transcript).to_contain_text("after the restart")
    box.fill("after the reload")
    box.press("Enter")
    expect(page.locator("#transcript li.theirs").last).to_have_text("Worldafter the reload")

    # EXIT ends the conversation: no reconnect, an offer to start again
    box.fill("[DONE]")
    box.press("Enter")
    page.get_by_role("button", name="EXIT").click()
    expect(transcript).to_contain_text("Goodbye!")
    expect(page.get_by_role("button", name="Start a new one")).to_be_visible()
    expect(status).to_have_text("Conversation ended")
    page.get_by_role("button", name="Start a new one").click()
    expect(status).to_have_text("Connected")
    expect(transcript).to_contain_text("Welcome to the overworld demo")


def test_images_typing_indicator_and_accessible_markup(serve_process, tmp_path, page) -> None:
    from playwright.sync_api import expect

    server = serve_process(write_task(tmp_path / "slow", SLOW_ECHO_YML, SLOW_ECHO_PY))
    page.goto(server.http_url + "/")
    expect(page.locator("#status")).to_have_text("Connected")

    log = page.get_by_role("log", name="Conversation")
    expect(log).to_have_attribute("aria-live", "polite")
    expect(page.get_by_role("status")).to_have_attribute("aria-live", "polite")
    box = page.get_by_label("Your message")

    # keyboard only: type, Enter; the typing indicator shows while the bot takes its time
    box.press_sequentially("typed by keyboard")
    box.press("Enter")
    typing = page.locator("#typing")
    expect(typing).to_be_visible()
    expect(page.locator("#transcript li.theirs").last).to_have_text("slowtyped by keyboard")
    expect(typing).to_be_hidden()

    # an image goes out as ParlAI's payload and the echo comes back as an image
    page.get_by_label("Send an image").set_input_files(
        files=[{"name": "dot.png", "mimeType": "image/png", "buffer": PNG}]
    )
    echoed = page.locator("#transcript li.theirs img")
    expect(echoed).to_have_count(1)
    expect(echoed).to_have_attribute("src", "data:image/png;base64," + base64.b64encode(PNG).decode())
    expect(echoed).to_have_attribute("alt", "Image from slow")
    expect(page.locator("#transcript li.mine img")).to_have_count(1)

    # text is never interpreted as HTML
    box.fill("<img src=x onerror=alert(1)>")
    box.press("Enter")
    expect(page.locator("#transcript li.theirs").last).to_have_text("slow<img src=x onerror=alert(1)>")
    expect(page.locator("#transcript li.theirs img")).to_have_count(1)


def test_after_an_idle_timeout_the_page_waits_for_the_person(serve_process, tmp_path, page) -> None:
    from playwright.sync_api import expect

    server = serve_process(copy_sample("overworld_demo", tmp_path), args=("--idle-timeout", "3"))
    page.goto(server.http_url + "/")
    status = page.locator("#status")
    expect(status).to_have_text("Connected")
    page.get_by_role("button", name="echo", exact=True).click()
    expect(page.locator("#transcript")).to_contain_text("Echo demo")
    expect(status).to_contain_text("Paused after a while without messages")
    page.keyboard.press("Shift")
    expect(status).to_have_text("Connected (conversation resumed)")
    box = page.get_by_label("Your message")
    box.fill("awake again")
    box.press("Enter")
    expect(page.locator("#transcript li.theirs").last).to_have_text("Worldawake again")
