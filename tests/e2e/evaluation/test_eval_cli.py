"""`workbench validate` and `workbench eval` as subprocesses: boteval's example task
validates (exit 0, a warning for each key not mapped), admins come only from the command
or the environment, and the sample study's conversation tests pass."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from support import FIXTURES, copy_sample
from support.cli import run_cli

from workbench.evaluation.people import verify_password
from workbench.store import open_store


def test_eval_botevals_example_task_validates(tmp_path: Path) -> None:
    example = shutil.copytree(FIXTURES / "boteval" / "example-chat-task", tmp_path / "example-chat-task")
    done = run_cli("validate", str(example))
    assert done.returncode == 0, done.stderr
    assert "ok example-chat-task (boteval" in done.stdout
    for key in ("chatbot.bot_name", "limits.reward", "_mturk", "flask_config", "chat_dir"):
        assert f": {key}: " in done.stderr, key


def test_eval_an_admin_comes_from_the_command_with_a_password_never_an_argument(tmp_path: Path) -> None:
    task = copy_sample("bot_eval", tmp_path)
    env_name = "EVAL_TEST_ADMIN_PASSWORD"
    os.environ[env_name] = "a long admin password"
    try:
        done = run_cli("eval", "admin", "create", str(task), "root", "--password-env", env_name)
    finally:
        del os.environ[env_name]
    assert done.returncode == 0, done.stderr
    store = open_store(task / "data" / "workbench.db")
    try:
        admin = store.study.account("root")
        assert admin.role == "admin" and admin.password_hash.startswith("$argon2")
        assert verify_password(admin, "a long admin password") and not verify_password(admin, "guess")
    finally:
        store.close()
    short = run_cli("eval", "admin", "create", str(task), "root2", "--password-env", "EVAL_TEST_UNSET")
    assert short.returncode == 2 and "EVAL_TEST_UNSET" in short.stderr
    # typed at the prompt (twice), too short: refused
    typed = run_cli("eval", "admin", "create", str(task), "root3", input="short\nshort\n")
    assert typed.returncode == 2 and "at least 8" in typed.stderr


def test_eval_report_and_export_of_an_empty_study_and_of_a_task_without_one(tmp_path: Path) -> None:
    task = copy_sample("bot_eval", tmp_path)
    done = run_cli("eval", "report", str(task))
    assert done.returncode == 0, done.stderr
    assert "0 thread(s), 0 rated" in done.stdout and (task / "exports" / "report.html").is_file()
    done = run_cli("eval", "export", str(task), "--out", str(tmp_path / "out"))
    assert done.returncode == 0 and (tmp_path / "out" / "ratings.csv").read_text().startswith("thread,topic")
    echo = copy_sample("echo", tmp_path)
    done = run_cli("eval", "report", str(echo))
    assert done.returncode == 2 and "no evaluation section" in done.stderr


def test_eval_the_sample_studys_conversation_tests_pass(tmp_path: Path) -> None:
    done = run_cli("test", str(copy_sample("bot_eval", tmp_path)))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed, 0 failed" in done.stdout
