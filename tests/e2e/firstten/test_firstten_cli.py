"""The CLI a newcomer meets (issue 14, points 8 and 9): the same checks before every command that
starts a task, YAML errors at the line of the mistake, a suggestion for a mistyped key, `test -v`
in order, every command documented, exports git-ignored, and documentation the scaffold can name."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time

import pytest
from support import REPO, copy_sample, write_task
from support.cli import WORKBENCH, run_cli

MISSING_TABLE = """\
name: broken
bots:
  desk:
    engine: decision_table
    table: missing.csv
worlds:
  help: {type: bot_chat, bot: desk}
"""

ERROR = "task.yml:5: bots.desk.table: missing.csv: no such file; expected a decision table"


@pytest.fixture
def broken(tmp_path):
    return write_task(tmp_path / "broken", MISSING_TABLE, tests={"t.yml": "- name: t\n  steps:\n    - user: hi\n"})


@pytest.mark.parametrize("command", ["validate", "chat", "test", "serve"])
def test_commands_that_start_a_task_stop_with_validates_errors(broken, command):
    out = run_cli(command, str(broken), input="hi\n" if command == "chat" else None)
    assert out.returncode == 2, out.stdout + out.stderr
    assert ERROR in out.stderr
    assert "Traceback" not in out.stderr and "conversation" not in out.stdout


def _run_in_a_terminal(args: list[str], timeout: float = 60.0) -> tuple[int, str]:
    """`workbench ARGS` in a pseudo-terminal (the TUI needs one): its exit code and output."""
    master, slave = pty.openpty()
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="80", LINES="24", NO_COLOR="1")
    proc = subprocess.Popen([*WORKBENCH, *args], stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    chunk = b""
                out += chunk
                if not chunk and proc.poll() is not None:
                    break
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return code, re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.decode("utf-8", "replace"))


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_open_stops_with_the_same_errors_after_painting(broken):
    code, out = _run_in_a_terminal(["open", str(broken)])
    assert code == 2, out
    assert ERROR in out.replace("\r\n", "\n")


def test_a_yaml_syntax_error_names_the_line_of_the_mistake(tmp_path):
    task = tmp_path / "t"
    task.mkdir()
    # line 8 is indented unlike its siblings; the block it breaks starts at line 6
    (task / "task.yml").write_text(
        "name: t\nbots:\n  echo:\n    engine: echo\nworlds:\n  echo:\n    type: bot_chat\n   bot: echo\n",
        encoding="utf-8",
    )
    out = run_cli("validate", str(task))
    assert out.returncode == 2
    assert re.search(r"task\.yml:8: YAML syntax error: .*block that starts at line 6", out.stderr), out.stderr


def test_an_unknown_key_suggests_the_closest_valid_one(tmp_path):
    task = write_task(
        tmp_path / "t", "name: t\nbots:\n  echo: {engine: echo}\nwrolds:\n  e: {type: bot_chat, bot: echo}\n"
    )
    out = run_cli("validate", str(task))
    assert out.returncode == 2
    assert "task.yml:4: wrolds: unknown key (did you mean `worlds`?)" in out.stderr


def test_test_verbose_prints_each_transcript_in_order(tmp_path):
    out = run_cli("test", str(copy_sample("echo", tmp_path)), "-v", "-k", "echoes")
    assert out.returncode == 0, out.stdout + out.stderr
    said = [line.split("|", 1)[1].strip() for line in out.stdout.splitlines() if "|" in line]
    assert said == ["user: hello", "echo: hello", "user: how are you?", "echo: how are you?"]


def _commands() -> list[str]:
    """Every command and sub-command `workbench --help` lists, as `workbench X [Y]`."""
    found = []

    def listed(*group: str) -> list[str]:
        text = run_cli(*group, "--help").stdout
        block = text.split("Commands:", 1)[1] if "Commands:" in text else ""
        return [line.split()[0] for line in block.splitlines() if line.startswith("  ") and line.strip()]

    for name in listed():
        subs = listed(name)
        for sub in subs or [""]:
            subsubs = listed(name, sub) if sub else []
            for last in subsubs or [""]:
                found.append(" ".join(p for p in ("workbench", name, sub, last) if p))
    return found


def test_docs_cli_documents_every_command():
    text = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    commands = _commands()
    assert "workbench table import" in commands and "workbench eval admin create" in commands
    missing = [c for c in commands if f"`{c} " not in text and f"`{c}`" not in text]
    assert not missing, f"docs/cli.md does not document: {missing}"


def test_the_export_folder_is_git_ignored(tmp_path):
    inside = REPO / "sample_tasks" / "echo" / "exports" / "conversations.jsonl"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(inside)], cwd=REPO, timeout=30)
    assert ignored.returncode == 0, "the repository's .gitignore does not cover a task's exports/"
    task = tmp_path / "fresh"
    assert run_cli("new", str(task)).returncode == 0
    assert "exports/" in (task / ".gitignore").read_text(encoding="utf-8").splitlines()
    out = run_cli("export", str(task))
    assert out.returncode == 0 and (task / "exports").is_dir()


def test_the_scaffold_points_to_documentation_installed_with_workbench(tmp_path):
    task = tmp_path / "fresh"
    assert run_cli("new", str(task)).returncode == 0
    written = "\n".join(p.read_text(encoding="utf-8") for p in task.rglob("*") if p.is_file())
    assert "docs/" not in written.replace("workbench/docs/", ""), "a path only a checkout of the repository has"
    topics = set(re.findall(r"`workbench docs ([a-z-]+)`", written))
    assert {"task-yml", "conversation-tests"} <= topics
    for topic in topics:
        out = run_cli("docs", topic)
        assert out.returncode == 0 and out.stdout.startswith("# "), (topic, out.stderr)
    listing = run_cli("docs")
    assert listing.returncode == 0 and "workbench docs forms" in listing.stdout
