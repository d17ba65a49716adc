"""Upstream idle timeout for BYOK flows.

mitmproxy has no read timeout on a streamed response, and Codex waits minutes before giving up
on a silent stream. We note each flow's last upstream activity and, past the limit, close the
upstream connection: Codex then sees the stream break and retries the turn.
"""

from __future__ import annotations

import logging
import time

from mitmproxy import ctx, http

log = logging.getLogger("codex_shim")


class IdleWatch:
    """Last-activity bookkeeping per flow; pure, so it is easy to reason about."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[http.HTTPFlow, float]] = {}

    def touch(self, flow: http.HTTPFlow, now: float | None = None) -> None:
        self._last[flow.id] = (flow, time.monotonic() if now is None else now)

    def forget(self, flow: http.HTTPFlow) -> None:
        self._last.pop(flow.id, None)

    def expired(self, limit: float, now: float | None = None) -> list[http.HTTPFlow]:
        """Flows silent for longer than `limit`; they stay watched until forgotten."""
        now = time.monotonic() if now is None else now
        return [flow for flow, last in self._last.values() if now - last > limit]

    def flows(self) -> list[http.HTTPFlow]:
        return [flow for flow, _ in self._last.values()]

    def __len__(self) -> int:
        return len(self._last)


def cut_upstream(flow: http.HTTPFlow, reason: str) -> bool:
    """Close the flow's server connection so both sides see the stream end in an error."""
    try:
        proxyserver = ctx.master.addons.get("proxyserver")
        handler = proxyserver.connections[flow.client_conn.id]
        io = handler.transports[flow.server_conn]
    except (AttributeError, KeyError):
        return False
    if io.handler is None:
        return False
    flow.metadata.setdefault("codex_shim", {})["error"] = reason
    io.handler.cancel(reason)
    return True
