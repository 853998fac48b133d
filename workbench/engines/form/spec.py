"""forms.yml: its schema, and its resolution into the definitions the engine runs.

Both designs are accepted in one file (docs/forms.md): forms_bot's "plans"
(``slots`` with ``ask``/``clarify``/``priority``/``follow_up_action``, ``exit``,
``chitchat``, ``details_intent``, ``rules``, ``max_turns``, ``failure_action``;
the reference README's names ``slot_dict``, ``ask_utt``, ``clarify_utt``,
``exit_dict``, ``chitchat_dict`` and ``keep`` are aliases) and Rasa 3 forms
(``required_slots``, slot ``mappings`` with ``conditions``, ``ignored_intents``).
Problems name the file, the line and the key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field

from workbench.io.yaml_lines import Lines, line_of, load_yaml
from workbench.problems import Problem, TaskError

SLOT_TYPES = ("any", "text", "bool", "int", "float", "number", "date", "categorical", "list")
MAPPING_TYPES = ("from_entity", "from_text", "from_intent", "from_trigger_intent")
RESET = ("never", "after_finish", "always")
#: actions every forms file has; ``activate_<form>`` exists for each form
BUILTIN_ACTIONS = ("deactivate_form", "restart", "listen")


def _one_or_many(what: str):
    """``x`` and ``[x, y]`` are both accepted where a list of names is meant."""

    def normalise(value: Any) -> Any:
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        raise ValueError(f"expected {what} or a list of them")

    return normalise


def _named_slots(value: Any) -> Any:
    """A form's ``slots`` may be a plain list of names."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return {v: None for v in value}
    return value


#: one action or a list of them (actions run in order)
Action = Annotated[
    list[str], BeforeValidator(_one_or_many("an action (a response name, a built-in or a Python action)"))
]
Names = Annotated[list[str], BeforeValidator(_one_or_many("an intent name"))]
Scalar = str | int | float | bool


class _Strict(BaseModel):
    # allow_inf_nan: a bound or priority of .inf or .nan would make every comparison meaningless
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


class ResponseSpec(_Strict):
    text: str
    #: offered as buttons; a label alone, or Rasa's {title, payload} where a
    #: payload such as ``/affirm`` is what a click means
    quick_replies: list[str | dict[str, str]] = Field(
        default_factory=list, validation_alias=AliasChoices("quick_replies", "buttons")
    )


def _variants(value: Any) -> Any:
    """A response is text, ``{text, quick_replies}``, or a list of either (variants)."""
    items = value if isinstance(value, list) else [value]
    return [{"text": v} if isinstance(v, (str, int, float)) else v for v in items]


ResponseValue = Annotated[list[ResponseSpec], BeforeValidator(_variants)]


class Condition(_Strict):
    #: the form that must be active (``null``: no form active); ``active_loop`` is Rasa's name
    active_form: str | None = Field(None, validation_alias=AliasChoices("active_form", "active_loop"))
    #: the slot that must be the one asked
    requested_slot: str | None = None


class MappingSpec(_Strict):
    type: Literal["from_entity", "from_text", "from_intent", "from_trigger_intent"]
    entity: str | None = None
    role: str | None = None
    group: str | int | None = None
    #: only for messages with one of these intents
    intent: Names = Field(default_factory=list)
    #: never for messages with one of these intents
    not_intent: Names = Field(default_factory=list)
    #: the value a from_intent / from_trigger_intent mapping sets (``false`` is a value)
    value: Any = None
    #: any one of these must hold (none given: always)
    conditions: list[Condition] = Field(default_factory=list)


