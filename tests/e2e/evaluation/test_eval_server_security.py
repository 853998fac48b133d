"""The evaluation pages against a real server on 127.0.0.1 (issue 12): nobody logs in as
another person, reads or writes another person's thread or ratings, chats without consent,
passes the turn limit, sees another person's replies, opens admin pages as a worker, or
gets a forged or replayed form accepted."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from support import copy_sample, write_task
from support.eval_rater import Rater

from workbench.evaluation.people import create_person

SECRET = "s" * 40


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_EVAL_SECRET", SECRET)


async def _raters(server, *names: str) -> list[Rater]:
    out = []
    for name in names:
        rater = Rater(server.http_url)
        page = await rater.signup(name)
        assert page.url.path == "/eval/", page.text[:400]
        out.append(rater)
    return out


async def _finish(rater: Rater, turns: int = 3) -> None:
    for n in range(turns):
        await rater.say(f"message {n}")


async def test_eval_no_login_as_another_person_without_their_password(serve, tmp_path: Path) -> None:
    server = await serve(copy_sample("bot_eval", tmp_path))
    (ann,) = await _raters(server, "ann")
    await ann.start()
    mallory = Rater(server.http_url)
    try:
        page = await mallory.login("ann", "wrong password")
        assert page.status_code == 401 and "Wrong account or password" in page.text
        assert (await mallory.get(f"/eval/threads/{ann.thread}")).url.path == "/eval/login"
        # a cookie naming ann, signed with another key, is nobody's
        from workbench.services.evaluation.web_session import COOKIE, Signer, WebSession

        forged = WebSession.new(1, "ann").cookie(Signer("x" * 40))
        mallory.http.cookies.set(COOKIE, forged, path="/eval")
        assert (await mallory.get(f"/eval/threads/{ann.thread}")).url.path == "/eval/login"
        # signing up under ann's name does not replace her
        mallory.http.cookies.clear()
        page = await mallory.signup("ann", password="another password")
        assert page.status_code == 409 and "taken" in page.text
        # guessing is stopped: after five failures even the right password waits
        for _ in range(4):
            await mallory.login("ann", "still wrong")
        assert (await mallory.login("ann", "correct horse")).status_code == 429
    finally:
        await mallory.close()
        await ann.close()


async def test_eval_a_crowd_link_opened_in_another_browser_is_refused(serve, tmp_path: Path) -> None:
    server = await serve(copy_sample("bot_eval", tmp_path))
    link = "/eval/prolific?PROLIFIC_PID=5f0c1a2b3c4d5e6f7a8b9c0d&STUDY_ID=study1&SESSION_ID=session1"
    worker, other = Rater(server.http_url), Rater(server.http_url)
    try:
        page = await worker.get(link)
        assert page.url.path == "/eval/consent"
        page = await other.get(link)
        assert page.status_code == 403 and "another browser" in page.text
        assert (await other.get("/eval/consent")).url.path == "/eval/login"
        # the first browser goes on
        assert (await worker.get(link)).url.path == "/eval/consent"
        assert (await worker.get("/eval/prolific?PROLIFIC_PID=../../x&STUDY_ID=s&SESSION_ID=s")).status_code == 400
    finally:
        await worker.close()
        await other.close()


async def test_eval_nobody_reads_or_writes_another_persons_thread_or_ratings(serve, tmp_path: Path) -> None:
    server = await serve(copy_sample("bot_eval", tmp_path))
    ann, bob = await _raters(server, "ann", "bob")
    try:
        await ann.start()
        await _finish(ann)
        assert "Your ratings" in ann.page.text
        store = server.store
        before = store.messages(ann.thread)
        await bob.start()
        for path in (
            f"/eval/threads/{ann.thread}",
            f"/eval/threads/{ann.thread}/done",
            f"/eval/admin/threads/{ann.thread}",
        ):
            page = await bob.get(path)
            assert page.status_code in (403, 404) and "message 0" not in page.text
        await bob.get(f"/eval/threads/{bob.thread}")
        for path, data in (
            (f"/eval/threads/{ann.thread}/say", {"text": "bob was here"}),
            (f"/eval/threads/{ann.thread}/turns/{before[-2]['seq']}", {"q0": "1"}),
            (f"/eval/threads/{ann.thread}/rate", {"q0": "0", "q1": "0"}),
        ):
            page = await bob.post(path, data, token=bob.token())
            assert page.status_code == 404, path
        assert store.messages(ann.thread) == before
        assert store.study.ratings("bot_eval", ann.thread) == []
        assert store.study.thread(ann.thread).status == "rating"
    finally:
        await ann.close()
        await bob.close()


async def test_eval_no_chat_without_consent(serve, tmp_path: Path) -> None:
    server = await serve(copy_sample("bot_eval", tmp_path))
    create_person(server.store, "carl", "correct horse")  # an account that never consented
    carl = Rater(server.http_url)
    try:
        await carl.login("carl", "correct horse")
        assert carl.page.url.path == "/eval/consent"
        await carl.get("/eval/consent")
        token = carl.token()
        assert (await carl.post("/eval/threads", token=token)).url.path == "/eval/consent"
        assert server.store.study.threads("bot_eval") == []
        # one box of two is not consent
        page = await carl.post("/eval/consent", {"cb_0": "yes"})
        assert page.status_code == 400 and server.store.study.account("carl").consent is None
        page = await carl.post("/eval/consent", {"cb_0": "yes", "cb_1": "yes"})
        assert page.url.path == "/eval/" and server.store.study.account("carl").consent["version"] == "2024-06"
    finally:
        await carl.close()


async def test_eval_the_turn_limit_holds_when_the_client_ignores_it(serve, tmp_path: Path) -> None:
    server = await serve(copy_sample("bot_eval", tmp_path))
    (ann,) = await _raters(server, "ann")
    try:
        await ann.start()
        # tokens for more messages than the limit, sent at once as a page that ignores it would
        tokens = []
        for _ in range(6):
            await ann.get(f"/eval/threads/{ann.thread}")
            tokens.append(ann.token())
        pages = await asyncio.gather(
            *(
                ann.http.post(f"/eval/threads/{ann.thread}/say", data={"csrf": t, "text": f"m{i}"})
                for i, t in enumerate(tokens)
            )
        )
        assert sorted(p.status_code for p in pages) == [200, 200, 200, 409, 409, 409]
        human = [m for m in server.store.messages(ann.thread) if m["role"] == "human"]
        assert len(human) == 3
        assert server.store.study.thread(ann.thread).status == "rating"
        page = await ann.get(f"/eval/threads/{ann.thread}")
        assert 'id="say-form"' not in page.text and 'id="rate-form"' in page.text
    finally:
        await ann.close()


ECHO_STUDY = """
name: echo_study
max_workers: 50
bots:
  echo: {engine: echo, prefix: "echo: "}
