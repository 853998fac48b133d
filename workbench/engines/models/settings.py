"""The keys every model bot shares in task.yml: system prompt, generation parameters, history.

Each engine's ``Config`` (``engine: openai``, ``engine: transformers``) extends
:class:`ModelConfig`. The same :class:`Params` model checks what a developer types in the
TUI's model settings for one conversation, so both say the same thing about a bad value.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

#: what the person reads when a generation fails (the cause goes to the developer)
APOLOGY = "Sorry, I could not answer just now. Please try again in a moment."
#: the most stop sequences (the OpenAI API's limit)
MAX_STOP = 4
#: how deep a passed-through parameter may nest
MAX_PARAM_DEPTH = 4


def _json_value(value: Any, depth: int = 0) -> bool:
    if depth > MAX_PARAM_DEPTH:
        return False
    if value is None or isinstance(value, (str, bool, int, float)):
        return True
    if isinstance(value, list):
        return all(_json_value(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_value(v, depth + 1) for k, v in value.items())
    return False


class Params(BaseModel):
    """Generation parameters; keys not listed are passed to the model as they are
    (an OpenAI-compatible server's ``top_k``, transformers' ``min_new_tokens``...)."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    #: randomness: 0 picks the likeliest token every time
    temperature: float | None = Field(None, ge=0, le=2)
    #: nucleus sampling: only tokens within this much probability mass are considered
    top_p: float | None = Field(None, gt=0, le=1)
    #: the longest reply, in tokens
    max_tokens: int | None = Field(None, ge=1, le=1_000_000)
    #: the same seed and prompt give the same reply where the model supports it
    seed: int | None = Field(None, ge=0, le=2**63 - 1)
    #: generation stops before any of these strings
    stop: list[str] | None = Field(None, max_length=MAX_STOP)
    #: above 1 discourages repeating tokens (transformers; passed through to servers that accept it)
    repetition_penalty: float | None = Field(None, gt=0, le=10)

    @field_validator("stop", mode="before")
    @classmethod
    def _one_stop(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _extras_are_json(self) -> Params:
        for key, value in (self.model_extra or {}).items():
            if not _json_value(value):
                raise ValueError(f"{key}: expected a number, string, boolean or a small list/mapping of them")
        return self

    def given(self) -> dict[str, Any]:
        """The parameters that are set (unset ones are the model's defaults)."""
        return self.model_dump(exclude_none=True)


def check_params(raw: Any) -> dict[str, Any]:
    """``raw`` checked as :class:`Params`; ValueError names the first bad parameter."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError("parameters must be a mapping such as {temperature: 0.7}")
    try:
        return Params.model_validate(raw).given()
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in error["loc"]) or "params"
        raise ValueError(f"{where}: {str(error['msg']).removeprefix('Value error, ')}") from None


class History(BaseModel):
    """How much of the conversation is sent with each request (both limits apply when given)."""

    model_config = ConfigDict(extra="forbid")

    #: the last this many exchanges (a person's message and the reply)
    turns: int | None = Field(20, ge=0, le=10_000)
    #: at most this many tokens of earlier messages (counted by the tokenizer where there is one,
    #: else estimated at four characters a token)
    tokens: int | None = Field(None, ge=1, le=10_000_000)


class ModelConfig(BaseModel):
    """What every model bot has (the engines add where the model is)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    #: the system prompt (a conversation may replace it: the TUI's model settings)
    system_prompt: str | None = None
    #: the first message of a conversation, said without asking the model
    greeting: str | None = None
    params: Params = Field(default_factory=Params)
    history: History = Field(default_factory=History)
    #: stream the reply as it is generated (false: it arrives whole)
    stream: bool = True
    #: what the person is told when the model cannot answer
    apology: str = APOLOGY
