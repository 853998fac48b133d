"""Serving figures: closed-loop websocket conversations against `workbench serve`.

For each target and concurrency, a separate client process opens N websocket
conversations; each sends a message, waits for the answer, sends the next
(closed loop) for ``--duration`` seconds. Targets:

* ``bare``: a websocket echo server on the same stack (Starlette's
  WebSocketRoute under the same uvicorn configuration), doing nothing but
  echoing: the physical limit of this machine and stack;
* ``echo``: `workbench serve` on sample_tasks/echo (a bot_chat world, the echo
  engine, a store commit per turn);
* ``helpdesk``: `workbench serve` on sample_tasks/helpdesk (decision table
  and knowledge base), skipped with a note when the task is absent;
* ``echo-pg``, ``echo-pg-2w`` (and ``helpdesk-pg``...): the same on a PostgreSQL store (a
  throwaway local server, fsync on, started once by this script from Debian's binaries), with
  one worker or ``--workers 2``; ``echo-2w`` is two workers on the SQLite file. The table ends
  with the cost of the network store: PostgreSQL against SQLite at the same concurrency.

Reported: messages/s, p50/p99 latency, errors, the server's memory per
conversation (RSS with N conversations open minus RSS before, over N), and
workbench's throughput as a ratio of the bare server's at the same concurrency.

    .venv/bin/python benchmarks/serve.py [--concurrency 100,1000,5000] [--duration 8]
        [--targets bare,echo,helpdesk,echo-pg,echo-pg-2w] [--repeat 1] [--profile DIR]   # --profile: py-spy records the server

On a shared machine, ``--repeat N`` runs every cell N times, interleaved, and keeps
each cell's fastest run (the one least disturbed by other processes).

Every phase is bounded in time; a run that cannot connect or stalls is
reported with its errors rather than waiting.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_tasks"

#: what a helpdesk customer says, in turn (any answer counts as the reply)
HELPDESK_LINES = [
    "I have a problem with my account",
    "Account locked",
    "I forgot my password",
    "ann@example.org",
    "how can I change my delivery address?",
    "thank you",
]


# -- the bare echo server (run as `serve.py --bare-server PORT`) -------------------


def bare_server(port: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocketDisconnect

    async def echo(ws: Any) -> None:
        await ws.accept()
        try:
            while True:
                frame = json.loads(await ws.receive_text())
                await ws.send_text(json.dumps({"text": frame.get("text", ""), "quick_replies": None}))
        except WebSocketDisconnect:
            pass

    app = Starlette(routes=[WebSocketRoute("/websocket", echo)])
    # the same garbage-collector tuning and uvicorn settings as workbench.services.server.run_server
    from workbench.services.server import tune_gc

    tune_gc()
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        backlog=4096,
        ws_max_size=1 << 20,
        timeout_graceful_shutdown=10,
    )


# -- the client process (run as `serve.py --client ...`) ---------------------------


async def _conversation(url: str, index: int, mode: str, state: dict[str, Any], gate: asyncio.Semaphore) -> None:
    import websockets

    stats = state["stats"]
    try:
        async with gate:
            ws = await asyncio.wait_for(
                websockets.connect(url, compression=None, ping_interval=None, max_queue=64, open_timeout=60),
                90,
            )
    except Exception as exc:  # noqa: BLE001 - every failure is an error to count
        stats["errors"] += 1
        stats["error_kinds"][f"connect: {type(exc).__name__}"] = (
            stats["error_kinds"].get(f"connect: {type(exc).__name__}", 0) + 1
        )
        state["ready"] += 1
        return
    latencies = state["latencies"]
    loop = asyncio.get_running_loop()
    n = 0
    try:
        await ws.send('{"text": ""}')  # starts the conversation, as ParlAI's first frame

        async def round_trip() -> float:
            nonlocal n
            text = HELPDESK_LINES[(index + n) % len(HELPDESK_LINES)] if mode == "helpdesk" else f"c{index} m{n}"
            n += 1
            t0 = loop.time()
            await ws.send(json.dumps({"text": text}))
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
                got = frame.get("text") or ""
                if (mode == "helpdesk" and got) or got == text:
                    return loop.time() - t0

        await round_trip()  # warm: the conversation is in its world
        state["ready"] += 1
        await state["go"].wait()
        while not state["stop"].is_set():
            latency = await round_trip()
            now = loop.time()
            if state["t0"] <= now <= state["t1"]:
                latencies.append(latency)
    except Exception as exc:  # noqa: BLE001
        if not state["stop"].is_set():
            stats["errors"] += 1
            key = type(exc).__name__
            stats["error_kinds"][key] = stats["error_kinds"].get(key, 0) + 1
        if not state["go"].is_set():
            state["ready"] += 1
    finally:
        state["open"].append(ws)


async def _client(url: str, conns: int, duration: float, mode: str, ready_file: str, go_file: str) -> dict[str, Any]:
    state: dict[str, Any] = {
        "stats": {"errors": 0, "error_kinds": {}},
        "latencies": [],
        "ready": 0,
        "go": asyncio.Event(),
        "stop": asyncio.Event(),
        "t0": 0.0,
        "t1": 0.0,
        "open": [],
    }
    gate = asyncio.Semaphore(200)  # handshakes in flight
    tasks = [asyncio.ensure_future(_conversation(url, i, mode, state, gate)) for i in range(conns)]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 120
    while state["ready"] < conns and loop.time() < deadline:
        await asyncio.sleep(0.05)
    connected = state["ready"]
    Path(ready_file).write_text(str(connected))
    # the parent measures the server's memory, then says go
    while not Path(go_file).exists() and loop.time() < deadline + 30:
        await asyncio.sleep(0.02)
    state["t0"] = loop.time() + min(1.0, duration / 4)  # a short ramp before counting
    state["t1"] = state["t0"] + duration
    state["go"].set()
    await asyncio.sleep(state["t1"] - loop.time())
    state["stop"].set()
    await asyncio.wait(tasks, timeout=35)
    for t in tasks:
        t.cancel()
    lat = sorted(state["latencies"])
    return {
        "connected": connected,
        "messages": len(lat),
        "duration": duration,
        "p50": lat[len(lat) // 2] if lat else None,
        "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else None,
        "errors": state["stats"]["errors"],
        "error_kinds": state["stats"]["error_kinds"],
    }


def client_main(args: argparse.Namespace) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(_client(args.url, args.conns, args.duration, args.mode, args.ready_file, args.go_file))
    print(json.dumps(result))


# -- the parent: servers, memory, the table ----------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    """The resident memory of ``pid`` and its children (the workers of ``--workers N``)."""
    total = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return total
    return total + sum(rss_kib(int(child)) for child in children)


def parse_target(target: str) -> tuple[str, bool, int]:
    """(sample task, on PostgreSQL, workers) of a target name such as ``echo-pg-2w``."""
    parts = target.split("-")
    workers = 1
    if len(parts) > 1 and parts[-1].endswith("w") and parts[-1][:-1].isdigit():
        workers = int(parts.pop()[:-1])
    postgres = len(parts) > 1 and parts[-1] == "pg"
    if postgres:
        parts.pop()
    return "-".join(parts), postgres, workers


#: the PostgreSQL server the ``-pg`` targets share (started on first use)
POSTGRES: Any = None


def postgres_url() -> str:
    global POSTGRES
    if POSTGRES is None:
        sys.path.insert(0, str(ROOT / "tests"))  # the throwaway-cluster helper the tests use
        from support.postgres import PostgresServer, missing_reason

        reason = missing_reason()
        if reason:
            raise RuntimeError(reason)
        POSTGRES = PostgresServer(fsync=True, max_connections=300).start()
    return POSTGRES.schema_url("bench")


def wait_listening(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def start_server(target: str, port: int, work: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    log = open(work / f"server-{target}-{port}.log", "w")
    if target == "bare":
        cmd = [sys.executable, __file__, "--bare-server", str(port)]
    else:
        sample, postgres, workers = parse_target(target)
        if postgres:
            env["WORKBENCH_STORE_URL"] = postgres_url()
        task = work / f"{target}-{port}"
        shutil.copytree(SAMPLES / sample, task, ignore=shutil.ignore_patterns("data", "__pycache__", "exports"))
        cmd = [
            sys.executable,
            "-m",
            "workbench",
            "serve",
            str(task),
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--rate-limit",
            "0",
            "--idle-timeout",
            "0",
            "--workers",
            str(workers),
        ]
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=work)


def warm_up(port: int, mode: str) -> None:
    """One short conversation, so lazy imports and caches are loaded before the memory baseline."""

    async def once() -> None:
        import websockets

        async with websockets.connect(f"ws://127.0.0.1:{port}/websocket", compression=None, open_timeout=30) as ws:
            await ws.send('{"text": ""}')
            for text in HELPDESK_LINES[:2] if mode == "helpdesk" else ["warm"]:
                await ws.send(json.dumps({"text": text}))
                while True:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
                    if frame.get("text") and (mode == "helpdesk" or frame["text"] == text):
                        break

    asyncio.run(once())


def run_one(target: str, conns: int, duration: float, work: Path, profile: Path | None) -> dict[str, Any]:
    port = free_port()
    server = start_server(target, port, work)
    spy = None
    try:
        wait_listening(port, server)
        mode = "helpdesk" if parse_target(target)[0] == "helpdesk" else "echo"
        warm_up(port, mode)
        time.sleep(0.3)
        base = rss_kib(server.pid)
        ready_file, go_file = work / f"ready-{port}", work / f"go-{port}"
        client = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--client",
                "--url",
                f"ws://127.0.0.1:{port}/websocket",
                "--conns",
                str(conns),
                "--duration",
                str(duration),
                "--mode",
                mode,
                "--ready-file",
                str(ready_file),
                "--go-file",
                str(go_file),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 150
        while not ready_file.exists() and time.monotonic() < deadline and client.poll() is None:
            time.sleep(0.05)
        time.sleep(0.5)
        loaded = rss_kib(server.pid)
        if profile is not None:
            profile.mkdir(parents=True, exist_ok=True)
            out = profile / f"{target}-{conns}.txt"
            spy = subprocess.Popen(
                [
                    shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy")),
                    "record",
                    "--pid",
                    str(server.pid),
                    "--duration",
                    str(int(duration)),
                    "--format",
                    "raw",
                    "--output",
                    str(out),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        go_file.write_text("go")
        try:
            out, err = client.communicate(timeout=duration + 240)
        except subprocess.TimeoutExpired:
            client.kill()
            out, err = client.communicate()
        result = (
            json.loads(out.strip().splitlines()[-1])
            if out.strip()
            else {"messages": 0, "errors": conns, "error_kinds": {"client": err[-300:]}}
        )
        result.update(
            target=target,
            conns=conns,
            rss_base_kib=base,
            rss_loaded_kib=loaded,
            kib_per_conversation=(loaded - base) / conns,
        )
        return result
    finally:
        if spy is not None:
            try:
                spy.wait(duration + 30)
            except subprocess.TimeoutExpired:
                spy.kill()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f}"


def table(results: list[dict[str, Any]]) -> str:
    bare = {r["conns"]: r for r in results if r["target"] == "bare"}
    head = f"{'target':<14} {'conns':>6} {'msgs/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'KiB/conv':>9} {'vs bare':>8}"
    lines = [head, "-" * len(head)]
    for r in results:
        rate = r["messages"] / r["duration"] if r.get("duration") else 0.0
        ref = bare.get(r["conns"])
        ratio = "-"
        if ref is not None and r["target"] != "bare" and ref["messages"]:
            ratio = f"{rate / (ref['messages'] / ref['duration']):.2f}"
        lines.append(
            f"{r['target']:<14} {r['conns']:>6} {rate:>9.0f} {fmt_ms(r.get('p50')):>8} {fmt_ms(r.get('p99')):>8} "
            f"{r['errors']:>7} {r['kib_per_conversation']:>9.1f} {ratio:>8}"
        )
    lines += network_cost(results)
    return "\n".join(lines)


def network_cost(results: list[dict[str, Any]]) -> list[str]:
    """PostgreSQL against SQLite for the same task, workers and concurrency."""
    rows = {(r["target"], r["conns"]): r for r in results}
    out: list[str] = []
    for (target, conns), r in rows.items():
        sample, postgres, workers = parse_target(target)
        if not postgres:
            continue
        local = rows.get((sample if workers == 1 else f"{sample}-{workers}w", conns))
        if local is None or not local["messages"] or not r["messages"]:
            continue
        ratio = (r["messages"] / r["duration"]) / (local["messages"] / local["duration"])
        extra = (r["p99"] or 0) - (local["p99"] or 0)
        out.append(
            f"network store ({target} vs {local['target']}, {conns} conversations): "
            f"{ratio:.2f}x the messages/s, p99 {extra * 1000:+.1f} ms"
        )
    return [""] + out if out else []


def raise_open_files(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(needed, soft)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < needed:
        print(f"warning: open-file limit {soft} is below the {needed} sockets this run needs", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", default="100,1000,5000")
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--targets", default="bare,echo,helpdesk")
    parser.add_argument("--repeat", type=int, default=1, help="runs per cell; the fastest is kept")
    parser.add_argument("--profile", type=Path, default=None, help="record the server with py-spy into this folder")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    # internal: the processes this script starts
    parser.add_argument("--bare-server", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--conns", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="echo", help=argparse.SUPPRESS)
    parser.add_argument("--ready-file", help=argparse.SUPPRESS)
    parser.add_argument("--go-file", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.bare_server is not None:
        bare_server(args.bare_server)
        return
    if args.client:
        client_main(args)
        return

    levels = [int(c) for c in args.concurrency.split(",") if c]
    targets = [t for t in args.targets.split(",") if t]
    raise_open_files(2 * max(levels) + 512)  # inherited by the server and client processes
    for target in list(targets):
        if target != "bare" and not (SAMPLES / parse_target(target)[0] / "task.yml").exists():
            print(f"note: the sample task of {target} is absent; skipping it", file=sys.stderr)
            targets.remove(target)
    best: dict[tuple[str, int], dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="wb-serve-bench-") as tmp:
        work = Path(tmp)
        for conns in levels:
            for attempt in range(args.repeat):
                for target in targets:
                    t0 = time.monotonic()
                    r = run_one(target, conns, args.duration, work, args.profile)
                    kinds = f" {r['error_kinds']}" if r.get("error_kinds") else ""
                    print(
                        f"  {target} x{conns} (run {attempt + 1}): {r['messages'] / r['duration']:.0f} msgs/s, "
                        f"{r['errors']} errors{kinds} ({time.monotonic() - t0:.0f} s)",
                        file=sys.stderr,
                        flush=True,
                    )
                    key = (target, conns)
                    if key not in best or r["messages"] > best[key]["messages"]:
                        best[key] = r
    if POSTGRES is not None:
        POSTGRES.stop()
    results = [best[(t, c)] for c in levels for t in targets]
    print(
        f"\n{os.cpu_count()} CPUs, Python {sys.version.split()[0]}; closed loop, {args.duration:g} s per run, "
        f"best of {args.repeat}; server and client processes share the machine\n"
    )
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
