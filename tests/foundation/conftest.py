"""Fixtures of the foundation tests (helpers live in helpers.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .helpers import write_task


@pytest.fixture
def task_dir(tmp_path: Path) -> Callable[..., Path]:
    """``task_dir(task_yml, worlds_py=None, name="task")`` writes a task into tmp_path."""

    def make(
        task_yml: str, worlds_py: str | None = None, name: str = "task", tests: dict[str, str] | None = None
    ) -> Path:
        return write_task(tmp_path / name, task_yml, worlds_py, tests)

    return make