class SlotSpec(_Strict):
    """A slot, at the top level (shared by every form) or inside one form (overriding)."""

    type: Literal["any", "text", "bool", "int", "float", "number", "date", "categorical", "list"] | None = None
    #: accepted values (case-insensitive for text); required for categorical
    choices: list[Scalar] | None = None
    #: the value (as text) must match this whole
    regex: str | None = None
    min: float | None = None
    max: float | None = None
    #: a Python validator registered with ``@workbench.task.registry.validator``
    validator: str | None = None
    #: said when a value is rejected ({value}, {slot} and slot names are filled in)
    invalid: Action | None = None
    mappings: list[MappingSpec] | None = None
    initial_value: Any = None
    #: the question: a response name, an action, or literal text
    ask: Action | None = Field(None, validation_alias=AliasChoices("ask", "ask_utt"))
    #: said for the details intent while this slot is asked
    clarify: Action | None = Field(None, validation_alias=AliasChoices("clarify", "clarify_utt"))
    #: lower is asked sooner
    priority: float | None = None
    #: run on the person's reply to this slot's question, before anything else fills slots
    follow_up_action: Action | None = None
    #: said when the person changes this slot's value
    corrected: Action | None = None


class RuleEffect(_Strict):
    #: slots that become required (``keep`` is forms_bot's name)
    need: list[str] = Field(default_factory=list, validation_alias=AliasChoices("need", "keep"))
    #: slots that stop being required
    lose: list[str] = Field(default_factory=list)


class FormSpec(_Strict):
    #: intents that activate the form when no form is active
    triggers: list[str] = Field(default_factory=list)
    #: Rasa 3: the slots to fill, in order
    required_slots: list[str] | None = None
    #: plans: slot -> how it is asked (all required unless ``required_slots`` says otherwise)
    slots: Annotated[dict[str, SlotSpec | None], BeforeValidator(_named_slots)] = Field(
        default_factory=dict, validation_alias=AliasChoices("slots", "slot_dict")
    )
    finish_action: Action | None = None
    #: intent -> action; the form ends first
    exit: dict[str, Action] = Field(default_factory=dict, validation_alias=AliasChoices("exit", "exit_dict"))
    #: intent -> action; then the pending question is asked again
    chitchat: dict[str, Action] = Field(
        default_factory=dict, validation_alias=AliasChoices("chitchat", "chitchat_dict")
    )
    #: the intent(s) asking what the pending question means
    details_intent: Names = Field(default_factory=list)
    #: said for the details intent when the pending slot has no clarify of its own
    clarify: Action | None = None
    #: slot -> value -> {need, lose}
    rules: dict[str, dict[Scalar, RuleEffect]] = Field(default_factory=dict)
    #: turns without completion before failure_action
    max_turns: int = Field(10, ge=1)
    #: defaults to finish_action
    failure_action: Action | None = None
    #: messages with these intents fill no slot
    ignored_intents: list[str] = Field(default_factory=list)
    #: a ``@workbench.task.registry.hook`` that changes the required slots
    required_slots_hook: str | None = None
    #: intent -> action, for messages after this form finished (until another form starts)
    after_finish: dict[str, Action] = Field(default_factory=dict)
    #: forget this form's slot values on activation: never, after_finish, always
    reset: Literal["never", "after_finish", "always"] = "never"


class FormsFile(_Strict):
    version: str | int | float | None = None
    #: response name -> text, {text, quick_replies}, or a list of variants (used in turn)
    responses: dict[str, ResponseValue] = Field(
        default_factory=dict, validation_alias=AliasChoices("responses", "templates")
    )
    slots: dict[str, SlotSpec | None] = Field(default_factory=dict)
    #: intent -> action, when no form is active
    on_intent: dict[str, Action] = Field(default_factory=dict)
    #: said when no form is active and nothing else answers (omit to stay silent, e.g. in a chain)
    fallback_action: Action | None = None
    forms: dict[str, FormSpec]


# ---------------------------------------------------------------------------
# resolved definitions: what the engine runs


@dataclass
class Response:
    variants: list[tuple[str, list[str], dict[str, str]]]  # (text, labels, label -> payload)


