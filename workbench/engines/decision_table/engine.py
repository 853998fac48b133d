"""The decision-table engine: starchat's workflow, one turn at a time.

A turn goes, in order:

1. to the state the request names: a clicked button, a ``return_value``, the
   outcome of a form (its ``success_value``);
2. otherwise to the best state for the text (analyzer or retrieval) at or above
   the threshold (``threshold: 0``, starchat's default, lets every state with a
   rule answer, one that scored 0 included: the first by execution order);
3. otherwise to the knowledge base's best verified answer above its threshold;
4. otherwise to the fallback state, then the fallback bot, then an honest "no answer".

Entering a state renders its bubble (one ``A|B`` alternative, ``%var%`` filled)
and its action. ``show_buttons`` and ``input_form`` wait for the person; an
action registered with ``@workbench.action`` runs here and its outcome picks
``success_value`` or ``failure_value``; a state without an action moves on to its
``success_value`` at once. Those automatic moves stop at a loop and after
``max_auto_transitions``.

Two modes share this logic: *chat* (the runtime's :meth:`step`: automatic moves
and server-side actions) and *protocol* (:meth:`respond`, starchat's REST
contract: one state per request; the client performs the action and names the
next state in ``return_value``). A runtime turn is in protocol mode when its
message's ``meta`` says ``protocol: starchat`` (the REST API's get_next_response).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workbench.engines.base import Context, Engine, Turn
from workbench.engines.decision_table.model import DEFAULT_CLASS, State
from workbench.engines.decision_table.table import Candidate, DecisionTable
from workbench.engines.decision_table.templates import TemplateError, choose, fill, fill_input, lookup_in
from workbench.message import Message

if TYPE_CHECKING:
    from workbench.engines.decision_table.state_view import StateView
    from workbench.engines.knowledge_base import KnowledgeBase
    from workbench.engines.turn_facts import TurnFacts

log = logging.getLogger(__name__)

#: traversed states kept in the engine state (counts keep the full history)
TRAVERSED_KEEP = 100

#: ``meta["protocol"]`` of a message that asks for a turn in protocol mode (starchat's REST contract)
PROTOCOL = "starchat"

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

#: a form field's type -> (validator, what to tell the person)
FIELD_TYPES: dict[str, tuple[Any, str]] = {
    "email": (
        lambda v: bool(EMAIL.match(v)),
        "That does not look like an e-mail address. Please type it again, like name@example.com.",
    ),
    "number": (lambda v: re.fullmatch(r"[-+]?\d+([.,]\d+)?", v) is not None, "Please type a number."),
    "integer": (lambda v: re.fullmatch(r"[-+]?\d+", v) is not None, "Please type a whole number."),
    "phone": (lambda v: re.fullmatch(r"\+?[\d\s().-]{6,}", v) is not None, "Please type a phone number."),
}


#: knowledge-base candidates kept in the trace of a turn the table did not answer
KB_CANDIDATES = 3


@dataclass
class Rendered:
    """A state as shown: what starchat's get_next_response returns for it."""

    state: str
    bubble: str
    action: str
    action_input: dict[str, str]
    state_data: dict[str, Any]
    success_value: str
    failure_value: str
    score: float = 0.0

    def document(self, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "bubble": self.bubble,
            "action": self.action,
            "action_input": self.action_input,
            "state_data": self.state_data,
            "data": data,
            "success_value": self.success_value,
            "failure_value": self.failure_value,
            "state": self.state,
            "score": round(self.score, 4),
        }


@dataclass
class Outcome:
    """What one request produced, before it becomes messages or a REST body."""

    status: str = "ok"  # ok | no_answer | not_found | template_error
    rendered: list[Rendered] = field(default_factory=list)
    #: the chat messages, in order (states shown, knowledge-base answers, prompts, errors)
    replies: list[Message] = field(default_factory=list)
    error: str | None = None


