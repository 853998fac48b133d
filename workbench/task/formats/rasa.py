"""Import a Rasa bot's ``domain.yml`` (and its Markdown stories) onto the task.yml model.

What maps: slots (types), templates/responses (with buttons), intents and
entities (names), ``utter_`` actions, forms_bot's ``plans:`` (one form each,
named from the class: ``RestaurantPlan`` -> ``restaurant``; its slots are the
ones its ``utter_explain_<slot>_<form>`` templates name, asked with
``utter_ask_<slot>``) and Rasa 2/3 ``forms:`` (required slots and mappings).
Stories add what they show: the intent that activates each form, what the bot
says when a form finishes, the switch from one form to another, and the
replies outside and after forms.

What does not map is reported as a warning, never silently dropped: Python
actions and plans (their code is not in the domain), NLU data that is missing
(then only Rasa notation, ``/intent{"slot": "value"}``, is understood), and the
parts of a plan only its Python class knew (exit and chitchat intents, rules).
The task gets one ``bot_chat`` world with a ``form`` bot.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.io.files import DATA_LIMIT, read_text
from workbench.io.untrusted import JsonLimits, UntrustedInput, parse_json
from workbench.io.yaml_lines import Lines, line_of, load_yaml
from workbench.problems import Problem, TaskError

SLOT_TYPES = {
    "unfeaturized": "any",
    "any": "any",
    "text": "text",
    "bool": "bool",
    "float": "float",
    "categorical": "categorical",
    "list": "list",
}
#: forms_bot's plan actions and what they are in workbench
PLAN_ACTIONS = {
    "StopPlan": "deactivate_form",
    "StopPlanSwitch": "deactivate_form",
}
_STORY_ACTION_ALIASES = {"deactivate_plan": "deactivate_form", "deactivate_plan_switch": "deactivate_form"}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _plan_form(plan: str) -> str:
    """``plan_actions.RestaurantPlan`` -> ``restaurant``."""
    cls = plan.rsplit(".", 1)[-1]
    if cls.endswith("Plan") and len(cls) > 4:
        cls = cls[:-4]
    return _snake(cls)


def _response(value: Any, warn, loc: tuple) -> Any:
    items = value if isinstance(value, list) else [value]
    out: list[Any] = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict) and "text" in item:
            entry: dict[str, Any] = {"text": str(item["text"])}
            buttons = item.get("buttons")
            if isinstance(buttons, list) and buttons:
                entry["quick_replies"] = [
                    {"title": str(b.get("title", "")), **({"payload": str(b["payload"])} if b.get("payload") else {})}
                    for b in buttons
                    if isinstance(b, dict)
                ]
            extra = sorted(k for k in item if k not in ("text", "buttons"))
            if extra:
                warn(loc, f"response keys {', '.join(extra)} are not mapped; the text is kept")
            out.append(entry)
        else:
            warn(loc, "a response variant without text (images, custom payloads) is skipped")
    if not out:
        return None
    return out[0] if len(out) == 1 else out


def markdown_stories(root: Path) -> list[tuple[Path, list[list[tuple[str, str]]]]]:
    """Markdown stories: each a list of ("intent", name) / ("action", name) / ("slot", json)."""
    files = sorted({*root.glob("*.md"), *root.glob("data/*.md"), *root.glob("data/core/*.md")})
    out = []
    for f in files:
        if f.name.lower() in ("readme.md", "changelog.md") or f.is_dir():
            continue
        stories: list[list[tuple[str, str]]] = []
        current: list[tuple[str, str]] | None = None
        for raw in read_text(f, DATA_LIMIT, "Markdown story file").splitlines():
            line = raw.strip()
            if line.startswith("## "):
                current = []
                stories.append(current)
            elif current is None:
                continue
            elif line.startswith("* "):
                current.append(("intent", line[2:].split("{", 1)[0].strip()))
            elif line.startswith("- slot{"):
                current.append(("slot", line[len("- slot") :].strip()))
            elif line.startswith("- "):
                current.append(("action", line[2:].strip()))
        if stories:
            out.append((f, stories))
    return out


@dataclass
class StoryFacts:
    """What stories show about forms."""

    #: intent -> form -> how often the intent activated it
    triggers: dict[str, Counter] = field(default_factory=dict)
    #: form -> the sets of slots filled when it finished / exited
    completions: dict[str, list[set[str]]] = field(default_factory=dict)
    exits: dict[str, list[set[str]]] = field(default_factory=dict)
    #: form -> the replies right after it finished / exited
    finish: dict[str, Counter] = field(default_factory=dict)
    exit_replies: dict[str, Counter] = field(default_factory=dict)
    #: form -> forms it switched to
    switches: dict[str, set[str]] = field(default_factory=dict)
    #: form -> intent -> replies, after the form finished
    after: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    #: intent -> replies, with no form involved
    outside: dict[str, list[str]] = field(default_factory=dict)


_BOOKKEEPING = ("plan_complete", "active_plan", "switch", "requested_slot")


def _slot_event(raw: str) -> dict[str, Any]:
    """``{"cuisine": "mexican"}`` from a story's ``slot{...}`` line ({} when unreadable)."""
    try:
        value = parse_json(raw, JsonLimits(max_bytes=1 << 16, max_depth=8), what="slot event")
    except UntrustedInput:
        return {}
    return value if isinstance(value, dict) else {}


