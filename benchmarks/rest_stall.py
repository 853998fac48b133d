"""How long other clients stall while the REST channel handles a heavy request.

Starts `workbench serve` on a copy of sample_tasks/helpdesk (a subprocess on a free
port of 127.0.0.1, ``WORKBENCH_API_TOKEN`` set, get_next_response and knowledgebase_search
open to anyone), a fresh one for each attack:

* ``big_body``: one unauthenticated 16 MB body posted to ``/get_next_response``;
* ``huge_body``: a 200 MB body streamed to ``/get_next_response`` (the figure is how
  much the client managed to send before the answer, and the answer's status);
* ``kb_upload``: a 100,000-row CSV posted to ``/knowledgebase/upload_csv``;
* ``dt_upload``: a 20,000-state CSV posted to ``/decisiontable/upload_csv``;
* ``kb_search``: ``/knowledgebase_search`` with the longest question accepted (10,000
  characters; before the limits, 200 kB), 20 times;

while two probes run in threads: one asks ``GET /health`` every 5 ms (the event
loop's responsiveness), the other takes ``get_next_response`` turns in a loop (a turn
commits through the store, so it also sees the store being held). Printed per attack:
the probes' worst and median latency during the attack, beside their median while
idle. Every loop is bounded in count and time.

    .venv/bin/python benchmarks/rest_stall.py [--attacks big_body,kb_upload,...] [--rows 100000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, task_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, WORKBENCH_API_TOKEN=TOKEN, NO_COLOR="1")
        self.log = open(task_dir.parent / "serve.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workbench", "serve", str(task_dir), "--port", str(self.port)]
            + ["--log-level", "warning"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise SystemExit("workbench serve did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class Probe(threading.Thread):
    """Sends one kind of request over and over, recording (start time, latency)."""

    def __init__(self, name: str, send: Callable[[httpx.Client], None], pause: float, limit: float) -> None:
        super().__init__(daemon=True)
        self.name, self.send, self.pause, self.limit = name, send, pause, limit
        self.samples: list[tuple[float, float]] = []
        self.errors = 0
        self.stop = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + self.limit
        with httpx.Client(timeout=60) as client:
            while not self.stop.is_set() and time.monotonic() < deadline and len(self.samples) < 200_000:
                t0 = time.monotonic()
                try:
                    self.send(client)
                except httpx.HTTPError:
                    self.errors += 1
                self.samples.append((t0, time.monotonic() - t0))
                self.stop.wait(self.pause)

    def window(self, start: float, end: float) -> list[float]:
        """Latencies of the requests that were in flight at some point in [start, end]."""
        return [lat for t0, lat in self.samples if t0 <= end and t0 + lat >= start]


def limited() -> bool:
    """Whether this workbench bounds REST texts (10,000 characters)."""
    from workbench.task.schema import ServeSpec

    return "public_api" in ServeSpec.model_fields


def open_to_anyone(task: Path) -> None:
    """The attacks on reads come without the token: open those endpoints, as a public chat
    front end would (a workbench without ``serve.public_api`` answers them 401 unread)."""
    from workbench.task.schema import ServeSpec

    if "public_api" in ServeSpec.model_fields:
        with open(task / "task.yml", "a", encoding="utf-8") as yml:
            yml.write("\nserve:\n  public_api: [get_next_response, knowledgebase_search]\n")


def kb_csv(rows: int) -> bytes:
    lines = ["id,question,answer,verified"]
    lines += [f"b{i},how do I reach branch number {i},Branch {i} is open from nine to five.,true" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def dt_csv(rows: int) -> bytes:
    head = 'state,execution_order,max_state_count,analyzer,"queries (T,I)",bubble (R),action (R),action_input (R),state_data (R),success_value (R),failure_value (R)'
    body = [f's{i},1,0,,"[""where is office {i}""]",Office {i} is downtown.,,,,,' for i in range(rows)]
    return ("\n".join([head, *body]) + "\n").encode()


def chunks(total: int, size: int = 1 << 20) -> Iterator[bytes]:
    block = b"x" * size
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        sent += n
        yield block[:n]


def attack(name: str, url: str, rows: int, timeout: float) -> str:
    """Run one attack; returns what the server answered (or the client's error)."""
    try:
        return _attack(name, url, rows, timeout)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__} ({timeout:.0f} s)"


