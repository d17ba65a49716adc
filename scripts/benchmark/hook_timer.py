"""A probe addon: the time codex-shim spends in the response stream hooks it installs, and the
garbage collector's pauses in its mitmdump.

Loaded with `-s` after addons/codex_shim.py. mitmproxy runs a hook through its addons in order
(AddonManager.trigger_event walks the chain; ScriptLoader keeps the scripts in `-s` order), and
the HTTP layer reads `flow.response.stream` only after every addon's `responseheaders` ran; so
the callable seen here is the one the shim set, and wrapping it times every call mitmproxy makes.
Depends on no name inside shim/. It writes "<ns> <calls> <gc ns> <longest full gc ns> <turns>
<collections>" to the file named by the `bench_hook_timer_out` option at the end of every flow
(whole: written beside it and renamed over it), and the bench reads the file between batches. The
last two count the collections that ran on a turn's way to its first delta: from the request's
headers (this probe's hook, after the addon's) until the stream hook's output first holds a text
delta, over every turn that got that far. A collection there delays that turn's first delta by its
whole pause (~0.2 ms for a young one here, cache-cold), where between turns it delays nothing. The collector's pauses are
wall-clock time (a pause stalls every stream at once), from a `gc.callbacks` entry once mitmproxy
is running: all collections together, and the longest of the full (oldest-generation) ones, which
walk every surviving object (the young ones take well under a millisecond).

thread_time_ns, the CPU clock of mitmproxy's event-loop thread, which runs the hook: a wall clock
would also count the time the thread sat descheduled when other work shares the machine. Each
reading is a system call (~0.25 µs), small against the ~10 µs a delta costs in the hook.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mitmproxy import ctx, http


class HookTimer:
    def __init__(self) -> None:
        self.ns = 0
        self.calls = 0
        self.gc_ns = 0
        self.gc_full_longest_ns = 0
        self._gc_started = 0
        self._collections = 0  # collections so far
        self._waiting: dict[str, int] = {}  # flows on their way to the first delta: collections when their request came
        self.turns = 0  # turns whose first delta went out
        self.turn_collections = 0  # collections on their way there

    def running(self) -> None:
        # From here on: start-up's own collections are not the turns'.
        if self._collecting not in gc.callbacks:
            gc.callbacks.append(self._collecting)

    def _collecting(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter_ns()
            return
        took = time.perf_counter_ns() - self._gc_started
        self._collections += 1
        self.gc_ns += took
        if info["generation"] == 2:
            self.gc_full_longest_ns = max(self.gc_full_longest_ns, took)

    def done(self) -> None:
        if self._collecting in gc.callbacks:
            gc.callbacks.remove(self._collecting)

    def load(self, loader: Any) -> None:
        loader.add_option("bench_hook_timer_out", str, "", "File the stream-hook time is written to (bench only).")

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        self._waiting[flow.id] = self._collections

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        assert flow.response is not None
        inner = flow.response.stream
        if not callable(inner):
            return
        flow.response.stream = self._timed(inner, flow.id)

    def _timed(self, inner: Callable[[bytes], Any], flow_id: str) -> Callable[[bytes], Any]:
        def timed(chunk: bytes) -> Any:
            start = time.thread_time_ns()
            out = None
            try:
                out = inner(chunk)
                return out
            finally:
                self.ns += time.thread_time_ns() - start
                self.calls += 1
                if flow_id in self._waiting and out and _holds_a_delta(out):
                    self.turns += 1
                    self.turn_collections += self._collections - self._waiting.pop(flow_id)

        return timed

    def error(self, flow: http.HTTPFlow) -> None:
        self._waiting.pop(flow.id, None)

    def response(self, flow: http.HTTPFlow) -> None:
        self._waiting.pop(flow.id, None)
        if ctx.options.bench_hook_timer_out:
            out = Path(ctx.options.bench_hook_timer_out)
            partial = out.with_name(out.name + ".partial")
            partial.write_text(f"{self.ns} {self.calls} {self.gc_ns} {self.gc_full_longest_ns} {self.turns} {self.turn_collections}")
            os.replace(partial, out)  # a reader never sees it half written


def _holds_a_delta(out: Any) -> bool:
    """Whether a stream hook's output (bytes, or pieces of them) holds a text delta event."""
    pieces = [out] if isinstance(out, bytes) else out
    return any(b"output_text.delta" in piece for piece in pieces)


addons = [HookTimer()]
