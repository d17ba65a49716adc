"""What the bench measures, one function per figure family; each adds its rows to the Figures.

Every scenario compares the shim with a yardstick fetched the same way: the fake fetched directly
(what the proxy adds) and plain mitmdump relaying a native stream (what mitmproxy itself costs).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .answers import SHAPES
from .client import Client, Fetch
from .measure import CpuMeter, median, memory_kb
from .proxies import NATIVE_MODEL, PlainMitmdump, ShimMitmdump
from .report import Figures
from .settings import Budget, Settings


@dataclass
class Bench:
    """Everything a scenario needs: the running processes, their meters, where figures go."""

    settings: Settings
    client: Client
    shim: ShimMitmdump
    plain: PlainMitmdump
    meter: CpuMeter  # the shim's mitmdump
    plain_meter: CpuMeter
    figures: Figures
    budget: Budget


def _require_whole(result: Fetch, n: int, what: str) -> None:
    problem = result.problem(n)
    if problem:
        raise RuntimeError(f"{what}: {problem}")


def warm_up(client: Client, shim: ShimMitmdump, plain: PlainMitmdump) -> None:
    """First imports and connections on both paths, and a check that the shim translates at all."""
    for shape in SHAPES:
        problem = client.proxied(shape, 50, 0).problem(50)
        if problem:
            raise RuntimeError(f"{shape} through the proxy is broken: {problem}\n{shim.output()[-3000:]}")
        client.direct(shape, 50, 0)
    client.via(plain, NATIVE_MODEL, 50, 0)
    client.via(shim, NATIVE_MODEL, 50, 0)


def time_to_first_delta(b: Bench) -> None:
    """Short streams, direct and proxied alternately; the median difference per shape."""
    overheads: list[float] = []
    for shape in SHAPES:
        direct, proxied = [], []
        for _ in range(b.settings.ttfd_reps):
            d, p = b.client.direct(shape, 200, 0), b.client.proxied(shape, 200, 0)
            if d.ttfd is not None and p.ttfd is not None:
                direct.append(d.ttfd * 1e3)
                proxied.append(p.ttfd * 1e3)
        overhead = median(proxied) - median(direct)
        overheads.append(overhead)
        b.figures.say(f"TTFD {shape:<10} direct {median(direct):6.2f} ms  via shim {median(proxied):6.2f} ms  overhead {overhead:+6.2f} ms")
    # The yardstick: plain mitmdump relaying a native stream, against the same stream fetched directly.
    direct, relayed = [], []
    for _ in range(b.settings.ttfd_reps):
        d, p = b.client.direct("responses", 200, 0), b.client.via(b.plain, NATIVE_MODEL, 200, 0)
        if d.ttfd is not None and p.ttfd is not None:
            direct.append(d.ttfd * 1e3)
            relayed.append(p.ttfd * 1e3)
    floor = median(relayed) - median(direct)
    b.figures.say(f"TTFD plain mitmdump (native stream): overhead {floor:+6.2f} ms")
    b.budget.check()
    worst = max(overheads)
    b.figures.add("time-to-first-delta overhead (median, worst shape)", f"{worst:.2f} ms", "<= 5 ms", worst <= 5,
                  f"plain mitmdump alone: {floor:.2f} ms")


def long_streams(b: Bench, pacing: str, rate: int) -> None:
    """Total-time ratio to direct, mitmdump CPU and the shim's stream-hook time per 1,000 deltas."""
    n, reps = b.settings.deltas, b.settings.reps
    thousands = n * reps / 1000
    ratios, cpus, hooks = [], [], []
    for shape in SHAPES:
        direct = [b.client.direct(shape, n, rate).total for _ in range(reps)]

        def batch(shape: str = shape) -> list[Fetch]:
            return [b.client.proxied(shape, n, rate) for _ in range(reps)]

        hook_before = b.shim.hook_ns()
        cpu_ms, results = b.meter.measure(batch)
        hook_per_k = (b.shim.hook_ns() - hook_before) / 1e6 / thousands
        for result in results:
            _require_whole(result, n, f"{shape} {pacing}")
        ratio = median([f.total for f in results]) / median(direct)
        per_k = cpu_ms / thousands
        ratios.append(ratio)
        cpus.append(per_k)
        hooks.append(hook_per_k)
        b.figures.say(f"{pacing:<5} {shape:<10} {n} deltas{f' @{rate}/s' if rate else ''}: direct {median(direct) * 1e3:7.1f} ms  "
                      f"via shim {median([f.total for f in results]) * 1e3:7.1f} ms  ratio {ratio:5.2f}  "
                      f"mitmdump CPU {per_k:6.2f} ms/1k deltas, of which the addon's stream hook {hook_per_k:5.2f}")
        b.budget.check()
    # The yardstick: plain mitmdump streaming the native Responses stream at the same pace.
    direct = [b.client.direct("responses", n, rate).total for _ in range(reps)]
    plain_cpu, relayed = b.plain_meter.measure(lambda: [b.client.via(b.plain, NATIVE_MODEL, n, rate) for _ in range(reps)])
    plain_ratio = median([f.total for f in relayed]) / median(direct)
    plain_per_k = plain_cpu / thousands
    b.figures.say(f"{pacing:<5} plain mitmdump, native stream: ratio {plain_ratio:5.2f}  mitmdump CPU {plain_per_k:6.2f} ms/1k deltas")
    pace = f"@{rate} deltas/s" if rate else "as fast as the sockets go"
    b.figures.add(f"total-time ratio, {pacing} (worst shape)", f"{max(ratios):.2f}", "<= 1.5", max(ratios) <= 1.5,
                  f"{pace}; plain mitmdump {plain_ratio:.2f}")
    b.figures.add(f"mitmdump CPU per 1,000 deltas, {pacing} (worst shape)", f"{max(cpus):.2f} ms", "<= 8 ms", max(cpus) <= 8,
                  ", ".join(f"{s} {c:.1f}" for s, c in zip(SHAPES, cpus, strict=True)) + f"; plain mitmdump {plain_per_k:.1f}")
    b.figures.add(f"  of which codex-shim's stream hook, {pacing} (worst shape)", f"{max(hooks):.2f} ms", "<= 8 ms",
                  max(hooks) <= 8, ", ".join(f"{s} {h:.1f}" for s, h in zip(SHAPES, hooks, strict=True)))
    b.budget.check()