@dataclass
class Mapping:
    type: str
    entity: str | None = None
    role: str | None = None
    group: str | None = None
    intent: list[str] = field(default_factory=list)
    not_intent: list[str] = field(default_factory=list)
    value: Any = None
    #: [(form or None, requested slot or None, whether active_form was given)]
    conditions: list[tuple[str | None, str | None, bool]] = field(default_factory=list)
    #: whether ``value:`` was written (``value: null`` is a value)
    has_value: bool = False

    def describe(self) -> str:
        if self.type == "from_entity":
            extra = "".join(f" {k}={v}" for k, v in (("role", self.role), ("group", self.group)) if v is not None)
            return f"from_entity {self.entity}{extra}"
        if self.type in ("from_intent", "from_trigger_intent"):
            return f"{self.type} {'/'.join(self.intent) or '*'}={self.value!r}"
        return "from_text"


@dataclass
class SlotDef:
    name: str
    type: str = "any"
    choices: list[Any] | None = None
    regex: str | None = None
    min: float | None = None
    max: float | None = None
    validator: str | None = None
    invalid: list[str] = field(default_factory=list)
    mappings: list[Mapping] = field(default_factory=list)
    initial_value: Any = None
    ask: list[str] = field(default_factory=list)
    clarify: list[str] = field(default_factory=list)
    priority: float = 0
    follow_up_action: list[str] = field(default_factory=list)
    corrected: list[str] = field(default_factory=list)


@dataclass
class FormDef:
    name: str
    triggers: list[str]
    #: the base required slots, in declaration order
    required: list[str]
    slots: dict[str, SlotDef]
    finish_action: list[str]
    exit: dict[str, list[str]]
    chitchat: dict[str, list[str]]
    details_intents: list[str]
    clarify: list[str]
    rules: dict[str, dict[Any, tuple[list[str], list[str]]]]
    max_turns: int
    failure_action: list[str]
    ignored_intents: list[str]
    hook: str | None
    after_finish: dict[str, list[str]]
    reset: str


@dataclass
class FormsDef:
    """Every form of a bot, with the slots and responses they share."""

    responses: dict[str, Response]
    #: every slot's shared definition (top-level, or the defaults)
    slots: dict[str, SlotDef]
    forms: dict[str, FormDef]
    on_intent: dict[str, list[str]]
    fallback_action: list[str]
    source: str = "forms.yml"

    def slot(self, name: str, form: str | None = None) -> SlotDef:
        """The definition of ``name`` as ``form`` sees it (the shared one otherwise)."""
        if form and form in self.forms and name in self.forms[form].slots:
            return self.forms[form].slots[name]
        return self.slots[name]

    def trigger(self, intent: str | None) -> str | None:
        for name, f in self.forms.items():
            if intent is not None and intent in f.triggers:
                return name
        return None


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def _response(value: Any) -> Response:
    items = value if isinstance(value, list) else [value]
    variants = []
    for item in items:
        if isinstance(item, ResponseSpec):
            labels, payloads = [], {}
            for q in item.quick_replies:
                if isinstance(q, dict):
                    title = str(q.get("title") or q.get("label") or q.get("payload") or "")
                    labels.append(title)
                    if q.get("payload"):
                        payloads[title] = str(q["payload"])
                else:
                    labels.append(str(q))
            variants.append((item.text, labels, payloads))
        else:
            variants.append((str(item), [], {}))
    return Response(variants)


def _mapping(spec: MappingSpec) -> Mapping:
    conds = []
    for c in spec.conditions:
        conds.append((c.active_form, c.requested_slot, "active_form" in c.model_fields_set))
    return Mapping(
        spec.type,
        spec.entity,
        spec.role,
        None if spec.group is None else str(spec.group),
        as_list(spec.intent),
        as_list(spec.not_intent),
        spec.value,
        conds,
        "value" in spec.model_fields_set,
    )


_SLOT_FIELDS = (
    "type",
    "choices",
    "regex",
    "min",
    "max",
    "validator",
    "invalid",
    "mappings",
    "initial_value",
    "ask",
    "clarify",
    "priority",
    "follow_up_action",
    "corrected",
)
_ACTION_FIELDS = ("invalid", "ask", "clarify", "follow_up_action", "corrected")


