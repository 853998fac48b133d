"""Errors a person can act on: file, line, key, what was expected."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class Problem:
    file: str
    line: int | None
    key: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message}"


class TaskError(Exception):
    """A task that cannot be loaded; ``problems`` says every reason found."""

    def __init__(self, problems: list[Problem] | Problem | str, file: str | Path | None = None) -> None:
        if isinstance(problems, str):
            problems = [Problem(str(file or "task"), None, None, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
