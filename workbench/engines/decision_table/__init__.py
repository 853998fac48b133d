"""The ``decision_table`` engine: starchat's workflow chatbot (states matched by rules and retrieval).

``Config`` is the bot's keys in task.yml; ``create`` builds the engine, seeding the
task's store from the table file when the file's content changed. The headless
API shared by the engine, the REST service, the CLI and the TUI is
:class:`~workbench.engines.decision_table.table.DecisionTable` (``engine.table``).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from workbench.engines.retrieval.config import RetrievalConfig, resolve

log = logging.getLogger(__name__)


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    engine: Literal["decision_table"] = "decision_table"
    #: the table file (CSV in any starchat layout, or JSON), relative to the task; it seeds the store
    table: str
    #: past Q/A pairs (CSV or JSONL), the answer when no state matches
    knowledge_base: str | None = None
    #: a state matched by its analyzer must score at least this (0..1) to be chosen; when set,
    #: states matched by their queries too, unless ``retrieval.threshold`` says otherwise;
    #: 0 (starchat's default): any state with a rule may answer, one that scored 0 included
    threshold: float = Field(0.3, ge=0, le=1)
    #: a knowledge-base answer must score at least this (0..1; unset: the knowledge base's default)
    kb_threshold: float | None = Field(None, gt=0, le=1)
    #: how queries and knowledge-base questions are matched (docs/retrieval.md); wins over the
    #: task's ``retrieval:``, key by key
    retrieval: RetrievalConfig | None = None
    #: candidates kept (and shown in the trace) per turn
    max_results: int = Field(5, ge=1)
    #: the state entered when nothing matches and the knowledge base has no answer
    fallback_state: str | None = None
    #: a bot of this task that answers when there is no fallback state either
    fallback_bot: str | None = None
    #: said when nothing else answers (empty: say nothing)
    no_answer_text: str = "Sorry, I don't have an answer to that. Could you put it another way?"
    #: the evaluation class of requests that do not name one
    evaluation_class: str = "default"
    #: the language of retrieval (stemming and stop words)
    language: str = "english"
    #: the state whose bubble opens a conversation (None: no greeting)
    start_state: str | None = "start"
    #: load the valid rows of a table file that has defective ones (else refuse to start)
    skip_invalid_rows: bool = False
    #: automatic transitions (a state without action moving to its success_value) per turn
    max_auto_transitions: int = Field(10, ge=1)
    #: invalid answers to a form before its failure_value is taken
    form_attempts: int = Field(2, ge=1)


def open_kb(task: Any, name: str, index: Any, path: str | None, notes: list[str], retrieval: Any = None) -> Any:
    """The bot's knowledge base, seeded from ``path`` when that file changed."""
    from workbench.engines.knowledge_base import KnowledgeBase

    kb = KnowledgeBase(task.store, index, name, retrieval=retrieval)
    if path:
        from workbench.engines.decision_table.seeding import seed_kb

        note = seed_kb(kb, task.path(path))
        if note:
            notes.append(note)
    return kb


def create(config: Config, task: Any, name: str):
    from workbench.engines.decision_table.engine import DecisionTableEngine
    from workbench.engines.decision_table.table import DecisionTable

    if config.language.lower() in ("english", "en"):
        index = task.index
    else:
        from workbench.index.base import open_task_index

        index = open_task_index(task.spec.index, task.store_location, language=config.language)
    settings = resolve(task.spec.retrieval, config.retrieval, task.root, str(task.file))
    table = DecisionTable(
        task.store,
        index,
        name,
        retrieval=settings,
        threshold=config.threshold,
        fixed_threshold=config.threshold if "threshold" in config.model_fields_set else None,
    )
    notes: list[str] = []
    note = table.seed(task.path(config.table), skip_invalid=config.skip_invalid_rows)
    if note:
        notes.append(note)
    table.sync()
    kb = open_kb(task, name, index, config.knowledge_base, notes, settings) if config.knowledge_base else None
    return DecisionTableEngine(
        table,
        bot=name,
        threshold=config.threshold,
        kb=kb,
        kb_threshold=config.kb_threshold,
        max_results=config.max_results,
        fallback_state=config.fallback_state,
        fallback_bot=config.fallback_bot,
        no_answer_text=config.no_answer_text,
        evaluation_class=config.evaluation_class,
        start_state=config.start_state,
        max_auto_transitions=config.max_auto_transitions,
        form_attempts=config.form_attempts,
        actions=task.registry.actions,
        task=task,
        notes=notes,
    )


def __getattr__(name: str) -> Any:
    """``ENGINE``, the engine's class (workbench/engines/capabilities.py asks it), loads on first use."""
    if name == "ENGINE":
        from workbench.engines.decision_table.engine import DecisionTableEngine

        return DecisionTableEngine
    raise AttributeError(name)
