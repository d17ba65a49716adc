"""A probe addon: the time codex-shim spends in the response stream hooks it installs, and the
garbage collector's pauses in its mitmdump.

Loaded with `-s` after addons/codex_shim.py. mitmproxy runs a hook through its addons in order
(AddonManager.trigger_event walks the chain; ScriptLoader keeps the scripts in `-s` order), and
the HTTP layer reads `flow.response.stream` only after every addon's `responseheaders` ran; so
the callable seen here is the one the shim set, and wrapping it times every call mitmproxy makes.
Depends on no name inside shim/. It writes "<ns> <calls> <gc ns> <longest full gc ns>" to the
file named by the `bench_hook_timer_out` option at the end of every flow (whole: written beside
it and renamed over it), and the bench reads the file between batches. The collector's pauses are
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

    def running(self) -> None:
        # From here on: start-up's own collections are not the turns'.
        if self._collecting not in gc.callbacks:
            gc.callbacks.append(self._collecting)

    def _collecting(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter_ns()
            return
        took = time.perf_counter_ns() - self._gc_started
        self.gc_ns += took
        if info["generation"] == 2:
            self.gc_full_longest_ns = max(self.gc_full_longest_ns, took)

    def done(self) -> None:
        if self._collecting in gc.callbacks:
            gc.callbacks.remove(self._collecting)

    def load(self, loader: Any) -> None:
        loader.add_option("bench_hook_timer_out", str, "", "File the stream-hook time is written to (bench only).")

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        assert flow.response is not None
        inner = flow.response.stream
        if not callable(inner):
            return
        flow.response.stream = self._timed(inner)

    def _timed(self, inner: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
        def timed(chunk: bytes) -> Any:
            start = time.thread_time_ns()
            try:
                return inner(chunk)
            finally:
                self.ns += time.thread_time_ns() - start
                self.calls += 1

        return timed

    def response(self, flow: http.HTTPFlow) -> None:
        if ctx.options.bench_hook_timer_out:
            out = Path(ctx.options.bench_hook_timer_out)
            partial = out.with_name(out.name + ".partial")
            partial.write_text(f"{self.ns} {self.calls} {self.gc_ns} {self.gc_full_longest_ns}")
            os.replace(partial, out)  # a reader never sees it half written


addons = [HookTimer()]
