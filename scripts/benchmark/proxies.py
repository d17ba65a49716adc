"""The two mitmdumps under test, started and stopped by tests.harness.Mitmdump.

The shim: `mitmdump -s addons/codex_shim.py` with the three bench routes, any --script files, and
the hook-timer probe last (it must come after the shim to see the stream hook the shim installed).
The yardstick: plain mitmdump, no addon, streaming bodies (stream_large_bodies=1), so passthrough
and CPU can be compared with what mitmproxy costs by itself.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Self

from tests.harness import ROOT, Mitmdump

from .upstream import DATA_ONLY, FakeUpstream

HOOK_TIMER = Path(__file__).with_name("hook_timer.py")
LEGS_BEFORE, LEGS_AFTER = Path(__file__).with_name("legs_before.py"), Path(__file__).with_name("legs_after.py")
ROUTE = {"chat": "bench-chat", "anthropic": "bench-anthropic", "responses": "bench-responses", "openrouter": "bench-openrouter"}
NATIVE_MODEL = "gpt-bench-native"  # not in models.json: the addon passes it through
KEY = "sk-bench-not-a-real-key"


def bench_routes(base_url: str) -> list[dict[str, str]]:
    """models.json entries routing each bench model to the fake upstream in its shape."""
    return [
        {"model": ROUTE["chat"], "provider": "generic-chat-completion-api", "base_url": base_url, "api_key": KEY},
        {"model": ROUTE["anthropic"], "provider": "anthropic", "base_url": base_url, "api_key": KEY},
        {"model": ROUTE["responses"], "provider": "responses", "base_url": base_url, "api_key": KEY},
        {"model": ROUTE["openrouter"], "provider": "responses", "base_url": base_url + DATA_ONLY, "api_key": KEY},
    ]


def declared_options(root: Path) -> set[str]:
    """The codex_shim_* options the addon in checkout `root` declares (loader.add_option calls)."""
    found: set[str] = set()
    for source in (root / "shim").rglob("*.py"):
        found.update(re.findall(r'add_option\(\s*"(codex_shim_\w+)"', source.read_text(errors="replace")))
    return found


def only_declared(args: list[str], root: Path) -> list[str]:
    """`args` without the `--set codex_shim_X=…` pairs the addon in `root` does not know."""
    known = declared_options(root)
    kept: list[str] = []
    i = 0
    while i < len(args):
        if args[i] == "--set" and i + 1 < len(args):
            name = args[i + 1].split("=", 1)[0]
            if not name.startswith("codex_shim_") or name in known:
                kept += args[i : i + 2]
            i += 2
        else:
            kept.append(args[i])
            i += 1
    return kept


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
    """mitmdump with codex-shim routing the bench models to `upstream`, timed by the probe.

    `root`: the checkout whose addons/codex_shim.py runs (another git ref's, for --against); its
    script puts that checkout first on sys.path, so its own `shim` package is the one imported.
    Options that checkout does not declare are left out (an older ref lacks newer ones).
    `legs`: the leg probes load before and after the addon (see `legs`)."""

    def __init__(self, workdir: Path, upstream: FakeUpstream, scripts: list[Path], root: Path = ROOT, legs: bool = False) -> None:
        self.hook_timer_out = workdir / "hook_timer.out"
        self.legs_out = workdir / "legs.out" if legs else None
        extra = [arg for script in scripts for arg in ("-s", str(script))]
        if self.legs_out is not None:
            extra += ["-s", str(LEGS_AFTER), "--set", f"bench_legs_out={self.legs_out}"]
        extra += ["-s", str(HOOK_TIMER), "--set", f"bench_hook_timer_out={self.hook_timer_out}",
                  "--set", f"codex_shim_hosts={upstream.host}"]
        super().__init__(workdir, bench_routes(upstream.base_url), extra)
        self.root = root
        if root != ROOT:
            self.args = only_declared(self.args, root)
            self.args[self.args.index(str(ROOT / "addons" / "codex_shim.py"))] = str(root / "addons" / "codex_shim.py")
        if self.legs_out is not None:
            addon = self.args.index(str(root / "addons" / "codex_shim.py"))
            self.args[addon - 1 : addon - 1] = ["-s", str(LEGS_BEFORE)]  # before the addon's own `-s`

    def legs_written(self) -> int:
        """How many flows the leg probes have written so far (mark one before a fetch)."""
        return len(self._legs_lines())

    def _legs_lines(self) -> list[str]:
        assert self.legs_out is not None, "started without legs=True"
        return self.legs_out.read_text().splitlines() if self.legs_out.exists() else []

    def legs(self, mark: int, timeout: float = 5.0) -> tuple[float, float, float]:
        """The (connected, sent, answered) times of the first flow that ended after `mark` flows:
        mitmproxy had Codex's connection; the request was ready to go upstream (every addon's
        `request` ran); the provider's answer headers were read (before any `responseheaders`).
        Waits, bounded, for the flow's end to be written."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self._legs_lines()
            if len(lines) > mark:
                connected, sent, answered = map(float, lines[mark].split())
                return connected, sent, answered
            if time.monotonic() > deadline:
                raise TimeoutError(f"no legs written for flow {mark + 1} in {timeout}s")
            time.sleep(0.001)

    def hook_ns(self) -> int:
        """CPU nanoseconds spent in the shim's stream hooks so far (the probe writes it after each flow)."""
        return self._probe_readings()[0]

    def gc_ms(self) -> tuple[float, float]:
        """Milliseconds the garbage collector has paused this mitmdump so far: all collections
        together, and the longest full collection (0: none yet)."""
        readings = self._probe_readings()
        return readings[2] / 1e6, readings[3] / 1e6

    def turn_collections(self) -> tuple[int, int]:
        """(turns, collections on their way to the first delta) so far (see hook_timer.py)."""
        readings = self._probe_readings()
        return readings[4], readings[5]

    def _probe_readings(self) -> list[int]:
        """The probe's figures, all from one writing (0s before the first flow ended)."""
        try:
            text = self.hook_timer_out.read_text()
        except FileNotFoundError:
            return [0] * 6
        return [int(field) for field in text.split()]


class PlainMitmdump(_MeasuredMitmdump):
    """mitmdump without any addon, streaming bodies: what mitmproxy alone costs."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, None)
        mitmdump = Path(sys.executable).parent / "mitmdump"
        self.args = [str(mitmdump), "--listen-host", "127.0.0.1", "-p", str(self.port),
                     "--set", f"confdir={self.confdir}", "--set", "stream_large_bodies=1"]
