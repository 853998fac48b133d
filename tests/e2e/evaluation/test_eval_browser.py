"""A whole rating session in headless Chromium (Debian's, driven by Playwright) against
`workbench serve` in a subprocess: sign-up with consent, the chat, a rating of one reply,
the final ratings and the completion code; then the admin dashboard in the browser,
`workbench eval report` and `workbench eval export` all show the results. A Prolific
worker is sent back to Prolific with the code; a Mechanical Turk preview starts nothing."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from support import copy_sample
from support.cli import run_cli

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
def study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, serve_process):
    monkeypatch.setenv("WORKBENCH_EVAL_SECRET", "k" * 48)
    monkeypatch.setenv("WORKBENCH_EVAL_ADMIN", "root")
    monkeypatch.setenv("WORKBENCH_EVAL_ADMIN_PASSWORD", "admin password 1")
    task = copy_sample("bot_eval", tmp_path)
    # Mechanical Turk on, so its preview can be checked (no HIT is made here)
    text = (task / "task.yml").read_text()
    (task / "task.yml").write_text(text + "  mturk:\n    sandbox: true\n    hit_settings: {Title: Rate a moderator}\n")
    return task, serve_process(task)


def _page(browser, url: str):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(url)
    return context, page


def _chat(page, texts: list[str]) -> None:
    for text in texts:
        page.fill("#text", text)
        page.click("#send")
        page.wait_for_selector(f".msg.human >> text={text}")


def test_eval_a_whole_rating_session_in_chromium_shows_in_the_admin_page_report_and_exports(browser, study) -> None:
    task, server = study
    context, page = _page(browser, f"{server.http_url}/eval/")
    try:
        assert page.url.endswith("/eval/login")
        page.click("#signup-link")
        page.fill("#account", "ann")
        page.fill("#password", "correct horse")
        page.fill("#password2", "correct horse")
        page.check("#cb_0")
        # one box unticked: refused, and said so
        page.click("#signup")
        assert "tick every box" in page.text_content("#error")
        page.fill("#account", "ann")
        page.fill("#password", "correct horse")
        page.fill("#password2", "correct horse")
        page.check("#cb_0")
        page.check("#cb_1")
        page.click("#signup")
        page.click("#start")
        page.wait_for_selector(".msg.bot")
        assert "car park" in page.text_content("#transcript") or "pavement" in page.text_content("#transcript")
        _chat(page, ["<b>I like it</b>"])
        # text is shown as text, never as markup
        assert page.locator(".msg.human b").count() == 0
        assert "<b>I like it</b>" in page.text_content(".msg.human")
        # a rating of the bot's reply to the first message
        reply = page.locator(".msg.bot").nth(1)
        reply.locator("select").select_option(label="Yes")
        reply.locator("button").click()
        page.wait_for_selector(".msg.bot >> nth=1")
        _chat(page, ["Who pays?", "That is all"])
        page.wait_for_selector("#rate-form")
        assert page.locator("#say-form").count() == 0
        page.check("#q0_4")
        page.check("#q1_0")
        page.fill("#q2", "a fine moderator")
        page.click("#submit-ratings")
        code = page.text_content("#completion-code").strip()
        assert len(code) == 8
    finally:
        context.close()

    context, page = _page(browser, f"{server.http_url}/eval/login")
    try:
        page.fill("#account", "root")
        page.fill("#password", "admin password 1")
        page.click("#login")
        assert page.url.endswith("/eval/admin")
        assert "ann" in page.text_content("#workers")
        ratings = page.text_content("#ratings")
        assert "How coherent was the conversation?" in ratings and "5.00" in ratings
        page.click("#threads a")
        assert "a fine moderator" in page.text_content("#final-ratings")
    finally:
        context.close()

    report = task / "out" / "report.html"
    done = run_cli("eval", "report", str(task), "--html", str(report))
    assert done.returncode == 0, done.stderr
    assert "How coherent was the conversation?" in done.stdout and "5.00" in done.stdout
    html = report.read_text()
    assert "<svg" in html and "How coherent was the conversation?" in html and "<script" not in html

    out = task / "out" / "export"
    done = run_cli("eval", "export", str(task), "--out", str(out))
    assert done.returncode == 0, done.stderr
    (record,) = [json.loads(line) for line in (out / "threads.jsonl").read_text().splitlines()]
    assert record["person"] == "ann" and record["completion_code"] == code
    assert record["ratings"] == {"coherent": "Very", "role": "A moderator", "feedback": "a fine moderator"}
    assert record["turn_ratings"][0]["value"] == "Yes"
    rows = list(csv.DictReader((out / "ratings.csv").open()))
    assert {r["question"] for r in rows} == {"coherent", "role", "feedback", "helpful"}
    messages = list(csv.DictReader((out / "messages.csv").open()))
    assert [m["text"] for m in messages if m["role"] == "human"] == ["<b>I like it</b>", "Who pays?", "That is all"]
    (thread_file,) = (out / "threads").iterdir()
    boteval = json.loads(thread_file.read_text())
    assert boteval["data"]["ratings"]["ann"]["How coherent was the conversation?"] == "4"
    assert boteval["data"]["rating_done"] is True


def test_eval_a_prolific_worker_is_sent_back_with_the_code_and_an_mturk_preview_starts_nothing(browser, study) -> None:
    task, server = study
    link = f"{server.http_url}/eval/prolific?PROLIFIC_PID=60aa11bb22cc33dd44ee55ff&STUDY_ID=st1&SESSION_ID=se1"
    context, page = _page(browser, link)
    try:
        assert page.url.endswith("/eval/consent")
        page.check("#cb_0")
        page.check("#cb_1")
        page.click("#consent")
        page.click("#start")
        _chat(page, ["one", "two", "three"])
        page.check("#q0_2")
        page.check("#q1_2")
        page.click("#submit-ratings")
        code = page.text_content("#completion-code").strip()
        href = page.get_attribute("#prolific-return", "href")
        assert href == f"https://app.prolific.com/submissions/complete?cc={code}"
    finally:
        context.close()

    preview = f"{server.http_url}/eval/mturk?assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE&hitId=H1"
    context, page = _page(browser, preview)
    try:
        assert "Rate a moderator" in page.text_content("#preview")
        assert page.locator("form").count() == 0
    finally:
        context.close()
    listing = run_cli("eval", "report", str(task), "--html", str(task / "r.html"))
    assert "mturk" not in listing.stdout  # the preview made no worker and no thread
