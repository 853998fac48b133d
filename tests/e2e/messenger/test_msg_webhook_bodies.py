"""Issue 8 item 7 through the real webhook with valid signatures: redeliveries are dropped,
even after a restart (the store remembers handled events), and a signed but malformed
body is a 400 with one log line, never a traceback or a 500."""

from __future__ import annotations

import json
import logging

import pytest
from support import copy_sample, wait_for
from support.messenger import encode, graph_double, page, post, postback, text

QUIET = {"messenger": {"backoff": 0.01, "mark_seen": False, "typing": False}}


@pytest.fixture
async def graph(monkeypatch):
    async with graph_double(monkeypatch) as double:
        yield double


def _redeliveries(caplog) -> int:
    return sum("dropped a redelivered event" in r.getMessage() for r in caplog.records)


async def test_msg_redeliveries_are_dropped_after_a_restart(graph, serve, tmp_path, caplog) -> None:
    task = copy_sample("echo", tmp_path)
    db = tmp_path / "replay.db"
    with_mid = encode(page(text("55", "first", mid="m_once")))
    at = 1_700_000_000_000
    # an event without a message id: known by sender, timestamp and content
    no_mid = encode(page({**postback("55", "PB", mid=""), "timestamp": at}))

    first = await serve(task, db=db, settings=QUIET)
    assert (await post(first.http_url, body=with_mid)).status_code == 200
    await wait_for(lambda: graph.texts("55") == ["first"], 10, "the first reply")
    assert (await post(first.http_url, body=no_mid)).status_code == 200
    await wait_for(lambda: graph.texts("55") == ["first", "PB"], 10, "the postback's reply")
    await first.stop()
    await wait_for(lambda: any("shutting down" in t for t in graph.texts("55")), 10, "the shutdown notice")

    second = await serve(task, db=db, settings=QUIET)
    with caplog.at_level(logging.INFO, logger="workbench.services.messenger"):
        assert (await post(second.http_url, body=with_mid)).status_code == 200
        assert (await post(second.http_url, body=no_mid)).status_code == 200
        await wait_for(lambda: _redeliveries(caplog) == 2, 10, "both redeliveries to be recognised")
        # the same sender and timestamp with other content is another event
        other = {**postback("55", "PB2", mid=""), "timestamp": at}
        assert (await post(second.http_url, other, text("55", "third"))).status_code == 200
        await wait_for(lambda: "third" in graph.texts("55"), 10, "the later reply")
    replies = [t for t in graph.texts("55") if "shutting down" not in t]
    assert replies == ["first", "PB", "PB2", "third"]
    assert graph.rejected == []


async def test_msg_a_replay_window_of_zero_handles_every_delivery(graph, serve, tmp_path) -> None:
    settings = {"messenger": {**QUIET["messenger"], "replay_window": 0}}
    server = await serve(copy_sample("echo", tmp_path), settings=settings)
    body = encode(page(text("56", "again", mid="m_twice")))
    assert (await post(server.http_url, body=body)).status_code == 200
    await wait_for(lambda: graph.texts("56") == ["again"], 10, "the first reply")
    assert (await post(server.http_url, body=body)).status_code == 200
    await wait_for(lambda: graph.texts("56") == ["again", "again"], 10, "the second reply")


def _messaging(*events: object) -> bytes:
    return json.dumps({"object": "page", "entry": [{"id": "1", "time": 1, "messaging": list(events)}]}).encode()


MALFORMED: dict[str, bytes] = {
    "not JSON": b"{nope",
    "an array": b"[]",
    "entry is a string": b'{"object": "page", "entry": "x"}',
    "a numeric sender id": _messaging({"sender": {"id": 5}, "message": {"mid": "a", "text": "hi"}}),
    "text is a list": _messaging({"sender": {"id": "1"}, "message": {"mid": "b", "text": ["a"]}}),
    "attachment payload is a string": _messaging(
        {"sender": {"id": "1"}, "message": {"mid": "c", "attachments": [{"type": "image", "payload": "x"}]}}
    ),
    "a postback payload object": _messaging({"sender": {"id": "1"}, "postback": {"payload": {"a": 1}}}),
    "a null event": _messaging(None),
    "a quick reply without payload": _messaging({"sender": {"id": "1"}, "message": {"quick_reply": {}}}),
    "is_echo is not a boolean": _messaging({"sender": {"id": "1"}, "message": {"text": "x", "is_echo": "maybe"}}),
    "nested 5,000 deep": b'{"object": "page", "entry": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "a 5,000-digit timestamp": b'{"object": "page", "entry": [{"messaging": [{"sender": {"id": "1"}, "timestamp": '
    + b"9" * 5000
    + b"}]}]}",
    "NaN": b'{"object": "page", "entry": [{"messaging": [{"sender": {"id": "1"}, "timestamp": NaN}]}]}',
    "not UTF-8": b'{"object": "page", "entry": [{"messaging": [{"sender": {"id": "\xff"}}]}]}',
    "empty": b"",
}


async def test_msg_signed_malformed_bodies_are_a_400_with_one_log_line(graph, serve, tmp_path, caplog) -> None:
    server = await serve(copy_sample("echo", tmp_path), settings=QUIET)
    answers: dict[str, int] = {}
    lines: dict[str, list[str]] = {}
    caplog.set_level(logging.DEBUG)
    for name, body in MALFORMED.items():
        caplog.clear()
        resp = await post(server.http_url, body=body)
        answers[name] = resp.status_code
        lines[name] = [r.getMessage() for r in caplog.records if r.name.startswith("workbench")]
        assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR], name
    assert answers == {name: 400 for name in MALFORMED}
    assert all(len(found) == 1 and "signed webhook body was refused" in found[0] for found in lines.values()), lines
    # the server still serves everyone: a good event after all of them is answered
    caplog.clear()
    assert (await post(server.http_url, text("57", "still here"))).status_code == 200
    await wait_for(lambda: graph.texts("57") == ["still here"], 10, "the reply after the bad bodies")
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert server.runner.sessions and all(s.person == "57" for s in server.runner.sessions.values())
