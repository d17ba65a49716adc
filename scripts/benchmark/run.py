"""One whole bench: the fake upstream and both mitmdumps up, warmed, then every scenario in turn."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from . import scenarios
from .client import Client
from .measure import CpuMeter
from .profiler import py_spy
from .proxies import PlainMitmdump, ShimMitmdump
from .report import Figures
from .settings import Budget, Settings
from .upstream import FakeUpstream


def run(settings: Settings, workdir: Path, profile: Path | None, scripts: list[Path]) -> Figures:
    figures = Figures()
    budget = Budget(settings.time_limit)
    with ExitStack() as stack:
        upstream = stack.enter_context(FakeUpstream())
        shim = stack.enter_context(ShimMitmdump(workdir / "shim", upstream, scripts))
        plain = stack.enter_context(PlainMitmdump(workdir / "plain"))
        client = Client(upstream, shim)
        scenarios.warm_up(client, shim, plain)
        stack.enter_context(py_spy(shim.pid, profile))

        meter = CpuMeter(shim.pid, 1.0 if settings.reps < 2 else 2.0)
        plain_meter = CpuMeter(plain.pid, 1.0)
        figures.say(f"mitmdump idle CPU: {meter.idle_rate / 1e6:.2f} ms/s with the addon, {plain_meter.idle_rate / 1e6:.2f} ms/s plain "
                    "(subtracted from every batch)")
        bench = scenarios.Bench(settings, client, shim, plain, meter, plain_meter, figures, budget)
        scenarios.time_to_first_delta(bench)
        scenarios.long_streams(bench, "paced", settings.rate)
        scenarios.long_streams(bench, "burst", 0)
        scenarios.memory(bench)
        scenarios.concurrency(bench)
        scenarios.passthrough(bench)
        figures.say(f"bench took {budget.elapsed:.0f} s")
    return figures
