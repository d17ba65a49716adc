"""Young-generation garbage collections between turns, not inside the next one.

Python collects its youngest objects whenever allocations minus frees pass a threshold (3.12: 700). A
turn's objects are freed as it ends (the Router lets go of its stream), so that count only climbs
while the next request is read, translated and sent: measured in a live mitmdump, 0.8 of the
~0.25 ms collections a turn landed between a request's arrival and its first delta (6398529, whose
flows kept their objects until a collection, 0.27). This collects the youngest generation if it is
half full once no request has been in flight for QUIET seconds: by then the finished flow and its
connection are garbage themselves. Collecting sooner (right after the response hook, while the
flow was alive) moved every turn's objects into the older generations, which only a full
collection empties: +11 KB a turn (tests/test_e2e_memory_per_turn.py).

And the youngest generation's threshold is raised from 3.12's 700 to 2000, the default of later
CPythons (3.14's collector starts its young collections at 2000): a turn with Codex's own request
(~45 KB) makes ~700 objects that live until its first delta (mitmproxy's connection and flow
included), so however empty the generation was when it began, the count passed 700 on the way.
Measured in live mitmdumps with a gc callback (bench fakes, Codex's request, 100 turns a route):
on the Responses routes 0.45 young collections a turn (~0.2 ms each) and 0.05 middle ones
(~0.55 ms) landed between the answer's headers and its first delta, most in the read of the
server's response.created; with 2000, none young and 0.01-0.02 middle. A user's own thresholds
(anything but Python's default) are kept; `done` puts the default back.

And what start-up built is kept out of full collections. Python's full collection walks every
object that has survived two younger ones: in a mitmdump with codex-shim ~95,000 before the first
turn (modules, classes, pydantic schemas, option tables), living as long as the process; each
full collection took 35-39 ms, every stream in flight stalled while it ran. Once mitmproxy is
running, this collects what start-up left behind and freezes the rest (`gc.freeze`: moved where
no collection looks): full collections then walk only what came after. A frozen object that
becomes garbage in a reference cycle is never collected, so `done` unfreezes, and a reloaded copy
(mitmproxy reloads the script when it changes) freezes afresh only FREEZE_AFTER seconds later and
at a moment no request is in flight: the old copy's cancelled tasks hold it until they have run,
and a flow in flight would be frozen with them. A user who turned the collector off
(`gc.disable()` or a threshold of 0) keeps it off.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import weakref

from mitmproxy import http

QUIET = 0.001  # seconds with no request in flight before collecting
FREEZE_AFTER = 1.0  # seconds after a reload before freezing, and between tries while requests are in flight
_reloaded = False  # a copy of this addon has been unloaded in this process (the `shim` package outlives reloads)
ACTIVE = sys.version_info < (3, 14)
"""Measured on CPython 3.12's collector; 3.14's incremental one counts its generations otherwise."""
PYTHON_THRESHOLDS = (700, 10, 10)  # CPython 3.12's defaults
YOUNG_THRESHOLD = 2000  # the youngest generation's, while running (see above)


class BetweenTurns:
    def __init__(self) -> None:
        self._in_flight: weakref.WeakSet[http.HTTPFlow] = weakref.WeakSet()
        self._timer: asyncio.TimerHandle | None = None
        self._freeze_timer: asyncio.TimerHandle | None = None
        self.collections = 0  # made so far (tests/fakes/between_turns_probe.py reads it)
        self.frozen = 0  # objects frozen after start-up (the same)
        self.raised = False  # whether this copy raised the youngest generation's threshold

    def running(self) -> None:
        if _collecting() and gc.get_threshold() == PYTHON_THRESHOLDS:
            gc.set_threshold(YOUNG_THRESHOLD, *PYTHON_THRESHOLDS[1:])
            self.raised = True
        if self.frozen or self._freeze_timer is not None or not _collecting():
            return
        if _reloaded:
            self._freeze_timer = asyncio.get_running_loop().call_later(FREEZE_AFTER, self.freeze_when_quiet)
        else:
            self.freeze_when_quiet()  # start-up: nothing has been in flight yet

    def done(self) -> None:
        global _reloaded
        _reloaded = True
        for timer in (self._timer, self._freeze_timer):
            if timer is not None:
                timer.cancel()
        self._timer = self._freeze_timer = None
        if self.raised and gc.get_threshold() == (YOUNG_THRESHOLD, *PYTHON_THRESHOLDS[1:]):
            gc.set_threshold(*PYTHON_THRESHOLDS)
        self.raised = False
        if self.frozen:
            gc.unfreeze()
            self.frozen = 0

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        self._in_flight.add(flow)

    def response(self, flow: http.HTTPFlow) -> None:
        self._finished(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self._finished(flow)

    def _finished(self, flow: http.HTTPFlow) -> None:
        self._in_flight.discard(flow)
        if self._in_flight or not _collecting():
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(QUIET, self.collect_if_quiet)

    def collect_if_quiet(self) -> None:
        self._timer = None
        if self._in_flight or not _collecting():
            return
        count, threshold = gc.get_count(), gc.get_threshold()
        # A young collection counts towards the middle generation's, which Python makes at its next
        # collection once that count passes its threshold: so stop there and let Python make it (and
        # decide on the oldest). Collecting the youngest for ever, the middle one never came and
        # kept every dead turn: +11 KB a turn.
        if count[0] > threshold[0] // 2 and count[1] <= threshold[1]:
            gc.collect(0)
            self.collections += 1

    def freeze_when_quiet(self) -> None:
        self._freeze_timer = None
        if self.frozen or not _collecting():
            return
        if self._in_flight:
            self._freeze_timer = asyncio.get_running_loop().call_later(FREEZE_AFTER, self.freeze_when_quiet)
            return
        gc.collect()
        gc.freeze()
        self.frozen = gc.get_freeze_count()


def _collecting() -> bool:
    """Whether Python collects on its own: not after gc.disable(), nor gc.set_threshold(0)."""
    return ACTIVE and gc.isenabled() and gc.get_threshold()[0] > 0
