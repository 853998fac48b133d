"""Property tests of everything that reads a task's files: for any input, a clean result or
Problems, never another exception, never a hang, never much memory.

Covered: the task loader (task.yml text), forms.yml, the decision-table readers (CSV in
its layouts, JSON) and the knowledge-base readers (CSV, JSON Lines). Inputs mix random
text, damaged sample files (bytes flipped, cut, NULs inserted) and structured documents
with the attacks the corrupted-file benchmark found (huge numbers, deep nesting, alias
bombs, wrong types). Each example is bounded by Hypothesis's deadline and its memory by
tracemalloc; the profile keeps the whole module to a few seconds of CI (set
WORKBENCH_PROPERTY_EXAMPLES to search longer).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import SAMPLES

from workbench.engines.decision_table.table_io import TableRead, read_text
from workbench.engines.form.spec import load_forms
from workbench.engines.knowledge_base import KnowledgeBase, KnowledgeBaseError, parse_qa
from workbench.index.embedded import EmbeddedIndex
from workbench.problems import Problem, TaskError
from workbench.store import open_store
from workbench.task.loader import load_task

EXAMPLES = int(os.environ.get("WORKBENCH_PROPERTY_EXAMPLES", "40"))
#: each example within this time (a hang or an exponential blow-up exceeds it by far)
PROPERTIES = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=3),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: the most one example may allocate
MEMORY = 64 << 20

TASK_YML = """\
name: prop
bots:
  desk:
    engine: echo
worlds:
  chat:
    type: bot_chat
    bot: desk
