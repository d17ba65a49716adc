"""The once-per-turn retry after a provider refused a parameter codex-shim chose (shim/corrections.py).

The refusal arrives whole, before anything reached Codex, in the response hook of Codex's own
flow; the corrected request goes out as a client replay of its own (so mitmweb shows it, and
upstream options apply) whose exchange writes into a `CollectedAnswer`. Codex's flow is answered
with what it collected, in one piece: an HTTP response cannot be streamed from a hook that has
already been handed the whole refusal. That costs one turn per route until the next reload,
since the correction is remembered.
"""

from __future__ import annotations

import asyncio

from .errors import ShimError
from .event_sinks import EventSink, JSONSink, SSESink


class CollectingSSESink(SSESink):
    """SSE for the retry flow's own body, and a copy for Codex's flow."""

    def __init__(self) -> None:
        super().__init__()
        self.collected = bytearray()

    def drain(self) -> bytes:
        out = super().drain()
        self.collected += out
        return out


class CollectedAnswer:
    """An Attempt (shim/exchange.py) that keeps the retried answer until it is over."""

    def __init__(self, legacy_compact: bool) -> None:
        self.events = JSONSink() if legacy_compact else CollectingSSESink()
        self.status = 0
        self.error: ShimError | None = None
        self.done = asyncio.Event()

    def sink(self) -> EventSink:
        return self.events

    def answered(self, status: int) -> None:
        self.status = status

    def failed(self, error: ShimError, status: int) -> None:
        self.error = error
        self.done.set()

    def broken(self, reason: str) -> None:
        self.error = ShimError(502, "upstream_connection_error", f"codex-shim: the corrected request failed: {reason}")
        self.done.set()

    def finished(self) -> None:
        self.done.set()
