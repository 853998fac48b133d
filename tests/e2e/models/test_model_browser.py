"""A model bot on the browser page (Debian's headless Chromium, driven by Playwright): the reply
grows in place as it is generated, settles on the stored text, and the Stop button cancels it."""

from __future__ import annotations

import os

import pytest
from support import eventually, write_task
from support.openai_double import Reply

CHROMIUM = "/usr/bin/chromium"

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)")

TASK = """
name: assistant
bots:
  assistant: {{engine: openai, base_url: {url}, model: double-model}}
worlds:
  chat: {{type: bot_chat, bot: assistant}}
"""


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"], timeout=30_000
        )
        page = browser.new_context().new_page()
        page.set_default_timeout(10_000)
        yield page
        browser.close()


def test_the_reply_grows_in_place_then_settles(page, serve_in_thread, tmp_path, threaded_openai_double) -> None:
    server_double, loop = threaded_openai_double
    server_double.script(Reply(hold_after=2))
    server = serve_in_thread(write_task(tmp_path / "task", TASK.format(url=server_double.base_url)))
    page.goto(server.http_url + "/")
    page.wait_for_selector("#message:not([disabled])")
    page.fill("#message", "hi")
    page.press("#message", "Enter")
    growing = page.locator("li.message.theirs.streaming")
    growing.wait_for()
    page.wait_for_function("() => document.querySelector('li.streaming .text')?.textContent === 'Hello from'")
    assert page.is_visible("#stop")
    loop.loop.call_soon_threadsafe(server_double.release)
    page.wait_for_function(
        "() => { const li = [...document.querySelectorAll('li.message.theirs')].pop();"
        " return li && !li.classList.contains('streaming') && li.querySelector('.text').textContent === 'Hello from the double.'; }"
    )
    assert page.locator("li.message.theirs").count() == 1  # one item: the deltas' item took the final text
    assert page.is_hidden("#stop")


def test_stop_cancels_the_reply(page, serve_in_thread, tmp_path, threaded_openai_double) -> None:
    server_double, _ = threaded_openai_double
    server_double.script(Reply(hold_after=2))
    server = serve_in_thread(write_task(tmp_path / "task", TASK.format(url=server_double.base_url)))
    page.goto(server.http_url + "/")
    page.wait_for_selector("#message:not([disabled])")
    page.fill("#message", "hi")
    page.press("#message", "Enter")
    page.wait_for_function("() => document.querySelector('li.streaming .text')?.textContent === 'Hello from'")
    page.click("#stop")
    page.wait_for_selector("li.message.theirs.cancelled")
    assert page.locator("li.message.theirs .text").inner_text() == "Hello from"
    eventually(lambda: server_double.requests[0]["closed_early"], what="the server to see the stream closed")
    store = server.store
    eventually(lambda: any(r["role"] == "bot" for c in store.conversations() for r in store.messages(c["id"])))
    rows = [r for c in store.conversations() for r in store.messages(c["id"]) if r["role"] == "bot"]
    assert rows[-1]["act"]["meta"]["cancelled"] is True and rows[-1]["text"] == "Hello from"
