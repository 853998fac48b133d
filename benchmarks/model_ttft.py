"""The time workbench adds to time-to-first-token over a local streaming endpoint (goal: < 5 ms p50).

A local OpenAI-compatible endpoint streams in a subprocess (benchmarks/local_openai.py). Each
run measures, in this process:

* direct: an httpx client posts the request and parses the server-sent events (httpx-sse, the
  same JSON parsing) until the first token;
* workbench: a person's message is put into a live conversation with an ``engine: openai`` bot
  (a Runner on a SQLite store, a bot_chat world) until the runtime's first ``delta`` event:
  the inbox, the world, the agent, the engine's prompt and request, the stream and the event.

Printed: both medians (p50, p90), the difference of the medians (what workbench adds), and the
tokens per second each path passes through for a long reply.

    .venv/bin/python benchmarks/model_ttft.py [--runs 200] [--tokens 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_openai import TASK, start  # noqa: E402


async def direct(port: int, runs: int) -> tuple[list[float], float]:
    """(seconds to the first token per run, tokens per second of the last run's whole reply)."""
    from httpx_sse import aconnect_sse

    from workbench.engines.models.openai_compatible import _chunk

    body = {"model": "bench", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    firsts: list[float] = []
    rate = 0.0
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(runs):
            t0 = time.perf_counter()
            first = None
            n = 0
            async with aconnect_sse(client, "POST", f"http://127.0.0.1:{port}/v1/chat/completions", json=body) as es:
                async for event in es.aiter_sse():
                    if event.data == "[DONE]":
                        break
                    text, _, _ = _chunk(event.data)
                    if text:
                        n += 1
                        if first is None:
                            first = time.perf_counter() - t0
            firsts.append(first or 0.0)
            rate = n / (time.perf_counter() - t0)
    return firsts, rate


async def through_workbench(port: int, runs: int) -> tuple[list[float], float]:
    from workbench.runtime.runner import Runner
    from workbench.store import open_store
    from workbench.task import load_task

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "task"
        root.mkdir()
        (root / "task.yml").write_text(TASK.format(port=port), encoding="utf-8")
        task = load_task(root)
        store = open_store(Path(tmp) / "wb.db")
        task.use_store(store)
        runner = Runner(task, store)
        loop = asyncio.get_running_loop()
        first: asyncio.Future | None = None
        count = 0

        def on_event(ev) -> None:
            nonlocal count
            if ev.kind == "delta":
                count += 1
                if first is not None and not first.done():
                    first.set_result(time.perf_counter())

        runner.subscribe(on_event)
        session = await runner.connect(lambda m: None)
        await runner.wait_idle(timeout=10)
        firsts: list[float] = []
        rate = 0.0
        for _ in range(runs):
            first = loop.create_future()
            count = 0
            t0 = time.perf_counter()
            session.put("hi")
            firsts.append(await asyncio.wait_for(first, 30) - t0)
            assert await runner.wait_idle([session], timeout=60)
            rate = count / (time.perf_counter() - t0)
        await runner.stop()
        store.close()
    return firsts, rate


def summary(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    return f"p50 {statistics.median(ms):6.2f} ms  p90 {ms[int(len(ms) * 0.9) - 1]:6.2f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--tokens", type=int, default=2000, help="tokens of each reply (the throughput figure)")
    args = ap.parse_args()
    proc, port = start(args.tokens)
    try:
        asyncio.run(direct(port, 10))  # warm both paths up (imports, connections)
        asyncio.run(through_workbench(port, 5))
        d, d_rate = asyncio.run(direct(port, args.runs))
        w, w_rate = asyncio.run(through_workbench(port, args.runs))
    finally:
        proc.kill()
        proc.wait(10)
    added = (statistics.median(w) - statistics.median(d)) * 1000
    print(f"runs: {args.runs}; replies of {args.tokens} tokens from a local endpoint (a subprocess)")
    print(f"first token, direct httpx client   {summary(d)}")
    print(f"first token, through workbench     {summary(w)}")
    print(f"workbench adds (p50 difference)    {added:6.2f} ms   (goal < 5 ms)")
    print(f"tokens/s, direct {d_rate:8.0f}   through workbench {w_rate:8.0f}")


if __name__ == "__main__":
    main()
