"""The REST API's bodies as pydantic models: what requests may carry (closed, bounded)
and what responses hold. The OpenAPI document is generated from these
(:mod:`workbench.services.starchat.openapi`), so validation and documentation cannot
drift apart.

Decision-table states are the engine's own :class:`~workbench.engines.decision_table.model.State`
(its numbers are bounded there, where they are stored); Q/As are :class:`QADocument`,
bounded like the knowledge base's columns.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, model_validator

from workbench.engines.decision_table.model import State
from workbench.engines.knowledge_base.kb import DOCTYPES, NUMBER_RANGE

#: the longest text a person may send in one request (a chat message, a question)
MAX_TEXT = 10_000
#: the longest name (user id, state, evaluation class, Q/A id)
MAX_NAME = 256
#: the most documents one search returns
MAX_RESULTS = 1000

Text = Annotated[StrictStr, Field(max_length=MAX_TEXT)]
Name = Annotated[StrictStr, Field(max_length=MAX_NAME)]
SmallInt = Annotated[int, Field(ge=NUMBER_RANGE[0], le=NUMBER_RANGE[1])]
Results = Annotated[int, Field(ge=1, le=MAX_RESULTS, description=f"1 to {MAX_RESULTS}")]


class Closed(BaseModel):
    """A request body: unknown keys are refused (400 naming the key)."""

    model_config = ConfigDict(extra="forbid")


# -- errors ---------------------------------------------------------------------------------


class ProblemItem(BaseModel):
    """One problem of a request or an uploaded file, located as precisely as known."""

    model_config = ConfigDict(extra="allow")

    field: str | None = None
    message: str | None = None


class Error(BaseModel):
    """Every 4xx answer but 422's: what was wrong and, where it applies, the field."""

    error: str
    field: str | None = None
    problems: list[ProblemItem | str] | None = None
    #: uploads refused for their errors load nothing
    loaded: int | None = None


class TemplateError(BaseModel):
    """422: the state was reached but its templates could not be filled (code 100),
    or the task's safety rules kept the message from the bot (code 101)."""

    code: Literal[100, 101]
    message: str
    detail: str | None = None


# -- get_next_response ------------------------------------------------------------------------


class UserInput(Closed):
    text: Text | None = None


class Values(Closed):
    #: the state the client moves to (a clicked button, the outcome of its action)
    return_value: Name | None = None
    #: variables for the templates (form answers, action results)
    data: dict[str, Any] | None = None


class ResponseRequest(Closed):
    """starchat's get_next_response body; ``text``, ``return_value`` and ``data`` may also
    be given flat. A string ``user_input`` is its text."""

    user_id: Annotated[StrictStr, Field(min_length=1, max_length=MAX_NAME)] | int = Field(
        description="The conversation: one per user id (and per caller: see docs/decision-tables.md)"
    )
    user_input: UserInput | None = None
    values: Values | None = None
    text: Text | None = None
    return_value: Name | None = None
    data: dict[str, Any] | None = None
    evaluation_class: Name | None = None

    @model_validator(mode="before")
    @classmethod
    def _text_as_input(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("user_input"), str):
            return {**value, "user_input": {"text": value["user_input"]}}
        return value

    @property
    def said(self) -> str:
        inner = self.user_input.text if self.user_input is not None else None
        return inner or self.text or ""

    @property
    def next_state(self) -> str | None:
        inner = self.values.return_value if self.values is not None else None
        return inner or self.return_value or None

    @property
    def variables(self) -> dict[str, Any]:
        merged = dict(self.data or {})
        if self.values is not None:
            merged.update(self.values.data or {})
        return merged


class ResponseDocument(BaseModel):
    """The state reached: what starchat's get_next_response returns."""

    bubble: str
    action: str
    action_input: dict[str, str]
    state_data: dict[str, Any]
    #: this request's data and what this turn found (all of the conversation's data
    #: only for a caller with the token)
    data: dict[str, Any]
    success_value: str
    failure_value: str
    state: str
    score: float
    #: what the task's safety rules told the person about their message (a warning)
    notices: list[str] | None = None


# -- decision table ---------------------------------------------------------------------------


class StateHit(BaseModel):
    document: State
    score: float
    #: why the state matched (searches only)
    why: list[str] | None = None


class StateHits(BaseModel):
    hits: list[StateHit]
    max_score: float
    total: int


class StateSearch(Closed):
    """States ranked for a text (``text`` is accepted for ``queries``, ``size`` for ``max_results``)."""

    queries: Text
    evaluation_class: Name | None = None
    max_results: Results = 10
    data: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, value: Any) -> Any:
        return _renamed(value, {"text": "queries", "size": "max_results"})


class Written(BaseModel):
    """A document written (starchat's IndexDocumentResult)."""

    created: bool
    dtype: str
    id: str
    index: str
    version: int


class Deleted(BaseModel):
    """A document deleted, or not found (starchat's DeleteDocumentResult)."""

    found: bool
    dtype: str
    id: str
    index: str
    version: int


class TableLoaded(BaseModel):
    created: int
    layout: str
    rejected: int
    problems: list[ProblemItem]
    version: int


# -- knowledge base ---------------------------------------------------------------------------


class QADocument(BaseModel):
    """A Q/A as the knowledge base stores it."""

    id: str
    conversation: str
    index_in_conversation: SmallInt | None
    question: str
    answer: str
    verified: bool
    topics: str
    doctype: Literal[DOCTYPES]  # type: ignore[valid-type]
    state: str
    status: SmallInt


class QAInput(Closed):
    """A Q/A to write: ``question`` always; ``answer`` unless ``doctype`` is decisiontable;
    without ``id`` one is derived from the question and answer."""

    id: Name | int | None = None
    conversation: Name | int | None = None
    index_in_conversation: SmallInt | None = None
    question: Text | None = None
    answer: Text | None = None
    verified: bool | None = None
    topics: Text | list[Name] | None = None
    doctype: Literal[DOCTYPES] | None = None  # type: ignore[valid-type]
    state: Name | None = None
    status: SmallInt | None = None

    def fields(self) -> dict[str, Any]:
        """The fields the request gave (what an update changes)."""
        return self.model_dump(exclude_unset=True)


class QAHit(BaseModel):
    document: QADocument
    score: float


class QAHits(BaseModel):
    hits: list[QAHit]
    max_score: float
    total: int


class QASearch(Closed):
    """Q/As ranked for a question, with filters (``size`` is accepted for ``max_results``)."""

    question: Text
    verified: StrictBool | None = None
    doctype: Literal[DOCTYPES] | list[Literal[DOCTYPES]] | None = None  # type: ignore[valid-type]
    topics: Text | list[Name] | None = None
    state: Name | None = None
    status: SmallInt | None = None
    conversation: Name | None = None
    max_results: Results = 10

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, value: Any) -> Any:
        return _renamed(value, {"size": "max_results"})

    def filters(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True, exclude={"question", "max_results"})


class QALoaded(BaseModel):
    created: int
    problems: list[str]


def _renamed(value: Any, aliases: dict[str, str]) -> Any:
    """``value`` with each alias key renamed, unless the proper key is there too."""
    if not isinstance(value, dict):
        return value
    out = dict(value)
    for alias, proper in aliases.items():
        if alias in out and proper not in out:
            out[proper] = out.pop(alias)
    return out
