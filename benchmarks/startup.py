"""Cold-start figures: `workbench --help`, the TUI's first paint and its first usable moment.

Each is compared with a bare `python -c pass` in the same run, so the ratio
means something on any machine. The TUI runs in a real pseudo-terminal at 80x24;
it writes the time of its first paint and of its first usable moment (the world
waits for the person, its greeting shown) to a file, then exits. The goal for
"first usable" is under 0.8 s on every sample task.

    .venv/bin/python benchmarks/startup.py [--runs 7] [--task sample_tasks/helpdesk ...]
"""

from __future__ import annotations

import argparse
import os
import pty
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: the sample tasks a newcomer opens first
SAMPLES = ("echo", "helpdesk", "restaurant", "overworld_demo", "bot_eval")


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def _marks(marker: Path) -> dict[str, float]:
    if not marker.exists():
        return {}
    lines = marker.read_text(encoding="utf-8").splitlines()
    return {what: float(t) for what, t in (line.split() for line in lines if line.strip())}


def startup(task: Path, timeout: float = 30.0) -> tuple[float, float]:
    """Seconds from `workbench open TASK` to its first paint and to its first usable moment
    (a fresh copy of the task, no store yet: what a newcomer sees)."""
    with tempfile.TemporaryDirectory() as tmp:
        marker = Path(tmp) / "marks"
        work = Path(tmp) / "task"
        shutil.copytree(task, work, ignore=shutil.ignore_patterns("data"))
        env = dict(os.environ, WORKBENCH_STARTUP_MARKS=str(marker), TERM="xterm-256color", COLUMNS="80", LINES="24")
        master, slave = pty.openpty()
        t0 = time.time()
        proc = subprocess.Popen(
            [sys.executable, "-m", "workbench", "open", str(work)],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            close_fds=True,
        )
        os.close(slave)
        deadline = time.time() + timeout
        try:
            while time.time() < deadline and "usable" not in _marks(marker):
                try:
                    os.read(master, 65536)  # keep the terminal drained
                except OSError:
                    pass
                if proc.poll() is not None and "usable" not in _marks(marker):
                    raise RuntimeError("the TUI exited before it was usable")
                time.sleep(0.002)
            marks = _marks(marker)
            if "usable" not in marks:
                raise RuntimeError("not usable within the timeout")
            return marks["paint"] - t0, marks["usable"] - t0
        finally:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            os.close(master)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument(
        "--task",
        action="append",
        help="A task directory (repeatable; default: every sample task with a chat)",
    )
    args = ap.parse_args()
    tasks = [Path(t) for t in args.task] if args.task else [ROOT / "sample_tasks" / n for n in SAMPLES]

    base = [timed([sys.executable, "-c", "pass"]) for _ in range(args.runs)]
    helps = [timed([sys.executable, "-m", "workbench", "--help"]) for _ in range(args.runs)]
    b = statistics.median(base)
    h = statistics.median(helps)
    print(f"runs: {args.runs} (median; min..max)")
    print(f"python -c pass               {b * 1000:7.0f} ms  ({min(base) * 1000:.0f}..{max(base) * 1000:.0f})")
    print(
        f"workbench --help             {h * 1000:7.0f} ms  ({min(helps) * 1000:.0f}..{max(helps) * 1000:.0f})"
        f"  {h / b:5.1f}x bare python"
    )
    for task in tasks:
        runs = [startup(task) for _ in range(args.runs)]
        for i, what in enumerate(("first paint", "first usable")):
            xs = [r[i] for r in runs]
            m = statistics.median(xs)
            goal = "  (goal < 800 ms)" if i == 1 else ""
            print(
                f"{task.name:<16}{what:<13}{m * 1000:7.0f} ms  ({min(xs) * 1000:.0f}..{max(xs) * 1000:.0f})"
                f"  {m / b:5.1f}x bare python{goal}"
            )


if __name__ == "__main__":
    main()
