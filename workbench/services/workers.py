"""`workbench serve --workers N`: N server processes on one port of one machine.

Each worker is a whole `workbench serve` (its own runner, event loop and group commit) that
binds the port with ``SO_REUSEPORT``, so the kernel spreads new connections over them and
no process stands in between. The workers share the task's store (a SQLite file in WAL mode,
or PostgreSQL) and so share every conversation: a person who reconnects to another worker
resumes with a ``hello`` (docs/scale.md). This module is the supervisor: it starts the
workers, restarts one that dies (unless it dies at once, again and again: a port in use, a
broken task), and on SIGTERM/SIGINT stops them all gracefully, each telling its people.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time

log = logging.getLogger(__name__)

#: a worker that exits within this many seconds of starting counts as failing to start
QUICK_EXIT = 5.0
#: failed starts in a row before the supervisor gives up
MAX_QUICK_EXITS = 3
#: seconds the workers have to shut down gracefully before they are killed
STOP_GRACE = 30.0


def reuse_port_socket(host: str, port: int, backlog: int = 4096) -> socket.socket:
    """A listening socket on ``host:port`` that other workers bind too (SO_REUSEPORT)."""
    if not hasattr(socket, "SO_REUSEPORT"):  # pragma: no cover - not on Windows
        raise OSError("this system has no SO_REUSEPORT: run one worker per port behind a load balancer")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


class Supervisor:
    """Starts ``count`` copies of ``command`` (each a `workbench serve ... --reuse-port`) and keeps them running."""

    def __init__(self, command: list[str], count: int) -> None:
        self.command = command
        self.count = count
        self.workers: dict[int, tuple[subprocess.Popen, float]] = {}
        self.stopping = False
        self.quick_exits = 0

    def _spawn(self, slot: int) -> None:
        env = dict(os.environ, WORKBENCH_WORKER=str(slot))
        proc = subprocess.Popen(self.command, env=env, stdin=subprocess.DEVNULL)
        self.workers[slot] = (proc, time.monotonic())
        log.info("worker %d started (pid %d)", slot, proc.pid)

    def _stop(self, signum: int, frame: object) -> None:
        self.stopping = True

    def run(self) -> int:
        previous = {s: signal.signal(s, self._stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            for slot in range(self.count):
                self._spawn(slot)
            while not self.stopping:
                for slot, (proc, started) in list(self.workers.items()):
                    code = proc.poll()
                    if code is None:
                        continue
                    if time.monotonic() - started < QUICK_EXIT:
                        self.quick_exits += 1
                        if self.quick_exits >= MAX_QUICK_EXITS:
                            log.error("workers keep exiting at start (last exit code %s); stopping", code)
                            self.stopping = True
                            break
                    else:
                        self.quick_exits = 0
                    log.warning("worker %d (pid %d) exited with %s; starting it again", slot, proc.pid, code)
                    self._spawn(slot)
                time.sleep(0.2)
            return self._shutdown()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)

    def _shutdown(self) -> int:
        """SIGTERM every worker (each drains: tells its people, stores everything), then wait."""
        failed = self.quick_exits >= MAX_QUICK_EXITS
        for proc, _ in self.workers.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for proc, _ in self.workers.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        return 1 if failed else 0


def worker_command(argv: list[str]) -> list[str]:
    """The command line of one worker: this `workbench serve` without ``--workers`` and with
    ``--reuse-port``."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--workers":
            skip = True
            continue
        if arg.startswith("--workers="):
            continue
        out.append(arg)
    return [sys.executable, "-m", "workbench", *out, "--reuse-port"]
