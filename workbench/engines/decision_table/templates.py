"""Bubble and action_input templates: ``%var%`` variables and ``A|B`` alternatives."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from typing import Any

VARIABLE = re.compile(r"%([A-Za-z_][\w.\-]*)%")
#: a ``|`` not preceded by a backslash separates alternatives
_ALTERNATIVE = re.compile(r"(?<!\\)\|")


class TemplateError(ValueError):
    """A template variable whose value cannot be written as text (starchat's code 100)."""

    code = 100


def fill(text: str, lookup: Callable[[str], Any], unfilled: list[str]) -> str:
    """Replace ``%var%`` by its value; an unknown variable is removed and added to ``unfilled``."""
    if "%" not in text:
        return text

    def sub(m: re.Match) -> str:
        name = m.group(1)
        value = lookup(name)
        if value is None:
            if name not in unfilled:
                unfilled.append(name)
            return ""
        if isinstance(value, (dict, list, tuple, set)):
            raise TemplateError(
                f"error evaluating the template strings, bad values: %{name}% is {type(value).__name__}, not text"
            )
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    out = VARIABLE.sub(sub, text)
    if unfilled:
        # removing a variable can leave doubled spaces ("address:  with")
        out = re.sub(r"[ \t]{2,}", " ", out)
        out = re.sub(r" +([.,;:!?])", r"\1", out)
    return out


def alternatives(text: str) -> list[str]:
    """The alternatives of ``A|B`` (``\\|`` is a literal bar)."""
    parts = _ALTERNATIVE.split(text)
    return [p.replace("\\|", "|").strip() if len(parts) > 1 else p.replace("\\|", "|") for p in parts]


def choose(text: str, rng: random.Random) -> tuple[str, int, int]:
    """One alternative of ``text``: (text, index chosen, number of alternatives)."""
    options = alternatives(text)
    if len(options) == 1:
        return options[0], 0, 1
    i = rng.randrange(len(options))
    return options[i], i, len(options)


def fill_input(action_input: dict[str, str], lookup: Callable[[str], Any], unfilled: list[str]) -> dict[str, str]:
    return {k: fill(v, lookup, unfilled) for k, v in action_input.items()}


def lookup_in(*sources: dict[str, Any]) -> Callable[[str], Any]:
    """A lookup reading the first source that has the name (dotted names reach into mappings)."""

    def get(name: str) -> Any:
        for src in sources:
            if name in src:
                return src[name]
            if "." in name:
                cur: Any = src
                for part in name.split("."):
                    if isinstance(cur, dict) and part in cur:
                        cur = cur[part]
                    else:
                        cur = None
                        break
                if cur is not None:
                    return cur
        return None

    return get


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