def _merge(name: str, *specs: SlotSpec | None) -> SlotDef:
    """A slot definition from specs, later ones overriding the keys they set."""
    merged: dict[str, Any] = {}
    for spec in specs:
        if spec is None:
            continue
        for key in spec.model_fields_set:
            merged[key] = getattr(spec, key)
    out = SlotDef(name)
    for key, value in merged.items():
        if key in _ACTION_FIELDS:
            setattr(out, key, as_list(value))
        elif key == "mappings":
            out.mappings = [_mapping(m) for m in value or []]
        elif key == "priority":
            out.priority = value if value is not None else 0
        elif key == "type":
            out.type = value or "any"
        else:
            setattr(out, key, value)
    if "mappings" not in merged:
        # forms_bot's way: an entity named like the slot fills it
        out.mappings = [Mapping("from_entity", entity=name)]
    if out.choices is not None and out.type == "any":
        out.type = "categorical"
    return out


def _conventions(d: SlotDef, slot: str, form: str | None, responses: dict[str, Response]) -> None:
    """Fill ask/clarify/corrected from response names, Rasa's and forms_bot's:
    utter_ask_<form>_<slot>, utter_ask_<slot>; utter_explain_<slot>_<form>,
    utter_explain_<form>_<slot>, utter_explain_<slot>; utter_correct_<slot>_<form>,
    utter_correct_<slot>."""
    own = form is not None
    conventions = {
        "ask": [f"utter_ask_{form}_{slot}"] * own + [f"utter_ask_{slot}"],
        "clarify": [f"utter_explain_{slot}_{form}", f"utter_explain_{form}_{slot}"] * own + [f"utter_explain_{slot}"],
        "corrected": [f"utter_correct_{slot}_{form}"] * own + [f"utter_correct_{slot}"],
    }
    for key, names in conventions.items():
        if getattr(d, key):
            continue
        for candidate in names:
            if candidate in responses:
                setattr(d, key, [candidate])
                break


Bad = Callable[[tuple, str], None]


def _slot_names(spec: FormsFile) -> list[str]:
    """Every slot the file names: shared ones, then those forms and their rules add."""
    names: list[str] = list(spec.slots)
    for form in spec.forms.values():
        for s in [*(form.required_slots or []), *form.slots]:
            if s not in names:
                names.append(s)
        for effects in form.rules.values():
            for eff in effects.values():
                for s in [*eff.need, *eff.lose]:
                    if s not in names:
                        names.append(s)
    return names


def _form_def(
    fname: str,
    f: Any,
    top: dict[str, SlotSpec],
    shared: dict[str, SlotDef],
    responses: dict[str, Response],
    bad: Bad,
) -> FormDef:
    """One form of the file, its slots merged with the shared ones; problems go to ``bad``."""
    base = ("forms", fname)
    local = f.slots
    required = list(f.required_slots) if f.required_slots is not None else list(local)
    slot_names = list(dict.fromkeys([*required, *local]))
    for eff_map in f.rules.values():
        for eff in eff_map.values():
            slot_names.extend(s for s in eff.need if s not in slot_names)
    slots = {s: _merge(s, top.get(s), local.get(s)) for s in slot_names}
    for s, d in slots.items():
        loc = base + ("slots", s) if s in local else ("slots", s) if s in top else base
        _conventions(d, s, fname, responses)
        if not d.ask and not d.follow_up_action:
            bad(loc, f"slot {s!r} of form {fname!r} has no question: add `ask:` or a response utter_ask_{s}")
    rules: dict[str, dict[Any, tuple[list[str], list[str]]]] = {}
    for rslot, effects in f.rules.items():
        if rslot not in shared:
            bad(base + ("rules", rslot), f"no slot named {rslot!r}")
        rules[rslot] = {value: (list(e.need), list(e.lose)) for value, e in effects.items()}
        for value, e in effects.items():
            for s in e.lose:
                if s not in slots:
                    bad(base + ("rules", rslot, value, "lose"), f"slot {s!r} is not one of form {fname!r}'s slots")
    clarify = as_list(f.clarify)
    if not clarify:
        clarify = [c for c in (f"utter_explain_details_{fname}", f"utter_explain_{fname}") if c in responses][:1]
    finish = as_list(f.finish_action)
    return FormDef(
        name=fname,
        triggers=list(f.triggers),
        required=required,
        slots=slots,
        finish_action=finish,
        exit={k: as_list(v) for k, v in f.exit.items()},
        chitchat={k: as_list(v) for k, v in f.chitchat.items()},
        details_intents=as_list(f.details_intent),
        clarify=clarify,
        rules=rules,
        max_turns=f.max_turns,
        failure_action=as_list(f.failure_action) if f.failure_action is not None else list(finish),
        ignored_intents=list(f.ignored_intents),
        hook=f.required_slots_hook,
        after_finish={k: as_list(v) for k, v in f.after_finish.items()},
        reset=f.reset,
    )


