"""Detection of a rasa task; its mapping onto task.yml plugs in here."""

from __future__ import annotations

from pathlib import Path

from workbench.task.errors import Problem, TaskError
from workbench.task.yamlpos import Lines


def load(root: Path, file: Path) -> tuple[dict, Lines, list[str]]:
    raise TaskError(Problem(
        str(file), None, None,
        "recognised as a rasa task, but importing rasa tasks is not supported yet; write a task.yml beside it",
    ))
