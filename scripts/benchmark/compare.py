"""--against REF: this checkout's addon and REF's, side by side in one session, on the same bench.

Both run as their own mitmdump behind the same fake upstream, with the same client, the bench
code of this checkout, and plain mitmdump as the yardstick. Every measured fetch alternates
between the two (which goes first alternates too), so load from elsewhere on the machine falls on
both columns alike. The crowd (N simultaneous streams, each checked whole) runs first on each
process, right after warm-up, so each one's peak resident set is the crowd's.

Every figure is taken in rounds (two unless `--rounds` asks for more), the two mitmdumps started
afresh for each, in one order and then the other, and pooled (peak RSS: the crowd runs first in
each round): the mitmdump started first came out 2-5 % slower to the first delta than its twin,
whichever addon it ran (measured here, also with both pinned to one CPU), which is as large as
the differences the comparison is for. Whose crowd runs first alternates too (crowd_order). More
rounds narrow that process-to-process spread; the readings within a round do not (they share the
two processes).
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from . import scenarios
from .answers import SHAPES
from .client import Client, Fetch
from .measure import CpuMeter, median
from .proxies import NATIVE_MODEL, PlainMitmdump, ShimMitmdump
from .settings import Budget, Settings
from .upstream import FakeUpstream
from .worktree import checked_out

ROUNDS = 2  # the default: one round in each start order


@dataclass
class Side:
    """One addon under test: its mitmdump, a client fetching through it, its CPU meter."""

    name: str
    shim: ShimMitmdump
    client: Client
    meter: CpuMeter | None = None


@dataclass
class Row:
    name: str
    ours: float
    base: float
    plain: float | None  # plain mitmdump relaying a native stream, where that compares
    unit: str
    by_round: tuple[float, ...] = ()  # the ratio in each round alone (fresh processes, opposite start orders)

    @property
    def lower_in(self) -> str:
        """In how many rounds ours read lower, "k/n": for the same code on both sides, a coin's
        count of heads in n tosses (at 16 rounds, 12 or more by chance one run in 26)."""
        return f"{sum(r < 1 for r in self.by_round)}/{len(self.by_round)}" if self.by_round else "-"


@dataclass
class Comparison:
    ours: str
    base: str
    rows: list[Row] = field(default_factory=list)

    def add(self, name: str, ours: float, base: float, unit: str, plain: float | None = None,
            by_round: tuple[float, ...] = ()) -> None:
        self.rows.append(Row(name, ours, base, plain, unit, by_round))
        print(f"{name}: {self.ours} {ours:.2f} {unit}, {self.base} {base:.2f} {unit}"
              + (f", plain mitmdump {plain:.2f} {unit}" if plain is not None else ""), flush=True)


def compare(settings: Settings, workdir: Path, ref: str, ours_name: str, rounds: int = ROUNDS,
            first_delta_only: bool = False, legs: bool = False) -> Comparison:
    """`first_delta_only`: each round runs the crowd and the first delta, not the long streams, so
    the many rounds a few per cent of first delta needs fit in minutes (see Samples). `legs`: probe
    addons before and after each addon split every first delta into its legs (LEGS)."""
    budget = Budget(settings.time_limit * 1.25 * rounds)
    with ExitStack() as stack:
        root, commit = stack.enter_context(checked_out(ref))
        ours_name = apart(ours_name, commit)
        upstream = stack.enter_context(FakeUpstream())
        plain = stack.enter_context(PlainMitmdump(workdir / "plain"))
        result = Comparison(ours_name, commit)
        samples = Samples(rounds)
        for round_ in range(rounds):
            samples.round = round_
            with ExitStack() as processes:
                sides = _started(processes, workdir / f"round{round_}", upstream, ours_name, commit, root, ours_first=round_ % 2 == 0,
                                 legs=legs)
                for side in sides:
                    scenarios.warm_up(side.client, side.shim, plain)
                _crowd(samples, crowd_order(sides, round_), plain, settings)  # first: each fresh process's peak is the crowd's
                budget.check()
                for side in sides:
                    side.meter = CpuMeter(side.shim.pid, 1.0)
                plain_meter = CpuMeter(plain.pid, 1.0)
                _first_delta(samples, sides, plain, settings, legs)
                budget.check()
                if first_delta_only:
                    continue
                for pacing, rate in (("paced", settings.rate), ("burst", 0)):
                    _long_streams(samples, sides, plain, plain_meter, settings, pacing, rate)
                    budget.check()
                _collector(samples, sides)
        samples.report(result, ours_name, commit)
    return result


def apart(ours_name: str, base_name: str) -> str:
    """The checkout's column name, never REF's: `--against HEAD` on a clean checkout gives both
    the same commit, and one name would pool both sides' readings."""
    return "this checkout" if ours_name == base_name else ours_name


