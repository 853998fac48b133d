"""The layers of docs/architecture.md hold: `lint-imports` checks pyproject.toml's import-linter
contracts (arrows only point down; the headless core imports neither Textual nor Rich),
lazy imports inside functions included."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from support import REPO


def test_lint_imports_keeps_every_contract(tmp_path) -> None:
    # the console script beside this interpreter (a venv's bin/), else the one on PATH
    lint = Path(sys.executable).with_name("lint-imports")
    command = str(lint) if lint.exists() else shutil.which("lint-imports")
    assert command, "lint-imports is not installed (pip install import-linter)"
    res = subprocess.run(
        [command, "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout, res.stdout
