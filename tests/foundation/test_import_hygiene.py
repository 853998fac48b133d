"""Import hygiene, proved in fresh interpreters: the headless modules load neither textual nor
rich; `workbench --help`, `validate` and `test` load no TUI (and --help no store or server)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

from .helpers import REPO, copy_sample

#: the headless runtime: must import, and must not pull in textual or rich
REQUIRED = [
    "workbench.message",
    "workbench.runtime.agents",
    "workbench.runtime.session",
    "workbench.store",
    "workbench.runtime.runner",
    "workbench.task.registry",
    "workbench.runtime.worlds",
    "workbench.runtime.worlds.base",
    "workbench.runtime.worlds.declarative",
    "workbench.runtime.worlds.sync",
    "workbench.engines",
    "workbench.engines.base",
    "workbench.engines.echo",
    "workbench.engines.python_bot",
    "workbench.task",
    "workbench.task.loader",
    "workbench.task.schema",
    "workbench.io.yaml_lines",
    "workbench.task.formats.parlai",
    "workbench.problems",
    "workbench.testing",
    "workbench.testing.conversation",
    "workbench.services.server",
    "workbench.index",
    "workbench.store.export",
    "workbench.task.scaffold",
]
#: where rendering is allowed: the CLI (Rich) and the TUI (Textual)
UI_PACKAGES = ("workbench.cli", "workbench.tui", "workbench.screens", "workbench.widgets", "workbench.__main__")

PROBE = textwrap.dedent(
    """
    import importlib, json, pathlib, sys

    required = json.loads(sys.argv[1])
    ui = tuple(json.loads(sys.argv[2]))
    import workbench

    # every module file, namespace packages (no __init__.py) included
    base = pathlib.Path(workbench.__file__).parent
    names = list(required)
    for path in sorted(base.rglob("*.py")):
        parts = ("workbench",) + path.relative_to(base).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        if name not in names and not name.startswith(ui) and "scaffold" not in parts[1:-1]:
            names.append(name)
    report = {"culprits": {}, "failed": {}, "checked": []}
    for name in names:
        before = {m.split(".")[0] for m in sys.modules}
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # an optional third-party dependency that is not installed here
            if name in required or (exc.name or "").startswith("workbench"):
                report["failed"][name] = repr(exc)
            continue
        except Exception as exc:
            report["failed"][name] = repr(exc)
            continue
        report["checked"].append(name)
        new = {m.split(".")[0] for m in sys.modules} - before
        bad = sorted(new & {"textual", "rich"})
        if bad:
            report["culprits"][name] = bad
    report["loaded"] = sorted({m.split(".")[0] for m in sys.modules} & {"textual", "rich"})
    print(json.dumps(report))
    """
)


def test_headless_modules_import_neither_textual_nor_rich() -> None:
    res = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(REQUIRED), json.dumps(UI_PACKAGES)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout.splitlines()[-1])
    assert report["failed"] == {}
    assert set(REQUIRED) <= set(report["checked"])
    assert report["culprits"] == {}
    assert report["loaded"] == []


TRACKER = textwrap.dedent(
    """
    import atexit, json, sys

    out = sys.argv[1]
    sys.argv = ["workbench", *sys.argv[2:]]

    def dump():
        with open(out, "w") as f:
            json.dump(sorted({m.split(".")[0] for m in sys.modules}), f)

    atexit.register(dump)
    from workbench.cli.main import main

    main()
    """
)


def run_tracking_imports(
    tmp_path, *args: str, timeout: float = 60
) -> tuple[subprocess.CompletedProcess, set[str], float]:
    """Run ``workbench ARGS`` and return what top-level modules it had loaded when it exited."""
    out = tmp_path / f"modules-{len(list(tmp_path.iterdir()))}.json"
    started = time.perf_counter()
    res = subprocess.run(
        [sys.executable, "-c", TRACKER, str(out), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    elapsed = time.perf_counter() - started
    return res, set(json.loads(out.read_text())), elapsed


def test_help_loads_no_tui_store_or_server_and_is_fast(tmp_path) -> None:
    res, modules, elapsed = run_tracking_imports(tmp_path, "--help")
    assert res.returncode == 0 and "Usage" in res.stdout
    assert not modules & {"textual", "sqlite_utils", "uvicorn", "starlette"}, modules
    # "well under a second" on a 2-core machine, with room for a slow CI neighbour
    assert elapsed < 2.0, elapsed


def test_validate_and_test_load_no_tui(tmp_path) -> None:
    root = copy_sample("echo", tmp_path / "work")
    res, modules, _ = run_tracking_imports(tmp_path, "validate", str(root))
    assert res.returncode == 0, res.stderr
    assert "textual" not in modules and "uvicorn" not in modules
    res, modules, _ = run_tracking_imports(tmp_path, "test", str(root))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "textual" not in modules and "uvicorn" not in modules
