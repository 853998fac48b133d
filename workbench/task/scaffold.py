"""`workbench new`: a task that runs as soon as it is written."""

from __future__ import annotations

from pathlib import Path

TASK_YML = """\
# A workbench task. Every key is documented in `workbench docs task-yml`
# (workbench/docs/task-yml.md in the installed package; `workbench docs` lists every topic).
name: {name}
description: A menu, an echo bot and a Python bot from worlds.py.
bots:
  echo:
    engine: echo
    prefix: "You said: "
  greeter:
    engine: python
    name: greeter          # registered with @bot("greeter") in worlds.py
worlds:
  overworld:
    type: menu
    text: What would you like to do?
    options:
      Echo: echo
      Talk to the greeter: greeter
      Exit: EXIT
  echo:
    type: bot_chat
    bot: echo
    text: Send [DONE] to go back to the menu.
  greeter:
    type: bot_chat
    bot: greeter
"""

WORLDS_PY = '''\
"""Python bots, worlds and actions for this task, registered by decorator."""

from workbench import bot


@bot("greeter")
class Greeter:
    """boteval style: hear() each message, talk() a reply."""

    def __init__(self):
        self.last = None

    def hear(self, msg):
        self.last = msg

    def talk(self):
        text = (self.last or {}).get("text", "")
        if text.lower() in ("hi", "hello", "hey"):
            return {"text": "Hello! Send [DONE] to go back."}
        return {"text": f"I heard: {text}"}
'''

TEST_YML = """\
# Conversation tests: `workbench test .` runs them (`workbench docs conversation-tests`).
- name: echo from the menu
  steps:
    - bot_contains: What would you like to do?
    - click: Echo
    - user: hello
    - bot: "You said: hello"
    - user: "[DONE]"
    - world: overworld

- name: the greeter answers hello
  steps:
    - user: talk to the greeter
    - user: hi
    - bot: Hello! Send [DONE] to go back.
"""

#: never committed: secrets (.env holds WORKBENCH_* tokens), the store, exports of conversations
GITIGNORE = "# secrets: WORKBENCH_* tokens (`workbench docs messenger`)\n.env\n# the store and exported conversations\ndata/\nexports/\n"


def scaffold(directory: Path, force: bool = False) -> list[Path]:
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()) and not force:
        raise FileExistsError(f"{directory} exists and is not empty")
    (directory / "tests").mkdir(parents=True, exist_ok=True)
    files = {
        directory / "task.yml": TASK_YML.format(name=directory.resolve().name),
        directory / "worlds.py": WORLDS_PY,
        directory / "tests" / "basic.yml": TEST_YML,
    }
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    _ensure_gitignore(directory / ".gitignore")
    return [*files, directory / ".gitignore"]


def _ensure_gitignore(path: Path) -> None:
    """Our ignore lines in ``path``: written, or appended to an existing .gitignore (--force)
    where they are missing."""
    if not path.is_file():
        path.write_text(GITIGNORE, encoding="utf-8")
        return
    with path.open("r+", encoding="utf-8", errors="replace") as f:
        existing = f.read(1 << 20)  # a .gitignore is small; past 1 MiB, duplicates are harmless
        have = {line.strip() for line in existing.splitlines()}
        missing = [line for line in GITIGNORE.splitlines() if not line.startswith("#") and line not in have]
        if missing:
            f.seek(0, 2)
            f.write(("" if existing.endswith("\n") or not existing else "\n") + "\n".join(missing) + "\n")
