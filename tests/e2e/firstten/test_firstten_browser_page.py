"""The browser page in Debian's Chromium (issue 14, point 7): the newest message stays in view when
quick replies appear below it and after the conversation's last message; the attach button's
glyph is drawn whatever fonts are installed; the page has a favicon."""

from __future__ import annotations

import os

import pytest
from support import copy_sample

CHROMIUM = "/usr/bin/chromium"

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)")


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


@pytest.fixture
def page(browser):
    # a small window, so that a few messages fill the transcript
    context = browser.new_context(viewport={"width": 420, "height": 520})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


#: the last message of the transcript is wholly inside the transcript's visible box
NEWEST_IN_VIEW = """() => {
    const t = document.getElementById("transcript");
    const last = t.lastElementChild;
    if (!last) return false;
    const box = t.getBoundingClientRect(), item = last.getBoundingClientRect();
    return item.top >= box.top - 1 && item.bottom <= box.bottom + 1;
}"""


def _wait_newest_in_view(page, what: str) -> None:
    from playwright.sync_api import TimeoutError

    try:
        page.wait_for_function(NEWEST_IN_VIEW, timeout=5_000)
    except TimeoutError:
        pytest.fail(what)


def test_the_newest_message_stays_in_view_above_quick_replies_and_at_the_end(serve_process, tmp_path, page):
    from playwright.sync_api import expect

    server = serve_process(copy_sample("overworld_demo", tmp_path))
    page.goto(server.http_url + "/")
    expect(page.locator("#status")).to_have_text("Connected")
    page.get_by_role("button", name="echo", exact=True).click()
    box = page.get_by_label("Your message")
    for i in range(8):  # more than the transcript can show
        box.fill(f"message number {i} that takes a little room in a narrow window")
        box.press("Enter")
        expect(page.locator("#transcript li.theirs").last).to_contain_text(f"message number {i}")
    overflowing = page.evaluate(
        "() => { const t = document.getElementById('transcript'); return t.scrollHeight > t.clientHeight; }"
    )
    assert overflowing

    # back to the menu: its question arrives with quick replies, which take room below the transcript
    box.fill("[DONE]")
    box.press("Enter")
    replies = page.get_by_role("group", name="Suggested replies").get_by_role("button")
    expect(replies).to_have_count(4)
    expect(page.locator("#transcript li").last).to_contain_text("Welcome to the overworld demo")
    _wait_newest_in_view(page, "the menu's question is hidden under its quick replies")

    # the conversation's last message stays in view when the 'start a new one' line appears
    page.get_by_role("button", name="EXIT").click()
    expect(page.get_by_role("button", name="Start a new one")).to_be_visible()
    expect(page.locator("#transcript li").last).to_contain_text("Goodbye!")
    _wait_newest_in_view(page, "Goodbye! is under the fold")


def test_the_attach_glyph_is_drawn_without_any_emoji_or_symbol_font(serve_process, tmp_path, page):
    from playwright.sync_api import expect

    server = serve_process(copy_sample("echo", tmp_path))
    page.goto(server.http_url + "/")
    expect(page.locator("#status")).to_have_text("Connected")
    attach = page.locator("label.attach")
    icon = attach.locator("svg")
    expect(icon).to_have_count(1)
    size = icon.bounding_box()
    assert size is not None and size["width"] >= 16 and size["height"] >= 16
    # the glyph is what is drawn: the button looks different without it
    drawn = attach.screenshot()
    icon.evaluate("(el) => { el.style.visibility = 'hidden'; }")
    assert attach.screenshot() != drawn
    # no character that needs a font the system may lack (the name is for screen readers only)
    visible_text = attach.evaluate(
        "(el) => [...el.childNodes].filter(n => n.nodeType === 3 || (n.nodeType === 1 && !n.classList.contains('visually-hidden') && n.tagName !== 'svg')).map(n => n.textContent).join('').trim()"
    )
    assert visible_text == ""
    expect(page.get_by_label("Send an image")).to_have_count(1)


def test_the_page_has_a_favicon(serve_process, tmp_path, page):
    server = serve_process(copy_sample("echo", tmp_path))
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)
    page.goto(server.http_url + "/")
    href = page.locator("link[rel=icon]").get_attribute("href")
    assert href
    for url in (page.evaluate("(h) => new URL(h, location.href).href", href), server.http_url + "/favicon.ico"):
        got = page.request.get(url)
        assert got.status == 200 and got.headers["content-type"].startswith("image/svg+xml")
        assert got.body().startswith(b"<svg")
    assert not [u for u in missing if "favicon" in u]
