"""Evaluation figures: whole rating sessions over HTTP against `workbench serve`.

N raters sign up at once (argon2 hashes each password), start a thread, send their
messages, rate the thread and read their completion code, all through the /eval/ pages
of sample_tasks/bot_eval served in a subprocess on 127.0.0.1. Reported: sessions per
second, the p50/p95 time of a chat turn (form post -> the page with the reply) and of a
sign-up, and errors.

    .venv/bin/python benchmarks/eval_sessions.py [--raters 20,100] [--task sample_tasks/bot_eval]

Every request has a timeout and every run a deadline; the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
TOKEN = re.compile(r'name="csrf" value="([^"]+)"')


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _session(base: str, n: int, turns: int, signups: list[float], chat: list[float]) -> None:
    async with httpx.AsyncClient(base_url=base, follow_redirects=True, timeout=60) as http:
        page = await http.get("/eval/signup")
        t0 = time.perf_counter()
        page = await http.post(
            "/eval/signup",
            data={
                "csrf": TOKEN.findall(page.text)[-1],
                "account": f"rater{n}",
                "password": "benchmark pw",
                "password2": "benchmark pw",
                "cb_0": "yes",
                "cb_1": "yes",
            },
        )
        signups.append(time.perf_counter() - t0)
        page = await http.post("/eval/threads", data={"csrf": TOKEN.findall(page.text)[-1]})
        thread = str(page.url).split("/threads/")[1].split("#")[0]
        for i in range(turns):
            t0 = time.perf_counter()
            page = await http.post(
                f"/eval/threads/{thread}/say", data={"csrf": TOKEN.findall(page.text)[-1], "text": f"turn {i}"}
            )
            page.raise_for_status()
            chat.append(time.perf_counter() - t0)
        page = await http.post(
            f"/eval/threads/{thread}/rate", data={"csrf": TOKEN.findall(page.text)[-1], "q0": "3", "q1": "0"}
        )
        assert "completion-code" in page.text, page.text[:300]


def _pct(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100)[int(q) - 1] * 1000
        if len(values) > 1
        else (values[0] * 1000 if values else 0)
    )


def run(task: Path, raters: int) -> None:
    folder = Path(tempfile.mkdtemp())
    copy = folder / "task"
    shutil.copytree(task, copy, ignore=shutil.ignore_patterns("data", "exports", "__pycache__"))
    text = (copy / "task.yml").read_text().replace("max_threads_per_topic: 3", f"max_threads_per_topic: {raters}")
    (copy / "task.yml").write_text(text)
    port = _port()
    env = dict(os.environ, WORKBENCH_EVAL_SECRET="b" * 48)
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench", "serve", str(copy), "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server did not start")
            time.sleep(0.1)
        signups: list[float] = []
        chat: list[float] = []

        async def main() -> list:
            return await asyncio.wait_for(
                asyncio.gather(*(_session(base, n, 3, signups, chat) for n in range(raters)), return_exceptions=True),
                600,
            )

        t0 = time.perf_counter()
        results = asyncio.run(main())
        took = time.perf_counter() - t0
        errors = [r for r in results if isinstance(r, BaseException)]
        print(
            f"raters {raters:4d}: {raters / took:6.1f} sessions/s ({took:.1f} s), chat turn p50 {_pct(chat, 50):.0f} ms "
            f"p95 {_pct(chat, 95):.0f} ms, sign-up p50 {_pct(signups, 50):.0f} ms p95 {_pct(signups, 95):.0f} ms, errors {len(errors)}"
        )
        for e in errors[:3]:
            print("  error:", repr(e)[:200])
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--raters", default="20,100")
    parser.add_argument("--task", type=Path, default=REPO / "sample_tasks" / "bot_eval")
    args = parser.parse_args()
    for n in (int(x) for x in args.raters.split(",")):
        run(args.task, n)
