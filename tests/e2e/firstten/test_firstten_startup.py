"""benchmarks/startup.py measures "first usable" beside first paint (issue 14, point 0): the
figures are the benchmark's to print; this checks that it measures both, in a real terminal."""

from __future__ import annotations

import subprocess
import sys

from support import REPO


def test_the_startup_benchmark_reports_first_paint_and_first_usable():
    out = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "startup.py"),
            "--runs",
            "1",
            "--task",
            str(REPO / "sample_tasks" / "helpdesk"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    paint = next(line for line in lines if "first paint" in line)
    usable = next(line for line in lines if "first usable" in line)
    assert paint.startswith("helpdesk") and usable.startswith("helpdesk") and "goal < 800 ms" in usable
