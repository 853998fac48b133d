"""forms.yml problems name the file, the line and the key; the bot's config is checked whole."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from support import SAMPLES

from workbench.engines.form import check
from workbench.engines.form.spec import check_actions, load_forms
from workbench.problems import TaskError
from workbench.task.loader import load_task

RESTAURANT = SAMPLES / "restaurant"


def _problems(tmp_path: Path, text: str, registry=None) -> list[str]:
    f = tmp_path / "forms.yml"
    f.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    try:
        forms, lines = load_forms(f)
    except TaskError as exc:
        return [str(p).replace(str(f), "forms.yml") for p in exc.problems]
    return [str(p).replace(str(f), "forms.yml") for p in check_actions(forms, registry, f, lines)]


def test_schema_errors(tmp_path):
    got = _problems(
        tmp_path,
        """
        responses:
          utter_ask_a: A?
        forms:
          f:
            slots:
              a: {priorty: 1}
            max_turns: 0
            exit: {stop: 5}
    """,
    )
    assert sorted(got) == [
        "forms.yml:6: forms.f.slots.a.priorty: unknown key",
        "forms.yml:7: forms.f.max_turns: input should be greater than or equal to 1 (got 0)",
        "forms.yml:8: forms.f.exit.stop: expected an action (a response name, a built-in or a Python action) or a list of them",
    ]


def test_cross_reference_errors(tmp_path):
    got = _problems(
        tmp_path,
        """
        responses:
          utter_ask_a: A?
        slots:
          a: {type: categorical}
          b:
            mappings:
              - {type: from_intent, intent: affirm}
              - {type: from_entity}
              - {type: from_text, conditions: [{active_form: nowhere}]}
        forms:
          f:
            triggers: [go]
            slots: [a, c]
            rules:
              a:
                x: {lose: [zzz]}
          g:
            triggers: [go]
            slots: [a]
    """,
    )
    assert got == [
        "forms.yml:13: forms.f.slots.c: slot 'c' of form 'f' has no question: add `ask:` or a response utter_ask_c",
        "forms.yml:16: forms.f.rules.a.x.lose: slot 'zzz' is not one of form 'f''s slots",
        "forms.yml:4: slots.a: a categorical slot needs `choices:`",
        "forms.yml:7: slots.b.mappings.0: a from_intent mapping needs `value:` (false and null are values too)",
        "forms.yml:8: slots.b.mappings.1: a from_entity mapping needs `entity:`",
        "forms.yml:9: slots.b.mappings.2.conditions: no form named 'nowhere'; forms: f, g",
        "forms.yml:18: forms.g.triggers: intent 'go' already activates form 'f'",
    ]


def test_unknown_actions_validators_and_hooks(tmp_path):
    got = _problems(
        tmp_path,
        """
        responses:
          utter_ask_a: A?
        slots:
          a: {validator: check_a}
        forms:
          f:
            slots: [a]
            finish_action: [utter_done, activate_f, activate_nowhere]
            required_slots_hook: more_slots
    """,
    )
    assert (
        got[0]
        == "forms.yml:4: slots.a.validator: no validator 'check_a' registered with @workbench.task.registry.validator (registered: none)"
    )
    assert "forms.yml:8: forms.f.finish_action: unknown action 'utter_done'" in got[1]
    assert "forms.yml:8: forms.f.finish_action: unknown action 'activate_nowhere'" in got[2]
    assert got[3].startswith("forms.yml:9: forms.f.required_slots_hook: no hook 'more_slots'")
    assert len(got) == 4


def test_reference_readme_names_are_accepted(tmp_path):
    assert (
        _problems(
            tmp_path,
            """
        templates:
          utter_ask_a: A?
          utter_explain_a: Because.
          utter_done: Done.
        forms:
          f:
            slot_dict:
              a: {ask_utt: utter_ask_a, clarify_utt: utter_explain_a, priority: 0}
            exit_dict: {stop: deactivate_form}
            chitchat_dict: {chat: utter_done}
            finish_action: utter_done
            rules:
              a:
                yes: {keep: [a]}
    """,
        )
        == []
    )


def test_the_task_reports_a_broken_forms_file(tmp_path):
    task_dir = tmp_path / "restaurant"
    shutil.copytree(RESTAURANT, task_dir, ignore=shutil.ignore_patterns("data"))
    forms = task_dir / "forms.yml"
    forms.write_text(
        forms.read_text().replace(
            "finish_action: [utter_filled_slots, utter_suggest_hotel]",
            "finish_action: [utter_filled_slots, utter_suggest_motel]",
        )
    )
    task = load_task(task_dir)
    problems = check(task.bot_configs["booking"], task, "booking")
    assert len(problems) == 1 and "forms.hotel.finish_action: unknown action 'utter_suggest_motel'" in str(problems[0])
    with pytest.raises(TaskError):
        task.engine("booking")


def test_bot_config_keys_are_checked(tmp_path):
    task_dir = tmp_path / "restaurant"
    shutil.copytree(RESTAURANT, task_dir, ignore=shutil.ignore_patterns("data"))
    tf = task_dir / "task.yml"
    tf.write_text(
        tf.read_text().replace(
            "    greeting: utter_greet", "    greeting: utter_greet\n    form: cinema\n    treshold: 1"
        )
    )
    with pytest.raises(TaskError) as err:
        load_task(task_dir)
    assert "bots.booking.treshold: unknown key" in str(err.value)
    tf.write_text(tf.read_text().replace("    treshold: 1\n", ""))
    task = load_task(task_dir)
    assert "no form named 'cinema' in forms.yml; forms: restaurant, hotel" in str(
        check(task.bot_configs["booking"], task, "booking")[0]
    )