def _read_stories(stories: list[list[tuple[str, str]]], forms: set[str]) -> StoryFacts:
    facts = StoryFacts(finish={f: Counter() for f in forms}, exit_replies={f: Counter() for f in forms})
    for story in stories:
        filled: set[str] = set()
        after: str | None = None
        turns: list[tuple[str, list[tuple[str, str]]]] = []
        for kind, value in story:
            if kind == "intent":
                turns.append((value, []))
            elif turns:
                turns[-1][1].append((kind, value))
        for intent, events in turns:
            actions = [v for k, v in events if k == "action"]
            first = actions[0] if actions else ""
            if not (first.startswith("activate_") and first[9:] in forms):
                if actions and all(a.startswith("utter_") for a in actions):
                    if after:
                        facts.after.setdefault(after, {}).setdefault(intent, actions)
                    else:
                        facts.outside.setdefault(intent, actions)
                continue
            active: str | None = first[9:]
            facts.triggers.setdefault(intent, Counter())[active] += 1
            outcome: bool | None = None
            ending = False  # deactivate_plan seen; plan_complete says how it ended
            tail: list[str] = []
            for k, v in events[1:]:
                if k == "slot":
                    for name, value in _slot_event(v).items():
                        if name == "plan_complete":
                            if ending and outcome is None:
                                outcome = bool(value)
                        elif name not in _BOOKKEEPING:
                            filled.add(name)
                elif v == "deactivate_plan":
                    ending = True
                elif v == "deactivate_plan_switch":
                    nxt = next(
                        (a for kk, a in events if kk == "action" and a.startswith("activate_") and a != first), None
                    )
                    if nxt and nxt[9:] in forms and active:
                        facts.switches.setdefault(active, set()).add(nxt[9:])
                    active = None
                elif v.startswith("activate_") and v[9:] in forms:
                    active = v[9:]
                elif outcome is not None and v.startswith("utter_"):
                    tail.append(v)
            if active and outcome is not None:
                (facts.completions if outcome else facts.exits).setdefault(active, []).append(set(filled))
                (facts.finish if outcome else facts.exit_replies)[active][tuple(tail)] += 1
                after = active if outcome else None
    return facts


Warn = Callable[[tuple, str], None]


def _section(data: dict, key: str, kind: type, file: Path, lines: Lines) -> Any:
    """``data[key]`` when it is a ``kind`` (empty when absent); a TaskError at its line otherwise."""
    value = data.get(key)
    if value is None:
        return kind()
    if not isinstance(value, kind):
        what = "a mapping" if kind is dict else "a list"
        raise TaskError(Problem(str(file), line_of(lines, (key,)), key, f"expected {what}, got {type(value).__name__}"))
    return value


