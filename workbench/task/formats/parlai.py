"""Import a ParlAI chat-service ``config.yml`` onto the task.yml model.

``tasks: {NAME: {onboard_world, task_world, timeout, agents_required,
max_time_in_pool, backup_task}}`` become Python worlds named NAME (the names
an overworld returns), ``overworld`` the start world, ``world_module`` the
task's Python file (its last dotted part + ``.py`` in the task directory).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench.io.yaml_lines import Lines, line_of, load_yaml
from workbench.problems import Problem, TaskError

TASK_KEYS = {"onboard_world", "task_world", "timeout", "agents_required", "max_time_in_pool", "backup_task"}
TOP_KEYS = {"tasks", "task_name", "world_module", "overworld", "max_workers", "opt", "additional_args", "world_path"}


Warn = Callable[[tuple, str], None]


def _worlds_file(root: Path, data: dict, file: Path, lines: Lines) -> str:
    """``world_module`` (its last dotted part + ``.py``), or worlds.py."""
    module = data.get("world_module") or data.get("world_path")
    if not module:
        return "worlds.py"
    candidate = str(module).split(".")[-1] + ".py"
    if (root / candidate).is_file():
        return candidate
    if (root / "worlds.py").is_file():
        return "worlds.py"
    raise TaskError(
        Problem(
            str(file),
            line_of(lines, ("world_module",)),
            "world_module",
            f"{module!r} resolves to {root / candidate}, which does not exist",
        )
    )


def _options(data: dict, out: dict[str, Any], file: Path, lines: Lines, warn: Warn) -> None:
    """``opt`` and ``additional_args`` (a password becomes the task's)."""
    opt = data.get("opt") or {}
    if not isinstance(opt, dict):
        raise TaskError(Problem(str(file), line_of(lines, ("opt",)), "opt", "expected a mapping"))
    out["opt"] = dict(opt)
    for key in ("model", "model_file"):
        if key in opt:
            warn(
                ("opt", key),
                f"ParlAI model {opt[key]!r} is not loaded by workbench; worlds still get it in opt (use a workbench bot instead)",
            )
    extra = data.get("additional_args") or {}
    if isinstance(extra, dict):
        for key, value in extra.items():
            if key == "password":
                out["password"] = str(value)
            else:
                out["opt"].setdefault(key, value)
                warn(("additional_args", key), "kept in opt; workbench has no setting for it")


def _task_world(name: Any, conf: Any, worlds: dict[str, Any], file: Path, lines: Lines, warn: Warn) -> None:
    """One entry of ``tasks:`` as a python world (and its onboarding world)."""
    loc = ("tasks", name)
    if not isinstance(conf, dict) or "task_world" not in conf:
        raise TaskError(
            Problem(str(file), line_of(lines, loc), f"tasks.{name}", "expected a mapping with `task_world:`")
        )
    world: dict[str, Any] = {"type": "python", "world": str(conf["task_world"])}
    for key in conf:
        if key not in TASK_KEYS:
            warn(loc + (key,), "not a ParlAI task key workbench maps; ignored")
    if conf.get("onboard_world"):
        ob_name = f"{name}/onboarding"
        worlds[ob_name] = {"type": "python", "world": str(conf["onboard_world"])}
        world["onboarding"] = ob_name
    for src, dst in (
        ("timeout", "timeout"),
        ("agents_required", "agents_required"),
        ("max_time_in_pool", "max_time_in_pool"),
        ("backup_task", "backup_world"),
    ):
        if conf.get(src) is not None:
            world[dst] = conf[src]
    worlds[str(name)] = world


def load(root: Path, file: Path) -> tuple[dict, Lines, list[str]]:
    """The task a ParlAI chat-service config maps to: (task.yml-shaped dict, key lines, warnings)."""
    data, lines = load_yaml(file, what="ParlAI config")
    if not isinstance(data, dict):
        raise TaskError(Problem(str(file), 1, None, "expected a ParlAI chat-service config (a mapping with `tasks:`)"))
    warnings: list[str] = []

    def warn(loc: tuple, msg: str) -> None:
        warnings.append(f"{file}:{line_of(lines, loc)}: {'.'.join(map(str, loc))}: {msg}")

    tasks = data.get("tasks")
    if not isinstance(tasks, dict) or not tasks:
        raise TaskError(
            Problem(
                str(file),
                line_of(lines, ("tasks",)),
                "tasks",
                "expected a mapping of task names to {task_world, onboard_world, ...}",
            )
        )
    worlds: dict[str, Any] = {}
    out: dict[str, Any] = {
        "name": data.get("task_name") or root.name,
        "worlds": worlds,
        "worlds_file": _worlds_file(root, data, file, lines),
    }
    for key in data:
        if key not in TOP_KEYS:
            warn((key,), "not a ParlAI chat-service key workbench maps; ignored")
    if "max_workers" in data:
        out["max_workers"] = data["max_workers"]
    _options(data, out, file, lines, warn)
    if data.get("overworld"):
        worlds["overworld"] = {"type": "python", "world": str(data["overworld"])}
        out["start"] = "overworld"
    for name, conf in tasks.items():
        _task_world(name, conf, worlds, file, lines, warn)
    # a mapped task's keys point back to the config's lines
    mapped: Lines = dict(lines)
    for name in tasks:
        mapped[("worlds", str(name))] = line_of(lines, ("tasks", name)) or 1
    return out, mapped, warnings
