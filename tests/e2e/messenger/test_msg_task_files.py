"""Task files may name files to attach, and only inside ``serve.messenger.files``.

The bot here is the worst case of task code: it attaches whatever path or URL the person
types. Only the file inside the declared folder goes out; ``..``, absolute paths, hidden
files, a symbolic link out of the folder or out of the task, the store, and ``file://``
or ``http://`` URLs are refused, and the Graph API double receives none of their bytes.
"""

from __future__ import annotations

import logging

import pytest
from support import wait_for, write_task
from support.messenger import graph_double, post, text

CANARY = b"canary-5f4dcc3b5aa765d61d83"
LOGO = b"\x89PNG\r\n\x1a\n" + b"\x01" * 32

TASK = """
name: attaching
storage: data/workbench.db
bots:
  clerk: {engine: python, name: Clerk}
worlds:
  desk: {type: bot_chat, bot: clerk}
serve:
  messenger:
    typing: false
    mark_seen: false
    backoff: 0.01
    files: [media]
"""

CLERK = """
from workbench import bot


@bot("Clerk")
class Clerk:
    def observe(self, msg):
        self.text = msg["text"]

    def act(self):
        kind, _, where = self.text.partition(" ")
        if kind == "path":
            return {"text": "", "payload": {"type": "image", "path": where}}
        if kind == "file":
            return {"text": "", "payload": {"type": "file", "path": where}}
        if kind == "url":
            return {"text": "", "payload": {"type": "file", "url": where, "upload": True}}
        return {"text": "ok " + self.text}
"""


@pytest.fixture
async def graph(monkeypatch):
    async with graph_double(monkeypatch) as double:
        yield double


async def test_msg_only_files_inside_the_declared_folder_are_attached(graph, serve, tmp_path, caplog) -> None:
    outside = tmp_path / "outside.png"
    outside.write_bytes(LOGO + CANARY)
    task = write_task(tmp_path / "attaching", TASK, CLERK, files={".env": "SECRET=" + CANARY.decode()})
    media = task / "media"
    media.mkdir()
    (media / "logo.png").write_bytes(LOGO)
    (media / ".hidden.png").write_bytes(LOGO + CANARY)
    (task / "private.png").write_bytes(LOGO + CANARY)
    (media / "up.png").symlink_to(task / "private.png")  # inside the task, outside the folder
    (media / "out.png").symlink_to(outside)  # outside the task
    (task / "data").mkdir()
    (task / "data" / "workbench.db").write_bytes(b"SQLite format 3\x00" + CANARY)  # what a store begins with
    (media / "db.png").symlink_to(task / "data" / "workbench.db")
    server = await serve(task)

    tries = [
        "path ../private.png",
        "path media/../private.png",
        f"path {outside}",
        f"path {media / 'logo.png'}",  # absolute, even though it is the allowed file
        "path media/.hidden.png",
        "file .env",
        "path media/up.png",
        "path media/out.png",
        "file media/db.png",
        "file data/workbench.db",
        "path private.png",
        "path media/missing.png",
        "path media",
        f"url file://{outside}",
        "url http://127.0.0.1:9/x.png",
        "url https://user:pw@example.com/x.png",
    ]
    with caplog.at_level(logging.WARNING, logger="workbench.services.messenger"):
        for line in tries:
            assert (await post(server.http_url, text("77", line))).status_code == 200
        assert (await post(server.http_url, text("77", "path media/logo.png"))).status_code == 200
        assert (await post(server.http_url, text("77", "done"))).status_code == 200
        await wait_for(lambda: "ok done" in graph.texts("77"), 10, "the last reply")

    uploads = [r for r in graph.requests if r["endpoint"] == "message_attachments"]
    assert [(u["content"], u["filename"], u["mime_type"]) for u in uploads] == [(LOGO, "logo.png", "image/png")]
    assert [raw for raw in graph.received if CANARY in raw or b"SQLite format" in raw] == []
    refused = [r for r in caplog.records if "was refused and not sent" in r.getMessage()]
    assert len(refused) == len(tries)
    # each refusal says why without echoing a file's content
    assert all(CANARY.decode() not in r.getMessage() for r in caplog.records)
    # a refused attachment leaves a placeholder text, so the person is not left waiting in silence
    assert graph.texts("77").count("[image]") + graph.texts("77").count("[file]") == len(tries)
    assert graph.rejected == []


async def test_msg_a_task_without_files_attaches_nothing_by_path(graph, serve, tmp_path, caplog) -> None:
    task = write_task(tmp_path / "closed", TASK.replace("    files: [media]\n", ""), CLERK)
    (task / "media").mkdir()
    (task / "media" / "logo.png").write_bytes(LOGO)
    server = await serve(task)
    with caplog.at_level(logging.WARNING, logger="workbench.services.messenger"):
        assert (await post(server.http_url, text("78", "path media/logo.png"))).status_code == 200
        assert (await post(server.http_url, text("78", "done"))).status_code == 200
        await wait_for(lambda: "ok done" in graph.texts("78"), 10, "the last reply")
    assert [r for r in graph.requests if r["endpoint"] == "message_attachments"] == []
    assert "serve.messenger.files" in caplog.text