def _responses(data: dict, file: Path, lines: Lines, warn: Warn) -> dict[str, Any]:
    """templates (Rasa 1) and responses (Rasa 2/3), with buttons as quick replies."""
    responses: dict[str, Any] = {}
    for key in ("templates", "responses"):
        for name, value in _section(data, key, dict, file, lines).items():
            mapped = _response(value, warn, (key, name))
            if mapped is not None:
                responses[str(name)] = mapped
    return responses


def _slot(name: str, spec: Any, warn: Warn) -> dict[str, Any]:
    """A Rasa slot as a forms.yml slot."""
    spec = spec if isinstance(spec, dict) else {}
    kind = str(spec.get("type", "any"))
    out: dict[str, Any] = {}
    if kind not in SLOT_TYPES:
        warn(("slots", name, "type"), f"slot type {kind!r} is not mapped; the slot takes any value")
    else:
        out["type"] = SLOT_TYPES[kind]
    if kind == "categorical":
        values = spec.get("values") or []
        if values:
            out["choices"] = list(values) if isinstance(values, list) else [values]
        else:
            out["type"] = "any"
    if spec.get("initial_value") is not None:
        out["initial_value"] = spec["initial_value"]
    if isinstance(spec.get("mappings"), list):
        out["mappings"] = spec["mappings"]
    if name in ("plan_complete", "active_plan", "switch"):
        warn(
            ("slots", name),
            "forms_bot's bookkeeping slot; workbench records how a form ended in the engine state (`outcome`)",
        )
    return out


def _names(items: list) -> list[str]:
    """Intent or entity names: ``- greet`` or ``- greet: {use_entities: ...}``."""
    return [str(next(iter(i), "")) if isinstance(i, dict) else str(i) for i in items]


def _check_actions(actions: list, responses: dict[str, Any], warn: Warn) -> None:
    """Warn about the actions that are not imported (Python actions, utterances without a template)."""
    for i, action in enumerate(actions):
        action = str(action)
        cls = action.rsplit(".", 1)[-1]
        if action in responses or cls in PLAN_ACTIONS or re.fullmatch(r"Start\w+Plan", cls):
            continue  # a template, a plan action, or activate_<form> (built in)
        if action.startswith("utter_"):
            warn(("actions", i), f"{action} has no template; saying it does nothing")
        else:
            warn(
                ("actions", i),
                f"Python action {action} is not in the fixture's domain; not imported "
                "(write it with @workbench.task.registry.action in worlds.py)",
            )


def _plan_forms(
    plans: list, responses: dict[str, Any], slots: dict[str, Any], intents: list[str], warn: Warn
) -> dict[str, dict[str, Any]]:
    """forms_bot's plans: one form each, its slots those its ``utter_explain_<slot>_<form>`` name."""
    forms: dict[str, dict[str, Any]] = {}
    for i, plan in enumerate(plans):
        fname = _plan_form(str(plan))
        explains = [n for n in responses if n.startswith("utter_explain_") and n.endswith(f"_{fname}")]
        form_slots = []
        for n in explains:
            slot = n[len("utter_explain_") : -len(f"_{fname}")]
            if slot == "details" or slot not in slots:
                continue
            if f"utter_ask_{slot}" not in responses:
                warn(("plans", i), f"slot {slot} of {fname} has no utter_ask_{slot}; not added to the form")
                continue
            form_slots.append(slot)
        form: dict[str, Any] = {"slots": form_slots}
        if "explain" in intents:
            form["details_intent"] = "explain"
        forms[fname] = form
        warn(
            ("plans", i),
            f"{plan} is Python (not in the fixture): form {fname!r} rebuilt from the templates "
            f"(slots {', '.join(form_slots) or 'none'}); its exit and chitchat intents, priorities, rules "
            "and max_turns are not known and not imported",
        )
    return forms