def _started(stack: ExitStack, workdir: Path, upstream: FakeUpstream, ours_name: str, base_name: str, root: Path,
             ours_first: bool, legs: bool = False) -> tuple[Side, Side]:
    """Both addons' mitmdumps, started in the order asked for; always (ours, base)."""
    def ours() -> Side:
        return _side(ours_name, stack.enter_context(ShimMitmdump(workdir / "ours", upstream, [], legs=legs)), upstream)

    def base() -> Side:
        return _side(base_name, stack.enter_context(ShimMitmdump(workdir / "base", upstream, [], root, legs=legs)), upstream)

    if ours_first:
        first = ours()
        return first, base()
    second = base()
    return ours(), second


class Samples:
    """Every timed reading, per figure, side and round; reported as medians over all rounds, and
    the ratio in each round alone: the rounds run in fresh processes started in alternating
    orders, so their spread is what a run cannot tell from noise (process to process, the same
    code differs by a few percent: a bootstrap over pooled readings would not see that)."""

    def __init__(self, rounds: int = ROUNDS) -> None:
        self.rounds = rounds
        self.readings: dict[tuple[str, str], list[list[float]]] = {}
        self.units: dict[str, str] = {}
        self.plain: dict[str, list[float]] = {}
        self.round = 0

    def add(self, figure: str, side: str, value: float, unit: str) -> None:
        self.readings.setdefault((figure, side), [[] for _ in range(self.rounds)])[self.round].append(value)
        self.units[figure] = unit

    def add_plain(self, figure: str, value: float) -> None:
        self.plain.setdefault(figure, []).append(value)

    def report(self, result: Comparison, ours: str, base: str) -> None:
        for figure, unit in self.units.items():
            plain = self.plain.get(figure)
            empty = [[] for _ in range(self.rounds)]
            mine, theirs = self.readings.get((figure, ours), empty), self.readings.get((figure, base), empty)
            by_round = tuple(median(m) / median(t) for m, t in zip(mine, theirs, strict=True) if m and t and median(t) > 0)
            result.add(figure, median([v for r in mine for v in r]), median([v for r in theirs for v in r]), unit,
                       median(plain) if plain else None, by_round)


def _side(name: str, shim: ShimMitmdump, upstream: FakeUpstream) -> Side:
    return Side(name, shim, Client(upstream, shim))


def _alternating(sides: tuple[Side, Side], turn: int) -> tuple[Side, Side]:
    return sides if turn % 2 == 0 else (sides[1], sides[0])


