"""YAML loading that remembers the line of every key, for errors that point at it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from workbench.problems import Lines, Problem, TaskError, line_of

__all__ = ["Lines", "line_of", "load_yaml"]


class _Loader(yaml.SafeLoader):
    pass


def load_yaml(path: Path, text: str | None = None) -> tuple[Any, Lines]:
    """Parse ``path``; return the data and ``{key path: line}`` (1-based)."""
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise TaskError(Problem(str(path), None, None, f"not UTF-8 text ({exc.reason})")) from None
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        # an unclosed bracket or quote is reported where it was opened
        mark = exc.context_mark or exc.problem_mark
        line = mark.line + 1 if mark else None
        msg = f"YAML syntax error: {exc.problem or exc}"
        if exc.context:
            msg += f" ({exc.context}"
            if exc.problem_mark and exc.context_mark and exc.problem_mark.line != exc.context_mark.line:
                msg += f" that starts here; noticed at line {exc.problem_mark.line + 1}"
            msg += ")"
        raise TaskError(Problem(str(path), line, None, msg)) from None
    lines: Lines = {}
    if node is None:
        return None, lines
    _walk(node, (), lines)
    loader = _Loader(text)
    try:
        data = loader.construct_document(node)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        raise TaskError(Problem(str(path), mark.line + 1 if mark else None, None, str(exc.problem))) from None
    finally:
        loader.dispose()
    return data, lines


def _walk(node: yaml.Node, path: tuple, lines: Lines) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.start_mark)
            lines[path + (key,)] = key_node.start_mark.line + 1
            _walk(value_node, path + (key,), lines)
            lines[path + (key,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, path + (i,), lines)
