"""The embedding model in a process of its own, spoken to over a pipe.

Importing torch and transformers and reading the weights takes seconds of CPU, much
of it holding the interpreter lock (loading shared libraries, initialising modules):
in the process that serves people, a reply sent meanwhile waited seconds. So the
model lives in a child process (``python -m workbench.engines.retrieval.encoder_process``),
started by :class:`workbench.engines.retrieval.embedder.RemoteEncoder`; the serving
process never imports torch, and its turns only wait for their own encoding.

The protocol, on the child's standard input and output (binary, little-endian):

* the child starts with one message: ``OK <model name> <dimension>\\n``, or
  ``ERROR <reason>\\n`` when the model cannot be loaded (then it exits);
* a request is a 4-byte length and that many bytes of a JSON list of texts;
* a reply is a 4-byte row count and a 4-byte dimension followed by the float32 rows,
  or a row count of 0xFFFFFFFF and a 4-byte length of an error message.

End of input (the parent closed the pipe, or died) ends the child.
"""

from __future__ import annotations

import json
import struct
import sys

FAILED = 0xFFFFFFFF
#: the largest request accepted (bytes of JSON): a batch of texts, each cut to MAX_CHARS
MAX_REQUEST = 64 * 1024 * 1024


def _read_exact(stream, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def main() -> int:
    out = sys.stdout.buffer
    source = sys.stdin.buffer
    try:
        from workbench.engines.retrieval.embedder import MiniLMEncoder

        encoder = MiniLMEncoder()
    except Exception as exc:  # the parent falls back to BM25 and says why
        out.write(f"ERROR {type(exc).__name__}: {exc}".replace("\n", " ").encode() + b"\n")
        out.flush()
        return 1
    out.write(f"OK {encoder.name} {encoder.dim}\n".encode())
    out.flush()
    while True:
        header = _read_exact(source, 4)
        if header is None:
            return 0
        (length,) = struct.unpack("<I", header)
        body = _read_exact(source, length) if length <= MAX_REQUEST else None
        if body is None:
            return 0
        try:
            texts = json.loads(body)
            if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
                raise ValueError("expected a JSON list of texts")
            vectors = encoder.encode(texts)
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}".encode()
            out.write(struct.pack("<II", FAILED, len(message)) + message)
        else:
            rows, dim = vectors.shape
            out.write(struct.pack("<II", rows, dim) + vectors.astype("<f4").tobytes())
        out.flush()


if __name__ == "__main__":
    raise SystemExit(main())