def _rasa_forms(specs: dict, slots: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Rasa 2/3 ``forms:``: required slots (with their mappings in Rasa 2) and ignored intents."""
    forms: dict[str, dict[str, Any]] = {}
    for fname, spec in specs.items():
        spec = spec if isinstance(spec, dict) else {}
        req = spec.get("required_slots")
        form: dict[str, Any] = {}
        if isinstance(req, dict):  # Rasa 2: slot -> mappings
            form["required_slots"] = [str(s) for s in req]
            for slot, mappings in req.items():
                slots.setdefault(str(slot), {})["mappings"] = mappings or []
        elif isinstance(req, list):
            form["required_slots"] = [str(s) for s in req]
        ign = spec.get("ignored_intents")
        if ign:
            form["ignored_intents"] = (
                [ign] if isinstance(ign, str) else [str(i) for i in ign] if isinstance(ign, list) else []
            )
        forms[str(fname)] = form
        for s in form.get("required_slots", []):
            slots.setdefault(s, {})
    return forms


def _unasked_slots(slots: dict[str, Any], responses: dict[str, Any], forms: dict[str, dict], warn: Warn) -> None:
    for slot in slots:
        if f"utter_ask_{slot}" in responses and not any(
            slot in (f.get("slots") or f.get("required_slots") or []) for f in forms.values()
        ):
            warn(
                ("slots", slot),
                f"slot {slot} has a question (utter_ask_{slot}) but no form asks it; "
                "forms_bot's plans probably added it by rules, which are Python",
            )


def _required_from_stories(
    fname: str, form: dict[str, Any], slots: dict[str, Any], seen: StoryFacts, warn: Warn
) -> None:
    """A plan's required slots: those every story that completes it had filled."""
    done = seen.completions.get(fname) or []
    if not (done and "slots" in form):
        return
    asked = form.get("slots") or []
    common = set.intersection(*done)
    required = [s for s in slots if s in asked and s in common]
    if required != asked:
        form["required_slots"] = required
        warn(
            ("plans",),
            f"form {fname!r}: the stories finish it with only {', '.join(required)} always filled, "
            f"so those are its required slots (inferred); {', '.join(s for s in asked if s not in required)} "
            "are kept in the form but not asked (the plan rules that asked them are Python)",
        )
    for filled in seen.exits.get(fname) or []:
        if set(required) <= filled:
            warn(
                ("plans",),
                f"form {fname!r}: a story exits it with {', '.join(sorted(filled))} filled, "
                "which the inferred required slots call complete",
            )


def _apply_stories(forms: dict[str, dict[str, Any]], slots: dict[str, Any], seen: StoryFacts, warn: Warn) -> None:
    """What the stories show: triggers, required slots, finish and exit replies, switches, replies after."""
    for intent, votes in seen.triggers.items():
        target = votes.most_common(1)[0][0]
        forms[target].setdefault("triggers", []).append(intent)
    for fname, form in forms.items():
        _required_from_stories(fname, form, slots, seen, warn)
        if seen.finish[fname]:
            seq = list(seen.finish[fname].most_common(1)[0][0])
            if seq:
                form["finish_action"] = seq if len(seq) > 1 else seq[0]
        if seen.exit_replies[fname]:
            seq = list(seen.exit_replies[fname].most_common(1)[0][0])
            warn(
                ("plans",),
                f"stories show form {fname!r} exiting with {', '.join(seq) or 'nothing'}, but the exit "
                "intents are in Python; not imported (add `exit: {INTENT: ...}` in a forms.yml)",
            )
        for target in sorted(seen.switches.get(fname, ())):
            trigger = next(iter(forms[target].get("triggers") or []), None)
            if trigger:
                form.setdefault("exit", {})[trigger] = f"activate_{target}"
                warn(
                    ("plans",),
                    f"form {fname!r} switches to {target!r} in the stories; mapped as exit intent "
                    f"{trigger!r} -> activate_{target} (inferred)",
                )
        if seen.after.get(fname):
            form["after_finish"] = seen.after[fname]
        if not form.get("triggers"):
            warn(("plans",), f"no story activates form {fname!r}; it has no trigger intent")


def _nlu_warning(root: Path, intents: list[str], entities: list[str], warn: Warn) -> None:
    candidates = (root / "nlu.yml", root / "data" / "nlu.yml", root / "data" / "nlu.md", root / "nlu.md")
    nlu_files = [p for p in candidates if p.is_file()]
    if not nlu_files:
        warn(
            ("intents",),
            f"no NLU data: the {len(intents)} intents have no examples and the {len(entities)} entities no rules; "
            'only Rasa notation (/intent{"entity": "value"}) is understood',
        )
    else:
        warn(("intents",), f"NLU data in {nlu_files[0].name} is not imported yet; only Rasa notation is understood")


def _storage(root: Path, name: str, warn: Warn) -> str:
    """Where conversations go: .workbench/ beside the domain, or the cache when the folder is read-only."""
    # Rasa keeps its own files in data/; the mode bits are checked too, so that a root
    # user does not write into a read-only folder either
    if os.access(root, os.W_OK) and root.stat().st_mode & 0o222:
        return ".workbench/workbench.db"
    digest = hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:8]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "workbench" / f"{name}-{digest}"
    storage = str(cache / "workbench.db")
    warn((), f"the folder is read-only; conversations are stored in {storage}")
    return storage


