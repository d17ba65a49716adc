"""A loopback HTTP server inside mitmdump that answers a Codex flow from elsewhere.

mitmproxy streams a response only from a server it is connected to; an answer an addon makes
itself goes out whole. A turn with fallbacks must not commit to one provider before that
provider has answered, so its Codex flow is pointed here instead: the relay holds the response
until one attempt (a client-replayed flow per provider, visible in mitmweb) has answered, then
streams that attempt's translated events through. One path per turn, with a random token; a
path is served once.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable

log = logging.getLogger("codex_shim")

Serve = Callable[["RelayResponse"], Awaitable[None]]
MAX_HEAD = 64 * 1024


class RelayResponse:
    """The relay's answer to one Codex flow: a status line and headers once, then the body, which
    ends when the connection closes (so no length or chunking is needed)."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self.started = False
        self.closed = False

    def start(self, status: int, headers: dict[str, str]) -> None:
        if self.started or self.closed:
            return
        self.started = True
        lines = [f"HTTP/1.1 {status} {'OK' if status < 400 else 'Error'}", "connection: close"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def write(self, data: bytes) -> None:
        if data and not self.closed:
            self._writer.write(data)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._writer.close()


class Relay:
    def __init__(self) -> None:
        self._server: asyncio.base_events.Server | None = None
        self._pending: dict[str, Serve] = {}
        self._starting = False
        self.port = 0

    async def start(self) -> None:
        if self._server is None and not self._starting:
            self._starting = True
            try:
                self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
                self.port = self._server.sockets[0].getsockname()[1]
            finally:
                self._starting = False

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def register(self, serve: Serve) -> str:
        """A path that, requested once, is answered by `serve`."""
        token = secrets.token_urlsafe(24)
        self._pending[token] = serve
        return f"/relay/{token}"

    def forget(self, path: str) -> None:
        self._pending.pop(path.rsplit("/", 1)[-1], None)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        response = RelayResponse(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            if len(head) > MAX_HEAD:
                raise ValueError("request head too large")
            path = head.split(b" ", 2)[1].decode("ascii", "replace")
            serve = self._pending.pop(path.rsplit("/", 1)[-1], None)
            if serve is None or not path.startswith("/relay/"):
                response.start(404, {"content-type": "text/plain"})
                response.write(b"codex-shim relay: nothing to serve here\n")
                return
            await serve(response)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError, IndexError) as exc:
            log.debug(f"codex-shim relay: {exc!r}")
        finally:
            response.close()
