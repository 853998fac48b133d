"""Corrupted task files against `workbench validate`: exit codes, tracebacks, hangs, memory.

Generates about 840 task directories, each a sample task (helpdesk: task.yml, a
decision table, a knowledge base; restaurant: forms.yml) with ONE file damaged:
truncated, a byte flipped, NULs, control characters, invalid UTF-8, huge numbers,
deep nesting, YAML alias and merge-key bombs, values of the wrong type, and
references to /dev/zero, a FIFO, a directory or a symbolic link to a device. Each
directory is checked by `workbench validate` in its own subprocess, bounded in time
(``--timeout``, 10 s) and address space (``--memory``, 2 GiB), and the figures are
printed: exit codes, tracebacks, hangs, memory blow-ups (MemoryError, killed, or a
peak over ``--blowup`` MB) and peak memory. The goal is exit codes 0 and 2 only,
and no traceback, hang or blow-up.

    .venv/bin/python benchmarks/corrupt_files.py [--jobs 2] [--show 20] [--only alias]
    git archive HEAD~3 | tar -x -C /tmp/before   # figures of an earlier commit:
    .venv/bin/python benchmarks/corrupt_files.py --source /tmp/before

The corpus is generated from a fixed seed, so two runs (before and after a change)
check the same files.
"""

from __future__ import annotations

import argparse
import collections
import csv
import io
import json
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_tasks"
SEED = 20240611

#: a case: its family, a name, and what to write over the base task
Writer = Callable[[Path], None]


@dataclass
class Case:
    family: str
    name: str
    base: str  # "helpdesk" or "restaurant"
    write: Writer


@dataclass
class Result:
    case: Case
    code: int | None  # None: killed after the timeout
    seconds: float
    peak_mb: float
    stderr: str
    traceback: bool = False
    hang: bool = False
    memory: bool = False
    #: `validate` caught an exception an engine raised while starting (no row or key named)
    crash: bool = False


# -- the corpus ------------------------------------------------------------------------


def _csv_to_json_table(text: str) -> str:
    """The helpdesk table as a JSON list of states (snake_case keys, JSON cells parsed)."""
    rows = list(csv.reader(io.StringIO(text)))
    keys = [h.split("(")[0].strip().lower() for h in rows[0]]
    states = []
    for row in rows[1:]:
        doc: dict[str, Any] = {}
        for key, cell in zip(keys, row, strict=False):
            if key in ("queries", "action_input", "state_data"):
                doc[key] = json.loads(cell) if cell.strip() else ([] if key == "queries" else {})
            elif key in ("execution_order", "max_state_count"):
                doc[key] = int(cell or 0)
            else:
                doc[key] = cell
        states.append(doc)
    return json.dumps(states, indent=1)


def _csv_to_jsonl_kb(text: str) -> str:
    out = []
    for row in csv.DictReader(io.StringIO(text)):
        doc: dict[str, Any] = dict(row)
        doc["verified"] = row["verified"] == "true"
        doc["status"] = int(row["status"] or 0)
        doc["index_in_conversation"] = int(row["index_in_conversation"]) if row["index_in_conversation"] else None
        out.append(json.dumps(doc))
    return "\n".join(out) + "\n"


@dataclass
class Target:
    """A file of a base task that the corpus damages."""

    name: str
    base: str
    file: str
    text: str
    #: task.yml edits that make the base task use this file
    task_edit: Callable[[dict], None] | None = None
    extra: dict[str, str] = field(default_factory=dict)