def load(root: Path, file: Path) -> tuple[dict, Lines, list[str]]:
    """The task a Rasa domain (with its stories) maps to: (task.yml-shaped dict, key lines, warnings)."""
    data, lines = load_yaml(file, what="Rasa domain")
    if not isinstance(data, dict):
        raise TaskError(
            Problem(str(file), 1, None, "expected a Rasa domain: a mapping with intents, slots, templates...")
        )
    warnings: list[str] = []

    def warn(loc: tuple, msg: str) -> None:
        line = line_of(lines, loc)
        where = f"{file}:{line}" if line else str(file)
        key = ".".join(map(str, loc))
        warnings.append(f"{where}: {key + ': ' if key else ''}{msg}")

    responses = _responses(data, file, lines, warn)
    slots = {
        str(name): _slot(str(name), spec, warn)
        for name, spec in _section(data, "slots", dict, file, lines).items()
        if str(name) != "requested_slot"  # the form engine keeps the requested slot in its own state
    }
    intents = _names(_section(data, "intents", list, file, lines))
    entities = _names(_section(data, "entities", list, file, lines))
    _check_actions(_section(data, "actions", list, file, lines), responses, warn)
    forms = _plan_forms(_section(data, "plans", list, file, lines), responses, slots, intents, warn)
    forms.update(_rasa_forms(_section(data, "forms", dict, file, lines), slots))
    if not forms:
        raise TaskError(
            Problem(
                str(file), None, None, "no `plans:` or `forms:` in this domain; workbench imports Rasa bots with forms"
            )
        )
    _unasked_slots(slots, responses, forms, warn)
    story_files = markdown_stories(root)
    seen = _read_stories([st for _, ss in story_files for st in ss], set(forms))
    _apply_stories(forms, slots, seen, warn)
    if not story_files:
        warn((), "no Markdown stories beside the domain: form triggers unknown")
    _nlu_warning(root, intents, entities, warn)

    forms_file: dict[str, Any] = {"responses": responses, "slots": slots, "forms": forms}
    if seen.outside:
        forms_file["on_intent"] = {k: (v if len(v) > 1 else v[0]) for k, v in seen.outside.items()}
    if "utter_default" in responses:
        forms_file["fallback_action"] = "utter_default"
    name = re.sub(r"[^\w-]+", "_", root.resolve().name) or "rasa"
    bot = "forms"
    task: dict[str, Any] = {
        "name": name,
        "description": f"Imported from the Rasa domain {file.name}",
        "bots": {bot: {"engine": "form", "forms": forms_file}},
        "worlds": {"chat": {"type": "bot_chat", "bot": bot}},
        "storage": _storage(root, name, warn),
    }
    mapped: Lines = dict(lines)
    mapped[("bots", bot)] = line_of(lines, ("plans",)) or line_of(lines, ("forms",)) or 1
    mapped[("worlds", "chat")] = 1
    return task, mapped, warnings