def _check_slot(loc: tuple, d: SlotDef, form_names: Any, bad: Bad) -> None:
    """A slot's type and mappings are complete; mapping conditions name forms that exist."""
    if d.type == "categorical" and not d.choices:
        bad(loc, "a categorical slot needs `choices:`")
    for i, m in enumerate(d.mappings):
        mloc = loc + ("mappings", i)
        if m.type == "from_entity" and not m.entity:
            bad(mloc, "a from_entity mapping needs `entity:`")
        if m.type in ("from_intent", "from_trigger_intent") and not m.has_value:
            bad(mloc, f"a {m.type} mapping needs `value:` (false and null are values too)")
        for cform, _, _ in m.conditions:
            if cform is not None and cform not in form_names:
                bad(mloc + ("conditions",), f"no form named {cform!r}; forms: {', '.join(form_names)}")


def resolve(spec: FormsFile, file: Path, lines: Lines) -> tuple[FormsDef, list[Problem]]:
    """Turn a validated file into definitions; cross-references become problems."""
    problems: list[Problem] = []

    def bad(loc: tuple, msg: str) -> None:
        problems.append(Problem(str(file), line_of(lines, loc), ".".join(map(str, loc)), msg))

    responses = {name: _response(value) for name, value in spec.responses.items()}
    top = {name: s or SlotSpec() for name, s in spec.slots.items()}
    shared = {n: _merge(n, top.get(n)) for n in _slot_names(spec)}
    for n, d in shared.items():
        # outside any form (or added by a hook) a slot is asked with utter_ask_<slot>
        _conventions(d, n, None, responses)
    forms = {fname: _form_def(fname, f, top, shared, responses, bad) for fname, f in spec.forms.items()}

    for s, d in shared.items():
        _check_slot(("slots", s), d, spec.forms, bad)
    for fname, f in forms.items():
        local = spec.forms[fname].slots
        for s, d in f.slots.items():
            own = local.get(s)
            if own is not None and own.model_fields_set & {"mappings", "type", "choices"}:
                _check_slot(("forms", fname, "slots", s), d, spec.forms, bad)
    triggers: dict[str, str] = {}
    for fname, f in forms.items():
        for t in f.triggers:
            if t in triggers:
                bad(("forms", fname, "triggers"), f"intent {t!r} already activates form {triggers[t]!r}")
            triggers[t] = fname

    out = FormsDef(
        responses=responses,
        slots=shared,
        forms=forms,
        on_intent={k: as_list(v) for k, v in spec.on_intent.items()},
        fallback_action=as_list(spec.fallback_action),
        source=str(file),
    )
    return out, problems


