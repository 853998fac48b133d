"""What the server's logs may hold: no message text, no query strings, no credentials.

uvicorn's access log prints every request's query string (the Messenger verify token
travels in one), and at ``--log-level debug`` the websockets library logs each frame's
content (what people write: passwords, card numbers) and the request's headers
(``Authorization``, ``Cookie``). :class:`PrivateRecords` rewrites those records before
any handler sees them: paths lose their query string, frames become their kind and size,
credential headers are redacted. ``workbench serve --log-messages`` keeps frame contents
for a developer who asks for them; query strings and credentials are never logged.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

#: the loggers uvicorn (and the websockets library it drives) write to
UVICORN_LOGGERS = ("uvicorn.error", "uvicorn.access")
#: header values never logged
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-hub-signature-256"})
REDACTED = "[redacted]"


def without_query(path: Any) -> Any:
    """``path`` without its ``?query`` (other values as they are)."""
    return path.split("?", 1)[0] if isinstance(path, str) else path


class PrivateRecords(logging.Filter):
    """A logger filter that rewrites records which would print what people send."""

    def __init__(self, log_messages: bool = False) -> None:
        super().__init__("workbench.private")
        self.log_messages = log_messages

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if not isinstance(args, tuple) or not args:
            return True
        msg = record.msg
        if msg in ("< %s", "> %s") and len(args) == 1 and hasattr(args[0], "opcode"):
            if not self.log_messages:  # a websocket frame: its kind and size, not its content
                frame: Any = args[0]
                record.msg = "%s %s frame [%d bytes]"
                record.args = (msg[0], getattr(frame.opcode, "name", frame.opcode), len(getattr(frame, "data", b"")))
        elif msg in ("< %s: %s", "> %s: %s") and len(args) == 2:  # a handshake header
            if str(args[0]).lower() in SECRET_HEADERS:
                record.args = (args[0], REDACTED)
        elif msg == "< %s %s %s" and len(args) == 3:  # the handshake's request line
            record.args = (args[0], without_query(args[1]), args[2])
        elif isinstance(msg, str) and '"' in msg:
            # uvicorn's access line and its websocket lines: '%s - "%s %s HTTP/%s" %d',
            # '%s - "WebSocket %s" [accepted]': every path loses its query string
            record.args = tuple(without_query(a) if isinstance(a, str) and "?" in a else a for a in args)
        return True


_installed: PrivateRecords | None = None


def protect_logs(log_messages: bool = False) -> None:
    """Install (once) or update the filter on uvicorn's loggers."""
    global _installed
    if _installed is None:
        _installed = PrivateRecords(log_messages)
        for name in UVICORN_LOGGERS:
            logging.getLogger(name).addFilter(_installed)
    _installed.log_messages = log_messages


def log_workbench(level: str) -> None:
    """Send workbench's own log lines to stderr at ``level``, formatted as uvicorn's are
    (for `workbench serve`; the TUI collects them itself)."""
    from uvicorn.logging import DefaultFormatter

    logger = logging.getLogger("workbench")
    logger.setLevel(level.upper() if level.lower() != "trace" else logging.DEBUG)
    if not any(getattr(h, "_workbench", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(DefaultFormatter("%(levelprefix)s %(message)s", use_colors=None))
        handler._workbench = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
