"""The form engine: deterministic slot filling, one message at a time.

The state is plain JSON (see :func:`FormEngine.initial_state`), so a form in
progress survives a restart. Each step understands the message (NLU or Rasa
notation), then, with a form active, tries in this order: an exit intent, a
chitchat intent, the details intent (each after filling the slots the
message's entities carry in passing), then slot filling (the pending
follow-up action first, then every slot mapping; workbench/engines/form/extraction.py
says which mapping fills what), rules and the hook, and finally finish, fail
(max_turns) or ask the next slot by priority. Without a
form: a trigger intent activates one; otherwise ``after_finish`` of the form
that just finished, ``on_intent``, then ``fallback_action``.
"""

from __future__ import annotations

import builtins
import copy
import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from workbench.engines.base import Context, Engine, Turn
from workbench.engines.form.context import FormContext
from workbench.engines.form.extraction import applies, extract
from workbench.engines.form.requirements import Requirements, requirements
from workbench.engines.form.responses import fill, render
from workbench.engines.form.spec import BUILTIN_ACTIONS, FormsDef, looks_like_action
from workbench.engines.form.validation import Rejected, validate
from workbench.engines.nlu.notation import is_notation, parse_notation
from workbench.engines.nlu.parse import Parse
from workbench.engines.nlu.pipeline import NLU
from workbench.message import Message

if TYPE_CHECKING:
    from workbench.engines.form.live_panel import LivePanel
    from workbench.engines.turn_facts import TurnFacts

log = logging.getLogger(__name__)

#: activation inside an action inside an activation... stops here
MAX_DEPTH = 4


