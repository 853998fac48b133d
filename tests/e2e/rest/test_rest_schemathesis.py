"""Schemathesis fuzzes the REST API from its own /openapi.json against `workbench serve`
on 127.0.0.1, once without a token (reads open, writes refused) and once with one (every
endpoint, writes included). No answer may be a server error (5xx) or differ from the
documented status codes, content types and schemas, and the server logs no traceback.
Each run is bounded in time (about half a minute)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support.rest import TOKEN, helpdesk

#: seconds each run may fuzz
BUDGET = 25
#: the same cases on every run, so CI cannot fail on a draw; set WORKBENCH_FUZZ_SEED to explore others
SEED = os.environ.get("WORKBENCH_FUZZ_SEED", "20261130")
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    ]
)


def fuzz(url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """The schemathesis CLI (its caches land in ``cwd``, not the repository)."""
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{url}/openapi.json"]
    command += ["--checks", CHECKS, "--max-time", str(BUDGET), "--workers", "1", "--no-color", "--seed", SEED, *args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=BUDGET + 60, stdin=subprocess.DEVNULL, cwd=cwd
    )


@pytest.mark.parametrize("token", [False, True], ids=["without-token", "with-token"])
def test_the_api_holds_its_schema_under_fuzzing(serve_process, tmp_path, monkeypatch, token):
    if token:
        monkeypatch.setenv("WORKBENCH_API_TOKEN", TOKEN)
    else:
        monkeypatch.delenv("WORKBENCH_API_TOKEN", raising=False)
    server = serve_process(helpdesk(tmp_path))
    run = fuzz(server.http_url, tmp_path, *(["--header", f"Authorization: Bearer {TOKEN}"] if token else []))
    report = run.stdout[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    cases = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    assert cases is not None and cases[1] == cases[2] and int(cases[1]) > 100, report
    assert "Traceback" not in server.output(), server.output()[-4000:]
