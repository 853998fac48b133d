"""Detection of a boteval task; its mapping onto task.yml plugs in here."""

from __future__ import annotations

from pathlib import Path

from workbench.io.yaml_lines import Lines
from workbench.problems import Problem, TaskError


def load(root: Path, file: Path) -> tuple[dict, Lines, list[str]]:
    raise TaskError(
        Problem(
            str(file),
            None,
            None,
            "recognised as a boteval task, but importing boteval tasks is not supported yet; write a task.yml beside it",
        )
    )
