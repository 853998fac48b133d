"""The ``form`` engine: slot-filling forms from a task's forms.yml (docs/forms.md).

This module is what the engine registry loads: ``Config`` (the bot's keys in
task.yml), ``create`` and ``check``. The slot panel's headless API is
:func:`slot_panel`, :func:`set_slot` and :func:`clear_slot`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from workbench.engines.form.context import FormContext
from workbench.engines.form.engine import FormEngine
from workbench.engines.form.panel import SlotPanel, SlotRow, clear_slot, set_slot, slot_panel
from workbench.engines.form.spec import FormsDef, as_list, check_actions, forms_from_dict, load_forms
from workbench.engines.retrieval.config import RetrievalConfig, resolve
from workbench.problems import Problem, TaskError


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    engine: Literal["form"] = "form"
    #: the forms file, relative to the task (or the forms themselves, inline)
    forms: str | dict[str, Any] = "forms.yml"
    #: a form active from the start: its first question is the bot's greeting
    form: str | None = None
    #: the NLU file (intent examples, entity rules), relative to the task; none: only
    #: Rasa notation (``/intent{"slot": "value"}``) is understood
    nlu: str | dict[str, Any] | None = None
    #: below this confidence the intent is ``fallback_intent`` (unset: ``retrieval.threshold``,
    #: calibrated on the examples unless it is a number)
    fallback_intent_threshold: float | None = Field(None, ge=0, le=1)
    fallback_intent: str = "nlu_fallback"
    #: the intent ranker: ``retrieval`` (hybrid BM25 + embeddings, as ``retrieval.mode`` says),
    #: ``bm25`` (the nearest examples' BM25 vote) or a registered one
    ranker: str = "retrieval"
    #: how intents are matched (docs/retrieval.md); wins over the task's ``retrieval:``, key by key
    retrieval: RetrievalConfig | None = None
    #: actions (responses) said when a conversation starts
    greeting: str | list[str] | None = None
    #: resolve relative dates ("tomorrow") against this day instead of today (tests)
    today: dt.date | None = None


def _forms(config: Config, task: Any) -> tuple[FormsDef, Path, dict]:
    if isinstance(config.forms, dict):
        file = Path(getattr(task, "file", "task.yml"))
        return forms_from_dict(config.forms, file), file, {}
    path = task.path(config.forms)
    forms, lines = load_forms(path)
    return forms, path, lines


def _nlu(config: Config, task: Any, name: str):
    from workbench.engines.nlu import NLU, load_nlu, nlu_from_dict

    if config.nlu is None:
        return None
    if isinstance(config.nlu, dict):
        data = nlu_from_dict(config.nlu, Path(getattr(task, "file", "task.yml")), {})
    else:
        data = load_nlu(task.path(config.nlu))
    index = task.index if data.examples else None
    spec = getattr(task, "spec", None)
    settings = resolve(
        getattr(spec, "retrieval", None), config.retrieval, getattr(task, "root", None), str(getattr(task, "file", ""))
    )
    return NLU(
        data,
        index=index,
        collection=f"nlu:{name}",
        ranker=config.ranker,
        threshold=config.fallback_intent_threshold,
        fallback_intent=config.fallback_intent,
        today=config.today,
        store=task.store if data.examples else None,
        retrieval=settings,
    )


def check(config: Config, task: Any, name: str) -> list[Problem]:
    """Every problem in the bot's forms and NLU files (empty: the bot will build)."""
    try:
        forms, file, lines = _forms(config, task)
    except TaskError as exc:
        return list(exc.problems)
    problems = check_actions(forms, getattr(task, "registry", None), file, lines)
    if config.form is not None and config.form not in forms.forms:
        problems.append(
            Problem(
                str(getattr(task, "file", "task.yml")),
                None,
                f"bots.{name}.form",
                f"no form named {config.form!r} in {file.name}; forms: {', '.join(forms.forms)}",
            )
        )
    if config.nlu is not None and not isinstance(config.nlu, dict):
        from workbench.engines.nlu import load_nlu

        try:
            load_nlu(task.path(config.nlu))
        except TaskError as exc:
            problems.extend(exc.problems)
    greet = as_list(config.greeting)
    unknown = [g for g in greet if g not in forms.responses]
    if unknown:
        problems.append(
            Problem(
                str(getattr(task, "file", "task.yml")),
                None,
                f"bots.{name}.greeting",
                f"no response named {', '.join(map(repr, unknown))} in {file.name}",
            )
        )
    return problems


def create(config: Config, task: Any, name: str) -> FormEngine:
    problems = check(config, task, name)
    if problems:
        raise TaskError(problems)
    forms, _, _ = _forms(config, task)

    return FormEngine(
        forms,
        nlu=_nlu(config, task, name),
        registry=getattr(task, "registry", None),
        bot=name,
        default_form=config.form,
        greeting=as_list(config.greeting),
        today=config.today,
    )


__all__ = [
    "Config",
    "FormContext",
    "FormEngine",
    "FormsDef",
    "SlotPanel",
    "SlotRow",
    "check",
    "clear_slot",
    "create",
    "forms_from_dict",
    "load_forms",
    "set_slot",
    "slot_panel",
]


def __getattr__(name: str) -> Any:
    """``ENGINE``, the engine's class (workbench/engines/capabilities.py asks it), loads on first use."""
    if name == "ENGINE":
        from workbench.engines.form.engine import FormEngine

        return FormEngine
    raise AttributeError(name)
