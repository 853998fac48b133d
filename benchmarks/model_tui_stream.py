"""Whether the TUI stays responsive while a reply streams in at 100+ tokens a second.

A local OpenAI-compatible endpoint (benchmarks/local_openai.py, a subprocess) streams replies
of ``--tokens`` words, one every ``--every`` seconds (0.005: up to 200 a second), in
paragraphs of ``--paragraph`` words. The app runs headless (Textual's Pilot) with an
``engine: openai`` bot; while each reply streams into the transcript, a heartbeat every 10 ms
measures how late the event loop runs it (what a key press would wait). Printed per reply:
the tokens per second the transcript kept up with, and the heartbeat's p50, p99 and worst
lateness.

    .venv/bin/python benchmarks/model_tui_stream.py [--tokens 1000] [--every 0.005] [--runs 3]
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
sys.path.insert(0, str(ROOT))

from local_openai import TASK, start  # noqa: E402


async def heartbeat(late: list[float], stop: asyncio.Event) -> None:
    """Every 10 ms, how late the loop runs it."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        due = loop.time() + 0.01
        await asyncio.sleep(0.01)
        late.append(loop.time() - due)


async def measure(root: Path, tokens: int, runs: int) -> list[tuple[float, list[float]]]:
    from workbench.store import open_store
    from workbench.tui.app import make_app

    app = make_app(root, store=open_store(root / "tui.db"))
    results = []
    async with app.run_test(size=(120, 40)) as pilot:
        deadline = time.monotonic() + 30
        while app.chat.person is None or app.chat.person.session is None or app.chat.person.session.world is None:
            assert time.monotonic() < deadline, "the chat did not start"
            await pilot.pause(0.05)
        session = app.chat.person.session
        transcript = app.chat.query_one("#transcript")
        for _ in range(runs):
            late: list[float] = []
            stop = asyncio.Event()
            beat = asyncio.ensure_future(heartbeat(late, stop))
            t0 = time.perf_counter()
            session.put("hello")
            await asyncio.sleep(0.05)
            deadline = time.monotonic() + 300
            while not session.idle or transcript.generating:
                assert time.monotonic() < deadline, "no reply within 300 s"
                await asyncio.sleep(0.02)  # not Pilot's pause: it visits every widget
            rate = tokens / (time.perf_counter() - t0)
            stop.set()
            await beat
            results.append((rate, late))
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tokens", type=int, default=1000)
    ap.add_argument("--every", type=float, default=0.005)
    ap.add_argument("--paragraph", type=int, default=60)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    server, port = start(args.tokens, args.every, args.paragraph)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "task.yml").write_text(TASK.format(port=port), encoding="utf-8")
            results = asyncio.run(measure(root, args.tokens, args.runs))
    finally:
        server.kill()
        server.wait(10)
    offered = 1 / args.every if args.every else float("inf")
    print(f"replies of {args.tokens} tokens offered at up to {offered:.0f} tokens/s, paragraphs of {args.paragraph}")
    for i, (rate, late) in enumerate(results):
        ms = sorted(x * 1000 for x in late)
        p99 = ms[max(0, int(len(ms) * 0.99) - 1)]
        print(
            f"reply {i + 1}: {rate:5.0f} tokens/s shown   event loop late by p50 {statistics.median(ms):5.1f} ms"
            f"  p99 {p99:6.1f} ms  worst {ms[-1]:6.1f} ms"
        )


if __name__ == "__main__":
    main()
