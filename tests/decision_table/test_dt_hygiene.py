"""The engine and the REST service stay headless: importing them loads neither textual nor rich."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "workbench.engines.decision_table",
        "workbench.engines.decision_table.engine",
        "workbench.engines.decision_table.table",
        "workbench.services.starchat.routes",
    ],
)
def test_no_textual_or_rich(module):
    code = (
        f"import sys, {module}\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
