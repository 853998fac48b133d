"""The Messenger channel's closed shapes, without a server: attachment payloads, files read
from inside a task, webhook bodies and the keys that recognise a redelivered event."""

from __future__ import annotations

import base64
import json
import os

import pytest

from workbench.io.contained import FileRefused, read_contained, relative_path_problem
from workbench.io.untrusted import UntrustedInput
from workbench.services.messenger.attachments import (
    AttachmentRefused,
    Attachments,
    DataPayload,
    FilePayload,
    StoredPayload,
    TaskFiles,
    UrlPayload,
    check_content,
    decode_data,
    media_payload,
)
from workbench.services.messenger.webhook import Event, NotForUs, event_key, incoming_message, parse_body

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 8


@pytest.mark.parametrize(
    ("payload", "shape"),
    [
        ({"type": "image", "data": "AA==", "mime_type": "image/png"}, DataPayload),
        ({"type": "file", "url": "https://example.com/a.pdf"}, UrlPayload),
        ({"type": "video", "url": "https://example.com/a.mp4", "upload": True}, UrlPayload),
        ({"type": "audio", "attachment_id": "1234"}, StoredPayload),
        ({"type": "audio", "attachment_id": 1234}, StoredPayload),
        ({"type": "file", "path": "media/a.pdf"}, FilePayload),
    ],
)
def test_msg_the_accepted_payload_shapes(payload, shape) -> None:
    assert isinstance(media_payload(payload), shape)


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "file"},
        {"type": "file", "url": "https://example.com/a", "path": "a"},
        {"type": "file", "url": "file:///etc/passwd"},
        {"type": "file", "url": "http://169.254.169.254/latest/meta-data"},
        {"type": "file", "url": "https://user:pw@example.com/a"},
        {"type": "file", "url": "//example.com/a"},
        {"type": "image", "data": "AA==", "mime_type": "image/png", "filename": "../../x"},
        {"type": "image", "data": "AA=="},
        {"type": "image", "data": 5, "mime_type": "image/png"},
        {"type": "sticker", "url": "https://example.com/a"},
        {"type": "image", "attachment_id": "../../x"},
        {"type": "image", "attachment_id": True},
        {"type": "image", "url": "https://example.com/a", "upload": "yes"},
    ],
)
def test_msg_anything_else_is_refused(payload) -> None:
    with pytest.raises(AttachmentRefused):
        media_payload(payload)


def test_msg_base64_is_strict_and_bounded_before_decoding() -> None:
    assert decode_data(base64.b64encode(PNG).decode(), 100) == PNG
    for bad in ("not base64!", "QUJD\nREVG", "", "A"):
        with pytest.raises(AttachmentRefused):
            decode_data(bad, 100)
    with pytest.raises(AttachmentRefused, match="limit of 10 bytes"):
        decode_data(base64.b64encode(b"x" * 11).decode(), 10)
    with pytest.raises(AttachmentRefused, match="limit"):
        decode_data("A" * 10_000_000, 1000)  # refused by length, never decoded


def test_msg_content_must_be_what_its_mime_type_says() -> None:
    check_content("image", "image/png", PNG)
    check_content("file", "application/pdf", b"%PDF-1.7")
    check_content("audio", "audio/mpeg", b"ID3")
    check_content("image", "image/webp", b"RIFF\0\0\0\0WEBPVP8 ")
    for kind, mime, content in [
        ("image", "image/png", b"PATH=/usr/bin"),
        ("image", "image/svg+xml", b"<svg/>"),
        ("image", "image/webp", b"RIFF\0\0\0\0AVI "),
        ("audio", "video/mp4", b"x"),
        ("file", "not a mime", b"x"),
        ("file", "text/plain\r\nX-Injected: 1", b"x"),
    ]:
        with pytest.raises(AttachmentRefused):
            check_content(kind, mime, content)


@pytest.mark.parametrize(
    "name",
    [
        "/etc/passwd",
        "../x",
        "media/../../x",
        "media/../x",
        ".env",
        "media/.git/config",
        "a\\b",
        "a\x00b",
        "",
        ".",
        "C:x",
    ],
)
def test_msg_names_that_are_not_plain_relative_paths(name) -> None:
    assert relative_path_problem(name) is not None


