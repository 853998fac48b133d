"""The websocket's client frames and attachments as closed pydantic models (issue 9 item 7,
issue 8 items 1 and 3): what is accepted, normalised and refused, with which error code; the
documentation names every field and error code; the frames the server builds match the
documented models; and the server's log filter keeps message text and query strings out."""

from __future__ import annotations

import base64
import json
import logging
import re

import pytest
from support import REPO
from websockets.frames import Frame, Opcode

from workbench.message import Message
from workbench.services.attachments import Attachment
from workbench.services.server_logs import PrivateRecords
from workbench.services.websocket import error_frame, frame_of, message_of
from workbench.services.websocket_frames import ClientFrame, ErrorFrame, FrameError, Hello, MessageFrame, read_frame

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16).decode()


def refused(raw: str | dict, **kw) -> str:
    with pytest.raises(FrameError) as exc:
        read_frame(raw if isinstance(raw, str) else json.dumps(raw), 65536, **kw)
    assert exc.value.text and "Traceback" not in exc.value.text
    return exc.value.code


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "file", "path": "/proc/self/environ"},
        {"type": "file", "data": "aGk=", "mime_type": "text/plain", "path": "x"},
        {"type": "image", "url": "file:///etc/passwd"},
        {"type": "image", "url": "http://example.org/a.png"},
        {"type": "image", "url": "//example.org/a.png"},
        {"type": "image", "url": "/etc/passwd"},
        {"type": "image", "url": "https://user:pw@example.org/a.png"},
        {"type": "image", "url": "https://exa mple.org/a.png"},
        {"type": "image", "url": "https://example.org/" + "a" * 3000},
        {"type": "file", "data": "aGk=", "mime_type": "text/plain", "name": "../../etc/passwd"},
        {"type": "file", "data": "aGk=", "mime_type": "text/plain", "name": "C:\\boot.ini"},
        {"type": "file", "data": "aGk=", "mime_type": "text/plain", "name": ".."},
        {"type": "file", "data": "aGk=", "mime_type": "text/plain; charset=utf-8"},
        {"type": "file", "data": "aGk="},
        {"type": "file", "data": "aGk", "mime_type": "text/plain"},
        {"type": "file", "data": "", "mime_type": "text/plain"},
        {"type": "image", "data": "aGk=", "mime_type": "text/html"},
        {"type": "image", "data": PNG, "mime_type": "image/png", "url": "https://example.org/a.png"},
        {"type": "image"},
        {"type": "video", "url": "https://example.org/a.mp4"},
        {"type": ["image"], "url": "https://example.org/a.png"},
        {"type": "template", "payload": {}},
        "/etc/passwd",
        {},
    ],
)
def test_attachments_outside_the_closed_schema_are_refused(payload) -> None:
    assert refused({"text": "", "payload": payload}) == "invalid_field"


def test_attachment_data_is_bounded_and_re_encoded_from_the_checked_bytes() -> None:
    raw = b"x" * 1000
    ok = Attachment.model_validate(
        {"type": "file", "mime_type": "Text/Plain", "data": base64.b64encode(raw).decode(), "name": " notes.txt "},
        context={"max_bytes": 1000},
    )
    assert ok.normalised() == {
        "type": "file",
        "mime_type": "text/plain",
        "data": base64.b64encode(raw).decode(),
        "name": "notes.txt",
    }
    with pytest.raises(ValueError, match="larger than the limit of 999 bytes"):
        Attachment.model_validate(
            {"type": "file", "mime_type": "text/plain", "data": base64.b64encode(raw).decode()},
            context={"max_bytes": 999},
        )
    url = Attachment.model_validate({"type": "image", "url": "https://example.org/a.png?x=1"})
    assert url.normalised() == {"type": "image", "url": "https://example.org/a.png?x=1"}


def test_what_the_runtime_receives_is_the_normalised_payload() -> None:
    frame = read_frame(
        json.dumps({"text": "hi", "payload": {"type": "image", "data": PNG, "mime_type": "IMAGE/PNG"}}), 65536
    )
    assert message_of(frame) == {"text": "hi", "payload": {"type": "image", "data": PNG, "mime_type": "image/png"}}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "invalid_json"),
        ("[" * 30_000 + "]" * 30_000, "invalid_json"),
        ('{"text": ' + "[" * 20 + "]" * 20 + "}", "invalid_json"),
        ('{"text": 1' + "0" * 5000 + "}", "invalid_json"),
        ('{"text": 1e999}', "invalid_json"),
        ('{"text": NaN}', "invalid_json"),
        ('"text"', "invalid_frame"),
        ("[1]", "invalid_frame"),
        ('{"text": "x", "tip": 5}', "unknown_field"),
        ('{"text": 42}', "invalid_field"),
        ('{"debug": "yes"}', "invalid_field"),
        ('{"debug": 1}', "invalid_field"),
        ('{"hello": "x"}', "invalid_field"),
        ('{"hello": {"session": 5}}', "invalid_field"),
        ('{"hello": {"history": true}}', "invalid_field"),
        ('{"hello": {"history": "5"}}', "invalid_field"),
        ('{"hello": {"client": "messenger"}}', "invalid_field"),
        ('{"hello": {"extra": 1}}', "invalid_field"),
        ('{"text": "' + "x" * 70_000 + '"}', "frame_too_big"),
    ],
)
def test_frames_are_refused_with_an_error_code_and_never_a_traceback(raw: str, code: str) -> None:
    assert refused(raw) == code


