"""Cold-start figures: `workbench --help` and the TUI's first paint.

Each is compared with a bare `python -c pass` in the same run, so the ratio
means something on any machine. The TUI runs in a real pseudo-terminal; it
writes the time of its first paint to a file and exits.

    .venv/bin/python benchmarks/startup.py [--runs 7]
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


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def first_paint(task: Path, timeout: float = 30.0) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        marker = Path(tmp) / "painted"
        work = Path(tmp) / "task"
        shutil.copytree(task, work, ignore=shutil.ignore_patterns("data"))
        env = dict(os.environ, WORKBENCH_EXIT_AFTER_PAINT=str(marker), TERM="xterm-256color", COLUMNS="120", LINES="40")
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
            while time.time() < deadline and not marker.exists():
                try:
                    os.read(master, 65536)  # keep the terminal drained
                except OSError:
                    pass
                if proc.poll() is not None and not marker.exists():
                    raise RuntimeError("the TUI exited before painting")
                time.sleep(0.002)
            if not marker.exists():
                raise RuntimeError("no first paint within the timeout")
            return float(marker.read_text().strip()) - t0
        finally:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            os.close(master)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--task", default=str(ROOT / "sample_tasks" / "overworld_demo"))
    args = ap.parse_args()

    base = [timed([sys.executable, "-c", "pass"]) for _ in range(args.runs)]
    helps = [timed([sys.executable, "-m", "workbench", "--help"]) for _ in range(args.runs)]
    paints = [first_paint(Path(args.task)) for _ in range(args.runs)]
    b = statistics.median(base)
    h = statistics.median(helps)
    p = statistics.median(paints)
    print(f"runs: {args.runs} (median; min..max)")
    print(f"python -c pass       {b * 1000:7.0f} ms  ({min(base) * 1000:.0f}..{max(base) * 1000:.0f})")
    print(
        f"workbench --help     {h * 1000:7.0f} ms  ({min(helps) * 1000:.0f}..{max(helps) * 1000:.0f})  {h / b:5.1f}x bare python"
    )
    print(
        f"TUI first paint      {p * 1000:7.0f} ms  ({min(paints) * 1000:.0f}..{max(paints) * 1000:.0f})  {p / b:5.1f}x bare python"
    )


if __name__ == "__main__":
    main()
