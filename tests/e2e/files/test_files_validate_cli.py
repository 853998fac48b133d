"""`workbench validate` and `workbench table check` on damaged task files: exit 2 with the file,
line or row and column named, never a traceback, a hang or a memory blow-up (issue 8 items 3,
4 and 6, through real subprocesses)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from support import copy_sample
from support.cli import run_cli

#: a validate that blocks on a FIFO or reads /dev/zero whole never ends within this
BOUND = 60


def _task_edit(task: Path, edit: Callable[[dict], None]) -> None:
    data = yaml.safe_load((task / "task.yml").read_text(encoding="utf-8"))
    edit(data)
    (task / "task.yml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _bot(key: str, value: str) -> Callable[[Path], None]:
    def setup(task: Path) -> None:
        _task_edit(task, lambda d: d["bots"][next(iter(d["bots"]))].__setitem__(key, value))

    return setup


def _fifo(name: str, key: str) -> Callable[[Path], None]:
    def setup(task: Path) -> None:
        os.mkfifo(task / name)
        _bot(key, name)(task)

    return setup


def _blocklist(task: Path) -> None:
    _task_edit(task, lambda d: d.setdefault("safety", {}).update(blocklist_file="/dev/zero"))


def _agreement(task: Path) -> None:
    os.mkfifo(task / "agreement.html")

    def edit(d: dict) -> None:
        d["worlds"] = {"consent": {"type": "onboarding", "agreement": "agreement.html"}, **d["worlds"]}
        d["worlds"]["help"]["onboarding"] = "consent"

    _task_edit(task, edit)


def _append(name: str, text: str) -> Callable[[Path], None]:
    def setup(task: Path) -> None:
        with open(task / name, "a", encoding="utf-8") as f:
            f.write(text)

    return setup


def _bomb(levels: int) -> str:
    lines = ["bomb:", "  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n" + "\n".join(lines) + "\n"


def _csv_cell(row: int, col: int, value: str) -> Callable[[Path], None]:
    def setup(task: Path) -> None:
        import csv
        import io

        path = task / "decision_table.csv"
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        rows[row - 1][col - 1] = value
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        path.write_text(out.getvalue(), encoding="utf-8")

    return setup


def _kb_status(task: Path) -> None:
    path = task / "knowledge_base.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0] + f",{2**70}"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


CASES = [
    # (id, sample, setup, what stderr says)
    ("table is a FIFO", "helpdesk", _fifo("pipe.csv", "table"), "pipe.csv: is a named pipe, not a regular file"),
    ("table is /dev/zero", "helpdesk", _bot("table", "/dev/zero"), "/dev/zero: is a character device"),
    ("knowledge base is a FIFO", "helpdesk", _fifo("kb.csv", "knowledge_base"), "kb.csv: is a named pipe"),
    ("forms is /dev/zero", "restaurant", _bot("forms", "/dev/zero"), "expected a forms file"),
    ("nlu is a FIFO", "restaurant", _fifo("pipe.yml", "nlu"), "expected an NLU file"),
    ("blocklist is /dev/zero", "helpdesk", _blocklist, "safety.blocklist_file: /dev/zero: is a character device"),
    ("agreement is a FIFO", "helpdesk", _agreement, "worlds.consent.agreement:"),
    (
        "task.yml alias bomb",
        "helpdesk",
        _append("task.yml", _bomb(9)),
        "task.yml:26: the aliases (*name) in this value",
    ),
    ("forms.yml alias bomb", "restaurant", _append("forms.yml", _bomb(7)), "expand to more than 100000 values"),
    ("task.yml NUL", "helpdesk", _append("task.yml", "extra: a\x00b\n"), "task.yml:19:9: contains a NUL character"),
    (
        "task.yml nesting",
        "helpdesk",
        _append("task.yml", "deep: " + "[" * 50_000 + "]" * 50_000),
        "task.yml:19: nested more than 64 levels deep",
    ),
    ("task.yml huge integer", "helpdesk", _append("task.yml", "max_workers: " + "9" * 5000), "is too large"),
    (
        "execution_order inf",
        "helpdesk",
        _csv_cell(4, 2, "inf"),
        "decision_table.csv, row 4, column 2 (execution_order) [state specify_problem]: the number 'inf' is too large",
    ),
    (
        "analyzer nested 3000 deep",
        "helpdesk",
        _csv_cell(4, 4, "bor(" * 3000 + 'keyword("x")' + ")" * 3000),
        "row 4, column 4 (analyzer), character 201 [state specify_problem]: the expression is nested more than 50",
    ),
    (
        "regex with a backreference",
        "helpdesk",
        _csv_cell(4, 4, r'regex("(a)\\1")'),
        "column 4 (analyzer), character 11 [state specify_problem]: invalid regular expression in regex(): backreferences",
    ),
    ("Q/A status 2**70", "helpdesk", _kb_status, "knowledge_base.csv, row 3, column 'status': the number"),
]


@pytest.mark.parametrize(("sample", "setup", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_validate_names_the_place_and_exits_2(tmp_path: Path, sample: str, setup, expected: str) -> None:
    task = copy_sample(sample, tmp_path)
    setup(task)
    proc = run_cli("validate", str(task), timeout=BOUND)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    assert expected in output.replace(str(task) + "/", ""), output
    assert "Traceback" not in output and "cannot start this bot" not in output


def test_table_check_reports_a_fifo_and_bad_cells(tmp_path: Path) -> None:
    task = copy_sample("helpdesk", tmp_path)
    os.mkfifo(tmp_path / "pipe.csv")
    proc = run_cli("table", "check", str(task), str(tmp_path / "pipe.csv"), timeout=BOUND)
    assert proc.returncode == 2 and "pipe.csv: is a named pipe, not a regular file" in proc.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text('state,execution_order,analyzer\nok,1,\nhuge,1e30,\nredos,1,"regex(""(?=a)"")"\n', encoding="utf-8")
    proc = run_cli("table", "check", str(task), str(bad), timeout=BOUND)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "bad.csv, row 3, column 2 (execution_order) [state huge]: the number '1e30' is too large" in proc.stderr
    assert "bad.csv, row 4, column 3 (analyzer), character 8 [state redos]: invalid regular expression" in proc.stderr
    assert "1 valid state(s), 2 defective row(s)" in proc.stdout
