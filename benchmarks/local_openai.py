"""A minimal OpenAI-compatible streaming endpoint for the model benchmarks (not a test double:
it checks nothing). Every request gets ``--tokens`` tokens (words, a paragraph break every ``--paragraph`` of
them), the first at once, then one every ``--every`` seconds, then a usage chunk and ``[DONE]``.

    .venv/bin/python benchmarks/local_openai.py --port 8765 [--tokens 20] [--every 0] [--paragraph 60]

The model benchmarks start it with :func:`start` and chat with it through :data:`TASK`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

#: a task whose one world chats with the endpoint (``.format(port=...)``)
TASK = """
name: bench
bots:
  assistant: {{engine: openai, base_url: "http://127.0.0.1:{port}/v1", model: bench}}
worlds:
  chat: {{type: bot_chat, bot: assistant}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(tokens: int, every: float = 0.0, paragraph: int = 60) -> tuple[subprocess.Popen, int]:
    """The endpoint in a subprocess on a free port, answering (the caller kills it)."""
    import httpx

    port = free_port()
    command = [sys.executable, str(Path(__file__).resolve()), "--port", str(port), "--tokens", str(tokens)]
    proc = subprocess.Popen([*command, "--every", str(every), "--paragraph", str(paragraph)])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", json={}, timeout=1)
            return proc, port
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the local endpoint did not start")


def app(tokens: int, every: float, paragraph: int = 60):
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    def chunk(delta: dict, finish: str | None = None, **extra) -> bytes:
        body = {"id": "bench", "object": "chat.completion.chunk", "created": 0, "model": "bench"}
        body["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}] if delta is not None else []
        body.update(extra)
        return f"data: {json.dumps(body)}\n\n".encode()

    async def completions(request: Request) -> StreamingResponse:
        await request.body()

        async def events():
            yield chunk({"role": "assistant", "content": ""})
            for i in range(tokens):
                if i and every:
                    await asyncio.sleep(every)
                word = f"word{i}" if i % paragraph == 0 else f" word{i}"
                yield chunk({"content": ("\n\n" if i and i % paragraph == 0 else "") + word})
            yield chunk({}, "stop")
            yield chunk(None, usage={"prompt_tokens": 10, "completion_tokens": tokens, "total_tokens": tokens + 10})
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tokens", type=int, default=20)
    ap.add_argument("--every", type=float, default=0.0)
    ap.add_argument("--paragraph", type=int, default=60)
    args = ap.parse_args()
    import uvicorn

    uvicorn.run(app(args.tokens, args.every, args.paragraph), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
