"""Upstream calls codex-shim makes itself, as mitmproxy client replays (so upstream options
apply and mitmweb shows them): starting one, and stopping it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from mitmproxy import ctx, http
from mitmproxy.addons.clientplayback import ReplayHandler


def start_replay(
    flow: http.HTTPFlow, tasks: set[asyncio.Task[None]], then: Callable[[], None] | None = None
) -> ReplayHandler:
    """Send `flow` upstream now; the task is kept in `tasks` until it ends, then `then` runs."""
    handler = ReplayHandler(flow, ctx.options)
    task = asyncio.get_running_loop().create_task(handler.replay())
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    if then is not None:
        task.add_done_callback(lambda _: then())
    return handler


def cancel_replay(handler: ReplayHandler, reason: str) -> bool:
    """Stop a replayed call's connections; True if one was still open."""
    cancelled = False
    for io in handler.transports.values():
        if io.handler is not None and not io.handler.done():
            io.handler.cancel(reason)
            cancelled = True
    return cancelled
