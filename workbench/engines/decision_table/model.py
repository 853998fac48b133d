"""One state of a decision table, with every field starchat defines, validated."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: what a state name may be: starchat names are identifiers (forgot_password)
STATE_NAME = re.compile(r"^[^\s%|]+$")

#: field name -> aliases accepted in CSV headers and JSON bodies (camelCase, starchat 2016 headers)
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "state": ("state", "state_name", "name", "id"),
    "execution_order": ("execution_order", "executionorder"),
    "max_state_count": ("max_state_count", "maxstatecount"),
    "analyzer": ("analyzer",),
    "queries": ("queries", "query"),
    "bubble": ("bubble",),
    "action": ("action",),
    "action_input": ("action_input", "actioninput"),
    "state_data": ("state_data", "statedata"),
    "success_value": ("success_value", "successvalue"),
    "failure_value": ("failure_value", "failurevalue"),
    "evaluation_class": ("evaluation_class", "evaluationclass"),
}

FIELDS = tuple(FIELD_ALIASES)

DEFAULT_CLASS = "default"

#: starchat's integers are 32-bit: a table cannot hold a bigger number (nor infinity)
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def field_for(name: str) -> str | None:
    """The field a header or JSON key names: ``executionOrder``, ``queries (T,I)``, ``bubble (R)``..."""
    key = re.sub(r"\(.*?\)", "", str(name)).strip()
    key = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).lower()
    key = re.sub(r"[\s\-]+", "_", key)
    compact = key.replace("_", "")
    for fname, aliases in FIELD_ALIASES.items():
        if key in aliases or compact in aliases:
            return fname
    return None


class State(BaseModel):
    """A state of the table. ``action_input`` maps names to strings, as in starchat."""

    model_config = ConfigDict(extra="forbid")

    state: str
    execution_order: int = Field(1, ge=INT32_MIN, le=INT32_MAX)
    #: how many times the state may be reached in one conversation (0: no limit)
    max_state_count: int = Field(0, ge=0, le=INT32_MAX)
    #: a rule in the analyzer language; empty: match by retrieval over ``queries``
    analyzer: str = ""
    queries: list[str] = Field(default_factory=list)
    #: the reply; ``%var%`` templates, ``A|B`` alternatives
    bubble: str = ""
    action: str = ""
    action_input: dict[str, str] = Field(default_factory=dict)
    state_data: dict[str, Any] = Field(default_factory=dict)
    success_value: str = ""
    failure_value: str = ""
    #: a request evaluates only the states of its class
    evaluation_class: str = DEFAULT_CLASS

    @field_validator("state")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("a state needs a name")
        if not STATE_NAME.match(value):
            raise ValueError(f"{value!r} is not a usable state name (no spaces, '%' or '|')")
        return value

    @field_validator("queries")
    @classmethod
    def _queries(cls, value: list[str]) -> list[str]:
        return [q.strip() for q in value if q and q.strip()]

    @field_validator("success_value", "failure_value", "action", "analyzer")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @field_validator("evaluation_class")
    @classmethod
    def _class(cls, value: str) -> str:
        return value.strip() or DEFAULT_CLASS

    @field_validator("action_input", mode="before")
    @classmethod
    def _action_input(cls, value: Any) -> Any:
        if value in (None, ""):
            return {}
        # starchat's documentation table writes show_buttons input as a list of one mapping
        if isinstance(value, list) and all(isinstance(v, dict) for v in value):
            merged: dict[str, Any] = {}
            for v in value:
                merged.update(v)
            value = merged
        if isinstance(value, dict):
            for key, v in value.items():
                if isinstance(v, (dict, list)):
                    kind = "an object" if isinstance(v, dict) else "a list"
                    raise ValueError(
                        f"the value of {key!r} is {kind}; action_input maps names to strings "
                        f'(a form field is written "{key}": "email")'
                    )
            return {str(k): ("" if v is None else v if isinstance(v, str) else _scalar(v)) for k, v in value.items()}
        return value

    @field_validator("state_data", mode="before")
    @classmethod
    def _state_data(cls, value: Any) -> Any:
        return {} if value in (None, "") else value

    def document(self) -> dict[str, Any]:
        """The JSON form (starchat's snake_case keys)."""
        return self.model_dump()

    def targets(self) -> list[tuple[str, str]]:
        """(field, state name) of every state this one can lead to."""
        out = []
        for f in ("success_value", "failure_value"):
            v = getattr(self, f)
            if v and not v.startswith("eval("):
                out.append((f, v))
        if self.action == "show_buttons":
            out.extend((f"action_input.{label}", target) for label, target in self.action_input.items())
        return out


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)
