"""Issue 8 item 9: the CLI prints text from files and people literally. ``:x:`` stays
``:x:`` (not an emoji) and ``[red]`` stays ``[red]`` (not a style) in what `workbench
validate`, `table check`, `chat --resume` and `test -v` print."""

from __future__ import annotations

from support import copy_sample, write_task
from support.cli import run_cli

SHOUT = ":x: [red]boom[/red] :thumbs_up:"
EMOJI = ("\u274c", "\U0001f44d")


def _literal(output: str) -> None:
    assert SHOUT in output, output
    assert not any(e in output for e in EMOJI), output


TASK = f"""
name: "{SHOUT}"
bots:
  echo: {{engine: echo, greeting: "{SHOUT}"}}
worlds:
  chat: {{type: bot_chat, bot: echo}}
"""

TEST = f"""
- name: "{SHOUT}"
  steps:
    - bot: "{SHOUT}"
    - user: "{SHOUT}"
    - bot: "{SHOUT}"
"""


def test_secrets_task_and_table_files_are_printed_literally(tmp_path) -> None:
    task = write_task(tmp_path / "shout", TASK, tests={"shout.yml": TEST})
    res = run_cli("validate", str(task))
    assert res.returncode == 0, res.stderr
    _literal(res.stdout)

    res = run_cli("test", str(task), "-v")
    assert res.returncode == 0, res.stdout + res.stderr
    _literal(res.stdout)

    helpdesk = copy_sample("helpdesk", tmp_path)
    table = tmp_path / "t.csv"
    # the state's name is quoted whole in the row's problem ([state NAME]); a bad cell is cut short
    table.write_text(f'state,execution_order,bubble\n"{SHOUT}",many,hi\n', encoding="utf-8")
    res = run_cli("table", "check", str(helpdesk), str(table))
    assert res.returncode == 2
    _literal(res.stdout + res.stderr)


def test_secrets_what_people_said_is_printed_literally_when_a_chat_resumes(tmp_path) -> None:
    task = write_task(tmp_path / "shout", TASK)
    first = run_cli("chat", str(task), input=f"{SHOUT}\n")
    assert first.returncode == 0, first.stderr
    _literal(first.stdout)
    again = run_cli("chat", str(task), "--resume", input="")
    assert again.returncode == 0, again.stderr
    _literal(again.stdout)
    assert again.stdout.count(SHOUT) >= 3  # the greeting, the person's line and its echo
