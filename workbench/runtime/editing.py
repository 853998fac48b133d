"""Editing a task's bots while they run: decision-table states and knowledge-base Q/As.

One service for every tool that edits (the TUI's screens, the REST API, the CLI), so
an edit is validated, stored and announced the same way wherever it comes from. The
store is the source of truth: an edit is committed before this returns and every
conversation uses it from its next turn (the table catches up with the store's
revision). With a runner, each edit is also an ``edited`` event (fields ``bot``,
``what`` state|qa|table|knowledge_base, ``action``, ``ids``) for whoever watches.

Everything here blocks (it may build an engine or write many rows): call it from a
worker thread or ``asyncio.to_thread``, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from workbench.engines.capabilities import KnowledgeBot, TableBot, bots_with

if TYPE_CHECKING:
    from workbench.engines.decision_table.model import State
    from workbench.engines.decision_table.table import DecisionTable
    from workbench.engines.decision_table.write_back import WriteBack
    from workbench.engines.knowledge_base import QA, KnowledgeBase
    from workbench.engines.knowledge_base.kb import ImportReport
    from workbench.runtime.runner import Runner
    from workbench.task import Task


class NoSuchBot(LookupError):
    """The bot is unknown, or cannot do what was asked (no table, no knowledge base)."""


@dataclass
class StateSaved:
    state: State
    created: bool
    #: states it leads to that the table does not have (it still saves)
    warnings: list[str] = field(default_factory=list)


@dataclass
class ExchangePreview:
    """An exchange a conversation would add to a knowledge base; ``left_out`` says why it is
    not added by default (None: it is)."""

    qa: QA
    left_out: str | None = None


#: the safety findings that are personal data (a blocklisted word is not)
PERSONAL = ("card_number", "national_id", "email", "phone")
#: a decision table's routes that mean "nothing knew the answer"
FALLBACK_ROUTES = ("fallback_state", "fallback_bot", "no_answer")


def _left_out(messages: list[dict[str, Any]]) -> str | None:
    from workbench.runtime.safety import LABELS, find

    for m in messages:
        act = m.get("act") or {}
        meta: dict[str, Any] = act["meta"] if isinstance(act.get("meta"), dict) else {}
        trace: dict[str, Any] = m["trace"] if isinstance(m.get("trace"), dict) else {}
        if m.get("role") == "bot" and (trace.get("route") in FALLBACK_ROUTES or meta.get("no_answer")):
            return "the answer is a fallback: nothing knew it"
        flagged = [k for k in (meta.get("safety") or {}).get("found", []) if k in PERSONAL]
        # what a person wrote is checked again (the task's rules may be off); a bot's answer
        # giving the desk's own phone number is not a person's data
        if not flagged and m.get("role") == "human":
            flagged = [f.kind for f in find(str(m.get("text") or ""), PERSONAL)]
        found = flagged
        if found:
            return "it holds " + " and ".join(dict.fromkeys(LABELS[k][0] for k in found))
    return None


class BotEditor:
    """The edits of one task's bots; ``runner`` (optional) hears about each one."""

    def __init__(self, task: Task, runner: Runner | None = None) -> None:
        self.task = task
        self.runner = runner

    # -- which bots ---------------------------------------------------------------------
    def table_bots(self) -> list[str]:
        return bots_with(self.task, TableBot)

    def knowledge_bots(self) -> list[str]:
        return bots_with(self.task, KnowledgeBot)

    def _engine(self, bot: str, capability: type, what: str) -> Any:
        if bot not in self.task.bot_configs:
            raise NoSuchBot(f"no bot named {bot!r}; bots: {', '.join(self.task.bot_configs) or 'none'}")
        engine = self.task.engine(bot)
        if not isinstance(engine, capability):
            raise NoSuchBot(f"bot {bot!r} has no {what}")
        return engine

    def table(self, bot: str) -> DecisionTable:
        """``bot``'s decision table (the engine is built on first use)."""
        engine: TableBot = self._engine(bot, TableBot, "decision table")
        return engine.decision_table()

    def knowledge_base(self, bot: str, create: bool = False) -> KnowledgeBase | None:
        """``bot``'s knowledge base; ``create`` starts an empty one when it has none."""
        engine: KnowledgeBot = self._engine(bot, KnowledgeBot, "knowledge base")
        return engine.knowledge_base(create=create)

    def _kb(self, bot: str) -> KnowledgeBase:
        kb = self.knowledge_base(bot, create=True)
        assert kb is not None
        return kb

    def _announce(self, bot: str, what: str, action: str, ids: Iterable[str] = ()) -> None:
        if self.runner is not None:
            self.runner.emit("edited", None, bot=bot, what=what, action=action, ids=list(ids))

    # -- decision-table states ------------------------------------------------------------
    def save_state(self, bot: str, state: State | Mapping[str, Any]) -> StateSaved:
        """Insert or replace a state. Raises ValueError (pydantic's or the analyzer's) when invalid."""
        from workbench.engines.decision_table.editing import missing_targets

        table = self.table(bot)
        saved, created = table.upsert(state if not isinstance(state, Mapping) else dict(state))
        self._announce(bot, "state", "create" if created else "update", [saved.state])
        return StateSaved(saved, created, missing_targets(saved, table.names()))

    def update_state(self, bot: str, name: str, changes: Mapping[str, Any]) -> State:
        """Change some fields of state ``name``; KeyError when there is none."""
        saved = self.table(bot).update(name, dict(changes))
        self._announce(bot, "state", "update", [name])
        return saved

    def delete_state(self, bot: str, name: str) -> bool:
        found = self.table(bot).delete(name)
        if found:
            self._announce(bot, "state", "delete", [name])
        return found

    def import_states(self, bot: str, states: list[State], replace: bool = False) -> int:
        n = self.table(bot).import_states(states, replace=replace)
        self._announce(bot, "table", "replace" if replace else "import", [s.state for s in states])
        return n

    def table_file(self, bot: str) -> Path | None:
        """The file ``bot``'s table was seeded from (its ``table:`` key), if it has one."""
        self.table(bot)  # an unknown bot, or one without a table, is said here
        name = getattr(self.task.bot_configs[bot], "table", None)
        return self.task.path(name) if name else None

    def plan_table_write_back(self, bot: str) -> WriteBack | None:
        """What writing ``bot``'s table as the store holds it back to its file would change
        (in the file's layout, with a diff to show first); None when it has no file."""
        from workbench.engines.decision_table.write_back import plan_write_back

        path = self.table_file(bot)
        if path is None:
            return None
        return plan_write_back(path, self.table(bot).list())

    def write_table_back(self, bot: str, plan: WriteBack) -> None:
        """Write a planned table back to its file; the table records the file as its source, so
        the next start finds nothing to re-import. Raises FileChanged when the file changed
        since the plan was made (nothing is written)."""
        plan.apply()
        self.table(bot).docs.set_source(str(plan.path), plan.digest)
        self._announce(bot, "table", "write_back", [str(plan.path)])

    def export_table(self, bot: str, fmt: str = "csv", raw: bool = False) -> str:
        """The table as CSV or JSON; CSV cells that a spreadsheet would run as formulas are
        neutralised unless ``raw``."""
        return self.table(bot).export(fmt, raw=raw)

    # -- knowledge-base Q/As ---------------------------------------------------------------
    def add_qa(self, bot: str, qa: QA | Mapping[str, Any]) -> QA:
        """Insert a Q/A or replace the one with its id. Raises KnowledgeBaseError on bad fields."""
        saved = self._kb(bot).add(qa)
        self._announce(bot, "qa", "create", [saved.id])
        return saved

    def update_qa(self, bot: str, qa_id: str, changes: Mapping[str, Any]) -> QA:
        """Change some fields of a Q/A; KeyError when there is none."""
        saved = self._kb(bot).update(qa_id, changes)
        self._announce(bot, "qa", "update", [qa_id])
        return saved

    def delete_qa(self, bot: str, qa_id: str) -> bool:
        found = self._kb(bot).delete(qa_id)
        if found:
            self._announce(bot, "qa", "delete", [qa_id])
        return found

    def import_qas(self, bot: str, source: str | Path | TextIO, fmt: str = "csv", strict: bool = True) -> ImportReport:
        """Load Q/As from CSV or JSON Lines; ``strict``: any defect loads nothing."""
        kb = self._kb(bot)
        report = kb.import_jsonl(source, strict=strict) if fmt == "jsonl" else kb.import_csv(source, strict=strict)
        self._announce(bot, "knowledge_base", "import")
        return report

    def add_exchanges(self, bot: str, conversation_id: str, verified: bool = False) -> list[QA]:
        """A conversation's question -> answer exchanges as Q/As (unverified by default)."""
        qas = self._kb(bot).add_exchanges(conversation_id, verified=verified)
        if qas:
            self._announce(bot, "qa", "create", [qa.id for qa in qas])
        return qas

    def preview_exchanges(self, bot: str, conversation_id: str) -> list[ExchangePreview]:
        """What adding a conversation to ``bot``'s knowledge base would add: each exchange, and
        why one is left out by default (``left_out``): its answer was a fallback (no state,
        no Q/A knew it), or a message holds personal data (the safety rules flagged it when
        it was sent, or their detectors find a card number, an id, an e-mail, a phone in what
        the person wrote)."""
        out = []
        for exchange in self._kb(bot).exchanges(conversation_id):
            out.append(ExchangePreview(exchange.qa, _left_out(exchange.messages)))
        return out

    def add_chosen_exchanges(self, bot: str, conversation_id: str, ids: Iterable[str]) -> list[QA]:
        """Add the exchanges of a preview whose Q/A ids are ``ids`` (unverified)."""
        wanted = set(ids)
        chosen = [e.qa for e in self._kb(bot).exchanges(conversation_id) if e.qa.id in wanted]
        if not chosen:
            return []
        saved = self._kb(bot).add_many(chosen)
        self._announce(bot, "qa", "create", [qa.id for qa in saved])
        return saved
