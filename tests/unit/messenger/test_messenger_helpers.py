"""The Messenger channel's pure parts: settings (secrets only from the environment), quick
replies and incoming events in Messenger's shapes, task.yml's serve.messenger validated."""

from __future__ import annotations

import pytest
from support import write_task

from workbench.services.messenger.outgoing import quick_replies
from workbench.services.messenger.settings import MessengerSettings
from workbench.services.messenger.webhook import Event, incoming_message
from workbench.services.settings import Environment, secret
from workbench.task.schema import MessengerSpec


def test_secrets_come_only_from_the_environment(caplog) -> None:
    s = MessengerSettings.load(
        MessengerSpec(graph_version="v19.0"),
        {"page_token": "in-a-file", "typing": False, "colour": "red"},
        env=Environment(fb_app_secret="s3"),
    )
    assert s.page_token is None and secret(s.app_secret) == "s3"
    assert s.graph_version == "v19.0" and s.spec.typing is False
    assert "WORKBENCH_FB_PAGE_TOKEN" in caplog.text and "colour" in caplog.text
    assert "s3" not in repr(s)
    env = MessengerSettings.load(
        MessengerSpec(graph_version="v19.0"),
        env=Environment(fb_graph_version="v23.0", fb_graph_url="http://127.0.0.1:9/"),
    )
    assert (env.graph_version, env.graph_url) == ("v23.0", "http://127.0.0.1:9")


def test_quick_reply_shapes() -> None:
    assert quick_replies(
        ["Yes", "", {"content_type": "user_email"}, {"title": "A very long title indeed", "payload": "P"}]
    ) == [
        {"content_type": "text", "title": "Yes", "payload": "Yes"},
        {"content_type": "user_email"},
        {"content_type": "text", "title": "A very long title i…", "payload": "P"},
    ]


def test_incoming_message_kinds() -> None:
    assert incoming_message(Event.model_validate({"sender": {"id": "1"}, "read": {"watermark": 1}})) is None
    msg = incoming_message(
        Event.model_validate(
            {
                "sender": {"id": "1"},
                "message": {"mid": "m", "text": "Yes, plea…", "quick_reply": {"payload": "Yes, please"}},
            }
        )
    )
    assert msg.text == "Yes, please" and msg["meta"]["title"] == "Yes, plea…" and msg["meta"]["kind"] == "quick_reply"
    two = incoming_message(
        Event.model_validate(
            {
                "sender": {"id": "1"},
                "message": {
                    "mid": "n",
                    "attachments": [
                        {"type": "image", "payload": {"url": "https://a/1.png"}},
                        {"type": "location", "payload": {"coordinates": {"lat": 1, "long": 2}}},
                    ],
                },
            }
        )
    )
    assert two["payload"] == {"type": "image", "url": "https://a/1.png"}
    assert two["attachments"][1] == {"type": "location", "coordinates": {"lat": 1, "long": 2}}


def test_task_yml_serve_messenger_reaches_the_channels_settings(tmp_path, monkeypatch) -> None:
    from types import SimpleNamespace

    from workbench.services.messenger.settings import MessengerSettings
    from workbench.task import load_task

    for name in ("PAGE_TOKEN", "APP_SECRET", "VERIFY_TOKEN", "GRAPH_URL", "GRAPH_VERSION"):
        monkeypatch.delenv(f"WORKBENCH_FB_{name}", raising=False)
    good = write_task(
        tmp_path / "good",
        """
        name: good
        bots: {echo: {engine: echo}}
        worlds: {echo: {type: bot_chat, bot: echo}}
        serve:
          messenger:
            graph_version: v19.0
            typing: false
            personas: {echo: {name: Echo, profile_picture_url: "https://example.com/e.png"}}
    """,
    )
    task = load_task(good)
    # the server's settings (here: retries) go over the task's
    ctx = SimpleNamespace(task=task, settings={"messenger": {"retries": 1}})
    s = MessengerSettings.of(ctx)
    assert (s.graph_version, s.spec.typing, s.spec.retries, s.spec.backoff) == ("v19.0", False, 1, 0.5)
    assert {k: v.model_dump() for k, v in s.spec.personas.items()} == {
        "echo": {"name": "Echo", "profile_picture_url": "https://example.com/e.png"}
    }


def test_a_secret_in_task_yml_serve_messenger_is_refused(tmp_path) -> None:
    from workbench.task import TaskError, load_task

    bad = write_task(
        tmp_path / "bad",
        """
        name: bad
        bots: {echo: {engine: echo}}
        worlds: {echo: {type: bot_chat, bot: echo}}
        serve:
          messenger: {page_token: EAAG-oops}
    """,
    )
    with pytest.raises(TaskError) as err:
        load_task(bad)
    assert "page_token" in str(err.value) or any("page_token" in str(p) for p in getattr(err.value, "problems", []))
