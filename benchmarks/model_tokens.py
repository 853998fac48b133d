"""The tiny babbling model's tokens per second on the CPU, bare and through workbench.

Builds the tiny random model (workbench/engines/models/tiny.py) in a temporary folder, then
generates replies of ``--tokens`` tokens (no early end) four ways, each ``--runs`` times:

* transformers: ``model.generate`` alone (no streamer);
* engine: ``engine: transformers`` streaming into a ReplyStream (the streamer, the stopping
  criterion, the hand-over to the event loop);
* runtime: a person's turn in a live conversation (a Runner on a SQLite store): the engine
  plus the events, the commit and the delivery;
* TUI: the same turn in the app (headless, under Pilot), with the transcript rendering the
  reply as it comes; also the event loop's worst stall meanwhile (a 10 ms heartbeat's
  largest lateness), which says whether the app stays responsive.

Printed: the median tokens per second of each (and the loop's worst stall for the TUI).

    .venv/bin/python benchmarks/model_tokens.py [--tokens 300] [--runs 3]
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

TASK = """
name: tokens
bots:
  babbler:
    engine: transformers
    model: {model}
    params: {{max_tokens: {n}, min_new_tokens: {n}, temperature: 1.0, seed: 1}}
worlds:
  chat: {{type: bot_chat, bot: babbler}}
"""


def bare(model_dir: Path, n: int, runs: int) -> list[float]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    ids = tok("<|user|> hello </s> <|assistant|>", return_tensors="pt", add_special_tokens=False)
    rates = []
    for _ in range(runs):
        t0 = time.perf_counter()
        with torch.inference_mode():
            model.generate(**ids, max_new_tokens=n, min_new_tokens=n, do_sample=True, pad_token_id=tok.pad_token_id)
        rates.append(n / (time.perf_counter() - t0))
    return rates


async def engine(model_dir: Path, n: int, runs: int) -> list[float]:
    from workbench.engines.base import Context
    from workbench.engines.models.transformers_model import Config, create
    from workbench.engines.streaming import ReplyStream
    from workbench.message import Message

    class Task:
        root = model_dir.parent
        file = model_dir.parent / "task.yml"

    params = {"max_tokens": n, "min_new_tokens": n, "temperature": 1.0, "seed": 1}
    eng = create(Config(model=str(model_dir), params=params), Task(), "babbler")
    rates = []
    for _ in range(runs + 1):  # the first run loads the model
        t0 = time.perf_counter()
        turn = await eng.stream(eng.initial_state(), Message(text="hello"), Context(), ReplyStream(lambda s, d: None))
        rates.append(turn.trace["figures"]["tokens_out"] / (time.perf_counter() - t0))
    return rates[1:]


async def runtime(root: Path, n: int, runs: int) -> list[float]:
    from workbench.runtime.runner import Runner
    from workbench.store import open_store
    from workbench.task import load_task

    task = load_task(root)
    store = open_store(root / "runtime.db")
    task.use_store(store)
    runner = Runner(task, store)
    session = await runner.connect(lambda m: None)
    await runner.wait_idle(timeout=10)
    rates = []
    for _ in range(runs + 1):
        t0 = time.perf_counter()
        session.put("hello")
        await runner.wait_idle([session], timeout=300)
        rates.append(n / (time.perf_counter() - t0))
    await runner.stop()
    store.close()
    return rates[1:]


async def tui(root: Path, n: int, runs: int) -> tuple[list[float], float]:
    from workbench.store import open_store
    from workbench.tui.app import make_app

    app = make_app(root, store=open_store(root / "tui.db"))
    worst = 0.0
    beating = True

    async def heartbeat() -> None:
        nonlocal worst
        loop = asyncio.get_running_loop()
        while beating:
            due = loop.time() + 0.01
            await asyncio.sleep(0.01)
            worst = max(worst, loop.time() - due)

    rates = []
    async with app.run_test(size=(120, 40)) as pilot:
        while app.chat.person is None or app.chat.person.session is None or app.chat.person.session.world is None:
            await pilot.pause(0.05)
        session = app.chat.person.session
        beat = None
        for i in range(runs + 1):
            if i == 1:
                worst, beat = 0.0, asyncio.ensure_future(heartbeat())  # after the load
            t0 = time.perf_counter()
            session.put("hello")
            await asyncio.sleep(0.05)
            deadline = time.monotonic() + 300
            while not session.idle or app.chat.query_one("#transcript").generating:
                assert time.monotonic() < deadline, "no reply within 300 s"
                await asyncio.sleep(0.02)  # not Pilot's pause: it visits every widget
            rates.append(n / (time.perf_counter() - t0))
        beating = False
        if beat is not None:
            await beat
    return rates[1:], worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tokens", type=int, default=300)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    from workbench.engines.models import tiny

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = tiny.build(Path(tmp) / "tiny", "causal")
        root = Path(tmp) / "task"
        root.mkdir()
        (root / "task.yml").write_text(TASK.format(model=model_dir, n=args.tokens), encoding="utf-8")
        b = bare(model_dir, args.tokens, args.runs)
        e = asyncio.run(engine(model_dir, args.tokens, args.runs))
        r = asyncio.run(runtime(root, args.tokens, args.runs))
        t, worst = asyncio.run(tui(root, args.tokens, args.runs))
    print(f"tiny model (2 layers, 64 wide), replies of {args.tokens} tokens, CPU, median of {args.runs}")
    print(f"transformers generate   {statistics.median(b):7.0f} tokens/s")
    print(f"engine (streamed)       {statistics.median(e):7.0f} tokens/s")
    print(f"runtime (a live turn)   {statistics.median(r):7.0f} tokens/s")
    print(
        f"TUI (rendered as it comes) {statistics.median(t):4.0f} tokens/s   worst event-loop stall {worst * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