def memory(b: Bench) -> None:
    """Peak RSS after the 1x streams vs after streams 10x longer (burst: the most buffering)."""
    hwm_short = memory_kb(b.shim.pid, "VmHWM")
    long_n = b.settings.deltas * b.settings.long_factor
    for shape in SHAPES:
        t0 = time.perf_counter()
        _require_whole(b.client.proxied(shape, long_n, 0), long_n, f"{shape} {long_n} deltas")
        b.figures.say(f"long  {shape:<10} {long_n} deltas in {time.perf_counter() - t0:.2f} s; "
                      f"VmHWM {memory_kb(b.shim.pid, 'VmHWM') / 1024:.1f} MiB")
        b.budget.check()
    hwm_long = memory_kb(b.shim.pid, "VmHWM")
    growth = (hwm_long - hwm_short) / hwm_short * 100
    b.figures.add("mitmdump peak RSS (VmHWM), 1x answers", f"{hwm_short / 1024:.1f} MiB", "-", None)
    b.figures.add(f"peak RSS growth at {b.settings.long_factor}x answer length", f"{growth:+.1f} %", "< 10 %", growth < 10,
                  f"{hwm_long / 1024:.1f} MiB after {long_n} deltas")


@dataclass
class Crowd:
    """How N simultaneous streams went: each checked whole, and the proxy's peak memory after."""

    count: int
    failures: list[str]
    slowest: float
    wall: float
    peak_rss_kb: int

    @property
    def whole(self) -> int:
        return self.count - len(self.failures)


