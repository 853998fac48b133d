"""Model bots from the command line (real subprocesses): `workbench chat` streams a reply and ctrl+c
stops it (a second ctrl+c quits); the sample's babbler runs offline out of the box; `workbench
test --record-model` records a cassette that later runs replay without the server."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from support import copy_sample, eventually, write_task
from support.cli import LineReader, popen_cli, run_cli
from support.openai_double import Reply

TASK = """
name: assistant
bots:
  assistant:
    engine: openai
    base_url: {url}
    model: double-model
    system_prompt: {system}
worlds:
  chat: {{type: bot_chat, bot: assistant}}
"""

TESTS = """
- name: answers
  steps:
    - user: hi
    - bot: Hello from the double.
"""


def test_ctrl_c_stops_the_reply_and_a_second_one_quits(tmp_path, threaded_openai_double) -> None:
    server, loop = threaded_openai_double
    server.script(Reply(hold_after=2))
    root = write_task(tmp_path / "task", TASK.format(url=server.base_url, system="Be brief."))
    proc = popen_cli("chat", str(root), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = LineReader(proc.stdout), LineReader(proc.stderr)
    try:
        err.wait_for("resume with --resume", 30)
        proc.stdin.write("hi\n")
        proc.stdin.flush()
        eventually(
            lambda: server.requests and server.requests[0]["tokens_sent"] == 2, timeout=20, what="two tokens sent"
        )
        proc.send_signal(signal.SIGINT)
        err.wait_for("stopping the reply; ctrl+c again quits", 10)
        assert out.wait_for("assistant: Hello from", 10) == "assistant: Hello from"
        eventually(lambda: server.requests[0]["closed_early"], timeout=20, what="the server to see the stream closed")
        proc.stdin.write("again\n")
        proc.stdin.flush()
        out.wait_for("assistant: Hello from the double.", 20)  # the conversation went on
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_the_sample_babbler_runs_offline_out_of_the_box(tmp_path) -> None:
    root = copy_sample("model_chat", tmp_path)
    res = run_cli("chat", str(root), input="Babbler\nhello there\n", timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert any(line.startswith("babbler: Hi! I am a tiny model") and "babble" in line for line in lines)
    babble = [line for line in lines if line.startswith("babbler: ") and "tiny model" not in line]
    assert babble and len(babble[0].split()) > 3, lines
    assert (root / "data" / "models" / "tiny-babbler" / "config.json").is_file()  # built on first use
    assert "Traceback" not in res.stderr


def test_record_model_then_replay_without_the_server(tmp_path, threaded_openai_double) -> None:
    server, loop = threaded_openai_double
    root = write_task(
        tmp_path / "task", TASK.format(url=server.base_url, system="Be brief."), tests={"chat.yml": TESTS}
    )
    recorded = run_cli("test", str(root), "--record-model")
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    cassette = root / "tests" / "cassettes" / "chat.json"
    assert cassette.is_file() and len(server.requests) == 1
    # the server is gone: point the bot nowhere, the replay does not need it
    gone = TASK.format(url="http://127.0.0.1:9/v1", system="Be brief.")
    (root / "task.yml").write_text(gone, encoding="utf-8")
    replayed = run_cli("test", str(root))
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "1 passed, 0 failed" in replayed.stdout and len(server.requests) == 1
    # a changed prompt has no recorded response: the failure says how to record again
    (root / "task.yml").write_text(gone.replace("Be brief.", "Be long."), encoding="utf-8")
    changed = run_cli("test", str(root))
    assert changed.returncode == 1
    assert "no recorded response of bot 'assistant' to 'hi'" in changed.stdout
    assert "--record-model" in changed.stdout
    live = run_cli("test", str(root), "--live-model")
    assert live.returncode == 1 and "cannot connect to http://127.0.0.1:9/v1" in live.stdout
    both = run_cli("test", str(root), "--live-model", "--record-model")
    assert both.returncode == 2


def test_the_samples_tests_replay_their_cassettes(tmp_path) -> None:
    root: Path = copy_sample("model_chat", tmp_path)
    res = run_cli("test", str(root), "-v")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "2 passed, 0 failed" in res.stdout
    assert "assistant: The capital of Italy is Rome." in res.stdout
