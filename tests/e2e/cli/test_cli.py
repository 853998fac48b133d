"""`workbench` in real subprocesses: help and version, chat from stdin, crash and resume,
new, test (exit codes, JUnit), chat --record, export."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import xml.etree.ElementTree as ET

import pytest
from support import Person, copy_sample, say, write_task
from support.cli import LineReader, popen_cli, run_cli

from workbench.runtime.runner import Runner
from workbench.task import load_task


def test_help_lists_every_command() -> None:
    res = run_cli("--help")
    assert res.returncode == 0
    for command in ("open", "chat", "validate", "new", "export", "test", "serve"):
        assert command in res.stdout
    assert run_cli("-h").stdout == res.stdout
    sub = run_cli("chat", "-h")
    assert sub.returncode == 0 and "--resume" in sub.stdout and "--record" in sub.stdout


def test_version() -> None:
    from workbench import __version__

    ver = run_cli("--version")
    assert ver.returncode == 0 and ver.stdout.strip() == f"workbench {__version__}"


def test_chat_echo_from_stdin(tmp_path) -> None:
    root = copy_sample("echo", tmp_path)
    res = run_cli("chat", str(root), input="hello\n")
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["echo: hello"]
    assert "Traceback" not in res.stderr
    # the store is the task's own, in the (copied) task directory
    assert (root / "data" / "workbench.db").is_file()


def test_chat_overworld_demo_by_menu_text(tmp_path) -> None:
    root = copy_sample("overworld_demo", tmp_path)
    script = "echo\nhi there\n[DONE]\nONBOARD DATA\nAda\ngreen\n4\n"  # a number picks that quick reply
    res = run_cli("chat", str(root), input=script)
    assert res.returncode == 0, res.stderr
    out = res.stdout.splitlines()
    assert out[0] == "Overworld: Welcome to the overworld demo. Pick a demo from the quick replies."
    assert "  [1] echo  [2] onboard data  [3] chat  [4] EXIT" in out
    assert "World: hi there" in out
    assert "Onboarding: What is your favourite colour?" in out
    assert "World: Your name is Ada and your favourite colour is green. Back to the menu!" in out
    assert out[-1] == "Overworld: Goodbye!"


def _db_rows(db):
    conn = sqlite3.connect(str(db))
    try:
        convs = conn.execute("SELECT id, world, status FROM conversations").fetchall()
        msgs = conn.execute("SELECT role, text FROM messages ORDER BY seq").fetchall()
        states = {b: json.loads(s) for b, s in conn.execute("SELECT bot, state FROM engine_state")}
    finally:
        conn.close()
    return convs, msgs, states


def test_killed_chat_keeps_every_acknowledged_message_and_resumes(tmp_path) -> None:
    root = copy_sample("echo", tmp_path)
    db = root / "data" / "workbench.db"
    proc = popen_cli("chat", str(root), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        out = LineReader(proc.stdout)
        for word in ("one", "two", "three"):
            proc.stdin.write(word + "\n")
            proc.stdin.flush()
            out.wait_for(f"echo: {word}", timeout=15)
        # a fourth message, then the process dies at once, mid-conversation
        proc.stdin.write("four\n")
        proc.stdin.flush()
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)

    (conv,), msgs, states = _db_rows(db)
    cid, world, status = conv
    assert world == "echo" and status == "active"  # it never got to say goodbye
    # every reply that was printed, and the message it answered, is in the store
    for word in ("one", "two", "three"):
        assert ("human", word) in msgs and ("bot", word) in msgs
    # the state is that of the last committed turn: turns matches the stored replies
    bot_replies = [t for r, t in msgs if r == "bot"]
    assert bot_replies[:3] == ["one", "two", "three"]
    turns = states["echo"]["turns"]
    assert turns == len(bot_replies) and turns in (3, 4)
    # a person's message is stored with the turn it starts, never alone
    assert (("human", "four") in msgs) == (("bot", "four") in msgs)

    res = run_cli("chat", str(root), "--resume", cid, input="five\n")
    assert res.returncode == 0, res.stderr
    assert "echo: five" in res.stdout
    assert f"resuming conversation {cid}" in res.stderr
    (conv,), msgs, states = _db_rows(db)
    assert conv[0] == cid
    assert states["echo"]["turns"] == turns + 1
    assert msgs[-2:] == [("human", "five"), ("bot", "five")]

    # --resume without an id takes the latest conversation
    res = run_cli("chat", str(root), "--resume", input="six\n")
    assert res.returncode == 0 and "echo: six" in res.stdout
    assert _db_rows(db)[2]["echo"]["turns"] == turns + 2


def test_resume_of_an_unknown_id_exits_2(tmp_path) -> None:
    root = copy_sample("echo", tmp_path)
    res = run_cli("chat", str(root), "--resume", "nope", input="x\n")
    assert res.returncode == 2
    assert "no conversation 'nope'" in res.stderr and "Traceback" not in res.stderr


def test_new_scaffolds_a_task_whose_tests_pass(tmp_path) -> None:
    target = tmp_path / "mytask"
    res = run_cli("new", str(target))
    assert res.returncode == 0, res.stderr
    assert {p.name for p in target.iterdir()} >= {"task.yml", "worlds.py", "tests", ".gitignore"}
    assert "data/" in (target / ".gitignore").read_text()
    res = run_cli("test", str(target))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "2 passed, 0 failed" in res.stdout
    chat = run_cli("chat", str(target), input="Echo\nhi\n")
    assert "echo: You said: hi" in chat.stdout
    # a second `new` into the same, now non-empty, directory is refused
    again = run_cli("new", str(target))
    assert again.returncode == 2 and "--force" in again.stderr


@pytest.mark.parametrize("sample", ["echo", "overworld_demo"])
def test_test_passes_on_the_sample_tasks(tmp_path, sample) -> None:
    root = copy_sample(sample, tmp_path)
    res = run_cli("test", str(root))
    assert res.returncode == 0, res.stdout + res.stderr
    assert " 0 failed" in res.stdout and "FAIL" not in res.stdout
    assert not (root / "data").exists()  # tests run on a temporary store


def test_test_exits_1_on_a_failing_test_and_writes_junit(tmp_path) -> None:
    root = copy_sample("echo", tmp_path)
    (root / "tests" / "wrong.yml").write_text(
        "- name: expects the wrong echo\n  steps:\n    - user: hello\n    - bot: goodbye\n"
    )
    junit = tmp_path / "report" / "junit.xml"
    res = run_cli("test", str(root), "--junit", str(junit))
    assert res.returncode == 1, res.stdout + res.stderr
    assert "FAIL expects the wrong echo" in res.stdout
    assert "wrong.yml:4" in res.stdout  # the failing step's line
    assert "expected a reply exactly 'goodbye'; got 'hello'" in res.stdout
    assert "2 passed, 1 failed" in res.stdout
    suite = ET.parse(junit).getroot()
    assert suite.tag == "testsuite" and suite.get("tests") == "3" and suite.get("failures") == "1"
    failed = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["expects the wrong echo"]
    assert "wrong.yml:4" in failed[0].find("failure").text


def test_test_exits_2_on_a_malformed_test_file(tmp_path) -> None:
    root = copy_sample("echo", tmp_path)
    bad = root / "tests" / "bad.yml"
    bad.write_text("- name: bad step\n  steps:\n    - user: hi\n    - bott: hi\n")
    res = run_cli("test", str(root))
    assert res.returncode == 2, res.stdout + res.stderr
    assert f"{bad}:4" in res.stderr and "bott" in res.stderr
    assert "Traceback" not in res.stderr
    bad.write_text("- name: [unclosed\n")
    res = run_cli("test", str(root))
    assert res.returncode == 2 and f"{bad}:1" in res.stderr


def test_chat_record_writes_a_test_that_passes(tmp_path) -> None:
    root = copy_sample("overworld_demo", tmp_path)
    recorded = tmp_path / "recorded.yml"
    res = run_cli("chat", str(root), "--record", str(recorded), input="echo\nping\n[DONE]\nEXIT\n")
    assert res.returncode == 0, res.stderr
    text = recorded.read_text()
    assert "click: echo" in text and "user: ping" in text and "bot: ping" in text
    res = run_cli("test", str(root), str(recorded))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 passed, 0 failed" in res.stdout


async def test_export_writes_jsonl_and_one_json_per_conversation(tmp_path) -> None:
    root = write_task(
        tmp_path / "t",
        "bots: {echo: {engine: echo}}\nworlds: {chat: {type: bot_chat, bot: echo}}\n",
    )
    task = load_task(root)
    runner = Runner(task, task.store)  # the task's own store: data/workbench.db
    ids = []
    for i in range(3):
        p = Person(f"p{i}")
        p.session = await runner.connect(p.deliver, person=p.name)
        await say(runner, p, {"text": f"hello {i}", "extra": i})
        ids.append(p.session.conversation_id)
    await runner.stop()
    task.store.close()

    out = tmp_path / "out"
    res = run_cli("export", str(root), "--out", str(out))
    assert res.returncode == 0, res.stderr
    lines = (out / "conversations.jsonl").read_text().splitlines()
    assert len(lines) == 3
    convs = [json.loads(line) for line in lines]
    assert [c["id"] for c in convs] == ids  # oldest first
    for i, c in enumerate(convs):
        assert c["person"] == f"p{i}"
        assert [(m["role"], m["text"]) for m in c["messages"]] == [("human", f"hello {i}"), ("bot", f"hello {i}")]
        assert c["messages"][0]["act"]["extra"] == i
        assert c["engine_state"] == {"echo": {"turns": 1}}
        single = json.loads((out / "conversations" / f"{c['id']}.json").read_text())
        assert single == c
    assert len(list((out / "conversations").iterdir())) == 3
