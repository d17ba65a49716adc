"""A probe addon for `scripts/bench --against REF --legs`, loaded with `-s` *before* the addon:
when mitmproxy had Codex's connection, and when the provider's answer headers were read (before
any addon's `responseheaders`). legs_after.py, loaded after it, writes them out per flow.

Times are time.perf_counter(), CLOCK_MONOTONIC on Linux: the bench client's clock too.
"""

from __future__ import annotations

import time
from typing import Any

from mitmproxy import connection, http

KEY = "bench_legs"


class LegsBefore:
    def __init__(self) -> None:
        self._connected: dict[str, float] = {}

    def client_connected(self, client: connection.Client) -> None:
        self._connected[client.id] = time.perf_counter()

    def client_disconnected(self, client: connection.Client) -> None:
        self._connected.pop(client.id, None)

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        legs: dict[str, Any] = {"connected": self._connected.get(flow.client_conn.id, 0.0)}
        flow.metadata[KEY] = legs

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        legs = flow.metadata.get(KEY)
        if legs is not None:
            legs["answered"] = time.perf_counter()


addons = [LegsBefore()]