def test_text_is_made_valid_and_parlai_fields_are_accepted() -> None:
    frame = read_frame('{"text": "x\\ud800y\\u0000z", "id": "f00", "episode_done": false, "message_history": []}', 4096)
    assert frame.text == "x\ufffdy\ufffdz"
    assert read_frame('{"hello": true}', 4096).hello is True
    assert read_frame('{"hello": {"session": "abc", "history": 3, "client": "browser"}}', 4096).hello == Hello(
        session="abc", history=3, client="browser"
    )


def test_unknown_fields_may_be_ignored() -> None:
    frame = read_frame('{"text": "x", "tip": 5}', 4096, unknown_fields="ignore")
    assert frame.text == "x" and "tip" not in frame.model_fields_set
    # nested keys stay closed whatever the setting: an attachment is never loosened
    assert refused({"text": "", "payload": {"type": "file", "path": "/x"}}, unknown_fields="ignore") == "invalid_field"


def test_the_docs_name_every_client_field_and_every_error_code() -> None:
    docs = (REPO / "docs" / "serve.md").read_text(encoding="utf-8")
    for model in (ClientFrame, Hello, Attachment):
        for name in model.model_fields:
            assert f"`{name}`" in docs, f"docs/serve.md does not mention {model.__name__}.{name}"
    sources = "".join(
        (REPO / "workbench" / "services" / f).read_text(encoding="utf-8")
        for f in ("websocket.py", "websocket_frames.py")
    )
    codes = set(re.findall(r'(?:error|_strike|FrameError|error_frame)\(\s*"([a-z_]+)"', sources))
    assert {"invalid_json", "invalid_field", "handshake_timeout", "internal_error", "frame_too_big"} <= codes
    for code in codes:
        assert f"`{code}`" in docs, f"docs/serve.md does not list the error code {code}"


def test_the_frames_the_server_builds_match_the_documented_models() -> None:
    msg = Message(text="hi", id="bot", quick_replies=["a"], payload={"type": "image", "url": "https://e.org/a.png"})
    MessageFrame.model_validate(frame_of(msg))
    MessageFrame.model_validate(frame_of(Message(text="done", episode_done=True)))
    ErrorFrame.model_validate(error_frame("invalid_json", "That frame is not JSON."))


def _record(msg: str, *args) -> logging.LogRecord:
    return logging.LogRecord("uvicorn.error", logging.DEBUG, __file__, 1, msg, args, None)


def _frame() -> Frame:
    return Frame(Opcode.TEXT, b'{"text": "my card is 4111 1111 1111 1111"}')


@pytest.mark.parametrize(
    ("record", "hidden"),
    [
        (_record("< %s", _frame()), "4111"),
        (_record("< %s %s %s", "GET", "/websocket?token=SECRET", "HTTP/1.1"), "SECRET"),
        (_record("< %s: %s", "Authorization", "Bearer SECRET"), "SECRET"),
        (_record("< %s: %s", "cookie", "session=SECRET"), "SECRET"),
        (
            _record(
                '%s - "%s %s HTTP/%s" %d', "1.2.3.4:5", "GET", "/webhook/messenger?hub.verify_token=SECRET", "1.1", 200
            ),
            "SECRET",
        ),
        (_record('%s - "WebSocket %s" [accepted]', "1.2.3.4:5", "/websocket?x=SECRET"), "SECRET"),
    ],
)
def test_the_log_filter_keeps_message_text_and_secrets_out(record: logging.LogRecord, hidden: str) -> None:
    assert PrivateRecords().filter(record)
    assert hidden not in record.getMessage()


def test_log_messages_keeps_frame_contents_for_a_developer_who_asks() -> None:
    record = _record("< %s", _frame())
    PrivateRecords(log_messages=True).filter(record)
    assert "4111" in record.getMessage()
