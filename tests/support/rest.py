"""What the REST API's tests share: the helpdesk task with extra task.yml keys, the token,
and raw HTTP over a socket (to send what an ordinary client would not)."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

from support import copy_sample

TOKEN = "s3cret-token"


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def helpdesk(root: Path, extra: str = "", fallback: bool = True) -> Path:
    """A copy of sample_tasks/helpdesk with ``extra`` task.yml text appended (top-level keys).
    ``fallback=False`` drops the fallback state, so a turn can reach no state (204)."""
    task = copy_sample("helpdesk", root)
    yml = task / "task.yml"
    text = yml.read_text(encoding="utf-8")
    if not fallback:
        text = text.replace("    fallback_state: dont_understand\n", "")
    yml.write_text(text + "\n" + textwrap.dedent(extra), encoding="utf-8")
    return task


async def raw_request(port: int, head: bytes, body_chunks: list[bytes] = (), timeout: float = 10.0) -> bytes:
    """Send ``head`` (request line and headers, ending in a blank line) and ``body_chunks`` to
    127.0.0.1:``port``, stop sending, and return everything the server answers until it
    closes the connection or ``timeout`` seconds pass."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        writer.write(head)
        for chunk in body_chunks:
            writer.write(chunk)
        await writer.drain()
        answer = b""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while b"\r\n\r\n" not in answer or not _complete(answer):
            left = deadline - loop.time()
            if left <= 0:
                break
            try:
                part = await asyncio.wait_for(reader.read(65536), left)
            except TimeoutError:
                break
            if not part:
                break
            answer += part
        return answer
    finally:
        writer.close()


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False


def status_of(answer: bytes) -> int:
    """The status code of a raw HTTP answer (0 when there is none)."""
    parts = answer.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
