"""The webhook over real HTTP: verification, signatures, what is refused and why."""

from __future__ import annotations

import logging

import support.messenger as ev
from support import copy_sample
from support.messenger import APP_SECRET, VERIFY_TOKEN, sign


async def test_get_verification_echoes_the_challenge_for_the_right_token(messenger, tmp_path) -> None:
    s = await messenger(copy_sample("echo", tmp_path))
    ok = await s.client.get(
        s.webhook, params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    )
    assert (ok.status_code, ok.text) == (200, "1158201444")

    for params in (
        {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.challenge": "1"},
    ):
        bad = await s.client.get(s.webhook, params=params)
        assert bad.status_code == 403, params
        assert "1" not in bad.text


async def test_verification_is_refused_when_no_verify_token_is_set(messenger, tmp_path, monkeypatch, caplog) -> None:
    monkeypatch.delenv("WORKBENCH_FB_VERIFY_TOKEN")
    s = await messenger(copy_sample("echo", tmp_path))
    with caplog.at_level(logging.WARNING, logger="workbench.services.messenger"):
        resp = await s.client.get(
            s.webhook, params={"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "7"}
        )
    assert resp.status_code == 403
    assert "WORKBENCH_FB_VERIFY_TOKEN is not set" in caplog.text


async def test_unsigned_and_wrongly_signed_events_are_refused_and_never_reach_a_world(messenger, tmp_path) -> None:
    s = await messenger(copy_sample("echo", tmp_path))
    body = ev.encode(ev.page(ev.text("100", "hello")))

    unsigned = await s.post(body=body, signature=None)
    assert unsigned.status_code == 403
    other_secret = await s.post(body=body, signature=sign(body, "not-the-app-secret"))
    assert other_secret.status_code == 403
    tampered = await s.post(body=body.replace(b"hello", b"HELLO"), signature=sign(body))
    assert tampered.status_code == 403
    sha1_style = await s.post(body=body, signature="sha1=" + sign(body)[7:])
    assert sha1_style.status_code == 403
    garbage = await s.post(body=body, signature="sha256=zz")
    assert garbage.status_code == 403

    assert s.ctx.runner.sessions == {}
    assert s.graph.requests == []

    signed = await s.post(body=body)
    assert (signed.status_code, signed.text) == (200, "EVENT_RECEIVED")
    await s.until(lambda: s.graph.texts("100") == ["hello"])


async def test_upper_case_hex_signatures_are_accepted(messenger, tmp_path) -> None:
    s = await messenger(copy_sample("echo", tmp_path))
    body = ev.encode(ev.page(ev.text("101", "hi")))
    resp = await s.post(body=body, signature="sha256=" + sign(body)[7:].upper())
    assert resp.status_code == 200


async def test_events_are_refused_when_the_app_secret_is_unset_and_the_log_says_why(
    messenger, tmp_path, monkeypatch, caplog
) -> None:
    monkeypatch.delenv("WORKBENCH_FB_APP_SECRET")
    s = await messenger(copy_sample("echo", tmp_path))
    body = ev.encode(ev.page(ev.text("102", "hello")))
    with caplog.at_level(logging.WARNING, logger="workbench.services.messenger"):
        resp = await s.post(body=body, signature=sign(body, APP_SECRET))
    assert resp.status_code == 403
    assert "WORKBENCH_FB_APP_SECRET is not set" in caplog.text
    assert s.ctx.runner.sessions == {}


async def test_signed_bodies_that_are_not_page_events_or_not_json(messenger, tmp_path) -> None:
    s = await messenger(copy_sample("echo", tmp_path))
    not_json = b"{nope"
    assert (await s.post(body=not_json, signature=sign(not_json))).status_code == 400
    instagram = ev.encode({"object": "instagram", "entry": []})
    assert (await s.post(body=instagram, signature=sign(instagram))).status_code == 404


async def test_the_webhook_answers_before_the_world_has_replied(messenger, tmp_path) -> None:
    # the Graph API double is told to fail slowly-retried requests; the webhook still answers at once
    s = await messenger(copy_sample("echo", tmp_path), settings={"backoff": 0.3})
    s.graph.fail_next(503, times=2)
    resp = await s.post(ev.text("103", "quick"))
    assert resp.status_code == 200
    assert s.graph.texts("103") == []  # the reply is still on its way (mark_seen is being retried)
    await s.until(lambda: s.graph.texts("103") == ["quick"], timeout=15)


async def test_echoes_receipts_and_redeliveries_are_ignored(messenger, tmp_path) -> None:
    s = await messenger(copy_sample("echo", tmp_path))
    first = ev.text("104", "once", mid="m_dup")
    await s.say(first, ev.echo_of_page("104", "an echo of our own reply"))
    await s.say(first)  # Messenger redelivers when it did not see a 200 in time
    await s.say({"sender": {"id": "104"}, "recipient": {"id": ev.PAGE_ID}, "delivery": {"mids": ["x"], "watermark": 1}})
    await s.settle()
    assert s.graph.texts("104") == ["once"]
    assert s.graph.rejected == []