"""
FORMS_YML = (SAMPLES / "restaurant" / "forms.yml").read_text(encoding="utf-8")
TABLE_CSV = (SAMPLES / "helpdesk" / "decision_table.csv").read_text(encoding="utf-8")
KB_CSV = (SAMPLES / "helpdesk" / "knowledge_base.csv").read_text(encoding="utf-8")


def bounded(fn: Callable[[], Any]) -> Any:
    """``fn()``, failing if it allocated more than MEMORY at its peak."""
    tracemalloc.start()
    try:
        return fn()
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < MEMORY, f"peak {peak >> 20} MiB"


def problems_only(fn: Callable[[], Any]) -> list[Problem]:
    """``fn()`` ran cleanly (no problems), or raised TaskError with Problems; nothing else."""
    try:
        bounded(fn)
    except TaskError as exc:
        assert exc.problems and all(type(p) is Problem and p.message for p in exc.problems), exc.problems
        for p in exc.problems:
            str(p)  # every problem can be shown
        return exc.problems
    return []


# -- strategies ------------------------------------------------------------------------

NUMBERS = st.sampled_from(
    [
        "1" + "0" * 5000,
        "1e99999",
        "-.inf",
        ".nan",
        "inf",
        "nan",
        str(2**70),
        "1e30",
        "0x" + "f" * 40,
        "-0",
        "2023-13-45",
    ]
)
ATOMS = st.one_of(st.integers(), st.floats(), st.booleans(), st.none(), st.text(max_size=20), NUMBERS.map(lambda n: n))
#: JSON-like values, nested a little or very deeply
VALUES = st.recursive(
    ATOMS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def damaged(draw: st.DrawFn, text: str) -> bytes:
    """``text`` with a few bytes flipped, inserted (NUL, controls, invalid UTF-8) or cut."""
    data = bytearray(text.encode("utf-8"))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["flip", "insert", "cut", "delete"]))
        if kind == "flip" and pos < len(data):
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[pos:pos] = draw(
                st.sampled_from([b"\x00", b"\x1b", b"\xff", b"\xc3", b"[", b"{", b"&a ", b"*a", b'"', b"\n  "])
            )
        elif kind == "cut":
            del data[pos:]
        else:
            del data[pos : pos + draw(st.integers(1, 20))]
    return bytes(data)


@st.composite
def nested(draw: st.DrawFn) -> str:
    """A YAML or JSON value nested 1 to 100,000 levels deep."""
    depth = draw(st.sampled_from([1, 10, 63, 64, 65, 1_000, 100_000]))
    opener, closer = draw(st.sampled_from([("[", "]"), ("{a: ", "}"), ('{"a": ', "}")]))
    return opener * depth + "1" + closer * depth


@st.composite
def aliases(draw: st.DrawFn) -> str:
    """Anchors and aliases: a few levels of fan-out (a bomb at the top end), merges, cycles."""
    levels = draw(st.integers(1, 12))
    width = draw(st.integers(1, 10))
    merge = draw(st.booleans())
    parts = ["a0: &a0 [x, y]"]
    for i in range(1, levels):
        refs = ", ".join([f"*a{i - 1}"] * width)
        parts.append(f"a{i}: &a{i} {{<<: [{refs}], k{i}: 1}}" if merge and i > 1 else f"a{i}: &a{i} [{refs}]")
    if draw(st.booleans()):
        parts.append("c: &c [1, *c]")
    return "{" + ", ".join(parts) + "}"


def yaml_document(base: str) -> st.SearchStrategy[bytes]:
    """``base`` damaged, a value of ``base`` replaced by something hostile, or random text."""
    lines = base.splitlines()

    @st.composite
    def replaced(draw: st.DrawFn) -> bytes:
        i = draw(st.integers(0, len(lines) - 1))
        line = lines[i]
        key, sep, _ = line.partition(":")
        value = draw(st.one_of(nested(), aliases(), NUMBERS, VALUES.map(json.dumps), st.text(max_size=40)))
        out = lines[:i] + [f"{key}{sep or ':'} {value}"] + lines[i + 1 :]
        return "\n".join(out).encode("utf-8", "surrogatepass")

    return st.one_of(
        damaged(base),
        replaced(),
        st.binary(max_size=300),
        st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
    )


# -- the task loader -------------------------------------------------------------------


@PROPERTIES
@given(yaml_document(TASK_YML))
def test_any_task_yml_loads_or_gives_problems(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "task.yml").write_bytes(data)
        problems_only(lambda: load_task(tmp))


@PROPERTIES
@given(yaml_document(FORMS_YML))
def test_any_forms_yml_loads_or_gives_problems(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "forms.yml"
        path.write_bytes(data)
        problems_only(lambda: load_forms(path))


# -- decision tables -------------------------------------------------------------------

ANALYZERS = st.one_of(
    st.builds(lambda d: "bor(" * d + 'keyword("x")' + ")" * d, st.sampled_from([1, 49, 50, 51, 3000])),
    st.builds(lambda p: f'regex("{p}")', st.text(alphabet="a()|*+?{}[]^$\\.,12wdsSbB<=!:P", max_size=12)),
    st.builds(lambda w: f'vOneKeyword("{w}")', st.text(max_size=10)),
    st.text(max_size=30),
)
CELLS = st.one_of(st.text(max_size=30), NUMBERS, ANALYZERS, nested(), VALUES.map(json.dumps))


@st.composite
def csv_tables(draw: st.DrawFn) -> str:
    """A header (a known layout, or not) and rows of hostile cells, written as CSV."""
    import csv

    header = draw(
        st.sampled_from(
            [
                TABLE_CSV.splitlines()[0].split(","),
                [
                    "state",
                    "execution_order",
                    "max_state_count",
                    "analyzer",
                    "queries",
                    "bubble",
                    "action_input",
                    "state_data",
                ],
                ["name", "evaluationClass", "successValue", "actionInput"],
                [],
            ]
        )
    )
    width = draw(st.sampled_from([len(header), 7, 11, 12, 3])) if header else draw(st.sampled_from([7, 11, 12, 3]))
    rows = draw(st.lists(st.lists(CELLS, min_size=width, max_size=width + 1), max_size=5))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def clean_read(read: TableRead) -> None:
    assert all(type(p) is Problem and p.message for p in read.problems)
    for p in read.problems:
        str(p)
    assert len({s.state for s in read.states}) == len(read.states)


@PROPERTIES
@given(st.one_of(csv_tables(), damaged(TABLE_CSV).map(lambda b: b.decode("utf-8", "replace")), st.text(max_size=400)))
def test_any_csv_table_reads_to_states_and_problems(text: str) -> None:
    clean_read(bounded(lambda: read_text(text, "t.csv", kind="csv")))


@PROPERTIES
@given(
    st.one_of(
        st.lists(
            st.dictionaries(
                st.sampled_from(
                    [
                        "state",
                        "execution_order",
                        "max_state_count",
                        "analyzer",
                        "queries",
                        "action_input",
                        "state_data",
                        "bubble",
                        "x",
                    ]
                ),
                st.one_of(VALUES, ANALYZERS, NUMBERS),
            ),
            max_size=4,
        ).map(json.dumps),
        nested(),
        VALUES.map(json.dumps),
        st.text(max_size=200),
    )
)
def test_any_json_table_reads_to_states_and_problems(text: str) -> None:
    clean_read(bounded(lambda: read_text(text, "t.json", kind="json")))


# -- knowledge bases -------------------------------------------------------------------

KB_FIELDS = st.sampled_from(
    ["id", "question", "answer", "verified", "status", "index_in_conversation", "doctype", "topics", "state", "x"]
)


def test_any_knowledge_base_file_imports_or_gives_problems(tmp_path: Path) -> None:
    store = open_store(tmp_path / "kb.db")
    kb = KnowledgeBase(store, EmbeddedIndex(), "prop")

    def imported(fn: Callable[[], Any]) -> None:
        try:
            report = bounded(fn)
        except KnowledgeBaseError as exc:
            assert all(type(p) is Problem for p in exc.problems)
            return
        assert all(type(p) is Problem for p in report.problems)

    @PROPERTIES
    @given(
        csv_text=st.one_of(damaged(KB_CSV).map(lambda b: b.decode("utf-8", "replace")), st.text(max_size=300)),
        lines=st.lists(
            st.one_of(
                st.dictionaries(KB_FIELDS, st.one_of(VALUES, NUMBERS)).map(json.dumps), nested(), st.text(max_size=40)
            ),
            max_size=5,
        ),
    )
    def check(csv_text: str, lines: list[str]) -> None:
        imported(lambda: kb.import_csv(io.StringIO(csv_text), strict=False))
        imported(lambda: kb.import_jsonl(io.StringIO("\n".join(lines)), strict=True))

    try:
        check()
    finally:
        store.close()


@PROPERTIES
@given(st.dictionaries(KB_FIELDS, st.one_of(VALUES, NUMBERS), max_size=6))
def test_any_qa_parses_or_gives_problems(raw: dict[str, Any]) -> None:
    qa, faults = parse_qa(raw)
    assert (qa is None) == bool(faults) and all(type(f) is Problem for f in faults)
    if qa is not None:
        assert -(2**31) <= qa.status < 2**31