worlds:
  chat: {type: bot_chat, bot: echo}
evaluation:
  bot: echo
  questions:
    - {question: "Good?", choices: ["no", "yes"]}
  limits: {max_threads_per_person: 1, max_threads_per_topic: 10, max_turns_per_thread: 6}
"""


async def test_eval_two_concurrent_sessions_never_receive_each_others_replies(serve, tmp_path: Path) -> None:
    server = await serve(write_task(tmp_path / "echo_study", ECHO_STUDY))
    ann, bob = await _raters(server, "ann", "bob")
    try:
        await asyncio.gather(ann.start(), bob.start())
        assert ann.thread != bob.thread

        async def chat(rater: Rater, name: str) -> None:
            for n in range(6):
                await rater.say(f"{name}-secret-{n}")

        await asyncio.gather(chat(ann, "ann"), chat(bob, "bob"))
        for rater, me, other in ((ann, "ann", "bob"), (bob, "bob", "ann")):
            page = await rater.get(f"/eval/threads/{rater.thread}")
            assert page.status_code == 200
            texts = rater.texts()
            assert [t for t in texts if t.startswith("echo: ")] == [f"echo: {me}-secret-{n}" for n in range(6)]
            assert not any(other in t for t in texts)
            stored = [m["text"] for m in server.store.messages(rater.thread)]
            assert not any(other in t for t in stored)
    finally:
        await ann.close()
        await bob.close()


async def test_eval_admin_pages_refuse_a_worker(serve, tmp_path: Path) -> None:
    server = await serve(copy_sample("bot_eval", tmp_path))
    create_person(server.store, "root", "admin password", role="admin")
    (ann,) = await _raters(server, "ann")
    anonymous, admin = Rater(server.http_url), Rater(server.http_url)
    try:
        await ann.start()
        for path in ("/eval/admin", "/eval/admin/report", f"/eval/admin/threads/{ann.thread}"):
            page = await ann.get(path)
            assert page.status_code == 403 and "for the study&#39;s admins" in page.text, path
            assert (await anonymous.get(path)).url.path == "/eval/login"
        page = await admin.login("root", "admin password")
        assert page.url.path == "/eval/admin" and "ann" in page.text
        # an admin reads a worker's thread but never writes in it
        assert (await admin.get(f"/eval/admin/threads/{ann.thread}")).status_code == 200
        page = await admin.post(f"/eval/threads/{ann.thread}/say", {"text": "hi"}, token=admin.token())
        assert page.url.path == "/eval/admin"
        assert not any(m["text"] == "hi" for m in server.store.messages(ann.thread))
    finally:
        for r in (ann, anonymous, admin):
            await r.close()


async def test_eval_a_forged_or_replayed_form_post_is_refused(serve, tmp_path: Path) -> None:
    server = await serve(copy_sample("bot_eval", tmp_path))
    ann, bob = await _raters(server, "ann", "bob")
    try:
        await ann.start()
        thread = ann.thread
        path = f"/eval/threads/{thread}/say"
        # no token, a made-up token, a token of bob's login: refused, nothing stored
        page = await ann.http.post(path, data={"text": "no token"})
        assert page.status_code == 400
        page = await ann.http.post(path, data={"text": "made up", "csrf": "abc.9999999999.def"})
        assert page.status_code == 403
        await bob.get("/eval/")
        page = await ann.http.post(path, data={"text": "bob's token", "csrf": bob.token()})
        assert page.status_code == 403
        # a good token works once; the same post again is a replay
        await ann.get(f"/eval/threads/{thread}")
        token = ann.token()
        first = await ann.http.post(path, data={"text": "once", "csrf": token})
        again = await ann.http.post(path, data={"text": "once", "csrf": token})
        assert first.status_code == 200 and again.status_code == 403 and "already sent" in again.text
        human = [m["text"] for m in server.store.messages(thread) if m["role"] == "human"]
        assert human == ["once"]
        # a post from another site's page carries no token either; and a body too big is refused
        page = await ann.http.post(
            path, content=b"text=" + b"x" * 70000, headers={"content-type": "application/x-www-form-urlencoded"}
        )
        assert page.status_code == 413
        page = await ann.http.post(path, json={"text": "json", "csrf": token})
        assert page.status_code == 415
    finally:
        await ann.close()
        await bob.close()
