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
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
            if buttons:
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
        if f.name.lower() in ("readme.md", "changelog.md"):
            continue
        stories: list[list[tuple[str, str]]] = []
        current: list[tuple[str, str]] | None = None
        for raw in f.read_text(encoding="utf-8", errors="replace").splitlines():
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
        value = json.loads(raw)
    except ValueError:
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


def load(root: Path, file: Path) -> tuple[dict, Lines, list[str]]:
    data, lines = load_yaml(file)
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

    # -- responses ---------------------------------------------------------------
    responses: dict[str, Any] = {}
    for key in ("templates", "responses"):
        for name, value in (data.get(key) or {}).items():
            mapped = _response(value, warn, (key, name))
            if mapped is not None:
                responses[str(name)] = mapped

    # -- slots -------------------------------------------------------------------
    slots: dict[str, Any] = {}
    for name, spec in (data.get("slots") or {}).items():
        name = str(name)
        spec = spec or {}
        if name == "requested_slot":
            continue  # the form engine keeps the requested slot in its own state
        kind = str(spec.get("type", "any"))
        out: dict[str, Any] = {}
        if kind not in SLOT_TYPES:
            warn(("slots", name, "type"), f"slot type {kind!r} is not mapped; the slot takes any value")
        else:
            out["type"] = SLOT_TYPES[kind]
        if kind == "categorical":
            values = spec.get("values") or []
            if values:
                out["choices"] = list(values)
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
        slots[name] = out

    # -- intents, entities, actions ------------------------------------------------------
    intents = [next(iter(i)) if isinstance(i, dict) else str(i) for i in (data.get("intents") or [])]
    entities = [next(iter(e)) if isinstance(e, dict) else str(e) for e in (data.get("entities") or [])]
    for i, action in enumerate(data.get("actions") or []):
        action = str(action)
        if action in responses:
            continue
        cls = action.rsplit(".", 1)[-1]
        if cls in PLAN_ACTIONS:
            continue
        if re.fullmatch(r"Start\w+Plan", cls):
            continue  # activate_<form> is built in
        if action.startswith("utter_"):
            warn(("actions", i), f"{action} has no template; saying it does nothing")
        else:
            warn(
                ("actions", i),
                f"Python action {action} is not in the fixture's domain; not imported "
                "(write it with @workbench.task.registry.action in worlds.py)",
            )

    # -- forms: forms_bot's plans ----------------------------------------------------------
    forms: dict[str, dict[str, Any]] = {}
    for i, plan in enumerate(data.get("plans") or []):
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
    # -- forms: Rasa 2/3 -----------------------------------------------------------------------
    for fname, spec in (data.get("forms") or {}).items():
        fname = str(fname)
        spec = spec or {}
        req = spec.get("required_slots")
        form = {}
        if isinstance(req, dict):  # Rasa 2: slot -> mappings
            form["required_slots"] = list(req)
            for slot, mappings in req.items():
                slots.setdefault(str(slot), {})["mappings"] = mappings or []
        elif isinstance(req, list):
            form["required_slots"] = [str(s) for s in req]
        if spec.get("ignored_intents"):
            ign = spec["ignored_intents"]
            form["ignored_intents"] = [ign] if isinstance(ign, str) else list(ign)
        forms[fname] = form
        for s in form.get("required_slots", []):
            slots.setdefault(s, {})
    if not forms:
        raise TaskError(
            Problem(
                str(file), None, None, "no `plans:` or `forms:` in this domain; workbench imports Rasa bots with forms"
            )
        )
    for slot in slots:
        if any(n == f"utter_ask_{slot}" for n in responses) and not any(
            slot in (f.get("slots") or f.get("required_slots") or []) for f in forms.values()
        ):
            warn(
                ("slots", slot),
                f"slot {slot} has a question (utter_ask_{slot}) but no form asks it; "
                "forms_bot's plans probably added it by rules, which are Python",
            )

    # -- stories: triggers, required slots, finish/exit replies, switches, other replies ----
    story_files = markdown_stories(root)
    seen = _read_stories([st for _, ss in story_files for st in ss], set(forms))
    for intent, votes in seen.triggers.items():
        target = votes.most_common(1)[0][0]
        forms[target].setdefault("triggers", []).append(intent)
    for fname, form in forms.items():
        done = seen.completions.get(fname) or []
        asked = form.get("slots") or form.get("required_slots") or []
        if done and "slots" in form:
            # the slots every completed run had: what the plan required (its rules are Python)
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
    on_intent = seen.outside
    if not story_files:
        warn((), "no Markdown stories beside the domain: form triggers unknown")

    nlu_files = [
        p
        for p in (root / "nlu.yml", root / "data" / "nlu.yml", root / "data" / "nlu.md", root / "nlu.md")
        if p.is_file()
    ]
    if not nlu_files:
        warn(
            ("intents",),
            f"no NLU data: the {len(intents)} intents have no examples and the {len(entities)} entities no rules; "
            'only Rasa notation (/intent{"entity": "value"}) is understood',
        )
    else:
        warn(("intents",), f"NLU data in {nlu_files[0].name} is not imported yet; only Rasa notation is understood")

    forms_file: dict[str, Any] = {"responses": responses, "slots": slots, "forms": forms}
    if on_intent:
        forms_file["on_intent"] = {k: (v if len(v) > 1 else v[0]) for k, v in on_intent.items()}
    if "utter_default" in responses:
        forms_file["fallback_action"] = "utter_default"

    name = re.sub(r"[^\w-]+", "_", root.resolve().name) or "rasa"
    bot = "forms"
    task: dict[str, Any] = {
        "name": name,
        "description": f"Imported from the Rasa domain {file.name}",
        "bots": {bot: {"engine": "form", "forms": forms_file}},
        "worlds": {"chat": {"type": "bot_chat", "bot": bot}},
    }
    # Rasa keeps its own files in data/: conversations go to .workbench/, or to the cache
    # when the folder is read-only (mode bits, so a root user does not write there either)
    if os.access(root, os.W_OK) and root.stat().st_mode & 0o222:
        task["storage"] = ".workbench/workbench.db"
    else:
        digest = hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:8]
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "workbench" / f"{name}-{digest}"
        task["storage"] = str(cache / "workbench.db")
        warn((), f"the folder is read-only; conversations are stored in {task['storage']}")
    mapped: Lines = dict(lines)
    mapped[("bots", bot)] = line_of(lines, ("plans",)) or line_of(lines, ("forms",)) or 1
    mapped[("worlds", "chat")] = 1
    return task, mapped, warnings
