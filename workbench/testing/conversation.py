"""Conversation tests (docs/conversation-tests.md): load, run headless, report.

A test file in a task's ``tests/`` folder is a YAML list of tests; a test has
a ``name`` and ``steps``. Each test runs on a fresh temporary store, with the
task's real worlds and engines, through the same runner every service uses.

Model bots answer from the test file's cassette (``tests/cassettes/NAME.json``,
workbench/engines/models/cassette.py) by default: ``models="record"`` talks to the real
model and records its responses there, ``models="live"`` talks to it without recording.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from xml.sax.saxutils import escape, quoteattr

from workbench.io.yaml_lines import Lines, line_of, load_yaml
from workbench.message import Message
from workbench.problems import Problem, TaskError

if TYPE_CHECKING:
    from workbench.runtime.session import Session
    from workbench.store import Store
    from workbench.task.loader import Task

USER_KEYS = ("user", "click")
EXPECT_KEYS = ("bot", "bot_regex", "bot_contains", "world", "state", "slots", "no_reply")
STEP_KEYS = set(USER_KEYS + EXPECT_KEYS + ("person", "payload"))
TEST_KEYS = {"name", "steps", "people", "description", "timeout"}
#: how long a test waits for the bot's answer to one turn
TURN_TIMEOUT = 10.0
#: how model bots answer: from cassettes (replay), from the model while recording, from the model
ModelMode = Literal["replay", "record", "live"]


@dataclass
class Step:
    kind: str
    value: Any
    person: str | None
    line: int | None
    payload: dict | None = None


@dataclass
class ConversationTest:
    name: str
    file: Path
    line: int | None
    steps: list[Step]
    people: list[str] = field(default_factory=lambda: ["user"])
    timeout: float = TURN_TIMEOUT


@dataclass
class TestResult:
    test: ConversationTest
    ok: bool
    failure: str | None = None
    failure_line: int | None = None
    duration: float = 0.0
    transcript: list[tuple[str, str, str]] = field(default_factory=list)  # (person, who, text)

    @property
    def name(self) -> str:
        return self.test.name


def _problem(file: Path, lines: Lines, loc: tuple, msg: str) -> Problem:
    return Problem(str(file), line_of(lines, loc), ".".join(map(str, loc)) or None, msg)


#: the longest a test may wait for one turn (seconds)
MAX_TURN_TIMEOUT = 3600.0


def load_file(file: Path) -> list[ConversationTest]:
    """The tests in ``file``; raises TaskError naming the line and key of every problem."""
    data, lines = load_yaml(file, what="conversation test")
    if data is None:
        return []
    if not isinstance(data, list):
        raise TaskError(_problem(file, lines, (), "expected a list of tests (each `- name: ...` with `steps:`)"))
    problems: list[Problem] = []
    tests = []
    for i, raw in enumerate(data):
        test = _test(file, lines, i, raw, problems)
        if test is not None:
            tests.append(test)
    if problems:
        raise TaskError(problems)
    return tests


def _test(file: Path, lines: Lines, i: int, raw: Any, problems: list[Problem]) -> ConversationTest | None:
    """Test number ``i`` of a file, or None (its problems appended)."""

    def bad(loc: tuple, msg: str) -> None:
        problems.append(_problem(file, lines, loc, msg))

    if not isinstance(raw, dict):
        bad((i,), "expected a test: a mapping with `name:` and `steps:`")
        return None
    for key in raw:
        if key not in TEST_KEYS:
            bad((i, key), f"unknown key; expected one of: {', '.join(sorted(TEST_KEYS))}")
    if not isinstance(raw.get("name"), str) or not raw.get("name"):
        bad((i,), "a test needs a `name:`")
    people = raw.get("people") or ["user"]
    if not isinstance(people, list) or not all(isinstance(p, str) for p in people):
        bad((i, "people"), "expected a list of names")
        people = ["user"]
    timeout = raw.get("timeout") or TURN_TIMEOUT
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= MAX_TURN_TIMEOUT:
        bad((i, "timeout"), f"expected a number of seconds above 0 and at most {MAX_TURN_TIMEOUT:g} (got {timeout!r})")
        timeout = TURN_TIMEOUT
    steps_raw = raw.get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        bad((i, "steps"), "expected a non-empty list of steps")
        return None
    steps = []
    for j, st in enumerate(steps_raw):
        step = _step((i, "steps", j), st, people, bad)
        if step is not None:
            step.line = line_of(lines, (i, "steps", j))
            steps.append(step)
    return ConversationTest(str(raw.get("name")), file, line_of(lines, (i,)), steps, people, float(timeout))


def _step(loc: tuple, st: Any, people: list[str], bad: Callable[[tuple, str], None]) -> Step | None:
    """One step (``user: hello``, ``bot: Hi!``...), or None after reporting what is wrong with it."""
    if not isinstance(st, dict):
        bad(loc, "expected a step such as `user: hello` or `bot: Hi!`")
        return None
    unknown = [k for k in st if k not in STEP_KEYS]
    if unknown:
        bad(loc + (unknown[0],), f"unknown step key; expected one of: {', '.join(sorted(STEP_KEYS))}")
        return None
    kinds = [k for k in st if k in USER_KEYS + EXPECT_KEYS]
    if len(kinds) != 1:
        bad(loc, "a step has exactly one of: " + ", ".join(USER_KEYS + EXPECT_KEYS))
        return None
    kind = kinds[0]
    value = st[kind]
    if kind in ("state", "slots") and not isinstance(value, dict):
        bad(loc + (kind,), "expected a mapping")
        return None
    if kind == "bot_regex":
        try:
            re.compile(str(value))
        except re.error as exc:
            bad(loc + (kind,), f"invalid regular expression: {exc}")
            return None
    person = st.get("person")
    if person is not None and person not in people:
        bad(loc + ("person",), f"not one of this test's people: {', '.join(people)}")
        return None
    return Step(kind, value, person, None, st.get("payload"))


def discover(task: Any, paths: list[Path] | None = None) -> list[ConversationTest]:
    """Every test in the task's tests folder (or the given files)."""
    if paths is None:
        folder = task.path(task.spec.tests)
        paths = sorted(list(folder.glob("*.yml")) + list(folder.glob("*.yaml"))) if folder.is_dir() else []
    tests: list[ConversationTest] = []
    problems: list[Problem] = []
    for p in paths:
        try:
            tests.extend(load_file(Path(p)))
        except TaskError as exc:
            problems.extend(exc.problems)
    if problems:
        raise TaskError(problems)
    return tests


