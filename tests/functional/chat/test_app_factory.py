"""make_app, the one factory `workbench open` and the tests build the TUI with."""

from __future__ import annotations

import pytest
from support import copy_sample

from workbench.task import TaskError, load_task
from workbench.tui.app import WorkbenchApp, make_app


def test_make_app_loads_a_task_directory_and_takes_a_loaded_task(tmp_path, store) -> None:
    root = copy_sample("echo", tmp_path)
    from_dir = make_app(root, store)
    assert isinstance(from_dir, WorkbenchApp) and from_dir.wb_task.name == "echo"
    task = load_task(root)
    resumed = make_app(task, store, conversation_id="c-1")
    assert resumed.wb_task is task and resumed.conversation_id == "c-1"


def test_make_app_on_a_directory_without_a_task_names_the_problem(tmp_path) -> None:
    with pytest.raises(TaskError, match="no task file here"):
        make_app(tmp_path)
