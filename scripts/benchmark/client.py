"""Timed fetches with a raw socket: time to the first text delta and to the end of the body.

A raw socket rather than an HTTP library so the client adds as little as possible to what is
measured: it looks for the first delta's marker in the bytes as they arrive and parses afterwards.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from .answers import responses_problem
from .proxies import ROOT, ROUTE, PlainMitmdump, ShimMitmdump
from .upstream import DATA_ONLY, FakeUpstream

# Direct fetches: where the shape's first text delta shows in the raw bytes.
DIRECT_MARK = {"chat": b'"delta":{"content":', "anthropic": b'"text_delta"', "responses": b"response.output_text.delta",
               "openrouter": b"response.output_text.delta"}
PROXY_MARK = b"response.output_text.delta"


@dataclass
class Fetch:
    status: int
    ttfd: float | None  # seconds from sending the request to the first text delta
    total: float  # seconds from sending the request to the end of the body
    body: bytes  # de-chunked
    started: float = 0.0  # time.perf_counter() as the connection was opened (the leg probes' clock)

    def problem(self, n: int) -> str | None:
        """Why this is not a whole Responses stream of the n-delta answer, or None."""
        return responses_problem(self.status, self.body, n)


def fetch(port: int, target: str, host: str, payload: bytes, mark: bytes, timeout: float = 60.0) -> Fetch:
    """POST to 127.0.0.1:port, timing the first `mark` and the end without parsing on the way."""
    request = (f"POST {target} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
               f"accept: text/event-stream\r\ncontent-length: {len(payload)}\r\nconnection: close\r\n\r\n").encode()
    start = time.perf_counter()
    deadline = start + timeout
    parts: list[bytes] = []
    ttfd: float | None = None
    tail = b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(request + payload)
        while True:
            data = sock.recv(1 << 18)
            now = time.perf_counter()
            if not data:
                break
            parts.append(data)
            window = tail + data[:64]
            if ttfd is None and (mark in data or mark in window):
                ttfd = now - start
            tail = (tail + data)[-64:] if len(data) < 64 else data[-64:]
            if tail.endswith(b"\r\n0\r\n\r\n"):  # the last chunk: no need to wait for the close
                break
            if now > deadline:
                raise TimeoutError(f"{target}: no end after {timeout}s")
    total = time.perf_counter() - start
    raw = b"".join(parts)
    head, _, rest = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    chunked = b"transfer-encoding: chunked" in head.lower()
    return Fetch(status, ttfd, total, dechunk(rest) if chunked else rest, start)


def dechunk(data: bytes) -> bytes:
    out, pos = [], 0
    while pos < len(data):
        eol = data.index(b"\r\n", pos)
        size = int(data[pos:eol].split(b";")[0], 16)
        if size == 0:
            break
        out.append(data[eol + 2 : eol + 2 + size])
        pos = eol + 2 + size + 2
    return b"".join(out)


def provider_payload(shape: str, n: int, rate: int) -> tuple[str, bytes]:
    """The request a client would send the provider itself (the fake reads only n= and rate=)."""
    prompt = f"n={n} rate={rate}"
    if shape == "chat":
        body: dict[str, Any] = {"model": "bench-model", "messages": [{"role": "user", "content": prompt}], "stream": True}
        return "/v1/chat/completions", json.dumps(body).encode()
    if shape == "anthropic":
        body = {"model": "bench-model", "max_tokens": 64000, "messages": [{"role": "user", "content": prompt}], "stream": True}
        return "/v1/messages", json.dumps(body).encode()
    body = {"model": "bench-model", "input": prompt, "stream": True}
    return (f"/v1{DATA_ONLY}/responses" if shape == "openrouter" else "/v1/responses"), json.dumps(body).encode()


def _asking(n: int, rate: int) -> dict[str, Any]:
    """The user message that asks the fake for the n-delta answer at `rate` (it reads n= and rate=)."""
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": f"n={n} rate={rate}"}]}


def responses_payload(model: str, n: int, rate: int) -> bytes:
    """What Codex sends: a Responses request (trimmed to what matters here)."""
    return json.dumps({
        "model": model, "instructions": "You are a benchmark.", "stream": True, "store": False,
        "input": [_asking(n, rate)], "tools": [], "tool_choice": "auto", "parallel_tool_calls": False,
    }).encode()


CODEX_REQUEST = ROOT / "tests" / "fixtures" / "codex" / "codex-0.171-responses-request.json"


@cache
def _codex_request() -> dict[str, Any]:
    body: dict[str, Any] = json.loads(CODEX_REQUEST.read_text())
    return body


def codex_payload(model: str, n: int, rate: int) -> bytes:
    """Codex 0.171's own request as captured (45 KB: its tools, developer instructions and three
    earlier messages), its last message asking the fake for the n-delta answer: what a turn's
    parsing, translation and echoed settings cost at the size Codex sends, which the trimmed
    request above leaves out."""
    body = {**_codex_request(), "model": model}
    body["input"] = [*body["input"][:-1], _asking(n, rate)]
    return json.dumps(body).encode()


class Client:
    """The three ways the bench fetches an answer: from the fake directly, via a proxy, via the shim."""

    def __init__(self, upstream: FakeUpstream, shim: ShimMitmdump) -> None:
        self.upstream = upstream
        self.shim = shim

    def direct(self, shape: str, n: int, rate: int) -> Fetch:
        path, payload = provider_payload(shape, n, rate)
        return fetch(self.upstream.port, path, self.upstream.host, payload, DIRECT_MARK[shape])

    def via(self, proxy: ShimMitmdump | PlainMitmdump, model: str, n: int, rate: int, codex_sized: bool = False) -> Fetch:
        """A Responses request for `model` through `proxy` (an absolute URL, as to an HTTP proxy);
        `codex_sized`: Codex's own captured request rather than the trimmed one."""
        host = self.upstream.host
        payload = (codex_payload if codex_sized else responses_payload)(model, n, rate)
        return fetch(proxy.port, f"http://{host}/v1/responses", host, payload, PROXY_MARK)

    def proxied(self, shape: str, n: int, rate: int, codex_sized: bool = False) -> Fetch:
        """The shim translating the fake's `shape` stream back into Responses SSE."""
        return self.via(self.shim, ROUTE[shape], n, rate, codex_sized)
