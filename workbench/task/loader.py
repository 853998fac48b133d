"""Load a task directory: detect its format, validate it, import its worlds.py.

Formats are tried in order (task.yml, ParlAI's config.yml, boteval's conf.yml,
Rasa's domain.yml); each is a :class:`Format` in :data:`FORMATS`, so later
importers plug in by adding one. An importer maps what it can onto the
task.yml model and returns warnings for what it cannot.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from workbench.io.files import DATA_LIMIT, PAGE_LIMIT, read_text
from workbench.io.yaml_lines import Lines, line_of, load_yaml
from workbench.problems import Problem, TaskError, validate_model
from workbench.task.registry import Registry, collecting
from workbench.task.schema import WORLD_TYPES, TaskSpec, WorldSpec


@dataclass
class Format:
    name: str
    filename: str
    #: (task dir, file) -> (raw task.yml-shaped dict, key lines, warnings)
    load: Callable[[Path, Path], tuple[dict, Lines, list[str]]]


def _load_workbench(root: Path, file: Path) -> tuple[dict, Lines, list[str]]:
    data, lines = load_yaml(file, what="task file")
    if data is None:
        raise TaskError(Problem(str(file), 1, None, "the file is empty; expected a mapping with at least `worlds:`"))
    if not isinstance(data, dict):
        raise TaskError(Problem(str(file), 1, None, f"expected a mapping of keys, got {type(data).__name__}"))
    return data, lines, []


def _lazy(module: str, func: str) -> Callable[[Path, Path], tuple[dict, Lines, list[str]]]:
    def load(root: Path, file: Path):
        import importlib

        return getattr(importlib.import_module(module), func)(root, file)

    return load


FORMATS: list[Format] = [
    Format("workbench", "task.yml", _load_workbench),
    Format("parlai", "config.yml", _lazy("workbench.task.formats.parlai", "load")),
    Format("boteval", "conf.yml", _lazy("workbench.task.formats.boteval", "load")),
    Format("rasa", "domain.yml", _lazy("workbench.task.formats.rasa", "load")),
]


@dataclass
class Task:
    """A loaded, validated task: its spec, typed worlds and bot configs, and registry."""

    root: Path
    file: Path
    format: str
    spec: TaskSpec
    worlds: dict[str, WorldSpec]
    bot_configs: dict[str, BaseModel]
    registry: Registry
    warnings: list[str] = field(default_factory=list)
    python_module: Any = None
    #: ``{key path: line}`` of the task file, for problems found after loading
    lines: Lines = field(default_factory=dict)
    _engines: dict[str, Any] = field(default_factory=dict)
    _store: Any = None
    _index: Any = None
    #: the store, the index and each engine are built once even when threads ask at once (the
    #: runner's worker and a TUI panel's): a second on-disk index would find the first one's lock
    _building: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    # -- shared resources, opened on first use ---------------------------------
    @property
    def store(self):
        """The task's store, SQLite or PostgreSQL (opened on first use; tests may :meth:`use_store`)."""
        if self._store is None:
            with self._building:
                if self._store is None:
                    from workbench.store import open_store

                    self._store = open_store(self.store_target)
        return self._store

    def use_store(self, store) -> None:
        """Point the task at another store (a test's temporary one); engines are rebuilt."""
        with self._building:
            self._store = store
            if self._index is not None:
                self._index.close()
            self._index = None
            self._engines.clear()

    @property
    def index(self):
        """The retrieval index the task's ``index:`` key names (embedded by default), kept beside
        the store so that a restart catches up instead of re-indexing."""
        if self._index is None:
            with self._building:
                if self._index is None:
                    from workbench.index.base import open_task_index

                    self._index = open_task_index(self.spec.index, self.store_location)
        return self._index

    @property
    def store_location(self) -> str | Path:
        """Where the store is: its file, or ``:memory:``."""
        return self._store.path if self._store is not None else self.store_path

    @property
    def name(self) -> str:
        return self.spec.name or self.root.name

    def path(self, relative: str | Path) -> Path:
        """Relative paths in a task are relative to its directory."""
        p = Path(relative)
        return p if p.is_absolute() else self.root / p

    @property
    def store_target(self) -> str | Path:
        """What the store opens: WORKBENCH_STORE_URL, else ``storage:`` (a URL, or a file here)."""
        from workbench.store.settings import store_target

        return store_target(self.spec.storage, self.root)

    @property
    def store_path(self) -> str | Path:
        """Where the store is, for people: the SQLite file, or the URL without its password."""
        from workbench.store.settings import without_password

        target = self.store_target
        return without_password(target) if isinstance(target, str) else target

    @property
    def start_world(self) -> str:
        if self.spec.start:
            return self.spec.start
        if "overworld" in self.worlds:
            return "overworld"
        return next(iter(self.worlds))

    def engine(self, bot: str):
        """The engine of ``bot``, built once per task (engines keep no conversation state)."""
        found = self._engines.get(bot)
        if found is not None:
            return found
        with self._building:
            if bot not in self._engines:
                from workbench.engines import create_engine

                engine = create_engine(bot, self.bot_configs[bot], self)
                if getattr(engine, "reads_storage", False) and not engine.blocking and self._remote_storage():
                    engine.blocking = True  # its turns wait for the network: off the event loop
                self._engines[bot] = engine
            return self._engines[bot]

    def _remote_storage(self) -> bool:
        """Whether the store or the index is a server reached over the network."""
        return bool(getattr(self.store, "remote", False) or getattr(self.index, "remote", False))

    def reset_engines(self) -> None:
        self._engines.clear()

    def use_engine(self, bot: str, engine: Any) -> None:
        """Let ``engine`` speak for ``bot`` (what-if replay's recorded replies of a model bot)."""
        self._engines[bot] = engine

    def python_world(self, name: str) -> type:
        reg = self.registry.worlds
        if name in reg:
            return reg[name]
        if self.python_module is not None and hasattr(self.python_module, name):
            return getattr(self.python_module, name)
        raise KeyError(name)


