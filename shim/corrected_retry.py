"""The once-per-turn retry after a provider refused a parameter codex-shim chose (shim/corrections.py).

The refusal arrives whole, before anything reached Codex, in the response hook of Codex's own
flow; the corrected request goes out as a client replay of its own (shim/byok_call.py: mitmweb
shows it, upstream options apply) whose outlet is a `CollectedAnswer`. Codex's flow is answered
with what it collected, in one piece: an HTTP response cannot be streamed from a hook that has
already been handed the whole refusal. That costs one turn per route until the next reload,
since the correction is remembered.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from mitmproxy import http

from .errors import ShimError
from .event_sinks import EventSink
from .outlets import Outlet

if TYPE_CHECKING:
    from .exchange import ByokExchange


class Collecting:
    """A sink that writes into another and keeps a copy of what it drained (the retry flow's
    own body keeps the SSE too, so mitmweb shows it)."""

    def __init__(self, inner: EventSink) -> None:
        self.inner = inner
        self.collected = bytearray()

    def write(self, event_type: str, data: bytes, event: dict[str, Any] | None) -> None:
        self.inner.write(event_type, data, event)

    def framing(self, event_type: str) -> tuple[bytes, bytes]:
        return self.inner.framing(event_type)

    def write_framed(self, framed: bytes) -> None:
        self.inner.write_framed(framed)

    def relayed(self, event_type: str, data: str, event: dict[str, Any] | None) -> None:
        self.inner.relayed(event_type, data, event)

    def drain(self) -> bytes:
        out = self.inner.drain()
        self.collected += out
        return out


class CollectedAnswer:
    """The outlet of the retried call: it writes into the refused call's own outlet's sink and
    holds the answer until it is over; the refused call's outlet then delivers it."""

    name = "retry"
    anonymous = False
    reports_outcome = False  # the refused call's flow reports the turn
    answers_on_flow = False
    streams = True

    def __init__(self, codex_outlet: Outlet) -> None:
        self._sink = Collecting(codex_outlet.sink())
        self.error: ShimError | None = None
        self.done = asyncio.Event()

    def sink(self) -> EventSink:
        return self._sink

    def events(self) -> bytes:
        return bytes(self._sink.collected)

    def answered(self, status: int) -> None:
        pass

    def deliver(self, flow: http.HTTPFlow, exchange: ByokExchange, events: bytes) -> None:
        self.done.set()

    def deliver_error(self, flow: http.HTTPFlow, exchange: ByokExchange, error: ShimError) -> None:
        self.error = error
        self.done.set()

    def broken(self, flow: http.HTTPFlow, exchange: ByokExchange, reason: str) -> None:
        self.error = ShimError(502, "upstream_connection_error", f"codex-shim: the corrected request failed: {reason}")
        self.done.set()

    def replay_ended(self) -> None:
        """The retry's replay is over: if no hook said how (an addon killed the flow), Codex is not left waiting."""
        if not self.done.is_set():
            self.error = ShimError(502, "upstream_connection_error", "codex-shim: the corrected request ended without an answer")
            self.done.set()
