"""The checks a task passes before anything serves it: every bot starts, the study loads.

`workbench validate` runs them and stops; `open`, `chat`, `test` and `serve` run the
same ones before they start, so a bot naming a missing table file is a ``file:line``
error at the prompt, not a failed conversation later. Loading the task (its YAML,
its schema, its cross-references) comes first and is the loader's job; this is
what only building the bots and the study can find.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from workbench.problems import Problem, TaskError, line_of


def preflight(task: Any, store: Any = None) -> list[Problem]:
    """Every problem found by building each bot of ``task`` (on ``store`` when given, which
    the task then keeps, so the built engines serve the run that follows) and its
    evaluation study. Warnings are included; :func:`errors` picks the ones that stop."""
    if store is not None:
        task.use_store(store)
    problems: list[Problem] = []
    for name in task.bot_configs:
        try:
            task.engine(name)
        except TaskError as exc:
            problems.extend(_at_key(task, name, p) for p in exc.problems)
        except Exception as exc:  # an engine that cannot start is invalid input, not a crash
            problems.append(
                Problem(
                    str(task.file),
                    line_of(task.lines, ("bots", name)),
                    f"bots.{name}",
                    f"cannot start this bot: {type(exc).__name__}: {exc}",
                )
            )
    if task.spec.evaluation is not None:
        from workbench.evaluation import Study

        try:
            Study(task, task.store)  # the topics file and the transforms
        except TaskError as exc:
            problems.extend(exc.problems)
    return problems


def _at_key(task: Any, bot: str, problem: Problem) -> Problem:
    """A file the bot names that cannot be read at all (missing, not a file) is said at the
    task file's line naming it: ``task.yml:5: bots.desk.table: missing.csv: no such file``."""
    if problem.line is not None or problem.row is not None:
        return problem
    for key, value in task.bot_configs[bot].model_dump().items():
        if isinstance(value, str) and value and str(task.path(value)) == problem.file:
            return replace(
                problem,
                file=str(task.file),
                line=line_of(task.lines, ("bots", bot, key)),
                key=f"bots.{bot}.{key}",
                message=f"{value}: {problem.message}",
            )
    return problem


def errors(problems: list[Problem]) -> list[Problem]:
    """The problems that stop a command (warnings do not)."""
    return [p for p in problems if p.is_error]
