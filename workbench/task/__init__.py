"""Task directories: loading, validation and the formats workbench imports."""

from workbench.problems import Problem, TaskError
from workbench.task.loader import Task, load_task

__all__ = ["Problem", "Task", "TaskError", "load_task"]
