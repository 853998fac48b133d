"""Import a boteval task directory (its ``conf.yml``) onto the task.yml model.

``chatbot.{display_name, topics_file, bot_name, bot_args, transforms}``, ``limits``,
``onboarding``, ``ratings`` and ``mturk`` become the ``evaluation:`` section, a bot and a
``chat`` world to try that bot in. Every key workbench does not map gets a warning naming
its line. boteval's bots live in its own registry (a task's ``__init__.py``): a bot of
that name registered with ``@bot`` in the task's worlds.py is used, otherwise an echo bot
stands in (with a warning), so the study runs before its bot is ported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.io.yaml_lines import Lines, line_of, load_yaml
from workbench.problems import Problem, TaskError

#: transforms workbench has built in (workbench/evaluation/transforms.py); others need worlds.py
BUILT_IN_TRANSFORMS = {"dummy", "lowercase", "strip", "prefix", "suffix"}
CHATBOT_KEYS = {"display_name", "topics_file", "bot_name", "bot_args", "transforms"}
ONBOARDING_KEYS = {"agreement_file", "instructions_file", "checkboxes"}
LIMIT_KEYS = {
    "max_threads_per_user": "max_threads_per_person",
    "max_threads_per_topic": None,
    "max_turns_per_thread": None,
}
#: create_hit's parameters boteval passes along (the rest of hit_settings are boteval's own)
HIT_KEYS = {
    "MaxAssignments",
    "AutoApprovalDelayInSeconds",
    "LifetimeInSeconds",
    "AssignmentDurationInSeconds",
    "Reward",
    "Title",
    "Keywords",
    "Description",
    "QualificationRequirements",
}


def load(root: Path, file: Path) -> tuple[dict, Lines, list[str]]:
    data, lines = load_yaml(file)
    if not isinstance(data, dict):
        raise TaskError(Problem(str(file), 1, None, "expected a boteval conf.yml (a mapping with `chatbot:`)"))
    warnings: list[str] = []
    mapped: Lines = dict(lines)

    def warn(loc: tuple, msg: str) -> None:
        warnings.append(f"{file}:{line_of(lines, loc)}: {'.'.join(map(str, loc))}: {msg}")

    def section(key: str) -> dict[str, Any]:
        value = data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise TaskError(Problem(str(file), line_of(lines, (key,)), key, "expected a mapping"))
        return value

    def point(new: tuple, old: tuple) -> None:
        if old in lines:
            mapped[new] = lines[old]

    chatbot = section("chatbot")
    if not chatbot:
        raise TaskError(Problem(str(file), 1, "chatbot", "a boteval task needs `chatbot:` with `topics_file:`"))
    evaluation: dict[str, Any] = {}
    has_python = (root / "worlds.py").is_file()
    if (root / "__init__.py").is_file():
        warn(
            ("chatbot",),
            "boteval's __init__.py is not imported (it registers into boteval's registry); "
            "port its bots and transforms to worlds.py with @bot and @transform",
        )

    # -- the bot ------------------------------------------------------------------
    bot_name = str(chatbot.get("bot_name") or "bot")
    bot_args = chatbot.get("bot_args") or {}
    if not isinstance(bot_args, dict):
        raise TaskError(
            Problem(str(file), line_of(lines, ("chatbot", "bot_args")), "chatbot.bot_args", "expected a mapping")
        )
    if has_python:
        bot: dict[str, Any] = {"engine": "python", "name": bot_name, "args": dict(bot_args)}
        point(("bots", bot_name, "name"), ("chatbot", "bot_name"))
    else:
        bot = {"engine": "echo", "prefix": "echo: "}
        warn(
            ("chatbot", "bot_name"),
            f"boteval's bot {bot_name!r} is not available in workbench; an echo bot stands in "
            f"(register a bot with @bot({bot_name!r}) in worlds.py to use your own)",
        )
    evaluation["bot"] = bot_name
    point(("evaluation", "bot"), ("chatbot", "bot_name"))
    for key in ("display_name", "topics_file"):
        if chatbot.get(key) is not None:
            evaluation[key] = chatbot[key]
            point(("evaluation", key), ("chatbot", key))
    for key in chatbot:
        if key not in CHATBOT_KEYS:
            warn(("chatbot", key), "not a boteval key workbench maps; ignored")

    transforms = chatbot.get("transforms") or {}
    if isinstance(transforms, dict):
        mapped_transforms: dict[str, list] = {}
        for side, chain in transforms.items():
            if side not in ("human", "bot") or not isinstance(chain, list):
                warn(("chatbot", "transforms", side), "expected human: or bot: with a list of transforms; ignored")
                continue
            kept = []
            for i, entry in enumerate(chain):
                name = entry.get("name") if isinstance(entry, dict) else None
                if not name:
                    warn(("chatbot", "transforms", side, i), "a transform needs a name; ignored")
                    continue
                if name not in BUILT_IN_TRANSFORMS and not has_python:
                    warn(
                        ("chatbot", "transforms", side, i),
                        f"transform {name!r} is not built in; register it with @transform({name!r}) in worlds.py; skipped",
                    )
                    continue
                kept.append({"name": name, "args": dict(entry.get("args") or {})})
            mapped_transforms[side] = kept
        evaluation["transforms"] = mapped_transforms

    # -- limits, onboarding, ratings ----------------------------------------------
    limits = section("limits")
    ev_limits: dict[str, Any] = {}
    for key, value in limits.items():
        if key in LIMIT_KEYS:
            target = LIMIT_KEYS[key] or key
            ev_limits[target] = value
            point(("evaluation", "limits", target), ("limits", key))
        else:
            warn(("limits", key), "not a limit workbench enforces (pay through the crowd platform); ignored")
    if ev_limits:
        evaluation["limits"] = ev_limits

    onboarding = section("onboarding")
    ev_onboarding: dict[str, Any] = {}
    for key, value in onboarding.items():
        if key in ONBOARDING_KEYS:
            ev_onboarding[key] = value
            point(("evaluation", "onboarding", key), ("onboarding", key))
        else:
            warn(("onboarding", key), "not an onboarding key workbench maps; ignored")
    if ev_onboarding:
        evaluation["onboarding"] = ev_onboarding

    ratings = data.get("ratings") or []
    if not isinstance(ratings, list):
        raise TaskError(Problem(str(file), line_of(lines, ("ratings",)), "ratings", "expected a list of questions"))
    questions = []
    for i, entry in enumerate(ratings):
        if not isinstance(entry, dict) or "question" not in entry:
            raise TaskError(
                Problem(
                    str(file),
                    line_of(lines, ("ratings", i)),
                    f"ratings.{i}",
                    "expected {question: ..., choices: [...]}",
                )
            )
        q: dict[str, Any] = {"question": entry["question"]}
        if entry.get("choices"):
            # boteval shows choices as a slider from the first to the last: an ordered scale
            q.update(type="likert", choices=list(entry["choices"]))
        elif entry.get("range"):
            low, high = (list(entry["range"]) + [None, None])[:2]
            q.update(type="number", min=low, max=high)
        elif entry.get("freetext") is not None:
            free = entry["freetext"] if isinstance(entry["freetext"], dict) else {}
            q.update(type="text", required=bool(free.get("required", False)))
            if free.get("default"):
                q["help"] = str(free["default"])
        for key in entry:
            if key not in ("question", "choices", "range", "freetext"):
                warn(("ratings", i, key), "not a rating key workbench maps; ignored")
        questions.append(q)
        point(("evaluation", "questions", i), ("ratings", i))
    evaluation["questions"] = questions

    # -- crowd ----------------------------------------------------------------------
    if "mturk" in data:
        evaluation["mturk"] = _mturk(section("mturk"), warn, point)
    for key in data:
        if key in ("chatbot", "limits", "onboarding", "ratings", "mturk"):
            continue
        if key == "_mturk":
            warn((key,), "a disabled mturk section (rename it to mturk to enable it); ignored")
        elif key == "flask_config":
            warn((key,), "workbench serves with its own server; the store is data/workbench.db; ignored")
        elif key == "chat_dir":
            warn((key,), "threads are exported with `workbench eval export`; ignored")
        else:
            warn((key,), "not a boteval key workbench maps; ignored")

    out = {
        "name": root.name,
        "bots": {bot_name: bot},
        "worlds": {
            "chat": {"type": "bot_chat", "bot": bot_name, "title": f"Try {evaluation.get('display_name', bot_name)}"}
        },
        "evaluation": evaluation,
    }
    mapped[("worlds", "chat")] = line_of(lines, ("chatbot",)) or 1
    return out, mapped, warnings


def _mturk(conf: dict[str, Any], warn: Any, point: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    client = conf.get("client") or {}
    if isinstance(client, dict):
        for key, value in client.items():
            if key in ("profile", "sandbox"):
                out[key] = value
                point(("evaluation", "mturk", key), ("mturk", "client", key))
            else:
                warn(("mturk", "client", key), "not a client setting workbench maps; ignored")
    hit = conf.get("hit_settings") or {}
    if isinstance(hit, dict):
        out["hit_settings"] = {k: v for k, v in hit.items() if k in HIT_KEYS}
        for key in hit:
            if key not in HIT_KEYS:
                warn(("mturk", "hit_settings", key), "not a create_hit parameter; ignored")
    for key in conf:
        if key == "seamless_login":
            warn(("mturk", key), "Mechanical Turk workers always arrive by their assignment link; ignored")
        elif key not in ("client", "hit_settings"):
            warn(("mturk", key), "not an mturk key workbench maps; ignored")
    return out