class DecisionTableEngine(Engine):
    name = "decision_table"
    #: every turn checks the table's revision in the store and may search the index
    reads_storage = True

    def __init__(
        self,
        table: DecisionTable,
        *,
        bot: str = "desk",
        threshold: float = 0.3,
        kb: Any = None,
        kb_threshold: float | None = None,
        max_results: int = 5,
        fallback_state: str | None = None,
        fallback_bot: str | None = None,
        no_answer_text: str = "Sorry, I have no answer to that.",
        evaluation_class: str = DEFAULT_CLASS,
        start_state: str | None = "start",
        max_auto_transitions: int = 10,
        form_attempts: int = 2,
        actions: dict[str, Any] | None = None,
        task: Any = None,
        notes: list[str] | None = None,
    ) -> None:
        self.table = table
        self.bot = bot
        #: its turns wait for the network (a remote store or index: workbench/task/loader.py)
        self._waits = False
        self.threshold = threshold
        self.kb = kb
        self.kb_threshold = kb_threshold
        self.max_results = max_results
        self.fallback_state = fallback_state
        self.fallback_bot = fallback_bot
        self.no_answer_text = no_answer_text
        self.evaluation_class = evaluation_class
        self.start_state = start_state
        self.max_auto_transitions = max_auto_transitions
        self.form_attempts = form_attempts
        self.actions = actions if actions is not None else {}
        self.task = task
        #: said once in the next trace (a table re-imported on start-up)
        self.notes: list[str] = list(notes or [])

    # -- state ---------------------------------------------------------------------
    # -- capabilities (workbench/engines/capabilities.py) --------------------------------
    def decision_table(self) -> DecisionTable:
        return self.table

    @property
    def blocking(self) -> bool:
        """With sentence embeddings a turn encodes the utterance (milliseconds of CPU), and with
        a store or an index across the network it waits for them: the runtime then runs the step
        in a worker thread, so the event loop serves everyone else."""
        return self._waits or any(r.mode != "bm25" for r in self.retrievers().values())

    @blocking.setter
    def blocking(self, value: bool) -> None:
        self._waits = value

    def retrievers(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.table.retriever is not None:
            out["states"] = self.table.retriever
        retriever = getattr(self.kb, "retriever", None)
        if retriever is not None:
            out["knowledge base"] = retriever
        return out

    def match_threshold(self) -> float:
        """What a state matched by its queries needs now (calibrated, set, or the default)."""
        found = self.table.threshold()
        return found.value if found is not None else self.threshold

    def _bar(self, candidate: Any) -> float:
        """The score ``candidate`` needs: an analyzer's is the bot's threshold, a query match's the
        retrieval threshold."""
        if candidate.by == "analyzer":
            return self.threshold
        return self.match_threshold()

    def state_view(self, state: dict[str, Any], trace: dict[str, Any] | None, data: dict[str, Any]) -> StateView:
        from workbench.engines.decision_table.state_view import state_view

        return state_view(self.bot, state, trace, self.table, data, threshold=self.threshold)

    def turn_facts(
        self, before: dict[str, Any] | None, after: dict[str, Any], trace: dict[str, Any] | None
    ) -> TurnFacts:
        from workbench.engines.decision_table.turn_facts import turn_facts

        return turn_facts(before, after, trace)

    def knowledge_base(self, create: bool = False) -> KnowledgeBase | None:
        if self.kb is None and create:
            from workbench.engines.knowledge_base import KnowledgeBase

            # a knowledge base started by a tool is consulted by the bot from then on, matched as its table is
            settings = self.table.retriever.settings if self.table.retriever is not None else None
            self.kb = KnowledgeBase(self.table.store, self.table.index, self.bot, retrieval=settings)
        return self.kb

    def initial_state(self) -> dict[str, Any]:
        return {"current": None, "traversed": [], "counts": {}, "data": {}, "pending": None, "turns": 0}

    @staticmethod
    def _fresh(state: dict[str, Any]) -> dict[str, Any]:
        st = {
            "current": state.get("current"),
            "traversed": list(state.get("traversed") or []),
            "counts": dict(state.get("counts") or {}),
            "data": dict(state.get("data") or {}),
            "pending": state.get("pending"),
            "turns": int(state.get("turns") or 0),
        }
        if state.get("fallback_bot_state") is not None:
            st["fallback_bot_state"] = state["fallback_bot_state"]
        return st

    # -- the runtime's entry points -----------------------------------------------------
    def greeting(self, state: dict[str, Any], context: Context) -> Turn | None:
        if not self.start_state or self.table.get(self.start_state) is None:
            return None
        st = self._fresh(state)
        trace = self._trace(st, "greeting")
        out = Outcome()
        self._enter(self.start_state, st, out, trace, context, auto=True, score=0.0)
        return Turn(self._messages(out), st, trace)

    def step(self, state: dict[str, Any], message: Message, context: Context):
        """One turn. Returns a Turn, or an awaitable of one when a fallback bot answers.

        A message whose ``meta`` says ``protocol: starchat`` takes a turn in protocol
        mode (see :meth:`protocol_turn`)."""
        meta: dict[str, Any] = message["meta"] if isinstance(message.get("meta"), dict) else {}
        if meta.get("protocol") == PROTOCOL:
            return self.protocol_turn(state, message, context, keep_data=meta.get("conversation_data", True) is True)
        st = self._fresh(state)
        st["turns"] += 1
        trace = self._trace(st, None)
        out = Outcome()
        request = _request_of(message)
        handoff = self._run(st, request, out, trace, context, auto=True)
        if handoff:
            return self._fallback_bot(st, message, context, out, trace)
        return self._finish(st, out, trace)

    def respond(
        self,
        state: dict[str, Any],
        *,
        text: str = "",
        return_value: str | None = None,
        data: dict[str, Any] | None = None,
        evaluation_class: str | None = None,
        context: Context | None = None,
    ) -> tuple[Outcome, dict[str, Any], dict[str, Any]]:
        """starchat's get_next_response: one state per request, the client runs the actions."""
        context = context or Context(bot=self.bot, task=self.task)
        request = {"text": text, "return_value": return_value, "data": data or {}, "evaluation_class": evaluation_class}
        return self._protocol(state, request, context)

    def protocol_turn(self, state: dict[str, Any], message: Message, context: Context, keep_data: bool = True) -> Turn:
        """:meth:`respond` as a runtime turn: the message's ``text``, ``return_value``,
        ``data`` and ``evaluation_class`` are the request. The reply (none when no state
        was reached) carries starchat's document without its ``data`` in
        ``meta["document"]``; the trace's ``outcome`` is ``ok``, ``no_answer``,
        ``not_found`` or ``template_error`` (with ``error``).

        ``keep_data=False`` forgets the data of earlier turns: templates see this
        request's data (and the task's), and only that is kept (a caller who may not
        read what others sent in this conversation)."""
        if not keep_data:
            state = {**state, "data": {}}
            context = Context(
                conversation_id=context.conversation_id, bot=context.bot, registry=context.registry, task=context.task
            )
        out, st, trace = self._protocol(state, _request_of(message), context)
        trace["outcome"] = out.status
        if out.error:
            trace["error"] = out.error
        replies: list[Message] = []
        if out.status == "ok" and out.rendered:
            last = out.rendered[-1]
            document = last.document(st["data"])
            del document["data"]
            before = [r.bubble for r in out.rendered[:-1] if r.bubble]
            if before:  # a knowledge-base answer that leads on to its state
                document["bubble"] = "\n".join(before + ([last.bubble] if last.bubble else []))
            replies.append(
                Message(text=document["bubble"], meta={"state": last.state, "protocol": PROTOCOL, "document": document})
            )
        return Turn(replies, st, trace)

    def _protocol(
        self, state: dict[str, Any], request: dict[str, Any], context: Context
    ) -> tuple[Outcome, dict[str, Any], dict[str, Any]]:
        st = self._fresh(state)
        st["turns"] += 1
        st["pending"] = None  # a protocol client names the next state itself
        trace = self._trace(st, None)
        out = Outcome()
        self._run(st, request, out, trace, context, auto=False)
        trace["elapsed_ms"] = round((time.perf_counter() - trace.pop("_t0")) * 1000, 3)
        return out, st, trace

    # -- one turn ------------------------------------------------------------------------
    def _trace(self, st: dict[str, Any], route: str | None) -> dict[str, Any]:
        trace: dict[str, Any] = {
            "engine": "decision_table",
            "bot": self.bot,
            "turn": st["turns"],
            "route": route,
            "_t0": time.perf_counter(),
        }
        if self.table.sync():
            trace["table_revision"] = self.table.revision
        if self.notes:
            trace["notes"] = self.notes
            self.notes = []
        return trace

    def _run(
        self, st: dict[str, Any], req: dict[str, Any], out: Outcome, trace: dict[str, Any], context: Context, auto: bool
    ) -> bool:
        """Route the request; True means 'hand over to the fallback bot'."""
        text = (req.get("text") or "").strip()
        incoming = {k: v for k, v in (req.get("data") or {}).items() if k != "return_value"}
        if incoming:
            st["data"].update(incoming)
            trace["data_in"] = sorted(incoming)
        cls = req.get("evaluation_class") or self.evaluation_class
        trace["evaluation_class"] = cls
        target = req.get("return_value")
        pending = st.get("pending")

        if not target and pending and pending.get("kind") == "buttons" and text:
            target = _button_target(pending, text)
            if target:
                trace["route"] = "button"
                trace["button"] = text
        if not target and pending and pending.get("kind") == "form":
            result = self._form(st, pending, text, req.get("data") or {}, out, trace, context, cls, auto)
            if result is not None:
                return result
            return False
        if target:
            trace["route"] = trace["route"] or "return_value"
            st["pending"] = None
            self._go(target, st, out, trace, context, auto, score=1.0, named=True)
            return False
        st["pending"] = None
        return self._match(text, st, out, trace, context, cls, auto)

    def _match(
        self, text: str, st: dict[str, Any], out: Outcome, trace: dict[str, Any], context: Context, cls: str, auto: bool
    ) -> bool:
        if not text:
            trace["route"] = "empty"
            out.status = "no_answer"
            return False
        ranking = self.table.rank(
            text,
            self._variables(st, context),
            evaluation_class=cls,
            traversed=st["traversed"],
            visited=st["counts"].keys(),
            counts=st["counts"],
            limit=self.max_results,
        )
        found = self.table.threshold()
        trace["threshold"] = round(found.value, 4) if found is not None else self.threshold
        if found is not None:
            trace["threshold_source"] = {"source": found.source, "detail": found.detail}
            if abs(found.value - self.threshold) > 1e-9:
                trace["analyzer_threshold"] = self.threshold
        trace["retrieval"] = ranking.retrieval
        trace["candidates"] = [c.to_dict() for c in ranking.candidates]
        trace["evaluated"] = ranking.evaluated
        trace["considered"] = ranking.considered
        if ranking.exhausted:
            trace["exhausted"] = ranking.exhausted
        best = ranking.candidates[0] if ranking.candidates else None
        if best is None and self.threshold <= 0:
            best = self._zero_score_state(cls, st["counts"])
            if best is not None:
                trace["candidates"] = [best.to_dict()]
        if best is not None and (best.by == "threshold" or best.score >= self._bar(best)):
            trace["route"] = "match"
            if best.extracted:
                st["data"].update(best.extracted)
                trace["extracted"] = best.extracted
            self._go(best.state, st, out, trace, context, auto, score=best.score)
            return False
        return self._no_match(text, st, out, trace, context, auto)

    def _zero_score_state(self, cls: str, counts: dict[str, int]) -> Candidate | None:
        """With threshold 0 every state with a rule may answer, as in starchat: when none
        scored above 0, the first of the class by execution order (then table order)."""
        eligible = [
            s
            for s in self.table.list(cls)
            if (s.analyzer.strip() or s.queries)
            and not (s.max_state_count and counts.get(s.state, 0) >= s.max_state_count)
        ]
        if not eligible:
            return None
        first = min(enumerate(eligible), key=lambda p: (p[1].execution_order, p[0]))[1]
        return Candidate(first.state, 0.0, "threshold", ["every state scored 0; threshold 0 lets any state answer"])

    def _no_match(
        self, text: str, st: dict[str, Any], out: Outcome, trace: dict[str, Any], context: Context, auto: bool
    ) -> bool:
        if self.kb is not None:
            hit = self.kb.answer(text, self.kb_threshold)
            trace["kb_candidates"] = self._kb_candidates(text, hit)
            trace["kb_threshold"] = self.kb_threshold
            if hit is not None:
                doc, score = _qa_fields(hit)
                trace["route"] = "knowledge_base"
                trace["kb"] = {
                    "id": doc.get("id"),
                    "question": doc.get("question"),
                    "score": round(score, 4),
                    "state": doc.get("state") or None,
                    "retrieval": self.kb.status(),
                }
                if hit.cosine is not None:
                    trace["kb"]["cosine"] = round(hit.cosine, 4)
                if hit.bm25 is not None:
                    trace["kb"]["bm25"] = round(hit.bm25, 4)
                linked = doc.get("state") or ""
                answer = str(doc.get("answer") or "")
                if answer and doc.get("doctype") != "decisiontable":
                    out.replies.append(Message(text=answer, meta={"source": "knowledge_base", "kb_id": doc.get("id")}))
                    out.rendered.append(Rendered("", answer, "", {}, {}, "", "", score))
                if linked and self.table.get(linked) is not None:
                    self._go(linked, st, out, trace, context, auto, score=score)
                elif not answer:
                    trace.setdefault("errors", []).append(
                        f"knowledge-base entry {doc.get('id')!r} has no answer and no known state"
                    )
                    return self._fallbacks(st, out, trace, context, auto)
                return False
        return self._fallbacks(st, out, trace, context, auto)

    def _kb_candidates(self, text: str, hit: Any) -> list[dict[str, Any]]:
        """The knowledge base's closest Q/As for ``text`` with their scores, whether it answered
        or missed (the state tab shows them); only verified ones may answer."""
        answered = _qa_fields(hit)[0].get("id") if hit is not None else None
        out = []
        for h in self.kb.search(text, k=KB_CANDIDATES):
            doc, score = _qa_fields(h)
            out.append(
                {
                    "id": doc.get("id"),
                    "question": doc.get("question"),
                    "score": round(score, 4),
                    "verified": bool(doc.get("verified")),
                    "answered": doc.get("id") == answered,
                }
            )
        return out

    def _fallbacks(self, st: dict[str, Any], out: Outcome, trace: dict[str, Any], context: Context, auto: bool) -> bool:
        if self.fallback_state:
            fb = self.table.get(self.fallback_state)
            if fb is not None and not _exhausted(fb, st):
                trace["route"] = "fallback_state"
                self._go(self.fallback_state, st, out, trace, context, auto, score=0.0)
                return False
            trace.setdefault("errors", []).append(f"fallback state {self.fallback_state!r} is missing or exhausted")
        if self.fallback_bot and auto:
            trace["route"] = "fallback_bot"
            return True
        trace["route"] = "no_answer"
        out.status = "no_answer"
        if auto and self.no_answer_text:
            out.replies.append(Message(text=self.no_answer_text, meta={"no_answer": True}))
        return False

    def _form(
        self,
        st: dict[str, Any],
        pending: dict[str, Any],
        text: str,
        data: dict[str, Any],
        out: Outcome,
        trace: dict[str, Any],
        context: Context,
        cls: str,
        auto: bool,
    ) -> bool | None:
        fields: dict[str, str] = pending.get("fields") or {}
        values: dict[str, str] = {k: str(data[k]).strip() for k in fields if k in data}
        if not values and text and len(fields) == 1:
            values = {next(iter(fields)): text}
        problems = []
        for key, kind in fields.items():
            value = values.get(key, "")
            check = FIELD_TYPES.get(str(kind).lower())
            if not value:
                problems.append((key, f"Please give your {key}."))
            elif check is not None and not check[0](value):
                problems.append((key, check[1]))
        trace["form"] = {"state": pending.get("state"), "fields": fields, "valid": not problems}
        if not problems:
            st["data"].update(values)
            st["pending"] = None
            trace["route"] = "form"
            trace["data_in"] = sorted(values)
            nxt = pending.get("success") or ""
            if nxt:
                self._go(nxt, st, out, trace, context, auto, score=1.0, named=True)
            return False
        # not a valid answer: perhaps the person asked something else
        if text:
            ranking = self.table.rank(
                text,
                self._variables(st, context),
                evaluation_class=cls,
                traversed=st["traversed"],
                visited=st["counts"].keys(),
                counts=st["counts"],
                limit=1,
                explain=False,
            )
            if ranking.candidates and ranking.candidates[0].score >= self._bar(ranking.candidates[0]):
                trace["form"]["abandoned"] = True
                st["pending"] = None
                return self._match(text, st, out, trace, context, cls, auto)
        attempts = int(pending.get("attempts", 0)) + 1
        trace["route"] = "form_invalid"
        if attempts < self.form_attempts:
            st["pending"] = {**pending, "attempts": attempts}
            out.replies.append(Message(text=problems[0][1], meta={"form_error": problems[0][0]}))
            return False
        st["pending"] = None
        failure = pending.get("failure") or ""
        if failure:
            self._go(failure, st, out, trace, context, auto, score=0.0, named=True)
            return False
        return self._no_match(text, st, out, trace, context, auto)

    # -- entering states ---------------------------------------------------------------
    def _go(
        self,
        name: str,
        st: dict[str, Any],
        out: Outcome,
        trace: dict[str, Any],
        context: Context,
        auto: bool,
        score: float,
        named: bool = False,
    ) -> None:
        if self.table.get(name) is None:
            out.status = "not_found"
            out.error = f"there is no state {name!r} in the decision table"
            trace.setdefault("errors", []).append(out.error)
            trace["route"] = "not_found"
            if auto:
                out.replies.append(
                    Message(
                        text=f"Sorry, I cannot continue: the next step ({name}) is missing from my decision table.",
                        meta={"error": out.error},
                    )
                )
            return
        self._enter(name, st, out, trace, context, auto, score)

    def _enter(
        self,
        name: str,
        st: dict[str, Any],
        out: Outcome,
        trace: dict[str, Any],
        context: Context,
        auto: bool,
        score: float,
    ) -> None:
        chain: list[str] = trace.setdefault("states", [])
        start = len(chain)
        while name:
            state = self.table.get(name)
            if state is None:
                self._go(name, st, out, trace, context, auto, score)  # reports the missing state
                return
            if name in chain[start:]:
                trace["loop"] = chain[start:] + [name]
                trace.setdefault("errors", []).append("automatic transitions loop: " + " -> ".join(trace["loop"]))
                return
            if len(chain) - start >= self.max_auto_transitions:
                trace.setdefault("errors", []).append(
                    f"stopped after {self.max_auto_transitions} automatic transitions"
                )
                return
            if _exhausted(state, st):
                trace.setdefault("exhausted", [])
                if name not in trace["exhausted"]:
                    trace["exhausted"].append(name)
                if (
                    self.fallback_state
                    and name != self.fallback_state
                    and (fallback := self.table.get(self.fallback_state))
                    and not _exhausted(fallback, st)
                ):
                    name = self.fallback_state
                    continue
                out.status = "no_answer"
                if auto and self.no_answer_text:
                    out.replies.append(Message(text=self.no_answer_text, meta={"no_answer": True, "exhausted": name}))
                return
            chain.append(name)
            st["counts"][name] = st["counts"].get(name, 0) + 1
            st["traversed"] = (st["traversed"] + [name])[-TRAVERSED_KEEP:]
            st["current"] = name
            try:
                rendered = self._render(state, st, trace, context, score)
            except TemplateError as exc:
                out.status = "template_error"
                out.error = str(exc)
                trace.setdefault("errors", []).append(f"{name}: {exc}")
                if auto:
                    out.replies.append(
                        Message(text="Sorry, I could not put this answer together.", meta={"error": str(exc)})
                    )
                return
            out.rendered.append(rendered)
            msg = self._message_of(rendered)
            if msg is not None:
                out.replies.append(msg)
            if not auto:
                return
            name = self._after(state, rendered, st, trace, context)
            score = 1.0

    def _after(self, state: State, r: Rendered, st: dict[str, Any], trace: dict[str, Any], context: Context) -> str:
        """What follows a state in chat mode: wait (""), or the next state's name."""
        action = state.action
        if action == "show_buttons":
            st["pending"] = {
                "kind": "buttons",
                "state": state.state,
                "options": dict(r.action_input),
                "failure": state.failure_value,
            }
            return ""
        if action == "input_form":
            st["pending"] = {
                "kind": "form",
                "state": state.state,
                "fields": dict(r.action_input),
                "success": state.success_value,
                "failure": state.failure_value,
                "attempts": 0,
            }
            return ""
        if action and action in self.actions:
            ok, detail = self._call_action(action, r.action_input, st, context)
            trace.setdefault("actions", []).append({"state": state.state, "action": action, "ok": ok, **detail})
            return (state.success_value if ok else state.failure_value) or ""
        if action:
            # a client-side action: the client reports back with a return_value
            return ""
        nxt = state.success_value
        return "" if not nxt or nxt.startswith("eval(") else nxt

    def _call_action(
        self, action: str, inputs: dict[str, str], st: dict[str, Any], context: Context
    ) -> tuple[bool, dict]:
        fn = self.actions[action]
        try:
            params = inspect.signature(fn).parameters
            args: list[Any] = [dict(inputs)]
            if len(params) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params.values()):
                args.append(st["data"])
            result = fn(*args)
            if inspect.isawaitable(result):
                raise TypeError("decision-table actions must be plain functions (not async)")
        except Exception as exc:  # an action's failure is the failure branch, not a crash
            log.warning("action %s failed: %s", action, exc)
            return False, {"error": f"{type(exc).__name__}: {exc}"}
        if isinstance(result, dict):
            status = result.get("status", True)
            ok = status not in (False, "false", "False", 0, "0", "error", "failure")
            extra = {k: v for k, v in result.items() if k != "status"}
            st["data"].update(extra)
            return ok, {"data": sorted(extra)}
        return bool(result) if result is not None else True, {}

    def _variables(self, st: dict[str, Any], context: Context) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        if self.task is not None:
            merged.update(getattr(self.task.spec, "data", {}) or {})
        merged.update(context.data or {})
        merged.update(st["data"])
        return merged

    def _render(
        self, state: State, st: dict[str, Any], trace: dict[str, Any], context: Context, score: float
    ) -> Rendered:
        lookup = lookup_in(
            st["data"], context.data or {}, (getattr(self.task.spec, "data", {}) or {}) if self.task else {}
        )
        unfilled: list[str] = []
        rng = random.Random(f"{context.conversation_id}:{st['turns']}:{state.state}")
        bubble, pick, n = choose(state.bubble, rng)
        if n > 1:
            trace.setdefault("alternatives", {})[state.state] = f"{pick + 1} of {n}"
        bubble = fill(bubble, lookup, unfilled)
        action_input = fill_input(state.action_input, lookup, unfilled)
        if unfilled:
            trace.setdefault("unfilled", [])
            trace["unfilled"].extend(u for u in unfilled if u not in trace["unfilled"])
        return Rendered(
            state.state,
            bubble,
            state.action,
            action_input,
            dict(state.state_data),
            state.success_value,
            state.failure_value,
            score,
        )

    # -- producing the turn --------------------------------------------------------------
    def _message_of(self, r: Rendered) -> Message | None:
        """The chat message of a rendered state (None when it shows nothing)."""
        msg = Message(text=r.bubble)
        if r.action == "show_buttons":
            msg["quick_replies"] = list(r.action_input)
        elif r.action == "input_form":
            msg["payload"] = {"type": "input_form", "fields": r.action_input}
        elif r.action and r.action not in self.actions:
            msg["payload"] = {
                "type": "action",
                "action": r.action,
                "action_input": r.action_input,
                "success_value": r.success_value,
                "failure_value": r.failure_value,
            }
        meta: dict[str, Any] = {"state": r.state}
        if r.state_data:
            meta["state_data"] = r.state_data
        msg["meta"] = meta
        if r.bubble or msg.get("quick_replies") or msg.get("payload"):
            return msg
        return None

    def _messages(self, out: Outcome) -> list[Message]:
        return list(out.replies)

    def _finish(self, st: dict[str, Any], out: Outcome, trace: dict[str, Any]) -> Turn:
        trace["elapsed_ms"] = round((time.perf_counter() - trace.pop("_t0")) * 1000, 3)
        trace["current"] = st["current"]
        return Turn(self._messages(out), st, trace)

    async def _fallback_bot(
        self, st: dict[str, Any], message: Message, context: Context, out: Outcome, trace: dict[str, Any]
    ) -> Turn:
        engine = self.task.engine(self.fallback_bot)
        sub = st.get("fallback_bot_state")
        if sub is None:
            sub = engine.initial_state()
        sub_ctx = Context(
            conversation_id=context.conversation_id,
            bot=self.fallback_bot or "",
            data=context.data,
            registry=context.registry,
            task=context.task,
        )
        if engine.blocking and not inspect.iscoroutinefunction(engine.step):
            turn = await asyncio.to_thread(engine.step, sub, message, sub_ctx)
        else:
            turn = engine.step(sub, message, sub_ctx)
        if inspect.isawaitable(turn):
            turn = await turn
        if turn is not None:
            st["fallback_bot_state"] = turn.state
            out.replies.extend(Message.coerce(r) for r in turn.replies)
            trace["fallback_trace"] = turn.trace
        return self._finish(st, out, trace)


