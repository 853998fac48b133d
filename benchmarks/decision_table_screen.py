"""Decision-table screen benchmark: 10,000 states (or --states N) shown in the TUI's table.

The screen adds its rows in batches so the app keeps answering while a big table loads; a
single add of 10,000 rows would freeze it for seconds. Headless (Textual's Pilot), on the
task tests/support generates (a fifth of the states with keyword analyzers), this measures:

- the time from opening the screen to every row shown;
- the longest the event loop went without a turn while the rows came in (a ticker that asks
  for a turn every 5 ms; target: well under a second);
- the same for a filter that matches everything again (a refill of all rows).

    .venv/bin/python benchmarks/decision_table_screen.py [--states 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the task generator the tests use

from support import big_table_task  # noqa: E402


class Ticker:
    """Asks the loop for a turn every 5 ms and keeps the longest wait between two turns."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self._done = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        last = time.perf_counter()
        while not self._done.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            self.gaps.append(now - last)
            last = now

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> float:
        self._done.set()
        assert self._task is not None
        await self._task
        return max(self.gaps) if self.gaps else 0.0


async def until(pilot, predicate, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up after {timeout:.0f} s")
        await pilot.pause(0.02)


async def one_run(states: int) -> dict[str, float]:
    from textual.widgets import DataTable, Input

    from workbench.screens.decision_table import DecisionTableScreen
    from workbench.store import open_store
    from workbench.tui.app import make_app

    with tempfile.TemporaryDirectory() as tmp:
        task = big_table_task(Path(tmp) / "big", states)
        store = open_store(Path(tmp) / "bench.db")
        app = make_app(task, store)
        try:
            async with app.run_test(size=(150, 48)) as pilot:
                await until(pilot, lambda: app.runner is not None and app.chat.person is not None)
                # the first build (store, index) is not what this measures: build the engine first
                await asyncio.to_thread(app.wb_task.engine, "desk")
                ticker = Ticker()
                ticker.start()
                started = time.perf_counter()
                await pilot.press("ctrl+d")
                await until(pilot, lambda: isinstance(app.screen, DecisionTableScreen))
                screen = app.screen
                table = screen.query_one("#dt-states", DataTable)
                await until(pilot, lambda: screen.rows_shown == states and table.row_count == states)
                load = time.perf_counter() - started
                load_gap = await ticker.stop()

                box = screen.query_one("#dt-filter", Input)
                box.value = "exchange"
                await until(pilot, lambda: 0 < screen.rows_shown == table.row_count < states)
                ticker = Ticker()
                ticker.start()
                started = time.perf_counter()
                box.value = ""
                await until(pilot, lambda: screen.rows_shown == states and table.row_count == states)
                refill = time.perf_counter() - started
                refill_gap = await ticker.stop()
        finally:
            store.close()
    return {"load": load, "load_gap": load_gap, "refill": refill, "refill_gap": refill_gap}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--states", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    runs = [asyncio.run(one_run(args.states)) for _ in range(args.runs)]

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    print(f"Decision-table screen, {args.states:,} states, median of {args.runs} runs (headless, Pilot)")
    print(f"  open to every row shown     {med('load'):6.2f} s")
    print(
        f"  longest loop gap meanwhile  {med('load_gap') * 1000:6.0f} ms  (worst run {max(r['load_gap'] for r in runs) * 1000:.0f} ms)"
    )
    print(f"  refill of every row         {med('refill'):6.2f} s")
    print(
        f"  longest loop gap meanwhile  {med('refill_gap') * 1000:6.0f} ms  (worst run {max(r['refill_gap'] for r in runs) * 1000:.0f} ms)"
    )


if __name__ == "__main__":
    main()
