"""The browser page loads images only from the server and data: unless the task allows remote
images (issue 8, item 9): a message carrying a remote image URL makes no request from the
person's browser, in headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import base64
import os

import pytest
from support import write_task

CHROMIUM = "/usr/bin/chromium"

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)")

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201a5f1bd9b0000000049454e44ae426082"
)
REMOTE = "https://images.example.test/cat.png"

TASK_YML = """
name: pictures
bots:
  pictures: {engine: python, name: pictures}
worlds:
  show: {type: bot_chat, bot: pictures}
"""

PICTURES_PY = f"""
from workbench.task.registry import bot


@bot("pictures")
class Pictures:
    '''Answers "remote" with an image from another site, anything else with an inline one.'''

    def observe(self, message):
        self.last = message.get("text", "")

    def act(self):
        if self.last == "remote":
            return {{"text": "a remote one", "payload": {{"type": "image", "url": "{REMOTE}"}}}}
        return {{"text": "an inline one", "payload": {{"type": "image", "mime_type": "image/png", "data": "{base64.b64encode(PNG).decode()}"}}}}
"""


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
            timeout=30_000,
        )
        yield b
        b.close()


def _open(browser, url: str):
    """A page at ``url`` that records every request it makes off this server (and answers
    image requests to the remote host itself, so nothing leaves the machine)."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    remote_requests: list[str] = []

    def handle(route) -> None:
        remote_requests.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=PNG)

    page.route("https://images.example.test/**", handle)
    page.goto(url)
    return context, page, remote_requests


def _ask(page, text: str) -> None:
    box = page.get_by_label("Your message")
    box.fill(text)
    box.press("Enter")


def test_a_remote_image_is_not_loaded(serve_process, tmp_path, browser) -> None:
    from playwright.sync_api import expect

    server = serve_process(write_task(tmp_path / "pictures", TASK_YML, PICTURES_PY))
    context, page, remote_requests = _open(browser, server.http_url + "/")
    try:
        expect(page.locator("#status")).to_have_text("Connected")
        policy = page.request.get(server.http_url + "/").headers["content-security-policy"]
        assert "img-src 'self' data:;" in policy

        _ask(page, "inline")
        inline = page.locator("#transcript li.theirs img")
        expect(inline).to_have_count(1)
        assert inline.evaluate("img => img.complete && img.naturalWidth") == 1

        _ask(page, "remote")
        expect(page.locator("#transcript li.theirs").last).to_contain_text("a remote one")
        expect(page.locator("#transcript li.theirs").last).to_contain_text("not shown")
        # a later message proves the page went on; still no request to the other site
        _ask(page, "inline again")
        expect(page.locator("#transcript li.theirs img")).to_have_count(2)
        assert remote_requests == []
        assert page.locator(f'img[src="{REMOTE}"]').count() == 0
    finally:
        context.close()


def test_remote_images_when_the_task_allows_them(serve_process, tmp_path, browser) -> None:
    from playwright.sync_api import expect

    yml = TASK_YML + "serve: {remote_images: true}\n"
    server = serve_process(write_task(tmp_path / "pictures", yml, PICTURES_PY))
    context, page, remote_requests = _open(browser, server.http_url + "/")
    try:
        expect(page.locator("#status")).to_have_text("Connected")
        _ask(page, "remote")
        expect(page.locator(f'#transcript img[src="{REMOTE}"]')).to_have_count(1)
        page.wait_for_function(f"document.querySelector('img[src=\"{REMOTE}\"]').complete")
        assert remote_requests == [REMOTE]
    finally:
        context.close()