class FormEngine(Engine):
    name = "form"
    #: understanding may search the index during a turn
    reads_storage = True

    def __init__(
        self,
        forms: FormsDef,
        nlu: NLU | None = None,
        registry: Any = None,
        bot: str = "form",
        default_form: str | None = None,
        greeting: list[str] | None = None,
        today: dt.date | None = None,
    ) -> None:
        self.forms = forms
        self.nlu = nlu
        self.registry = registry
        self.bot = bot
        self.default_form = default_form
        self.greeting_actions = greeting or []
        self.today = today

    # -- state --------------------------------------------------------------
    def initial_state(self) -> dict[str, Any]:
        """The JSON state of a new conversation.

        ``slots`` holds plain values (name -> value); ``filled`` says, per slot,
        which message filled it (its number and text), how and by whom;
        ``form``/``requested_slot``/``turns`` describe the active form;
        ``after`` names the form that just finished; ``outcome`` how the last
        form ended; ``follow_up`` the slot whose follow-up action waits for the
        person's reply; ``buttons`` the payloads of the last quick replies.
        """
        return {
            "slots": {name: copy.deepcopy(d.initial_value) for name, d in self.forms.slots.items()},
            "filled": {},
            "form": None,
            "requested_slot": None,
            "turns": 0,
            "messages": 0,
            "after": None,
            "outcome": None,
            "follow_up": None,
            "buttons": {},
        }

    def normalise(self, state: dict[str, Any] | None) -> dict[str, Any]:
        """A deep copy of ``state`` with every key present (older states load too)."""
        st = self.initial_state()
        for key, value in copy.deepcopy(state or {}).items():
            st[key] = value
        for name, d in self.forms.slots.items():
            st["slots"].setdefault(name, copy.deepcopy(d.initial_value))
        return st

    def holds(self, state: dict[str, Any]) -> bool:
        """Whether a form is active: a chain gives this bot the next message first."""
        return bool(state.get("form"))

    # -- understanding ----------------------------------------------------------
    @property
    def blocking(self) -> bool:  # type: ignore[override]
        """With sentence embeddings a turn encodes the utterance (milliseconds of CPU): the
        runtime then runs the step in a worker thread, so the event loop serves everyone else."""
        settings = self.nlu.retrieval_settings if self.nlu is not None else None
        return settings is not None and settings.mode != "bm25"

    def retrievers(self) -> dict[str, Any]:
        """The intents' retriever (the NLU's examples are indexed on first use: this is a use)."""
        ranker = self.nlu.ranker if self.nlu is not None else None
        retriever = getattr(ranker, "retriever", None)
        return {"intents": retriever} if retriever is not None else {}

    def understand(self, text: str) -> Parse:
        if self.nlu is not None:
            return self.nlu.parse(text, self.today)
        return parse_notation(text) or Parse(text=text, source="none")

    # -- engine API -------------------------------------------------------------
    def greeting(self, state: dict[str, Any], context: Context) -> Turn | None:
        if not self.greeting_actions and not self.default_form:
            return None
        run = _Run(self, state, context, None)
        run.say(self.greeting_actions)
        if self.default_form and not run.st["form"]:
            run.note(f"default form {self.default_form!r}")
            run.activate(self.default_form)
        return run.done()

    def step(self, state: dict[str, Any], message: Message, context: Context) -> Turn:
        st = self.normalise(state)
        text = message.text
        payload = None
        for label, value in (st.get("buttons") or {}).items():
            if label.casefold() == text.strip().casefold():
                payload = value
                break
        raw = message.get("payload")
        if isinstance(raw, str) and is_notation(raw):
            payload = raw  # a button whose payload is Rasa notation
        parse = self.understand(payload if payload else text)
        if payload:
            parse.text = text
        run = _Run(self, st, context, parse)
        if payload:
            run.note(f"quick reply {text!r} means {payload}")
        run.st["messages"] += 1
        if run.st["form"] in self.forms.forms:
            run.in_form()
        else:
            run.st["form"] = None
            run.outside()
        return run.done()

    def activate(self, state: dict[str, Any], form: str, context: Context, message: Message | None = None) -> Turn:
        """Activate ``form`` (from a chain or a decision table); its first question follows.

        With ``message``, the slots it carries are filled first (not asked).
        """
        if form not in self.forms.forms:
            raise KeyError(f"no form named {form!r}; forms: {', '.join(self.forms.forms)}")
        parse = self.understand(message.text) if message is not None else None
        run = _Run(self, state, context, parse)
        run.note(f"activated from outside: {form!r}")
        run.activate(form, trigger=parse.intent if parse and parse.intent in self.forms.forms[form].triggers else None)
        return run.done()

    # -- the slot panel's headless side ----------------------------------------
    def panel(self, state: dict[str, Any]):
        from workbench.engines.form.panel import slot_panel

        return slot_panel(self.normalise(state), self.forms, self.registry)

    def slot_view(self, state: dict[str, Any], trace: dict[str, Any] | None, bot: str) -> LivePanel:
        """The live slot panel of a conversation (capabilities.SlotBot)."""
        from workbench.engines.form.live_panel import live_panel

        return live_panel(self, state, trace, bot)

    def set_slot(self, state: dict[str, Any], slot: str, value: Any) -> dict[str, Any]:
        from workbench.engines.form.panel import set_slot

        return set_slot(self.normalise(state), slot, value, self.forms)

    def clear_slot(self, state: dict[str, Any], slot: str) -> dict[str, Any]:
        from workbench.engines.form.panel import clear_slot

        return clear_slot(self.normalise(state), slot)

    def turn_facts(
        self, before: dict[str, Any] | None, after: dict[str, Any], trace: dict[str, Any] | None
    ) -> TurnFacts:
        """A turn in a debugger's terms (capabilities.DebuggableBot)."""
        from workbench.engines.form.turn_facts import turn_facts

        return turn_facts(before, after, trace)


