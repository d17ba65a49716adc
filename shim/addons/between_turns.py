"""Young-generation garbage collections between turns, not inside the next one.

Python collects its youngest objects whenever enough of them have piled up, wherever that
happens. In mitmdump, a turn's own objects are freed as it ends (the Router lets go of its
stream), so the pile grows only while the next request is read, translated and sent: measured
in a live mitmdump, nearly every collection (~0.2 ms each, 0.37 a turn) landed between a
request's arrival and its first delta. Once a flow is over, this collects the youngest
generation if it is half full, after mitmproxy has sent the end of the answer (`call_soon`):
the next request starts with room to spare. Same process, same thresholds; a user who turned
the collector off (`gc.disable()` or a threshold of 0) keeps it off.
"""

from __future__ import annotations

import asyncio
import gc

from mitmproxy import http


class BetweenTurns:
    def __init__(self) -> None:
        self._scheduled = False

    def response(self, flow: http.HTTPFlow) -> None:
        self._after_flow()

    def error(self, flow: http.HTTPFlow) -> None:
        self._after_flow()

    def _after_flow(self) -> None:
        if self._scheduled or not _collecting():
            return
        loop = asyncio.get_running_loop()
        self._scheduled = True  # many flows ending together: one look
        loop.call_soon(self.collect_if_half_full)

    def collect_if_half_full(self) -> None:
        self._scheduled = False
        if _collecting() and gc.get_count()[0] > gc.get_threshold()[0] // 2:
            gc.collect(0)


def _collecting() -> bool:
    """Whether Python collects on its own: not after gc.disable(), nor gc.set_threshold(0)."""
    return gc.isenabled() and gc.get_threshold()[0] > 0
