"""Upstream idle timeout for BYOK calls.

mitmproxy has no read timeout on a streamed response, and Codex waits minutes before giving up
on a silent stream. Each exchange notes when its upstream last sent something; past the limit
the upstream connection is closed, so Codex sees the stream break and retries the turn.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from mitmproxy import ctx, http

from ..exchange import METADATA_KEY, ByokExchange
from ..replays import cancel_replay
from ..state import Shim

log = logging.getLogger("codex_shim")

CHECK_EVERY_S = 1.0


class IdleCutter:
    def __init__(self, shim: Shim) -> None:
        self.shim = shim
        self._task: asyncio.Task[None] | None = None

    def load(self, loader: Any) -> None:
        loader.add_option(
            "codex_shim_idle_timeout",
            int,
            120,
            "Seconds a BYOK upstream may stay silent (before or during its answer) before codex-shim "
            "cuts it so that Codex retries. 0 disables.",
        )

    def running(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._watch())

    def done(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(CHECK_EVERY_S)
            limit = ctx.options.codex_shim_idle_timeout
            if limit > 0:
                self.cut_silent(limit)

    def cut_silent(self, limit: float, now: float | None = None) -> None:
        for flow, exchange in silent(self.shim.exchanges.byok_flows(), limit, time.monotonic() if now is None else now):
            reason = f"codex-shim: the provider sent nothing for {limit}s; connection closed so Codex retries"
            cut = cancel_replay(exchange.replay, reason) if exchange.replay is not None else cut_upstream(flow, reason)
            if cut:
                log.warning(f"{reason} ({flow.request.pretty_host})")
                exchange.last_upstream_activity = None
            elif not flow.live:
                exchange.last_upstream_activity = None  # already over; nothing left to cut


def silent(
    exchanges: list[tuple[http.HTTPFlow, ByokExchange]], limit: float, now: float
) -> list[tuple[http.HTTPFlow, ByokExchange]]:
    """The exchanges whose upstream has been silent for longer than `limit` seconds."""
    return [
        (flow, exchange)
        for flow, exchange in exchanges
        if exchange.last_upstream_activity is not None and now - exchange.last_upstream_activity > limit
    ]


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
    flow.metadata.setdefault(METADATA_KEY, {})["error"] = reason
    io.handler.cancel(reason)
    return True
