"""`workbench table` is mounted in the main command: a real subprocess, its exit code and stderr."""

from __future__ import annotations

from support import STARCHAT
from support.cli import run_cli


def test_mounted_in_the_main_cli(helpdesk):
    proc = run_cli("table", "check", str(helpdesk), str(STARCHAT / "sample_state_machine_specification_2016.csv"))
    assert proc.returncode == 2
    assert "row 10" in proc.stderr and "Traceback" not in proc.stderr