# -- helpers -----------------------------------------------------------------------------


def _request_of(message: Message) -> dict[str, Any]:
    """The parts of a message a turn looks at: text, a named next state, form data, class."""
    data: dict[str, Any] = message["data"] if isinstance(message.get("data"), dict) else {}
    payload: dict[str, Any] = message["payload"] if isinstance(message.get("payload"), dict) else {}
    rv = message.get("return_value") or data.get("return_value") or payload.get("return_value")
    form = dict(data)
    if isinstance(payload.get("data"), dict):
        form.update(payload["data"])
    cls = message.get("evaluation_class") or data.get("evaluation_class")
    form.pop("evaluation_class", None)
    return {"text": message.text, "return_value": rv, "data": form, "evaluation_class": cls}


def _button_target(pending: dict[str, Any], text: str) -> str | None:
    options: dict[str, str] = pending.get("options") or {}
    want = text.strip().casefold()
    for label, target in options.items():
        if label.casefold() == want:
            return target
    for target in options.values():
        if target.casefold() == want:
            return target
    return None


def _exhausted(state: State, st: dict[str, Any]) -> bool:
    return bool(state.max_state_count) and st["counts"].get(state.state, 0) >= state.max_state_count


def _qa_fields(hit: Any) -> tuple[dict[str, Any], float]:
    """(document, score) of a knowledge-base hit (:class:`workbench.engines.knowledge_base.KBHit`)."""
    return hit.qa.to_dict(), float(hit.score)