class _ActionCheck:
    """Finds the actions, validators and hooks a forms file names that resolve to nothing."""

    def __init__(self, forms: FormsDef, registry: Any, file: Path, lines: Lines) -> None:
        self.forms = forms
        self.actions = getattr(registry, "actions", {}) or {}
        self.validators = getattr(registry, "validators", {}) or {}
        self.hooks = getattr(registry, "hooks", {}) or {}
        self.file = file
        self.lines = lines
        self.problems: list[Problem] = []

    def bad(self, loc: tuple, message: str) -> None:
        self.problems.append(Problem(str(self.file), line_of(self.lines, loc), ".".join(map(str, loc)), message))

    def known(self, name: str) -> bool:
        return (
            name in self.forms.responses
            or name in BUILTIN_ACTIONS
            or name in self.actions
            or (name.startswith("activate_") and name[len("activate_") :] in self.forms.forms)
        )

    def need(self, loc: tuple, names: list[str], text_ok: bool = False) -> None:
        for n in names:
            if self.known(n) or (text_ok and not looks_like_action(n)):
                continue
            self.bad(
                loc,
                f"unknown action {n!r}: define it under responses:, register it with @workbench.task.registry.action, "
                f"or use a built-in ({', '.join(BUILTIN_ACTIONS)}, activate_<form>)",
            )

    def slot(self, loc: tuple, d: SlotDef, shared: SlotDef | None = None) -> None:
        # a form's slot repeats what it inherits from the shared one: check only what differs
        def own(key: str) -> bool:
            return shared is None or getattr(d, key) != getattr(shared, key)

        for key in ("ask", "clarify", "invalid", "corrected"):
            if own(key):
                self.need(loc + (key,), getattr(d, key), text_ok=True)
        if own("follow_up_action"):
            self.need(loc + ("follow_up_action",), d.follow_up_action)
        if d.validator and d.validator not in self.validators and own("validator"):
            self.bad(
                loc + ("validator",),
                f"no validator {d.validator!r} registered with @workbench.task.registry.validator "
                f"(registered: {', '.join(sorted(self.validators)) or 'none'})",
            )

    def form(self, fname: str, f: FormDef) -> None:
        base = ("forms", fname)
        for s, d in f.slots.items():
            self.slot(base + ("slots", s), d, self.forms.slots.get(s))
        self.need(base + ("finish_action",), f.finish_action)
        if f.failure_action != f.finish_action:  # the default is the finish action, checked above
            self.need(base + ("failure_action",), f.failure_action)
        self.need(base + ("clarify",), f.clarify, text_ok=True)
        for key in ("exit", "chitchat", "after_finish"):
            for intent, acts in getattr(f, key).items():
                self.need(base + (key, intent), acts)
        if f.hook and f.hook not in self.hooks:
            self.bad(
                base + ("required_slots_hook",),
                f"no hook {f.hook!r} registered with @workbench.task.registry.hook "
                f"(registered: {', '.join(sorted(self.hooks)) or 'none'})",
            )


def check_actions(forms: FormsDef, registry: Any, file: Path, lines: Lines) -> list[Problem]:
    """Every action named resolves: a response, a built-in, ``activate_<form>`` or a registered action."""
    check = _ActionCheck(forms, registry, file, lines)
    for s, d in forms.slots.items():
        check.slot(("slots", s), d)
    for fname, f in forms.forms.items():
        check.form(fname, f)
    for intent, acts in forms.on_intent.items():
        check.need(("on_intent", intent), acts)
    check.need(("fallback_action",), forms.fallback_action)
    return check.problems


def looks_like_action(text: str) -> bool:
    """``utter_ask_x`` or ``check_spa`` are names; ``What price range?`` is text."""
    return bool(text) and " " not in text.strip() and text.replace("_", "").replace(".", "").isalnum() and "_" in text


def forms_from_dict(raw: Any, file: Path, lines: Lines | None = None) -> FormsDef:
    """Validate a parsed forms file (or an inline mapping); raise TaskError with every problem."""
    from workbench.problems import validate_model

    lines = lines or {}
    if not isinstance(raw, dict):
        raise TaskError(Problem(str(file), line_of(lines, ()), None, "expected a mapping with `forms:`"))
    problems: list[Problem] = []
    spec = validate_model(FormsFile, raw, (), file, lines, problems)
    if spec is None:
        raise TaskError(problems)
    forms, more = resolve(spec, file, lines)
    if more:
        raise TaskError(more)
    return forms


def load_forms(path: str | Path) -> tuple[FormsDef, Lines]:
    """Read a forms.yml; raise TaskError naming file:line:key for every problem."""
    path = Path(path)
    raw, lines = load_yaml(path, what="forms file")
    if raw is None:
        raise TaskError(Problem(str(path), 1, None, "the file is empty; expected a mapping with `forms:`"))
    return forms_from_dict(raw, path, lines), lines
