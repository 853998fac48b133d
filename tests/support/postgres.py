"""A throwaway PostgreSQL server for tests and benchmarks: Debian's binaries (initdb, postgres)
run a cluster in a temporary directory on a free port of 127.0.0.1, stopped and deleted at the end.

PostgreSQL refuses to run as root, so as root (CI) the cluster belongs to an unprivileged user
(``nobody``) and its processes run as that user; as anyone else they run as you. Every wait is
bounded. tests/conftest.py starts one per session (``postgres`` fixture) and gives each test a
schema of its own (``pg_url``).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from support import free_port

#: where Debian puts the server's binaries (newest version first); PATH is tried first
DEBIAN_BINARIES = "/usr/lib/postgresql/*/bin"
#: the unprivileged account a root process runs the cluster as
UNPRIVILEGED = "nobody"


def binaries() -> Path | None:
    """The directory holding initdb and postgres, or None when PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found and shutil.which("postgres"):
        return Path(os.path.realpath(found)).parent
    for directory in sorted(glob.glob(DEBIAN_BINARIES), key=_version, reverse=True):
        if (Path(directory) / "initdb").exists() and (Path(directory) / "postgres").exists():
            return Path(directory)
    return None


def _version(directory: str) -> float:
    try:
        return float(Path(directory).parent.name)
    except ValueError:
        return 0.0


def missing_reason() -> str | None:
    """Why a PostgreSQL server cannot be started here (None when it can)."""
    if binaries() is None:
        return "PostgreSQL's server binaries (initdb, postgres) are not installed: apt-get install postgresql"
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        return "psycopg is not installed: pip install -e '.[postgres]'"
    return None


class PostgresServer:
    """One cluster: ``url`` connects as its superuser ``workbench`` without a password."""

    def __init__(self, fsync: bool = False, max_connections: int = 200) -> None:
        self.fsync = fsync
        self.max_connections = max_connections
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="workbench-pg-"))
        self.data = self.root / "data"
        self.proc: subprocess.Popen | None = None
        self._as: dict = {}
        if os.geteuid() == 0:
            account = pwd.getpwnam(UNPRIVILEGED)
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self._as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        self.log = self.root / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql://workbench@127.0.0.1:{self.port}/workbench"

    def start(self, timeout: float = 60.0) -> PostgresServer:
        bin_dir = binaries()
        if bin_dir is None:
            raise RuntimeError(missing_reason())
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "workbench",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            timeout=timeout,
            cwd=self.root,
            env=env,
            **self._as,
        )
        settings = [
            "-c", "listen_addresses=127.0.0.1",
            "-c", f"unix_socket_directories={self.root}",
            "-c", f"max_connections={self.max_connections}",
            "-c", f"fsync={'on' if self.fsync else 'off'}",
            "-c", "shared_buffers=64MB",
        ]  # fmt: skip
        log = open(self.log, "ab")  # noqa: SIM115 - the server writes to it until stop()
        self.proc = subprocess.Popen(
            [str(bin_dir / "postgres"), "-D", str(self.data), "-p", str(self.port), *settings],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.root,
            env=env,
            start_new_session=True,
            **self._as,
        )
        log.close()
        self._wait_ready(timeout)
        self._create_database()
        return self

    def _connect(self, dbname: str):
        import psycopg

        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="workbench", dbname=dbname, autocommit=True, connect_timeout=5
        )

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                self._connect("postgres").close()
                return
            except Exception as exc:  # not accepting yet
                last = exc
                time.sleep(0.1)
        raise RuntimeError(f"postgres did not accept connections within {timeout} s: {last}")

    def _create_database(self) -> None:
        with self._connect("postgres") as conn:
            conn.execute("CREATE DATABASE workbench")

    def schema_url(self, prefix: str = "t") -> str:
        """A URL whose connections use a new, empty schema (one task's data, isolated)."""
        return f"{self.url}?schema={prefix}_{uuid.uuid4().hex[:10]}"

    def drop_schema(self, url: str) -> None:
        schema = url.rsplit("schema=", 1)[-1]
        with self._connect("workbench") as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: smart shutdown; SIGINT would be fast
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