def _attack(name: str, url: str, rows: int, timeout: float) -> str:
    with httpx.Client(base_url=url, timeout=timeout) as c:
        if name == "big_body":
            body = b'{"user_id": "x", "text": "' + b"a" * (16 << 20) + b'"}'
            r = c.post("/get_next_response", content=body, headers={"Content-Type": "application/json"})
            return f"{r.status_code}"
        if name == "huge_body":
            total = 200 << 20
            sent = 0

            def body() -> Iterator[bytes]:
                nonlocal sent
                for part in chunks(total):
                    sent += len(part)
                    yield part

            try:
                r = c.post("/get_next_response", content=body(), headers={"Content-Type": "application/json"})
                status = str(r.status_code)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            return f"{status} after {sent / (1 << 20):.0f} MB sent"
        if name == "kb_upload":
            r = c.post("/knowledgebase/upload_csv", content=kb_csv(rows), headers={**AUTH, "Content-Type": "text/csv"})
            return f"{r.status_code} {r.text[:80]}"
        if name == "dt_upload":
            r = c.post(
                "/decisiontable/upload_csv",
                content=dt_csv(rows // 5),
                headers={**AUTH, "Content-Type": "text/csv"},
            )
            return f"{r.status_code} {r.text[:80]}"
        if name == "kb_search":
            words = 2_500 if limited() else 25_000
            question = (
                " ".join(f"w{i}" for i in range(words))[:10_000]
                if limited()
                else " ".join(f"word{i}" for i in range(words))
            )
            codes = [c.post("/knowledgebase_search", json={"question": question}).status_code for _ in range(20)]
            return ",".join(sorted(set(map(str, codes))))
    raise SystemExit(f"unknown attack {name}")


def health(url: str) -> Callable[[httpx.Client], None]:
    return lambda c: c.get(f"{url}/health").raise_for_status()


def take_turn(url: str) -> Callable[[httpx.Client], None]:
    """A trusted client's turn (the token), so the probe works whatever the task opens."""
    body = {"user_id": "probe", "text": "my account is locked"}
    return lambda c: c.post(f"{url}/get_next_response", json=body, headers=AUTH).raise_for_status()


def ms(values: list[float], fn: Callable[[list[float]], float]) -> str:
    return f"{fn(values) * 1000:8.1f}" if values else "       -"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attacks", default="big_body,huge_body,kb_upload,dt_upload,kb_search")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--timeout", type=float, default=60, help="seconds an attack may take")
    args = parser.parse_args()

    print(f"{'attack':<10} {'answer':<34} {'probe':<7} {'idle p50':>9} {'p50':>8} {'max':>8}  (ms)")
    for name in args.attacks.split(","):
        # a fresh server per attack, so one attack's aftermath cannot colour the next
        tmp = Path(tempfile.mkdtemp(prefix="rest-stall-"))
        task = tmp / "helpdesk"
        shutil.copytree(ROOT / "sample_tasks" / "helpdesk", task, ignore=shutil.ignore_patterns("data"))
        open_to_anyone(task)
        server = Server(task)
        probes = [
            Probe("health", health(server.url), 0.005, 300),
            Probe("turn", take_turn(server.url), 0.005, 300),
        ]
        try:
            for p in probes:
                p.start()
            time.sleep(1.5)
            idle = {p.name: [lat for _, lat in p.samples[5:]] for p in probes}
            start = time.monotonic()
            answer = attack(name, server.url, args.rows, args.timeout)
            end = time.monotonic()
            time.sleep(0.3)  # let the probes' last requests land
            for p in probes:
                during = p.window(start, end)
                print(
                    f"{name:<10} {answer[:34]:<34} {p.name:<7} {ms(idle[p.name], statistics.median):>9} "
                    f"{ms(during, statistics.median)} {ms(during, max)}"
                )
            print(f"{'':<10} took {end - start:.2f} s; probe errors: {[p.errors for p in probes]}")
        finally:
            for p in probes:
                p.stop.set()
            for p in probes:
                p.join(10)
            server.stop()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
