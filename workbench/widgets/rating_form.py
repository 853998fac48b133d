"""RatingForm: a study's questions as widgets (radio buttons for choices and scales, a box
for numbers and free text); :meth:`RatingForm.answers` gives what was entered as text,
which the study checks (workbench/evaluation/questions.py)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, RadioButton, RadioSet

from workbench.task.schema import RatingQuestion


class RatingForm(Vertical):
    DEFAULT_CSS = """
    RatingForm { height: auto; }
    RatingForm Label.question { margin-top: 1; text-style: bold; }
    RatingForm Label.problem { color: $error; }
    RatingForm RadioSet { width: 100%; }
    """

    def __init__(self, questions: list[RatingQuestion], **kwargs) -> None:
        super().__init__(**kwargs)
        self.questions = questions

    def compose(self) -> ComposeResult:
        for i, q in enumerate(self.questions):
            # text from the task, shown as it is (never as markup)
            yield Label(Text(q.question + (" *" if q.required else "")), classes="question")
            yield Label("", id=f"problem-{i}", classes="problem")
            if q.kind in ("choice", "likert"):
                with RadioSet(id=f"answer-{i}"):
                    for choice in q.choices:
                        yield RadioButton(Text(choice))
            else:
                yield Input(placeholder=q.help or "", id=f"answer-{i}", max_length=q.max_length)

    def answers(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for i, q in enumerate(self.questions):
            widget = self.query_one(f"#answer-{i}")
            if isinstance(widget, RadioSet):
                if widget.pressed_index >= 0:
                    out[q.key] = str(widget.pressed_index)
            elif isinstance(widget, Input) and widget.value.strip():
                out[q.key] = widget.value
        return out

    def show_problems(self, problems: dict[str, str]) -> None:
        for i, q in enumerate(self.questions):
            self.query_one(f"#problem-{i}", Label).update(Text(problems.get(q.key, "")))
