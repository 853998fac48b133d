"""Rating questions: what an answer may be, how it is stored, and what it counts as.

A ``choice`` answer is nominal, a ``likert`` one ordinal, a ``number`` interval; free text
is kept but not counted. Answers arrive as text (a form field, a TUI widget) and are
checked here once, whoever sent them.
"""

from __future__ import annotations

import math
from typing import Any

from workbench.io.untrusted import clean_text
from workbench.task.schema import RatingQuestion

#: the level of measurement of each question type (Krippendorff's alpha needs it)
LEVELS = {"choice": "nominal", "likert": "ordinal", "number": "interval"}


class AnswerError(ValueError):
    """An answer that does not fit its question; the message says what was expected."""

    def __init__(self, question: RatingQuestion, message: str) -> None:
        super().__init__(f"{question.question}: {message}")
        self.question = question


def level(question: RatingQuestion) -> str | None:
    """nominal, ordinal, interval, or None for free text."""
    return LEVELS.get(question.kind)


def parse_answer(question: RatingQuestion, raw: str | None) -> Any:
    """The stored value of the answer ``raw`` (None when left empty and optional).

    choice and likert: the chosen label (given as the label or its 0-based index);
    number: a finite float within min..max; text: the text, cleaned and bounded."""
    text = clean_text(raw).strip() if isinstance(raw, str) else ""
    if not text:
        if question.required:
            raise AnswerError(question, "an answer is required")
        return None
    kind = question.kind
    if kind in ("choice", "likert"):
        if text in question.choices:
            return text
        if text.isdigit() and int(text) < len(question.choices):
            return question.choices[int(text)]
        raise AnswerError(question, f"expected one of: {', '.join(question.choices)}")
    if kind == "number":
        try:
            value = float(text)
        except ValueError:
            raise AnswerError(question, "expected a number") from None
        if not math.isfinite(value):
            raise AnswerError(question, "expected a finite number")
        if question.min is not None and value < question.min:
            raise AnswerError(question, f"expected at least {question.min:g}")
        if question.max is not None and value > question.max:
            raise AnswerError(question, f"expected at most {question.max:g}")
        return value
    if len(text) > question.max_length:
        raise AnswerError(question, f"at most {question.max_length} characters")
    return text


def numeric(question: RatingQuestion, value: Any) -> float | None:
    """What an answer counts as: a choice's 0-based index, a Likert point from 1, a number;
    None for free text and for answers the question no longer offers."""
    kind = question.kind
    if value is None:
        return None
    if kind in ("choice", "likert"):
        if value not in question.choices:
            return None
        index = question.choices.index(value)
        return float(index + 1 if kind == "likert" else index)
    if kind == "number":
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    return None


def index_of(question: RatingQuestion, value: Any) -> int | None:
    """The 0-based position of a choice answer (boteval's stored form), or None."""
    if question.kind in ("choice", "likert") and value in question.choices:
        return question.choices.index(value)
    return None