def detect(root: Path) -> Format | None:
    for fmt in FORMATS:
        if (root / fmt.filename).is_file():
            return fmt
    return None


def import_python(task_root: Path, file: Path) -> tuple[Any, Registry]:
    """Import a task's worlds.py with a fresh registry; errors name the file and line."""
    registry = Registry()
    digest = hashlib.sha1(str(file.resolve()).encode()).hexdigest()[:10]
    modname = f"workbench_task_{digest}"
    spec = importlib.util.spec_from_file_location(modname, file)
    if spec is None or spec.loader is None:
        raise TaskError(Problem(str(file), None, None, "cannot import this file"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    added = str(task_root.resolve())
    sys.path.insert(0, added)
    try:
        with collecting(registry):
            spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(modname, None)
        raise TaskError(Problem(str(file), exc.lineno, None, f"Python syntax error: {exc.msg}")) from None
    except Exception as exc:
        sys.modules.pop(modname, None)
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() == file.resolve()]
        line = frames[-1].lineno if frames else None
        raise TaskError(Problem(str(file), line, None, f"error while importing: {type(exc).__name__}: {exc}")) from None
    finally:
        try:
            sys.path.remove(added)
        except ValueError:
            pass
    return module, registry


def _locate(path: str | Path) -> tuple[Path, Format]:
    """The task directory and its format, for a directory or a task file inside one."""
    root = Path(path)
    if root.is_file():
        fmt = next((f for f in FORMATS if f.filename == root.name), None)
        if fmt is None:
            raise TaskError(
                Problem(str(path), None, None, "not a task file; expected " + ", ".join(f.filename for f in FORMATS))
            )
        return root.parent, fmt
    if not root.is_dir():
        raise TaskError(Problem(str(path), None, None, "no such task directory"))
    fmt = detect(root)
    if fmt is None:
        names = ", ".join(f.filename for f in FORMATS)
        raise TaskError(
            Problem(
                str(root), None, None, f"no task file here; expected one of: {names} (create one with `workbench new`)"
            )
        )
    return root, fmt


M = TypeVar("M", bound=BaseModel)


def _typed(
    raw: dict,
    section: str,
    tag: str,
    models: Callable[[Any], type[M] | None],
    known: list[str],
    where: tuple[Path, Lines, list[Problem]],
) -> dict[str, M]:
    """Validate each entry of ``section`` (bots, worlds) with the model its ``tag`` key names."""
    file, lines, problems = where
    entries: dict[str, Any] = raw[section] if isinstance(raw.get(section), dict) else {}
    out: dict[str, M] = {}
    for name, conf in entries.items():
        prefix = (section, name)
        if not isinstance(conf, dict):
            continue  # TaskSpec has already said it must be a mapping
        model = models(conf.get(tag)) if conf.get(tag) in known else None
        if model is None:
            problems.append(
                Problem(
                    str(file),
                    line_of(lines, prefix + (tag,)),
                    f"{section}.{name}.{tag}",
                    f"unknown {section[:-1]} {tag} {conf.get(tag)!r}; expected one of: {', '.join(known)}",
                )
            )
            continue
        value = validate_model(model, conf, prefix, file, lines, problems)
        if value is not None:
            out[name] = value
    return out


def load_task(path: str | Path) -> Task:
    """Load the task at ``path`` (a directory, or a task file inside one)."""
    root, fmt = _locate(path)
    file = root / fmt.filename
    raw, lines, warnings = fmt.load(root, file)
    problems: list[Problem] = []
    spec = validate_model(TaskSpec, raw, (), file, lines, problems)

    # Python file first: worlds and bots may refer to what it registers
    module, registry = None, Registry()
    worlds_file = spec.worlds_file if spec else str(raw.get("worlds_file") or "worlds.py")
    py = root / worlds_file
    if py.is_file():
        module, registry = import_python(root, py)
    elif "worlds_file" in raw:
        problems.append(Problem(str(file), line_of(lines, ("worlds_file",)), "worlds_file", f"no such file: {py}"))

    from workbench.engines import ENGINES, engine_module

    where = (file, lines, problems)
    bot_configs = _typed(raw, "bots", "engine", lambda engine: engine_module(engine).Config, list(ENGINES), where)
    worlds: dict[str, WorldSpec] = _typed(raw, "worlds", "type", WORLD_TYPES.get, list(WORLD_TYPES), where)
    if problems:
        raise TaskError(problems)
    task = Task(root, file, fmt.name, spec, worlds, bot_configs, registry, warnings, module, lines)
    problems.extend(_cross_check(task, lines))
    if problems:
        raise TaskError(problems)
    return task


Bad = Callable[[tuple, str], None]


def _cross_check(task: Task, lines: Lines) -> list[Problem]:
    """References between keys (worlds, bots, onboarding, Python classes) and the files the task names."""
    out: list[Problem] = []

    def bad(loc: tuple, msg: str) -> None:
        out.append(Problem(str(task.file), line_of(lines, loc), ".".join(map(str, loc)), msg))

    _check_worlds(task, bad)
    _check_files(task, bad)
    _check_evaluation(task, bad)
    from workbench.engines.python_bot import Config as PythonBotConfig

    for name, cfg in task.bot_configs.items():
        if isinstance(cfg, PythonBotConfig) and cfg.name not in task.registry.bots:
            known = ", ".join(sorted(task.registry.bots)) or "none"
            bad(
                ("bots", name, "name"),
                f"no bot {cfg.name!r} registered with @bot in {task.spec.worlds_file} (registered: {known})",
            )
    return out


def _check_worlds(task: Task, bad: Bad) -> None:
    """Every world a world refers to exists and has the right type; python worlds are registered."""
    names = set(task.worlds)

    def world_ref(loc: tuple, target: str | None, exit_ok: bool = True) -> None:
        if target is None or (exit_ok and target == "EXIT") or target in names:
            return
        bad(loc, f"no world named {target!r}; worlds: {', '.join(sorted(names))}")

    if task.spec.start:
        world_ref(("start",), task.spec.start, exit_ok=False)
    for name, w in task.worlds.items():
        base = ("worlds", name)
        if w.onboarding is not None:
            world_ref(base + ("onboarding",), w.onboarding, exit_ok=False)
            ob = task.worlds.get(w.onboarding)
            if ob is not None and getattr(ob, "type", None) not in ("onboarding", "python"):
                bad(
                    base + ("onboarding",),
                    f"world {w.onboarding!r} is a {ob.type} world; expected an onboarding or python world",
                )
        world_ref(base + ("backup_world",), w.backup_world)
        world_ref(base + ("next",), w.next)
        if w.type == "menu":
            for label, target in w.options.items():
                world_ref(base + ("options", label), target)
        if w.type == "bot_chat" and w.bot not in task.bot_configs:
            bad(base + ("bot",), f"no bot named {w.bot!r}; bots: {', '.join(sorted(task.bot_configs)) or 'none'}")
        if w.type == "python":
            try:
                task.python_world(w.world)
            except KeyError:
                bad(
                    base + ("world",),
                    f"no world {w.world!r} in {task.spec.worlds_file} (register it with @world or define a class of that name)",
                )
            for b in w.bots:
                if b not in task.bot_configs:
                    bad(base + ("bots",), f"no bot named {b!r}")


def _check_files(task: Task, bad: Bad) -> None:
    """The blocklist and agreement files the task names can be read: each a regular file within
    its limit, UTF-8 text (engines check their own files when they are built)."""

    def readable(loc: tuple, path: Path, limit: int, what: str) -> None:
        try:
            read_text(path, limit, what)
        except TaskError as exc:
            bad(loc, "; ".join(str(p) for p in exc.problems))

    if task.spec.safety.blocklist_file:
        readable(("safety", "blocklist_file"), task.path(task.spec.safety.blocklist_file), DATA_LIMIT, "blocklist file")
    for name, w in task.worlds.items():
        if w.type == "onboarding" and w.agreement:
            readable(("worlds", name, "agreement"), task.path(w.agreement), PAGE_LIMIT, "agreement page")


def _check_evaluation(task: Task, bad: Callable[[tuple, str], None]) -> None:
    """The ``evaluation:`` section's references: its bots and its files."""
    ev = task.spec.evaluation
    if ev is None:
        return
    for n, name in enumerate(ev.bots):
        if name not in task.bot_configs:
            loc = ("evaluation", "bot") if isinstance(ev.bot, str) else ("evaluation", "bot", n)
            bad(loc, f"no bot named {name!r}; bots: {', '.join(sorted(task.bot_configs)) or 'none'}")
    files: list[tuple[tuple[str, ...], str | None]] = [(("evaluation", "topics_file"), ev.topics_file)]
    files += [
        (("evaluation", "onboarding", k), getattr(ev.onboarding, k)) for k in ("agreement_file", "instructions_file")
    ]
    for key, relative in files:
        if relative is not None and not task.path(relative).is_file():
            bad(key, f"no such file: {task.path(relative)}")