def _targets() -> list[Target]:
    desk = SAMPLES / "helpdesk"
    table_csv = (desk / "decision_table.csv").read_text(encoding="utf-8")
    kb_csv = (desk / "knowledge_base.csv").read_text(encoding="utf-8")

    def use(key: str, value: str) -> Callable[[dict], None]:
        def edit(task: dict) -> None:
            task["bots"]["desk"][key] = value

        return edit

    return [
        Target("task.yml", "helpdesk", "task.yml", (desk / "task.yml").read_text(encoding="utf-8")),
        Target("forms.yml", "restaurant", "forms.yml", (SAMPLES / "restaurant" / "forms.yml").read_text("utf-8")),
        Target("table.csv", "helpdesk", "decision_table.csv", table_csv),
        Target(
            "table.json",
            "helpdesk",
            "decision_table.json",
            _csv_to_json_table(table_csv),
            use("table", "decision_table.json"),
        ),
        Target("kb.csv", "helpdesk", "knowledge_base.csv", kb_csv),
        Target(
            "kb.jsonl",
            "helpdesk",
            "knowledge_base.jsonl",
            _csv_to_jsonl_kb(kb_csv),
            use("knowledge_base", "knowledge_base.jsonl"),
        ),
    ]


def _edit_task(case_dir: Path, edit: Callable[[dict], None]) -> None:
    path = case_dir / "task.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _writing(target: Target, content: bytes | Callable[[], bytes]) -> Writer:
    def write(case_dir: Path) -> None:
        if target.task_edit is not None:
            _edit_task(case_dir, target.task_edit)
        data = content() if callable(content) else content
        (case_dir / target.file).write_bytes(data)

    return write


#: what a number may be replaced with (YAML and CSV spellings alike)
HUGE_NUMBERS = [
    "1" + "0" * 5000,
    "-" + "9" * 4400,
    "1e99999",
    "-1e400",
    "inf",
    "nan",
    "1e30",
    str(2**70),
    str(2**63),
    "0x" + "f" * 40,
]


def _byte_families(target: Target, rng: random.Random) -> Iterator[tuple[str, str, bytes]]:
    raw = target.text.encode("utf-8")
    n = len(raw)
    for i in range(1, 17):  # truncations
        cut = n * i // 17
        yield "truncated", f"{target.name} cut at {cut}", raw[:cut]
    for _ in range(35):  # one byte flipped
        pos = rng.randrange(n)
        flipped = bytearray(raw)
        flipped[pos] ^= 1 << rng.randrange(8)
        yield "byte flip", f"{target.name} byte {pos}", bytes(flipped)
    for _ in range(8):
        pos = rng.randrange(n)
        yield "NUL", f"{target.name} NUL at {pos}", raw[:pos] + b"\x00" + raw[pos:]
    controls = [c for c in range(0x20) if c not in (9, 10, 13)] + [0x7F]
    for _ in range(8):
        pos = rng.randrange(n)
        ch = chr(rng.choice(controls + list(range(0x80, 0xA0)))).encode("utf-8")
        yield "control char", f"{target.name} {ch!r} at {pos}", raw[:pos] + ch + raw[pos:]
    for bad in (b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"):
        pos = rng.randrange(n)
        yield "invalid UTF-8", f"{target.name} {bad!r} at {pos}", raw[:pos] + bad + raw[pos:]


def _yaml_with(text: str, path: tuple, literal: str) -> bytes:
    """``text`` (YAML) with the value at ``path`` replaced by the raw YAML ``literal``."""
    data = yaml.safe_load(text)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = "__VALUE__"
    dumped = yaml.safe_dump(data, sort_keys=False, width=1 << 30)
    return dumped.replace("__VALUE__", literal.replace("\n", "\n"), 1).encode("utf-8")


def _alias_bomb(levels: int, width: int = 9) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "{" + ", ".join(line.replace(": ", ": ", 1) for line in lines) + "}"


def _merge_bomb(levels: int) -> str:
    parts = ["m0: &m0 {k: 1}"]
    for i in range(1, levels):
        parts.append(f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}, *m{i - 1}, *m{i - 1}], k{i}: 1}}")
    return "{" + ", ".join(parts) + "}"


