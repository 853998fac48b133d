"""Task loading: task.yml validated with file:line:key errors; ParlAI's config.yml imported
with warnings; boteval's directory refused by name. (`workbench validate` on the same:
tests/e2e/cli/test_validate.py.)"""

from __future__ import annotations

import pytest
from support import copy_sample, write_task
from support.task_files import BROKEN, GOOD

from workbench.task import TaskError, load_task
from workbench.testing.conversation import discover, run_tests


@pytest.mark.parametrize(("name", "text", "line", "key", "words"), BROKEN, ids=[b[0] for b in BROKEN])
def test_errors_name_file_line_and_key(tmp_path, name, text, line, key, words) -> None:
    root = tmp_path / name
    root.mkdir()
    (root / "task.yml").write_text(text)
    with pytest.raises(TaskError) as info:
        load_task(root)
    problems = info.value.problems
    hit = [p for p in problems if p.line == line and p.key == key]
    assert hit, [str(p) for p in problems]
    assert words in hit[0].message
    assert hit[0].file == str(root / "task.yml")
    assert f"task.yml:{line}:" in str(hit[0])


def test_unknown_key_lists_what_is_expected(tmp_path) -> None:
    root = write_task(tmp_path / "t", "worlds:\n  m: {type: menu, options: {a: EXIT}, colour: 1}\n")
    with pytest.raises(TaskError) as info:
        load_task(root)
    msg = str(info.value)
    assert "worlds.m.colour" in msg and "expected one of:" in msg and "options" in msg


def test_worlds_py_errors_name_the_python_file_and_line(tmp_path) -> None:
    root = write_task(tmp_path / "t", GOOD, "import os\n\nraise RuntimeError('broken on purpose')\n")
    with pytest.raises(TaskError) as info:
        load_task(root)
    (p,) = info.value.problems
    assert p.file.endswith("worlds.py") and p.line == 3 and "broken on purpose" in p.message


def test_parlai_config_loads_with_warnings(tmp_path) -> None:
    root = copy_sample("overworld_demo", tmp_path)
    (root / "task.yml").unlink()
    task = load_task(root)
    assert task.format == "parlai"
    assert task.start_world == "overworld"
    assert set(task.worlds) >= {"overworld", "echo", "onboard data", "chat", "chat/onboarding"}
    chat = task.worlds["chat"]
    assert (chat.agents_required, chat.max_time_in_pool, chat.timeout, chat.onboarding) == (
        2,
        300,
        1800,
        "chat/onboarding",
    )
    assert task.spec.max_workers == 30 and task.spec.opt["debug"] is True
    # what cannot be mapped is a warning that names file, line and key, never dropped silently
    assert any("config.yml:26:" in w and "additional_args.page_id" in w for w in task.warnings), task.warnings


def test_config_yml_named_directly_beside_a_task_yml(tmp_path) -> None:
    root = copy_sample("overworld_demo", tmp_path)
    assert load_task(root).format == "workbench"  # task.yml is detected first
    assert load_task(root / "config.yml").format == "parlai"


async def test_parlai_config_runs_the_overworld_demo_tests(tmp_path) -> None:
    """The same worlds.py through ParlAI's config: the sample's conversation tests pass."""
    root = copy_sample("overworld_demo", tmp_path)
    task = load_task(root / "config.yml")
    tests = discover(task)
    assert len(tests) >= 5
    results = await run_tests(task, tests)
    assert [r.failure for r in results if not r.ok] == []


def test_a_boteval_directory_is_a_clear_error(tmp_path) -> None:
    bote = tmp_path / "bote"
    bote.mkdir()
    (bote / "conf.yml").write_text("chatbots: {}\n")
    with pytest.raises(TaskError, match="boteval"):
        load_task(bote)


def test_relative_paths_are_relative_to_the_task(tmp_path, monkeypatch) -> None:
    root = write_task(tmp_path / "t", "storage: db/x.db\n" + GOOD)
    monkeypatch.chdir(tmp_path.parent)
    task = load_task(root)
    assert task.store_path == root / "db" / "x.db"
    assert task.path("tables/a.csv") == root / "tables" / "a.csv"


@pytest.mark.parametrize("name", ["echo", "overworld_demo"])
def test_sample_tasks_load_without_warnings(tmp_path, name) -> None:
    task = load_task(copy_sample(name, tmp_path))
    assert task.warnings == []
