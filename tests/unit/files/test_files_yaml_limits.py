"""io/yaml_lines.py: alias bombs, cycles, deep nesting and huge numbers are Problems at their
line; ordinary anchors, merge keys and key lines keep working."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.io.yaml_lines import MAX_DEPTH, MAX_EXPANSION, load_yaml
from workbench.problems import TaskError


def bomb(levels: int, width: int = 9) -> str:
    """The 303-byte document of the issue has 6 of these levels."""
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def problem(tmp_path: Path, text: str) -> str:
    f = tmp_path / "task.yml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(TaskError) as info:
        load_yaml(f)
    (p,) = info.value.problems
    return str(p).replace(str(f), "task.yml")


@pytest.mark.parametrize("levels", [6, 9, 30])
def test_alias_bombs_are_refused_at_the_line_that_expands(tmp_path: Path, levels: int) -> None:
    # 9 levels were 3 GB; the check counts each node once, so 30 levels cost nothing either
    got = problem(tmp_path, "name: x\ndata:\n" + "".join("  " + line + "\n" for line in bomb(levels).splitlines()))
    assert got == (
        "task.yml:8: the aliases (*name) in this value expand to more than "
        f"{MAX_EXPANSION} values; write the values out, or refer to them less often"
    )


def test_merge_key_bombs_are_refused_too(tmp_path: Path) -> None:
    parts = ["m0: &m0 {k: 1}"] + [
        f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}, *m{i - 1}], k{i}: 1}}" for i in range(1, 20)
    ]
    assert "expand to more than" in problem(tmp_path, "\n".join(parts) + "\n")


def test_an_alias_inside_the_value_it_names_is_a_cycle(tmp_path: Path) -> None:
    assert (
        problem(tmp_path, "a: 1\nb: &r [1, *r]\n") == "task.yml:2: an alias (*name) refers to a value that contains it"
    )


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
def test_nesting_is_bounded(tmp_path: Path, depth: int) -> None:
    assert problem(tmp_path, "a: 1\nb: " + "[" * depth + "]" * depth + "\n") == (
        f"task.yml:2: nested more than {MAX_DEPTH} levels deep"
    )


def test_block_nesting_is_bounded(tmp_path: Path) -> None:
    text = "".join("  " * i + f"k{i}:\n" for i in range(2000)) + "  " * 2000 + "1\n"
    assert "nested more than" in problem(tmp_path, text)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("9" * 5000, "task.yml:2: the number 999999999999999999999999… is too large"),
        (str(2**64), f"task.yml:2: the number {2**64} is too large (at most {2**63 - 1})"),
        ("2023-13-45", "task.yml:2: cannot read this value: month must be in 1..12"),
    ],
)
def test_values_pyyaml_cannot_hold_are_problems_at_their_line(tmp_path: Path, value: str, message: str) -> None:
    assert problem(tmp_path, f"a: 1\nb: {value}\n") == message


def test_control_characters_in_given_text_are_problems(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match=r"task.yml:1:4: contains a NUL character"):
        load_yaml(tmp_path / "task.yml", text="a: \x00")


def test_anchors_and_merge_keys_still_load_and_keys_keep_their_lines(tmp_path: Path) -> None:
    f = tmp_path / "task.yml"
    f.write_text(
        "defaults: &d\n  timeout: 5\n  text: hi\nworlds:\n  a:\n    <<: *d\n    type: menu\n  b: *d\n"
        "small:\n" + "".join("  " + line + "\n" for line in bomb(3).splitlines()),
        encoding="utf-8",
    )
    data, lines = load_yaml(f)
    assert data["worlds"]["a"] == {"timeout": 5, "text": "hi", "type": "menu"}
    assert data["worlds"]["b"] == {"timeout": 5, "text": "hi"}
    assert len(data["small"]["a2"]) == 9 and data["small"]["a2"][8] == [["lol"] * 9] * 9  # 729 values: fine
    assert lines[("defaults", "timeout")] == 2 and lines[("worlds", "a", "type")] == 7
    # a key under an alias is known by the alias's line (its own line is the anchor's)
    assert lines[("worlds", "b")] == 8 and ("worlds", "b", "timeout") not in lines


def test_non_finite_numbers_in_settings_are_problems(tmp_path: Path) -> None:
    from workbench.engines.form.spec import load_forms
    from workbench.task.loader import load_task

    (tmp_path / "task.yml").write_text("worlds:\n  chat:\n    type: human_chat\n    timeout: .inf\n", encoding="utf-8")
    with pytest.raises(TaskError) as info:
        load_task(tmp_path)
    assert [(p.line, p.key) for p in info.value.problems] == [(4, "worlds.chat.timeout")]
    (tmp_path / "forms.yml").write_text(
        "responses: {utter_ask_n: How many}\nslots:\n  n: {type: int, min: .nan}\nforms:\n  f: {required_slots: [n]}\n",
        encoding="utf-8",
    )
    with pytest.raises(TaskError) as info:
        load_forms(tmp_path / "forms.yml")
    assert [(p.line, p.key) for p in info.value.problems] == [(3, "slots.n.min")]
