"""The fake streaming provider: its own process, 127.0.0.1 only, one SSE event per HTTP chunk.

Not tests/fakes/http_server.FakeServer: that is a threaded server inside the test process, which
here would share the GIL with the client doing the timing, sends with Nagle on, listens with a
backlog of 5 (50 simultaneous streams) and paces by sleeping a fixed delay per piece, which drifts.
This one paces against an absolute schedule (`rate` deltas per second) and caches the events (a
Responses answer per request body, since its response objects repeat the request's settings).

The request body carries `n=<deltas>` and optionally `rate=<deltas per second>` anywhere in it (in
the prompt), so the same fake serves direct fetches and what the proxy sends after translation.
The process serves until its stdin closes (the parent ended or died), at most LIFETIME seconds.
"""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Self

from tests.harness import free_port, wait_for_port

from .answers import RESPONSES_SHAPES, answer_events
from .processes import stop

ROOT = Path(__file__).resolve().parents[2]
LIFETIME = 3600.0  # seconds; the longest bench takes a few minutes
READ_TIMEOUT = 120.0  # seconds an idle keep-alive connection is kept
MAX_REQUESTS_PER_CONNECTION = 10_000
Cache = dict[tuple[str, int | bytes], list[bytes]]
DATA_ONLY = "/data-only"
"""A base URL ending so gets Responses answers without `event:` lines, as OpenRouter's (shape "openrouter")."""


def shape_of(path: str) -> str | None:
    """Which provider shape a request path asks for (None: not one the fake serves)."""
    path = path.split("?", 1)[0]
    if path.endswith("/chat/completions"):
        return "chat"
    if path.endswith("/messages"):
        return "anthropic"
    if path.endswith(DATA_ONLY + "/responses"):
        return "openrouter"
    if path.endswith("/responses"):
        return "responses"
    return None


async def _send_stream(writer: asyncio.StreamWriter, events: list[bytes], rate: int) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
                 b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n")
    start = time.perf_counter()
    for i, event in enumerate(events):
        writer.write(b"%x\r\n%s\r\n" % (len(event), event))  # one event, one chunk, one send()
        if rate:
            ahead = start + i / rate - time.perf_counter()
            if ahead > 0:
                await asyncio.sleep(ahead)
        if i % 64 == 0:
            await writer.drain()
    writer.write(b"0\r\n\r\n")
    await writer.drain()


async def _serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, cache: Cache) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        for _ in range(MAX_REQUESTS_PER_CONNECTION):
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
            body = await reader.readexactly(int(headers.get("content-length") or 0))
            shape = shape_of(path)
            n_match, rate_match = re.search(rb"n=(\d+)", body), re.search(rb"rate=(\d+)", body)
            if shape is None or n_match is None:
                writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
                continue
            n, rate = int(n_match[1]), int(rate_match[1]) if rate_match else 0
            key = (shape, body) if shape in RESPONSES_SHAPES else (shape, n)  # a Responses answer repeats its request's settings
            events = cache.get(key)
            if events is None:
                events = cache[key] = answer_events(shape, n, body)
            await _send_stream(writer, events, rate)
            if headers.get("connection", "").lower() == "close":
                return
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        writer.close()


async def serve(port: int) -> None:
    """Serve on 127.0.0.1:port until stdin closes or LIFETIME passes."""
    cache: Cache = {}
    server = await asyncio.start_server(lambda r, w: _serve_connection(r, w, cache), "127.0.0.1", port, backlog=256)
    loop = asyncio.get_running_loop()
    stdin_closed = asyncio.Event()

    def watch_stdin() -> None:  # a daemon thread: a blocked read must not keep the process alive
        sys.stdin.read()
        loop.call_soon_threadsafe(stdin_closed.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        await asyncio.wait_for(stdin_closed.wait(), LIFETIME)
    except TimeoutError:
        pass
    server.close()


class FakeUpstream:
    """Runs `python -m scripts.benchmark.upstream PORT` and stops it on exit."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}/v1"

    def __enter__(self) -> Self:
        self.proc = subprocess.Popen([sys.executable, "-m", "scripts.benchmark.upstream", str(self.port)],
                                     cwd=ROOT, stdin=subprocess.PIPE)
        try:
            wait_for_port(self.port, self.proc)
        except Exception:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        if self.proc.stdin:
            self.proc.stdin.close()
        stop(self.proc)


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
