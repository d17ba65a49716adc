"""The two mitmdumps under test, started and stopped by tests.harness.Mitmdump.

The shim: `mitmdump -s addons/codex_shim.py` with the three bench routes, any --script files, and
the hook-timer probe last (it must come after the shim to see the stream hook the shim installed).
The yardstick: plain mitmdump, no addon, streaming bodies (stream_large_bodies=1), so passthrough
and CPU can be compared with what mitmproxy costs by itself.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Self

from tests.harness import Mitmdump

from .upstream import FakeUpstream

HOOK_TIMER = Path(__file__).with_name("hook_timer.py")
ROUTE = {"chat": "bench-chat", "anthropic": "bench-anthropic", "responses": "bench-responses"}
NATIVE_MODEL = "gpt-bench-native"  # not in models.json: the addon passes it through
KEY = "sk-bench-not-a-real-key"


def bench_routes(base_url: str) -> list[dict[str, str]]:
    """models.json entries routing each bench model to the fake upstream in its shape."""
    return [
        {"model": ROUTE["chat"], "provider": "generic-chat-completion-api", "base_url": base_url, "api_key": KEY},
        {"model": ROUTE["anthropic"], "provider": "anthropic", "base_url": base_url, "api_key": KEY},
        {"model": ROUTE["responses"], "provider": "responses", "base_url": base_url, "api_key": KEY},
    ]


class _MeasuredMitmdump(Mitmdump):
    """tests.harness.Mitmdump plus what the meters need: the pid, and `with` giving the subclass."""

    def __enter__(self) -> Self:
        super().__enter__()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid


class ShimMitmdump(_MeasuredMitmdump):
    """mitmdump with codex-shim routing the bench models to `upstream`, timed by the probe."""

    def __init__(self, workdir: Path, upstream: FakeUpstream, scripts: list[Path]) -> None:
        self.hook_timer_out = workdir / "hook_timer.out"
        extra = [arg for script in scripts for arg in ("-s", str(script))]
        extra += ["-s", str(HOOK_TIMER), "--set", f"bench_hook_timer_out={self.hook_timer_out}",
                  "--set", f"codex_shim_hosts={upstream.host}"]
        super().__init__(workdir, bench_routes(upstream.base_url), extra)

    def hook_ns(self) -> int:
        """CPU nanoseconds spent in the shim's stream hooks so far (the probe writes it after each flow)."""
        try:
            return int(self.hook_timer_out.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return 0


class PlainMitmdump(_MeasuredMitmdump):
    """mitmdump without any addon, streaming bodies: what mitmproxy alone costs."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, None)
        mitmdump = Path(sys.executable).parent / "mitmdump"
        self.args = [str(mitmdump), "--listen-host", "127.0.0.1", "-p", str(self.port),
                     "--set", f"confdir={self.confdir}", "--set", "stream_large_bodies=1"]
