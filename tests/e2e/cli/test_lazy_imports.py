"""Heavy libraries load lazily, proved in fresh interpreters: `workbench --help` loads no TUI,
store, server or model library; `validate` and `test` load no TUI and no server. (Which
packages may import what is import-linter's job: tests/e2e/architecture/test_layers.py. How
fast --help is: benchmarks/startup.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support import copy_sample

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
    tmp_path: Path, *args: str, timeout: float = 60
) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run ``workbench ARGS`` and return what top-level modules it had loaded when it exited."""
    out = tmp_path / f"modules-{len(list(tmp_path.iterdir()))}.json"
    res = subprocess.run(
        [sys.executable, "-c", TRACKER, str(out), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return res, set(json.loads(out.read_text()))


def test_help_loads_no_tui_store_server_or_model(tmp_path) -> None:
    res, modules = run_tracking_imports(tmp_path, "--help")
    assert res.returncode == 0 and "Usage" in res.stdout
    assert not modules & {"textual", "sqlite_utils", "uvicorn", "starlette", "tantivy", "torch"}, modules


@pytest.mark.parametrize("command", ["validate", "test"])
def test_validate_and_test_load_no_tui_and_no_server(tmp_path, command) -> None:
    root = copy_sample("echo", tmp_path / "work")
    res, modules = run_tracking_imports(tmp_path, command, str(root))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "textual" not in modules and "uvicorn" not in modules