def crowd_order(sides: tuple[Side, Side], round_: int) -> tuple[Side, Side]:
    """Which side's crowd runs first: each side in every other round (so also in two rounds),
    and over four rounds once with each start order (which flips every round). It was always
    ours first. Single 300-pair runs hinted that the side whose crowd ran first reads slower
    afterwards (ours/6398529 1.07-1.16 with ours first, 1.04 with 6398529's), but sixteen rounds
    with the order alternating read as they did with it fixed (1.04-1.17): noise. The order
    alternates anyway, as nothing measured should depend on it."""
    return sides if (round_ + round_ // 2) % 2 == 0 else (sides[1], sides[0])


def _crowd(samples: Samples, sides: tuple[Side, Side], plain: PlainMitmdump, settings: Settings) -> None:
    """N simultaneous streams on each side, each checked whole, then its peak resident set (one
    reading per round: the median of two is their mean); plain mitmdump relaying a native stream beside."""
    count, n, rate = settings.streams, settings.stream_deltas, settings.stream_rate
    figure = f"peak RSS, {count} concurrent streams (all whole)"
    for side in sides:
        run = scenarios.crowd(lambda i, side=side: side.client.proxied(SHAPES[i % len(SHAPES)], n, rate), count, n, side.shim.pid)
        if run.failures:
            raise RuntimeError(f"{side.name}: {len(run.failures)}/{count} concurrent streams not whole; first: {run.failures[0]}")
        samples.add(figure, side.name, run.peak_rss_kb / 1024, "MiB")
        print(f"{side.name}: {count}/{count} concurrent streams whole, slowest {run.slowest:.2f} s, peak RSS {run.peak_rss_kb / 1024:.1f} MiB",
              flush=True)
    client = sides[0].client
    native = scenarios.crowd(lambda i: client.via(plain, NATIVE_MODEL, n, rate), count, n, plain.pid)
    if native.failures:
        raise RuntimeError(f"plain mitmdump: concurrent streams not whole; first: {native.failures[0]}")
    samples.add_plain(figure, native.peak_rss_kb / 1024)


LEGS = ("to mitmproxy's connection", "the request, to upstream", "upstream, to its answer headers", "the answer, to the first delta")
"""A proxied first delta's legs, from the client's send: until mitmproxy has the connection; until
every addon's `request` ran; until the provider's answer headers are read; until the client has
the first delta (every addon's `responseheaders`, the stream hook, the write). They add up to it."""


def _first_delta(samples: Samples, sides: tuple[Side, Side], plain: PlainMitmdump, settings: Settings, legs: bool = False) -> None:
    """Time to the first delta through each proxy minus the direct fetch's, per shape: each proxied
    fetch against the direct one just before it, so a drift between rounds cancels out; then the
    same with Codex's own captured request (half as many pairs). With `legs`, each proxied first
    delta's legs too (LEGS)."""
    client = sides[0].client
    before = {side.name: side.shim.turn_collections() for side in sides}
    for codex_sized, pairs in ((False, settings.ttfd_reps), (True, settings.ttfd_reps // 2)):
        for shape in SHAPES:
            label = f"{'Codex-sized request, ' if codex_sized else ''}{shape}"
            for turn in range(pairs):
                d = client.direct(shape, 200, 0)
                fetched: dict[str, tuple[Fetch, tuple[float, float, float] | None]] = {}
                for side in _alternating(sides, turn):
                    mark = side.shim.legs_written() if legs else 0
                    f = side.client.proxied(shape, 200, 0, codex_sized)
                    fetched[side.name] = (f, side.shim.legs(mark) if legs else None)
                if d.ttfd is None:
                    continue
                for name, (f, times) in fetched.items():
                    if f.ttfd is None:  # an older ref may refuse what a newer Codex sends: its column stays empty
                        continue
                    samples.add(f"first-delta overhead, {label}", name, (f.ttfd - d.ttfd) * 1e3, "ms")
                    if times is not None:
                        marks = (f.started, *times, f.started + f.ttfd)
                        for leg, start, end in zip(LEGS, marks[:-1], marks[1:], strict=True):
                            samples.add(f"  leg: {leg}, {label}", name, (end - start) * 1e3, "ms")
    for side in sides:  # every shape's turns together: a collection lands wherever the count passes its threshold
        turns, collections = (now - then for now, then in zip(side.shim.turn_collections(), before[side.name], strict=True))
        if turns:
            samples.add("garbage collections on the way to the first delta, per 100 turns", side.name, 100 * collections / turns, "")
    for _ in range(settings.ttfd_reps):
        d, p = client.direct("responses", 200, 0), client.via(plain, NATIVE_MODEL, 200, 0)
        if d.ttfd is not None and p.ttfd is not None:
            samples.add_plain("first-delta overhead, responses", (p.ttfd - d.ttfd) * 1e3)


def _long_streams(samples: Samples, sides: tuple[Side, Side], plain: PlainMitmdump, plain_meter: CpuMeter, settings: Settings,
                  pacing: str, rate: int) -> None:
    """mitmdump CPU and the addon's stream-hook CPU per 1,000 deltas, per shape, over `reps`
    streams each, the two sides alternating (a burst of load from elsewhere lands on one stream,
    not on a whole column)."""
    n, reps = settings.deltas, settings.reps
    client = sides[0].client
    for _ in range(reps):
        used, _ = plain_meter.measure(lambda: _whole(client.via(plain, NATIVE_MODEL, n, rate), n, "plain"))
        for shape in SHAPES:
            samples.add_plain(f"mitmdump CPU per 1,000 deltas, {pacing}, {shape}", used * 1000 / n)
    for shape in SHAPES:
        for turn in range(reps * 2):  # each side `reps` streams, in alternating order
            side = _alternating(sides, turn // 2)[turn % 2]
            assert side.meter is not None
            hook_before = side.shim.hook_ns()
            used, _ = side.meter.measure(lambda side=side, shape=shape: _whole(side.client.proxied(shape, n, rate), n, side.name))
            samples.add(f"mitmdump CPU per 1,000 deltas, {pacing}, {shape}", side.name, used * 1000 / n, "ms")
            samples.add(f"  of which the addon's stream hook, {pacing}, {shape}", side.name,
                        (side.shim.hook_ns() - hook_before) / 1e6 * 1000 / n, "ms")


def _collector(samples: Samples, sides: tuple[Side, Side]) -> None:
    """The garbage collector's pauses over the round (the same fetches on both sides): the longest
    full collection, which stalls every stream in flight, and all collections together."""
    for side in sides:
        total, longest = side.shim.gc_ms()
        if longest:  # a round without a full collection has no reading of it
            samples.add("longest full garbage collection, a round", side.name, longest, "ms")
        samples.add("garbage-collector pauses in all, a round", side.name, total, "ms")


def _whole(fetch: Fetch, n: int, who: str) -> Fetch:
    problem = fetch.problem(n)
    if problem:
        raise RuntimeError(f"{who}: {problem}")
    return fetch


def print_comparison(result: Comparison) -> None:
    width = max(len(r.name) for r in result.rows)
    ours, base = result.ours[:16], result.base[:16]
    print()
    print(f"{'figure':<{width}}  {ours:>16}  {base:>16}  {'ratio':>6}  {'lower in':>8}  {'plain mitmdump':>14}  {'by round':<11}")
    for r in result.rows:
        ratio = f"{r.ours / r.base:.2f}" if r.base > 0 else "-"
        by_round = " / ".join(f"{x:.2f}" for x in r.by_round) or "-"
        plain = f"{r.plain:.2f} {r.unit}" if r.plain is not None else "-"
        print(f"{r.name:<{width}}  {r.ours:>11.2f} {r.unit:<4}  {r.base:>11.2f} {r.unit:<4}  {ratio:>6}  {r.lower_in:>8}  {plain:>14}  {by_round}")
    print("(by round: the ratio in each round alone, fresh processes started in alternating orders; lower in: in how")
    print(" many of them the first column read lower. Where the rounds disagree on which side is ahead, the run cannot")
    print(" tell the difference from noise: the same code on both sides is ahead in about half the rounds)")
