"""uvicorn's HTTP protocol with a deadline and a size bound on every request's headers.

uvicorn times out idle keep-alive connections, but a connection that never sends a
request (or sends its headers a byte at a time) is kept forever, and httptools does not
bound the headers' size: a few thousand silent TCP connections exhaust the process's file
descriptors and the server stops answering everyone. This protocol closes a connection
whose request line and headers are not complete within ``serve.handshake_timeout``
seconds (408), and one whose request line and headers exceed ``serve.max_header_bytes``
(431). A websocket upgrade hands the socket to the websocket protocol, whose first-frame
deadline is the websocket service's (docs/serve.md).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def limited_protocol(header_timeout: float, max_header_bytes: int) -> type[asyncio.Protocol]:
    """An ``HttpToolsProtocol`` class with these limits, for ``uvicorn.Config(http=...)``."""

    class LimitedHttpProtocol(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None
        _header_bytes = 0
        _refused = False

        def data_received(self, data: bytes) -> None:
            if not self._refused:  # once refused, nothing more is parsed
                super().data_received(data)

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._header_bytes = 0
            if self._deadline is None:
                self._arm()  # the next request on a keep-alive connection gets its own deadline

        def on_url(self, url: bytes) -> None:
            self._count(len(url))
            if not self._refused:
                super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count(len(name) + len(value) + 4)
            if not self._refused:
                super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._disarm()
            if not self._refused:
                super().on_headers_complete()

        def on_body(self, body: bytes) -> None:
            if not self._refused:
                super().on_body(body)

        def on_message_complete(self) -> None:
            if not self._refused:
                super().on_message_complete()

        def _count(self, size: int) -> None:
            self._header_bytes += size
            if self._header_bytes > max_header_bytes:
                self._refuse(431, b"Request Header Fields Too Large")

        def _arm(self) -> None:
            if header_timeout > 0:
                self._deadline = self.loop.call_later(header_timeout, self._refuse, 408, b"Request Timeout")

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _refuse(self, status: int, reason: bytes) -> None:
            self._disarm()
            if self._refused:
                return
            self._refused = True
            transport = self.transport
            if transport is None or transport.is_closing():
                return
            transport.write(b"HTTP/1.1 %d %s\r\ncontent-length: 0\r\nconnection: close\r\n\r\n" % (status, reason))
            transport.close()

    return LimitedHttpProtocol
