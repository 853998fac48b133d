"""YAML loading that remembers the line of every key, for errors that point at it, within bounds.

A task's YAML is read through :func:`~workbench.io.files.read_text` (a regular file
under :data:`~workbench.io.files.YAML_LIMIT`, UTF-8 without control characters), and
what PyYAML would let grow without bound is refused with a Problem at its line:

* nesting deeper than :data:`MAX_DEPTH` (PyYAML composes recursively);
* aliases that expand to more than :data:`MAX_EXPANSION` values beyond those written
  (six levels of nine aliases each are half a million values from 300 bytes, and
  merge keys ``<<: [*a, *a]`` multiply the same way), and an alias inside the value
  it names (a cycle);
* integers beyond 64 bits and values PyYAML cannot construct (``2023-13-45``).

Ordinary anchors and merge keys (``<<: *defaults``) are untouched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

from workbench.io.files import YAML_LIMIT, decode_text, read_text
from workbench.problems import Lines, Problem, TaskError, line_of

__all__ = ["Lines", "line_of", "load_yaml", "MAX_DEPTH", "MAX_EXPANSION"]

#: how deep mappings and lists may nest
MAX_DEPTH = 64
#: how many values aliases may add to a document, beyond those written in it
MAX_EXPANSION = 100_000
#: the largest integer accepted (SQLite's INTEGER is 64-bit)
_MAX_INT = 2**63 - 1


class _Refused(ComposerError):
    """A document refused for its size or shape (not a syntax error)."""


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with a nesting limit and values that fail as marked errors."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _Refused(None, None, f"nested more than {MAX_DEPTH} levels deep", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as exc:
            raise ConstructorError(None, None, f"cannot read this value: {exc}", node.start_mark) from None

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        # refused before converting: int() of 5,000 digits fails with Python's own limit
        digits = str(node.value).replace("_", "").lstrip("+-")
        if len(digits) > 2 + 64:  # 0b and 64 binary digits: the longest 64-bit spelling
            raise ConstructorError(None, None, f"the number {str(node.value)[:24]}… is too large", node.start_mark)
        value = super().construct_yaml_int(node)
        if abs(value) > _MAX_INT:
            raise ConstructorError(None, None, f"the number {value} is too large (at most {_MAX_INT})", node.start_mark)
        return value


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_aliases(root: yaml.Node, path: Path) -> None:
    """Refuse a cycle, or aliases that expand to more than MAX_EXPANSION extra values.

    Sizes are counted once per node (a node an alias names is shared), so the check
    costs the size of the file, not of the expansion."""
    size: dict[int, int] = {}
    entered: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            size[key] = min(1 + sum(size[id(c)] for c in _children(node)), 1 << 62)
            if size[key] > len(size) + MAX_EXPANSION:
                raise _problem(
                    path,
                    node.start_mark,
                    f"the aliases (*name) in this value expand to more than {MAX_EXPANSION} values; "
                    "write the values out, or refer to them less often",
                )
            continue
        if key in size:
            continue
        if key in entered:
            raise _problem(path, node.start_mark, "an alias (*name) refers to a value that contains it")
        entered.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in size)


def _walk(root: yaml.Node, lines: Lines) -> None:
    """Record the line of every key path; a value an alias repeats is walked once (its
    keys are known at the anchor; under the alias, the alias's own line stands for them)."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, tuple]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        lines.setdefault(path, node.start_mark.line + 1)
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in reversed(node.value):
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.start_mark)
                lines[path + (key,)] = key_node.start_mark.line + 1
                stack.append((value_node, path + (key,)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, path + (i,)) for i, item in reversed(list(enumerate(node.value))))


def _problem(path: Path, mark: Any, message: str) -> TaskError:
    return TaskError(Problem(str(path), mark.line + 1 if mark else None, None, message))


def _syntax_error(path: Path, exc: yaml.MarkedYAMLError) -> TaskError:
    """The line of the mistake: where an unclosed bracket or quote (or a key without its
    colon) was opened, but where a block went wrong (a line indented unlike its siblings),
    since the block itself started fine."""
    context = exc.context or ""
    in_block = context.startswith("while parsing a block")
    mark = exc.problem_mark if in_block and exc.problem_mark else exc.context_mark or exc.problem_mark
    line = mark.line + 1 if mark else None
    if isinstance(exc, (ConstructorError, _Refused)):
        return TaskError(Problem(str(path), line, None, str(exc.problem)))
    msg = f"YAML syntax error: {exc.problem or exc}"
    other = exc.context_mark if in_block else exc.problem_mark
    if in_block and other is not None and exc.problem_mark is not None and other.line != exc.problem_mark.line:
        msg += (
            f" (this line is not indented like the other keys of the block that starts at line {other.line + 1},"
            " or a key above it lacks its colon)"
        )
    elif context:
        msg += f" ({context}"
        if exc.problem_mark and exc.context_mark and exc.problem_mark.line != exc.context_mark.line:
            msg += f" that starts here; noticed at line {exc.problem_mark.line + 1}"
        msg += ")"
    return TaskError(Problem(str(path), line, None, msg))


def load_yaml(path: Path, text: str | None = None, what: str = "YAML file") -> tuple[Any, Lines]:
    """Parse ``path`` (or ``text``, named as ``path``); return the data and ``{key path: line}``
    (1-based). Raises TaskError with the file and line of whatever is wrong."""
    if text is None:
        text = read_text(path, YAML_LIMIT, what)
    else:
        text = decode_text(text.encode("utf-8", "surrogatepass"), path, what)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        _check_aliases(node, path)
        lines: Lines = {}
        _walk(node, lines)
        return loader.construct_document(node), lines
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(path, exc) from None
    except (ValueError, TypeError, OverflowError) as exc:  # a value that failed outside construct_object
        raise TaskError(Problem(str(path), None, None, f"cannot read this file: {exc}")) from None
    except yaml.YAMLError as exc:  # ReaderError and the like: no mark, the message says where
        raise TaskError(Problem(str(path), None, None, f"YAML error: {exc}")) from None
    finally:
        loader.dispose()