def subset(expected: Any, actual: Any) -> bool:
    """``expected`` is contained in ``actual`` (mappings recursively, the rest equal)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and subset(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)) and not isinstance(expected, bool):
        return float(expected) == float(actual)
    return expected == actual


class _Person:
    #: the person's conversation, from when they connect
    session: Session

    def __init__(self, name: str, transcript: list[tuple[str, str, str]] | None = None) -> None:
        self.name = name
        self.received: list[Message] = []
        self.cursor = 0
        #: the test's transcript, in the order things were said (shared by its people)
        self.transcript = transcript if transcript is not None else []

    async def deliver(self, msg: Message) -> None:
        self.received.append(msg)
        self.transcript.append((self.name, msg.get("id") or "bot", msg.text))


def _bot_state(task: Task, store: Store, session: Session) -> dict:
    states = store.states(session.conversation_id)
    spec = task.worlds.get(session.world or "")
    bot = getattr(spec, "bot", None)
    if bot and bot in states:
        return states[bot]
    if len(states) == 1:
        return next(iter(states.values()))
    return states


def _use_tape(task: Task, tape: Any) -> None:
    """Model bots answer from (or record to) ``tape`` (None: from their models)."""
    from workbench.engines.capabilities import ModelBot, bots_with

    for bot in bots_with(task, ModelBot):
        task.engine(bot).use_cassette(tape)


#: seconds a test run waits for the embedding model and the bots' example vectors
RETRIEVAL_WAIT = 300.0


async def _retrieval_ready(task: Task) -> None:
    """Build the bots that match by retrieval and wait until they answer as configured: a test
    checks what people get once the model is loaded, not the BM25 of the first seconds."""
    from workbench.engines.capabilities import RetrievalBot, bots_with

    deadline = time.monotonic() + RETRIEVAL_WAIT
    for name in bots_with(task, RetrievalBot):
        try:
            engine = task.engine(name)
            retrievers = engine.retrievers().values()
        except Exception:  # a bot that cannot start fails the test where it is used, with its error
            continue
        for retriever in retrievers:
            await asyncio.to_thread(retriever.wait, max(0.0, deadline - time.monotonic()))


async def run_test(task: Task, test: ConversationTest, store_dir: Path | None = None, tape: Any = None) -> TestResult:
    from workbench.runtime.runner import Runner
    from workbench.store import open_store

    started = time.perf_counter()
    tmp = tempfile.TemporaryDirectory(prefix="workbench-test-", dir=store_dir)
    store = open_store(Path(tmp.name) / "test.db")
    task.use_store(store)
    if tape is not None:
        _use_tape(task, tape)
    await _retrieval_ready(task)
    runner = Runner(task, store)
    # what went wrong inside (a bot that failed, a model with no recorded response) explains a failure
    errors: list[str] = []
    runner.subscribe(lambda ev: errors.append(str(ev.fields.get("error"))) if ev.kind == "error" else None)
    result = TestResult(test, ok=True)
    people = {name: _Person(name, result.transcript) for name in test.people}

    def fail(step: Step, msg: str) -> None:
        result.ok = False
        result.failure = msg + (f" (runtime error: {'; '.join(dict.fromkeys(errors))})" if errors else "")
        result.failure_line = step.line

    def seen(p: _Person) -> list[Message]:
        return p.received[p.cursor :]

    def describe(msgs: list[Message]) -> str:
        if not msgs:
            return "nothing"
        return "; ".join(repr(m.text) for m in msgs)

    try:
        for name, p in people.items():
            p.session = await runner.connect(p.deliver, person=name, channel="test")
        await runner.wait_idle(timeout=test.timeout)
        for step in test.steps:
            p = people[step.person or test.people[0]]
            if step.kind in USER_KEYS:
                text = str(step.value)
                if step.kind == "click":
                    offered = next((m.quick_replies for m in reversed(p.received) if m.get("quick_replies")), [])
                    match = next((q for q in offered if q == text), None) or next(
                        (q for q in offered if q.casefold() == text.casefold()), None
                    )
                    if match is None:
                        fail(step, f"no quick reply {text!r} to click; offered: {offered or 'none'}")
                        break
                    text = match
                if p.session.closed:
                    fail(step, f"{p.name}'s conversation has ended; cannot send {text!r}")
                    break
                p.cursor = len(p.received)
                msg = Message(text=text)
                if step.payload:
                    msg["payload"] = step.payload
                result.transcript.append((p.name, p.name, text))
                p.session.put(msg)
                if not await runner.wait_idle(timeout=test.timeout):
                    fail(step, f"no answer within {test.timeout:g} s")
                    break
                continue
            batch = seen(p)
            if step.kind in ("bot", "bot_regex", "bot_contains"):
                want = str(step.value)
                for k, m in enumerate(batch):
                    t = m.text
                    hit = (
                        t == want
                        if step.kind == "bot"
                        else re.search(want, t) is not None
                        if step.kind == "bot_regex"
                        else want in t
                    )
                    if hit:
                        p.cursor += k + 1
                        break
                else:
                    how = {"bot": "exactly", "bot_regex": "matching", "bot_contains": "containing"}[step.kind]
                    fail(step, f"expected a reply {how} {want!r}; got {describe(batch)}")
                    break
            elif step.kind == "no_reply":
                if batch:
                    fail(step, f"expected no reply; got {describe(batch)}")
                    break
            elif step.kind == "world":
                if p.session.world != step.value:
                    fail(step, f"expected world {step.value!r}; {p.name} is in {p.session.world!r}")
                    break
            elif step.kind in ("state", "slots"):
                state = _bot_state(task, store, p.session)
                actual = state.get("slots", {}) if step.kind == "slots" else state
                if not subset(step.value, actual):
                    fail(step, f"expected {step.kind} to include {step.value!r}; got {actual!r}")
                    break
    except Exception as exc:  # a crash in a world or engine is a test failure, reported
        result.ok = False
        result.failure = f"{type(exc).__name__}: {exc}"
    finally:
        await runner.stop(wait=2.0)
        store.close()
        task.use_store(None)
        tmp.cleanup()
    result.duration = time.perf_counter() - started
    return result


async def run_tests(
    task: Any, tests: list[ConversationTest], on_result=None, models: ModelMode = "replay"
) -> list[TestResult]:
    """Run ``tests`` in order; model bots answer as ``models`` says (the module's docstring)."""
    from workbench.engines.models.cassette import Cassette, cassette_path

    results = []
    cassettes: dict[Path, Cassette] = {}
    for t in tests:
        tape = None
        if models != "live":
            cassette = cassettes.get(t.file)
            if cassette is None:
                try:
                    cassette = cassettes[t.file] = Cassette(cassette_path(t.file), models)
                except TaskError as exc:
                    r = TestResult(t, ok=False, failure=f"the cassette cannot be read: {exc}")
                    results.append(r)
                    if on_result:
                        on_result(r)
                    continue
            tape = cassette.tape(t.name)
        r = await run_test(task, t, tape=tape)
        results.append(r)
        if on_result:
            on_result(r)
    if models == "record":
        for cassette in cassettes.values():
            if any(cassette.tests.values()):
                cassette.save()
    return results


def junit_xml(task_name: str, results: list[TestResult]) -> str:
    failures = sum(1 for r in results if not r.ok)
    total = sum(r.duration for r in results)
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<testsuite name={quoteattr(task_name)} tests="{len(results)}" failures="{failures}" errors="0" time="{total:.3f}">',
    ]
    for r in results:
        classname = quoteattr(f"{task_name}.{r.test.file.stem}")
        out.append(
            f'  <testcase classname={classname} name={quoteattr(r.name)} file={quoteattr(str(r.test.file))} line="{r.test.line or 0}" time="{r.duration:.3f}">'
        )
        if not r.ok:
            where = f"{r.test.file}:{r.failure_line}" if r.failure_line else str(r.test.file)
            out.append(
                f"    <failure message={quoteattr(r.failure or 'failed')}>{escape(where + ': ' + (r.failure or ''))}</failure>"
            )
        out.append("  </testcase>")
    out.append("</testsuite>")
    return "\n".join(out) + "\n"


def recorded_test(name: str, turns: list[tuple[str, Any]]) -> str:
    """A test file (YAML text) from a recorded chat: ``turns`` of (kind, value)."""
    import yaml

    steps = [{kind: value} for kind, value in turns]
    return yaml.safe_dump([{"name": name, "steps": steps}], sort_keys=False, allow_unicode=True)