class _Run:
    """One step's working copy: the new state, the replies and the trace."""

    def __init__(self, engine: FormEngine, state: dict[str, Any], context: Context, parse: Parse | None) -> None:
        self.e = engine
        self.forms = engine.forms
        self.st = engine.normalise(state)
        self.ctx = context
        self.parse = parse
        self.replies: list[Message] = []
        self.buttons: dict[str, str] = {}
        self.depth = 0
        self.handled = True
        self.trace: dict[str, Any] = {
            "engine": "form",
            "bot": engine.bot,
            "parse": parse.to_dict() if parse is not None else None,
            "form_before": self.st["form"],
            "decisions": [],
            "actions": [],
            "slots_changed": [],
            "rejected": [],
            "rules": [],
        }

    # -- small helpers ----------------------------------------------------------
    @property
    def registry(self) -> Any:
        return self.e.registry

    def _reg(self, kind: str) -> dict[str, Any]:
        return getattr(self.registry, kind, None) or {}

    def note(self, text: str) -> None:
        self.trace["decisions"].append(text)

    @property
    def intent(self) -> str | None:
        return self.parse.intent if self.parse is not None else None

    def context(self, slot: str | None = None) -> FormContext:
        p = self.parse
        return FormContext(
            form=self.st["form"],
            slots=copy.deepcopy(self.st["slots"]),
            requested_slot=self.st["requested_slot"],
            slot=slot,
            text=p.text if p else "",
            intent=p.intent if p else None,
            confidence=p.confidence if p else 0.0,
            entities=[e.to_dict() for e in p.entities] if p else [],
            bot=self.e.bot,
            context=self.ctx,
        )

    def variables(self) -> dict[str, Any]:
        data = getattr(self.ctx, "data", None) or {}
        return {
            **{k: v for k, v in data.items() if isinstance(k, str)},
            **self.st["slots"],
            "form": self.st["form"] or "",
        }

    # -- actions ----------------------------------------------------------------
    def say(self, names: list[str], extra: dict[str, Any] | None = None) -> None:
        for name in names:
            self.run(name, extra)

    def run(self, name: str, extra: dict[str, Any] | None = None) -> None:
        forms = self.forms
        variables = {**self.variables(), **(extra or {})}
        if name in forms.responses:
            msg, payloads = render(forms.responses[name], variables, self.st["messages"])
            self.replies.append(msg)
            self.buttons = payloads or ({} if msg.get("quick_replies") else self.buttons)
            self.trace["actions"].append(name)
            return
        if name == "listen":
            return
        self.trace["actions"].append(name)
        if name == "deactivate_form":
            if self.st["form"]:
                self.deactivate("exited")
            return
        if name == "restart":
            self.st = self.e.initial_state() | {"messages": self.st["messages"]}
            self.note("restart: every slot and form forgotten")
            return
        if name.startswith("activate_") and name[len("activate_") :] in forms.forms:
            target = name[len("activate_") :]
            trigger = self.intent if self.intent in forms.forms[target].triggers else None
            self.activate(target, trigger=trigger)
            return
        actions = self._reg("actions")
        if name in actions:
            self.python_action(name, actions[name])
            return
        if not looks_like_action(name):
            self.trace["actions"].pop()
            self.replies.append(Message(text=fill(name, variables)))
            return
        self.note(f"unknown action {name!r} skipped")

    def python_action(self, name: str, fn: Any) -> None:
        try:
            result = fn(self.context())
        except Exception as exc:  # an action may call services that fail; the conversation goes on
            log.warning("form action %s failed: %s", name, exc, exc_info=True)
            self.trace.setdefault("errors", []).append({"action": name, "error": f"{type(exc).__name__}: {exc}"})
            self.note(f"action {name!r} failed: {type(exc).__name__}: {exc}")
            return
        if result is None:
            return
        if isinstance(result, str):
            result = {"say": [result]}
        elif isinstance(result, list):
            result = {"say": result}
        say = result.get("say")
        for item in [say] if isinstance(say, (str, dict)) else (say or []):
            self.replies.append(Message(text=item) if isinstance(item, str) else Message.coerce(item))
        for slot, value in (result.get("slots") or {}).items():
            self.set(slot, value, how=f"action {name}", by="action")
        if result.get("deactivate") and self.st["form"]:
            self.deactivate("exited")
        if result.get("activate"):
            self.activate(str(result["activate"]))

    # -- slots ------------------------------------------------------------------
    def set(self, slot: str, value: Any, how: str, by: str = "user") -> bool:
        slots = self.st["slots"]
        old = slots.get(slot)
        if slot in slots and old == value and type(old) is type(value):
            return False
        slots[slot] = value
        p = self.parse
        self.st["filled"][slot] = {
            "message": self.st["messages"],
            "text": p.text if p else None,
            "intent": p.intent if p else None,
            "how": how,
            "by": by,
        }
        self.trace["slots_changed"].append({"slot": slot, "old": old, "new": value, "how": how})
        if by == "user" and old is not None and value is not None and slot in self.forms.slots:
            d = self.forms.slot(slot, self.st["form"])
            if d.corrected:
                self.note(f"{slot} changed from {old!r} to {value!r}")
                self.say(d.corrected, {"old": old})
        return True

    def fill(
        self,
        form: str | None,
        requested: str | None,
        trigger: str | None = None,
        skip: builtins.set[str] | None = None,
        in_passing: bool = False,
    ) -> list[str]:
        """Fill every slot the message carries; rejected values are said and not kept.
        ``in_passing``: the message is not an answer, only its entities fill slots."""
        if self.parse is None:
            return []
        changed = []
        validators = self._reg("validators")
        for cand in extract(self.forms, self.parse, form, requested, trigger, in_passing=in_passing):
            if skip and cand.slot in skip:
                continue
            d = self.forms.slot(cand.slot, form)
            try:
                value = validate(d, cand.value, self.context(cand.slot), validators)
            except Rejected as exc:
                self.trace["rejected"].append(
                    {"slot": cand.slot, "value": cand.value, "reason": exc.reason, "how": cand.how}
                )
                self.note(f"{cand.slot}={cand.value!r} rejected: {exc.reason}")
                if d.invalid:
                    self.say(d.invalid, {"value": cand.value, "slot": cand.slot, "reason": exc.reason})
                else:
                    said = (
                        exc.said or f"Sorry, {cand.value} is not a valid {cand.slot.replace('_', ' ')} ({exc.reason})."
                    )
                    self.replies.append(Message(text=said))
                continue
            if self.set(cand.slot, value, cand.how):
                changed.append(cand.slot)
        return changed

    # -- forms ------------------------------------------------------------------
    def requirements(self, form: str) -> Requirements:
        return requirements(self.forms, form, self.st["slots"], self._reg("hooks"), lambda: self.context())

    def ask(self, slot: str) -> None:
        d = self.forms.slot(slot, self.st["form"])
        self.st["requested_slot"] = slot
        self.st["follow_up"] = slot if d.follow_up_action else None
        self.note(f"ask {slot}")
        self.say(d.ask)

    def deactivate(self, outcome: str) -> None:
        name = self.st["form"]
        self.st.update(
            form=None,
            requested_slot=None,
            follow_up=None,
            outcome={"form": name, "result": outcome, "turns": self.st["turns"]},
            after=name if outcome == "finished" else None,
        )
        self.note(f"form {name!r} {outcome}")

    def activate(self, name: str, trigger: str | None = None) -> None:
        if self.depth >= MAX_DEPTH:
            self.note(f"activation of {name!r} refused: actions activate forms in a loop")
            return
        self.depth += 1
        try:
            if self.st["form"] and self.st["form"] != name:
                self.deactivate("switched")
            f = self.forms.forms[name]
            last = self.st.get("outcome") or {}
            if f.reset == "always" or (
                f.reset == "after_finish" and last.get("form") == name and last.get("result") == "finished"
            ):
                for s in f.slots:
                    self.st["slots"][s] = copy.deepcopy(self.forms.slot(s, name).initial_value)
                    self.st["filled"].pop(s, None)
                self.note(f"form {name!r} starts with its slots cleared (reset: {f.reset})")
            self.st.update(form=name, requested_slot=None, follow_up=None, turns=0, after=None, outcome=None)
            self.note(f"form {name!r} activated" + (f" by intent {trigger!r}" if trigger else ""))
            # the activating message's slots are kept, so they are never asked
            self.fill(name, None, trigger=trigger)
            self.advance()
        finally:
            self.depth -= 1

    def advance(self) -> None:
        """Finish, fail or ask the next slot, for the active form."""
        name = self.st["form"]
        if not name:
            return
        f = self.forms.forms[name]
        req = self.requirements(name)
        self.trace["rules"] = req.fired
        self.trace["required"] = req.required
        if req.hook:
            self.trace["hook"] = req.hook
        missing = [s for s in req.required if self.st["slots"].get(s) is None]
        if not missing:
            self.note(f"every required slot of {name!r} is filled")
            self.deactivate("finished")
            self.say(f.finish_action)
        elif self.st["turns"] >= f.max_turns:
            self.note(f"max_turns {f.max_turns} reached with {', '.join(missing)} missing")
            self.deactivate("failed")
            self.say(f.failure_action)
        else:
            self.ask(missing[0])

    def answers_requested(self, form: str, requested: str | None) -> bool:
        """The intent itself answers the pending question (a from_intent mapping of it applies)."""
        if not requested or self.intent is None:
            return False
        d = self.forms.slot(requested, form)
        return any(
            m.type == "from_intent" and m.intent and applies(m, self.intent, form, requested) for m in d.mappings
        )

    def in_form(self) -> None:
        st = self.st
        name = st["form"]
        f = self.forms.forms[name]
        st["turns"] += 1
        intent = self.intent
        requested = st["requested_slot"]
        pending, st["follow_up"] = st["follow_up"], None
        skip: set[str] = set()
        if pending and pending == requested and intent not in f.ignored_intents:
            # forms_bot runs the follow-up action on the reply before anything else
            d = self.forms.slot(pending, name)
            self.note(f"follow-up of {pending}: {', '.join(d.follow_up_action)}")
            before = copy.deepcopy(st["slots"])
            self.say(d.follow_up_action)
            skip = {s for s in st["slots"] if st["slots"].get(s) != before.get(s)}
            if st["form"] != name:
                return  # the action ended or switched the form
        # a reply that answers the pending question is an answer, not an exit or chitchat
        answer = bool(skip) or self.answers_requested(name, requested)
        aside = intent in f.exit or intent in f.chitchat or intent in f.details_intents
        if aside and not answer and intent not in f.ignored_intents:
            # slot mappings apply to every message (Rasa 3; rasa_core fills an entity's slot
            # whatever the intent): "cheap, but first tell me a joke" keeps the price
            passing = self.fill(name, requested, skip=skip, in_passing=True)
            if passing:
                self.note(f"filled in passing by a {intent!r} message: {', '.join(passing)}")
        if intent in f.exit and not answer:
            self.note(f"exit intent {intent!r}")
            self.deactivate("exited")
            self.say(f.exit[intent])
            return
        if intent in f.chitchat and not answer:
            self.note(f"chitchat intent {intent!r}, then the question again")
            self.say(f.chitchat[intent])
            self.advance()
            return
        if intent in f.details_intents and not answer:
            asked = self.forms.slot(requested, name) if requested else None
            clarify = (asked.clarify if asked else []) or f.clarify
            how = (
                f"clarify {requested}"
                if asked and asked.clarify
                else "the form's clarification"
                if clarify
                else "nothing to clarify"
            )
            self.note(f"details intent {intent!r}: {how}, then the question again")
            self.say(clarify)
            self.advance()
            return
        changed: list[str] = []
        if intent in f.ignored_intents:
            self.note(f"intent {intent!r} is ignored by form {name!r}: no slot filled")
        else:
            changed = self.fill(name, requested, skip=skip)
        if st["form"] == name:
            self.advance()
        if not (skip or changed or self.trace["rejected"]) and st["form"] == name and st["requested_slot"] == requested:
            # the form could not use the message: in a chain another bot may answer it first
            self.handled = False
            self.note("nothing in the message for the form: the same question again")

    def outside(self) -> None:
        intent = self.intent
        target = self.forms.trigger(intent)
        if target:
            self.note(f"intent {intent!r} triggers form {target!r}")
            self.activate(target, trigger=intent)
            return
        before = len(self.replies)
        self.fill(None, None)
        after = self.st.get("after")
        if after in self.forms.forms and intent in self.forms.forms[after].after_finish:
            self.note(f"after form {after!r}: intent {intent!r}")
            self.say(self.forms.forms[after].after_finish[intent])
            return
        if intent in self.forms.on_intent:
            self.note(f"on_intent {intent!r}")
            self.say(self.forms.on_intent[intent])
            return
        if len(self.replies) > before:
            return
        # nothing here for this message: a chain may give it to another bot
        self.handled = False
        self.note(f"nothing to do for intent {intent!r}" + (": fallback_action" if self.forms.fallback_action else ""))
        self.say(self.forms.fallback_action)

    def done(self) -> Turn:
        st = self.st
        st["buttons"] = self.buttons
        t = self.trace
        t["form"] = st["form"]
        t["requested_slot"] = st["requested_slot"]
        t["turns"] = st["turns"]
        t["max_turns"] = self.forms.forms[st["form"]].max_turns if st["form"] else None
        t["outcome"] = st["outcome"]
        t["handled"] = self.handled
        if st["form"] and "required" not in t:
            req = self.requirements(st["form"])
            t["required"], t["rules"] = req.required, req.fired
        return Turn(self.replies, st, t)


__all__ = ["FormEngine", "BUILTIN_ACTIONS"]