def crowd(fetch: Callable[[int], Fetch], count: int, n: int, pid: int, join_limit: float = 120.0) -> Crowd:
    """`count` threads released together, stream i fetched by `fetch(i)`, each an n-delta answer
    checked whole; then the peak resident set (VmHWM) of the proxy process `pid`."""
    results: list[Fetch | BaseException | None] = [None] * count
    gate = threading.Barrier(count, timeout=30)

    def one(i: int) -> None:
        try:
            gate.wait()
            results[i] = fetch(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(count)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(1.0, join_limit - (time.perf_counter() - t0)))
    wall = time.perf_counter() - t0
    problems = [r.problem(n) if isinstance(r, Fetch) else repr(r or "still running") for r in results]
    slowest = max((r.total for r in results if isinstance(r, Fetch)), default=float("nan"))
    return Crowd(count, [p for p in problems if p is not None], slowest, wall, memory_kb(pid, "VmHWM"))


def concurrency(b: Bench) -> None:
    """N simultaneous paced streams, shapes mixed, each checked whole."""
    count, sn, sr = b.settings.streams, b.settings.stream_deltas, b.settings.stream_rate
    run = crowd(lambda i: b.client.proxied(SHAPES[i % len(SHAPES)], sn, sr), count, sn, b.shim.pid)
    b.figures.say(f"concurrency: {run.whole}/{count} whole, {sn} deltas each @{sr}/s (nominal {sn / sr:.1f} s), "
                  f"slowest {run.slowest:.2f} s, wall {run.wall:.2f} s{'; first failure: ' + run.failures[0] if run.failures else ''}")
    b.figures.add(f"{count} concurrent streams arrive whole", f"{run.whole}/{count}", f"{count}/{count}", run.whole == count,
                  f"slowest {run.slowest:.2f} s vs nominal {sn / sr:.1f} s; mitmdump VmHWM by then {run.peak_rss_kb / 1024:.0f} MiB")
    b.budget.check()


def passthrough(b: Bench) -> None:
    """An unrouted model's native stream, through the shim vs through plain mitmdump, alternately."""
    n = b.settings.deltas
    shim_times, plain_times, shim_cpu, plain_cpu = [], [], 0.0, 0.0
    for _ in range(max(4, b.settings.reps * 4)):
        cpu, f = b.plain_meter.measure(lambda: b.client.via(b.plain, NATIVE_MODEL, n, 0))
        plain_times.append(f.total)
        plain_cpu += cpu
        cpu, f = b.meter.measure(lambda: b.client.via(b.shim, NATIVE_MODEL, n, 0))
        _require_whole(f, n, "passthrough")
        shim_times.append(f.total)
        shim_cpu += cpu
    ratio = median(shim_times) / median(plain_times)
    b.figures.say(f"passthrough {n} deltas burst: plain mitmdump {median(plain_times) * 1e3:.1f} ms ({plain_cpu / len(plain_times):.0f} ms CPU), "
                  f"with addon {median(shim_times) * 1e3:.1f} ms ({shim_cpu / len(shim_times):.0f} ms CPU)")
    b.figures.add("passthrough total-time ratio (addon / plain mitmdump)", f"{ratio:.3f}", "<= 1.05", ratio <= 1.05,
                  f"CPU ratio {shim_cpu / plain_cpu:.2f}" if plain_cpu else "")
    b.figures.add("mitmdump peak RSS (VmHWM), end of run", f"{memory_kb(b.shim.pid, 'VmHWM') / 1024:.1f} MiB", "-", None)
    gc_total, gc_longest = b.shim.gc_ms()
    b.figures.add("longest full garbage collection, whole run", f"{gc_longest:.1f} ms" if gc_longest else "none", "-", None,
                  f"{gc_total:.0f} ms of collector pauses in all")