def _yaml_structure(target: Target) -> Iterator[tuple[str, str, bytes]]:
    """Huge numbers, nesting, bombs and wrong types for task.yml and forms.yml."""
    text = target.text
    if target.name == "task.yml":
        number_paths = [("bots", "desk", "threshold"), ("max_workers",), ("data", "n")]
        spot = ("data", "x")
        type_paths = [
            ("name",),
            ("description",),
            ("storage",),
            ("data",),
            ("bots",),
            ("bots", "desk"),
            ("bots", "desk", "engine"),
            ("bots", "desk", "table"),
            ("bots", "desk", "knowledge_base"),
            ("bots", "desk", "threshold"),
            ("worlds",),
            ("worlds", "help"),
            ("worlds", "help", "type"),
            ("worlds", "help", "bot"),
        ]
    else:
        number_paths = [("forms", "restaurant", "max_turns"), ("slots", "people", "min"), ("responses", "n")]
        spot = ("responses", "x")
        data = yaml.safe_load(text)
        type_paths = [(k,) for k in data] + [
            ("forms", "restaurant"),
            ("forms", "restaurant", "required_slots"),
            ("slots", "price"),
            ("slots", "price", "type"),
            ("responses", "utter_greet"),
            ("responses", "utter_ask_price"),
        ]
    for path in number_paths:
        for number in HUGE_NUMBERS:
            yield "huge number", f"{target.name} {'.'.join(path)}={number[:12]}", _yaml_with(text, path, number)
    yield "huge number", f"{target.name} bad date", _yaml_with(text, spot, "2023-13-45")
    for depth in (1_000, 10_000, 100_000, 1_000_000):
        yield "deep nesting", f"{target.name} [ x {depth}", _yaml_with(text, spot, "[" * depth + "]" * depth)
    block = "\n".join("  " * i + f"k{i}:" for i in range(1500)) + " 1"
    yield "deep nesting", f"{target.name} 1500 block levels", text.encode() + b"\nbomb:\n" + block.encode()
    for levels in range(3, 10):
        yield "alias bomb", f"{target.name} {levels} levels", _yaml_with(text, spot, _alias_bomb(levels))
    for levels in (4, 8, 12, 16):
        yield "alias bomb", f"{target.name} merge keys x{levels}", _yaml_with(text, spot, _merge_bomb(levels))
    yield "alias bomb", f"{target.name} recursive alias", _yaml_with(text, spot, "&r [*r, *r]")
    wrong = ["[1, 2]", "{a: 1}", "42", "null", "true", "x" * 1_000_000]
    for path in type_paths:
        for value in wrong:
            yield "wrong type", f"{target.name} {'.'.join(path)}={value[:10]}", _yaml_with(text, path, value)


def _csv_cells(text: str, edit: Callable[[list[list[str]]], None]) -> bytes:
    rows = list(csv.reader(io.StringIO(text)))
    edit(rows)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def _set_cell(row: int, col: int, value: str) -> Callable[[list[list[str]]], None]:
    def edit(rows: list[list[str]]) -> None:
        rows[row][col] = value

    return edit