def test_msg_files_are_read_only_from_inside_the_allowed_entries(tmp_path) -> None:
    task = tmp_path / "task"
    media = task / "media"
    media.mkdir(parents=True)
    (media / "a.png").write_bytes(PNG)
    (media / "sub").mkdir()
    (media / "sub" / "b.png").write_bytes(PNG)
    (task / "secret.txt").write_text("secret")
    (tmp_path / "outside.txt").write_text("outside")
    (media / "in.txt").symlink_to(task / "secret.txt")
    (media / "out.txt").symlink_to(tmp_path / "outside.txt")
    (media / "big.bin").write_bytes(b"x" * 101)
    (media / "empty.bin").write_bytes(b"")
    (media / "loop").symlink_to(media / "loop")
    os.mkfifo(media / "pipe")
    (task / "linked").symlink_to(tmp_path)  # an allowed entry that is itself a link out

    assert read_contained(task, ["media"], "media/a.png", 100) == PNG
    assert read_contained(task, ["media"], "media/sub/b.png", 100) == PNG
    assert read_contained(task, ["media/a.png"], "media/a.png", 100) == PNG
    refused = {
        "media/in.txt": "outside the allowed files",
        "media/out.txt": "outside the allowed files",
        "secret.txt": "not one of the task's attachable files",
        "media/big.bin": "over the limit",
        "media/empty.bin": "empty",
        "media/loop": "no such file",
        "media/pipe": "not a regular file",
        "media/sub": "not a regular file",
        "media/nothing.png": "no such file",
        "media/../secret.txt": "'..' is not allowed",
        str(media / "a.png"): "not an absolute path",
    }
    for name, why in refused.items():
        with pytest.raises(FileRefused, match=why):
            read_contained(task, ["media"], name, 100)
    with pytest.raises(FileRefused, match="leads outside the task directory"):
        read_contained(task, ["linked"], "linked/outside.txt", 100)
    with pytest.raises(FileRefused, match="not one of"):
        read_contained(task, ["media/a.png"], "media/sub/b.png", 100)


def _body(*events: object, obj: str = "page") -> bytes:
    return json.dumps({"object": obj, "entry": [{"id": "1", "time": 1, "messaging": list(events)}]}).encode()


def test_msg_webhook_bodies_are_parsed_and_validated_once() -> None:
    body = parse_body(_body({"sender": {"id": "9"}, "timestamp": 5, "message": {"mid": "m", "text": "hi"}}))
    [event] = body.entry[0].messaging
    assert event.sender is not None and event.sender.id == "9"
    with pytest.raises(NotForUs):
        parse_body(_body(obj="instagram"))
    with pytest.raises(UntrustedInput, match=r"entry\.0\.messaging\.0\.sender\.id"):
        parse_body(_body({"sender": {"id": 9}}))
    with pytest.raises(UntrustedInput, match="nested more than"):
        parse_body(b'{"object": "page", "x": ' + b"[" * 100 + b"]" * 100 + b"}")


def test_msg_incoming_attachments_are_closed_payloads() -> None:
    event = Event.model_validate(
        {
            "sender": {"id": "1"},
            "message": {
                "mid": "m",
                "attachments": [
                    {"type": "file", "payload": {"url": "file:///etc/passwd", "path": "/etc/passwd"}},
                    {"type": "image", "payload": {"url": "https://cdn.example.com/1.png", "sticker_id": 3}},
                ],
            },
        }
    )
    msg = incoming_message(event)
    assert msg is not None
    assert msg["attachments"] == [{"type": "file"}, {"type": "image", "url": "https://cdn.example.com/1.png"}]


def test_msg_event_keys() -> None:
    def key(**fields: object) -> str:
        return event_key("7", Event.model_validate({"sender": {"id": "7"}, **fields}))

    assert key(message={"mid": "m.1", "text": "a"}) == key(message={"mid": "m.1", "text": "b"}) == "mid:m.1"
    assert key(postback={"mid": "p.1", "payload": "X"}) == "mid:p.1"
    same = key(timestamp=5, postback={"payload": "X", "title": "T"})
    assert same == key(timestamp=5, postback={"title": "T", "payload": "X"})
    assert same != key(timestamp=5, postback={"payload": "Y", "title": "T"})
    assert same != key(timestamp=6, postback={"payload": "X", "title": "T"})
    assert same != event_key("8", Event.model_validate({"timestamp": 5, "postback": {"payload": "X", "title": "T"}}))


async def test_msg_ready_made_and_template_payloads_pass_the_same_checks() -> None:
    # none of these needs an upload, so no Graph API client is given
    made = Attachments(graph=None, files=TaskFiles(None, ()), limit=100)  # type: ignore[arg-type]
    parlai = {
        "type": "ui",
        "data": {"type": "image", "payload": {"url": "https://x.example/a.png", "is_reusable": True}},
    }
    assert await made.attachment(parlai) == {
        "type": "image",
        "payload": {"url": "https://x.example/a.png", "is_reusable": True},
    }
    with pytest.raises(AttachmentRefused):
        await made.attachment({"type": "ui", "data": {"type": "file", "payload": {"url": "file:///etc/passwd"}}})
    with pytest.raises(AttachmentRefused):
        await made.attachment({"type": "ui", "data": {"type": "file", "payload": {"path": "/etc/passwd"}}})
    template = {"type": "template", "payload": {"template_type": "button", "text": "Pick", "buttons": []}}
    assert await made.attachment(template) == {"type": "template", "payload": template["payload"]}
    with pytest.raises(AttachmentRefused):
        await made.attachment({"type": "template", "payload": {"text": "no template_type"}})
    assert await made.attachment({"type": "input_form", "fields": {"email": "email"}}) is None
    with pytest.raises(AttachmentRefused, match="serve.messenger.files"):
        await made.attachment({"type": "file", "path": "media/a.pdf"})