def _deep_json(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


def _table_csv(target: Target) -> Iterator[tuple[str, str, bytes]]:
    text = target.text
    for col, name in ((1, "execution_order"), (2, "max_state_count")):
        for number in HUGE_NUMBERS:
            yield "huge number", f"{name}={number[:12]}", _csv_cells(text, _set_cell(3, col, number))
    for col, name in ((4, "queries"), (7, "action_input"), (8, "state_data")):
        for depth in (1_000, 100_000):
            yield "deep nesting", f"{name} JSON {depth} deep", _csv_cells(text, _set_cell(3, col, _deep_json(depth)))
    for depth in (100, 3_000, 100_000):
        analyzer = "bor(" * depth + 'keyword("x")' + ")" * depth
        yield "deep nesting", f"analyzer {depth} deep", _csv_cells(text, _set_cell(3, 3, analyzer))
    for col, value in ((7, "[1, 2]"), (7, '"text"'), (7, "12"), (8, "[1]"), (4, '{"a": 1}'), (4, "12"), (3, "42")):
        yield "wrong type", f"column {col} = {value}", _csv_cells(text, _set_cell(3, col, value))
    yield "wrong type", "a 2 MB cell", _csv_cells(text, _set_cell(3, 5, "x" * 2_000_000))
    yield "wrong type", "500 columns", _csv_cells(text, lambda rows: rows[3].extend(["x"] * 500))
    yield "truncated", "header only", text.splitlines()[0].encode() + b"\n"
    yield "truncated", "empty", b""


def _table_json(target: Target) -> Iterator[tuple[str, str, bytes]]:
    states = json.loads(target.text)

    def with_state(key: str, value: Any) -> bytes:
        copy = json.loads(target.text)
        copy[2][key] = value
        return json.dumps(copy).encode()

    for key in ("execution_order", "max_state_count"):
        for number in HUGE_NUMBERS:
            raw = json.dumps([*states[:2], {**states[2], key: "__N__"}, *states[3:]])
            yield "huge number", f"{key}={number[:12]}", raw.replace('"__N__"', number).encode()
    for depth in (1_000, 100_000):
        yield (
            "deep nesting",
            f"state_data {depth} deep",
            json.dumps(states).replace('"state_data": {}', '"state_data": ' + _deep_json(depth), 1).encode(),
        )
        yield "deep nesting", f"list {depth} deep", ("[" * depth + "]" * depth).encode()
    for key, value in (
        ("queries", {"a": 1}),
        ("action_input", [1, 2]),
        ("state", ["x"]),
        ("bubble", {"x": 1}),
        ("analyzer", 7),
    ):
        yield "wrong type", f"{key} = {json.dumps(value)}", with_state(key, value)
    for top in ('"text"', "42", "null", '{"states": 5}', '{"hits": [1, 2]}', "[1, 2, 3]"):
        yield "wrong type", f"document {top}", top.encode()


def _kb_csv(target: Target) -> Iterator[tuple[str, str, bytes]]:
    text = target.text
    for col, name in ((2, "index_in_conversation"), (9, "status")):
        for number in HUGE_NUMBERS:
            yield "huge number", f"{name}={number[:12]}", _csv_cells(text, _set_cell(2, col, number))
    for col, value in ((5, "maybe"), (7, "faq"), (0, ""), (3, "")):
        yield "wrong type", f"column {col} = {value!r}", _csv_cells(text, _set_cell(2, col, value))
    yield "wrong type", "a 2 MB cell", _csv_cells(text, _set_cell(2, 4, "x" * 2_000_000))
    yield "wrong type", "500 cells", _csv_cells(text, lambda rows: rows[2].extend(["x"] * 500))
    yield "truncated", "empty", b""


def _kb_jsonl(target: Target) -> Iterator[tuple[str, str, bytes]]:
    lines = target.text.splitlines()

    def line_with(key: str, literal: str) -> bytes:
        doc = json.loads(lines[1])
        doc[key] = "__V__"
        out = list(lines)
        out[1] = json.dumps(doc).replace('"__V__"', literal)
        return ("\n".join(out) + "\n").encode()

    for key in ("index_in_conversation", "status"):
        for number in HUGE_NUMBERS:
            yield "huge number", f"{key}={number[:12]}", line_with(key, number)
    for depth in (1_000, 100_000):
        yield "deep nesting", f"answer {depth} deep", line_with("answer", _deep_json(depth))
        yield "deep nesting", f"a line {depth} deep", ("[" * depth + "]" * depth + "\n").encode()
    for key, value in (
        ("question", "[1]"),
        ("verified", '"maybe"'),
        ("topics", '{"a": 1}'),
        ("doctype", "3"),
        ("id", "{}"),
    ):
        yield "wrong type", f"{key} = {value}", line_with(key, value)
    yield "wrong type", "a line that is a list", b"[1, 2]\n"


def _special_files() -> Iterator[Case]:
    """Task keys pointing at things that are not small regular files."""

    def kinds() -> list[tuple[str, Callable[[Path], str]]]:
        def fifo(d: Path) -> str:
            os.mkfifo(d / "pipe")
            return "pipe"

        def folder(d: Path) -> str:
            (d / "folder").mkdir()
            return "folder"

        def link(d: Path) -> str:
            (d / "zero").symlink_to("/dev/zero")
            return "zero"

        return [
            ("/dev/zero", lambda d: "/dev/zero"),
            ("/dev/urandom", lambda d: "/dev/urandom"),
            ("a FIFO", fifo),
            ("a directory", folder),
            ("a link to /dev/zero", link),
        ]

    def key_case(base: str, edit: Callable[[dict, str], None], what: str) -> Iterator[Case]:
        for kind, make in kinds():

            def write(d: Path, make=make, edit=edit) -> None:
                ref = make(d)
                _edit_task(d, lambda task: edit(task, ref))

            yield Case("special file", f"{what} -> {kind}", base, write)

    def bot(key: str) -> Callable[[dict, str], None]:
        return lambda task, ref: task["bots"][next(iter(task["bots"]))].__setitem__(key, ref)

    def blocklist(task: dict, ref: str) -> None:
        task["safety"] = {"blocklist_file": ref, "incoming": {"blocklist": "block"}}

    def agreement(task: dict, ref: str) -> None:
        task["worlds"] = {"consent": {"type": "onboarding", "agreement": ref}, **task["worlds"]}
        task["worlds"]["help"]["onboarding"] = "consent"

    def worlds_file(task: dict, ref: str) -> None:
        task["worlds_file"] = ref

    yield from key_case("helpdesk", bot("table"), "table")
    yield from key_case("helpdesk", bot("knowledge_base"), "knowledge_base")
    yield from key_case("restaurant", bot("forms"), "forms")
    yield from key_case("restaurant", bot("nlu"), "nlu")
    yield from key_case("helpdesk", blocklist, "blocklist_file")
    yield from key_case("helpdesk", agreement, "agreement")
    yield from key_case("helpdesk", worlds_file, "worlds_file")

    def tests_file(d: Path) -> None:
        os.mkfifo(d / "tests" / "pipe.yml")

    yield Case("special file", "tests/pipe.yml a FIFO", "helpdesk", tests_file)


def corpus() -> list[Case]:
    rng = random.Random(SEED)
    cases: list[Case] = []
    structural = {
        "task.yml": _yaml_structure,
        "forms.yml": _yaml_structure,
        "table.csv": _table_csv,
        "table.json": _table_json,
        "kb.csv": _kb_csv,
        "kb.jsonl": _kb_jsonl,
    }
    for target in _targets():
        for family, name, data in _byte_families(target, rng):
            cases.append(Case(family, name, target.base, _writing(target, data)))
        for family, name, data in structural[target.name](target):
            cases.append(Case(family, f"{target.name}: {name}", target.base, _writing(target, data)))
    cases.extend(_special_files())
    return cases


# -- running ---------------------------------------------------------------------------


def run_case(
    case: Case, work: Path, index: int, timeout: float, memory: int, blowup_mb: float, source: Path | None = None
) -> Result:
    case_dir = work / f"case{index:04d}"
    shutil.copytree(SAMPLES / case.base, case_dir, ignore=shutil.ignore_patterns("data", "__pycache__"))
    case.write(case_dir)
    out_path, err_path = work / f"case{index:04d}.out", work / f"case{index:04d}.err"

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    env = dict(os.environ, NO_COLOR="1", COLUMNS="200")
    if source is not None:
        env["PYTHONPATH"] = str(source)
    t0 = time.perf_counter()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "workbench", "validate", str(case_dir)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
            cwd=work,
            preexec_fn=limit,
            start_new_session=True,
        )
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t0
    stderr = err_path.read_text(encoding="utf-8", errors="replace")
    peak = usage.ru_maxrss / 1024
    result = Result(case, None if timed_out.is_set() else proc.returncode, seconds, peak, stderr)
    result.hang = timed_out.is_set()
    result.traceback = "Traceback (most recent call last)" in stderr
    killed = not result.hang and proc.returncode < 0
    result.memory = "MemoryError" in stderr or killed or peak > blowup_mb
    result.crash = "cannot start this bot:" in stderr
    shutil.rmtree(case_dir, ignore_errors=True)
    return result


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:160] if lines else ""


def report(results: list[Result], seconds: float, args: argparse.Namespace) -> None:
    codes = collections.Counter("hang" if r.code is None else str(r.code) for r in results)
    tracebacks = [r for r in results if r.traceback]
    hangs = [r for r in results if r.hang]
    blowups = [r for r in results if r.memory]
    peaks = [r.peak_mb for r in results]
    print(
        f"{len(results)} corrupted files, `workbench validate` each ({args.timeout:g} s, "
        f"{args.memory >> 20} MiB address space; {args.jobs} jobs, {seconds:.0f} s)"
    )
    print("exit codes: " + ", ".join(f"{code}: {n}" for code, n in sorted(codes.items())))
    print(
        f"tracebacks: {len(tracebacks)}   hangs over {args.timeout:g} s: {len(hangs)}   "
        f"memory blow-ups: {len(blowups)}   peak memory: {max(peaks):.0f} MB "
        f"(median {statistics.median(peaks):.0f} MB)   slowest: {max(r.seconds for r in results):.1f} s"
    )
    bad_codes = sum(n for code, n in codes.items() if code not in ("0", "2"))
    crashes = sum(r.crash for r in results)
    print(f"exit codes other than 0 and 2: {bad_codes}   bots that raised while starting (no place named): {crashes}")
    print()
    print(
        f"{'family':<16}{'cases':>6}{'exit 0':>8}{'exit 2':>8}{'other':>7}{'tb':>5}{'hang':>6}{'mem':>5}{'raised':>8}"
    )
    by_family: dict[str, list[Result]] = collections.defaultdict(list)
    for r in results:
        by_family[r.case.family].append(r)
    for family, rs in by_family.items():
        zero = sum(r.code == 0 for r in rs)
        two = sum(r.code == 2 for r in rs)
        print(
            f"{family:<16}{len(rs):>6}{zero:>8}{two:>8}{len(rs) - zero - two:>7}"
            f"{sum(r.traceback for r in rs):>5}{sum(r.hang for r in rs):>6}{sum(r.memory for r in rs):>5}"
            f"{sum(r.crash for r in rs):>8}"
        )
    if args.show:
        print()
        shown = [r for r in results if r.traceback or r.hang or r.memory or r.crash or r.code not in (0, 2)]
        for r in shown[: args.show]:
            what = "hang" if r.hang else f"exit {r.code}"
            print(
                f"  [{r.case.family}] {r.case.name}: {what}, {r.seconds:.1f} s, {r.peak_mb:.0f} MB: {_last_line(r.stderr)}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds before a case counts as a hang")
    parser.add_argument("--memory", type=int, default=2 << 30, help="address-space limit per case, bytes")
    parser.add_argument("--blowup", type=float, default=1024, help="peak MB that counts as a memory blow-up")
    parser.add_argument("--only", default="", help="run the cases whose family or name contains this")
    parser.add_argument("--show", type=int, default=0, help="list up to N failing cases")
    parser.add_argument("--count", action="store_true", help="only print how many cases each family has")
    parser.add_argument("--source", type=Path, help="run the workbench package in this directory (another checkout)")
    args = parser.parse_args()
    cases = [c for c in corpus() if args.only in c.family or args.only in c.name]
    if args.count:
        print(len(cases), dict(collections.Counter(c.family for c in cases)))
        return
    with tempfile.TemporaryDirectory(prefix="wb-corrupt-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.jobs) as pool:
            futures = [
                pool.submit(run_case, case, work, i, args.timeout, args.memory, args.blowup, args.source)
                for i, case in enumerate(cases)
            ]
            results = [f.result() for f in futures]
        report(results, time.perf_counter() - t0, args)


if __name__ == "__main__":
    main()
