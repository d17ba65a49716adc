"""--hooks: what the addon's hooks cost a turn on its way to the first delta, in one process.

The first delta through mitmdump moves 10-15 % from one pair of fresh processes to the next, so
the end-to-end figure needs ~16 rounds to tell a few per cent, and a regression of 0.1 ms (2 % of
it) hides in any one run. Here each side's entry script (addons/codex_shim.py of its checkout)
runs in a process of its own with mitmproxy's test context, and every turn goes through the
addon manager's hooks as mitmproxy dispatches them: `requestheaders` and `request` (Codex's
request read, translated, made the provider's), then `responseheaders` and the stream hook fed
the fake upstream's answer one event a call, as the fake sends one event a chunk, until the first
delta comes out. Nothing is sent: the provider's answer is the bench fake's own (answers.py),
for a Responses route repeating the settings of the request the addon wrote.

Each case runs warm (turn after turn) and cold (the CPU caches flushed before each turn by writing
96 MiB: a turn that arrives after other work, as most do). Between turns the event loop runs
for 2 ms, so timers the addon sets (its between-turn collections) fire as they would live.

`python -m scripts.benchmark.hook_costs ROOT TURNS` prints one JSON object: per case, the median
microseconds of each leg. `compare_hooks` runs that for both sides of --against, in rounds.
"""

from __future__ import annotations

import asyncio
import gc
import json
import runpy
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.harness import ROOT

from .answers import RESPONSES_SHAPES, SHAPES, answer_events
from .client import codex_payload, responses_payload
from .compare import Comparison, Samples, apart
from .measure import median
from .proxies import ROUTE, bench_routes, declared_options
from .worktree import checked_out

HOST = "127.0.0.1:9"  # routed to, never reached: no hook here sends anything
DELTAS = 200
LEGS = ("the request, to upstream", "the answer, to the first delta")
THRASH_BYTES = 96 << 20


def cases() -> Iterator[tuple[str, str, bool]]:
    """(label, shape, Codex's own request?) in the order they run and are reported."""
    for codex_sized in (False, True):
        for shape in SHAPES:
            yield f"{'Codex-sized request, ' if codex_sized else ''}{shape}", shape, codex_sized


def measure(root: Path, turns: int) -> dict[str, dict[str, float]]:
    """Median microseconds of each leg, per case and warmth, for the addon in checkout `root`."""
    from mitmproxy.test import taddons

    for name in [name for name in sys.modules if name == "shim" or name.startswith("shim.")]:
        del sys.modules[name]  # the bench's own imports may have brought this checkout's
    addons = runpy.run_path(str(root / "addons" / "codex_shim.py"))["addons"]  # puts `root` first on sys.path
    with tempfile.TemporaryDirectory(prefix="codex-shim-hooks-") as tmp:
        config = Path(tmp) / "models.json"
        config.write_text(json.dumps({"models": bench_routes(f"http://{HOST}/v1")}))
        with taddons.context(*addons) as tctx:
            wanted = {"codex_shim_config": str(config), "codex_shim_model_data": False, "codex_shim_hosts": HOST,
                      "codex_shim_catalog_cache": "off"}
            known = declared_options(root)
            tctx.options.update(**{k: v for k, v in wanted.items() if k in known and k in tctx.options})
            return asyncio.run(_turns(tctx, turns))


async def _turns(tctx: Any, turns: int) -> dict[str, dict[str, float]]:
    from mitmproxy import hooks

    await tctx.master.addons.trigger_event(hooks.RunningHook())  # as mitmdump does once it is up (start-up frozen)
    thrash = bytearray(THRASH_BYTES)
    lines = bytes(len(range(0, THRASH_BYTES, 64)))
    result: dict[str, dict[str, float]] = {}
    for label, shape, codex_sized in cases():
        for warmth in ("warm", "cold"):
            timings: dict[str, list[float]] = {leg: [] for leg in LEGS}
            for turn in range(turns // 10 + turns):  # the first tenth warms up and is not counted
                if warmth == "cold":
                    thrash[0::64] = lines  # every cache line of 96 MiB written: the caches hold none of ours
                request_us, answer_us = await _turn(tctx, shape, codex_sized)
                if turn >= turns // 10:
                    timings[LEGS[0]].append(request_us)
                    timings[LEGS[1]].append(answer_us)
                await asyncio.sleep(0.002)  # the addon's timers run, as between live turns
            result[f"{warmth}, {label}"] = {leg: median(values) for leg, values in timings.items()}
    return result


async def _turn(tctx: Any, shape: str, codex_sized: bool) -> tuple[float, float]:
    """One turn through the hooks: (request leg, answer leg) in microseconds."""
    from mitmproxy import http
    from mitmproxy.proxy.layers import http as http_layer
    from mitmproxy.test import tflow

    addons = tctx.master.addons
    payload = (codex_payload if codex_sized else responses_payload)(ROUTE[shape], DELTAS, 0)
    flow = tflow.tflow()
    flow.request = http.Request.make("POST", f"http://{HOST}/v1/responses", payload,
                                     {"host": HOST, "content-type": "application/json", "accept": "text/event-stream"})
    start = time.perf_counter_ns()
    await addons.handle_lifecycle(http_layer.HttpRequestHeadersHook(flow))
    await addons.handle_lifecycle(http_layer.HttpRequestHook(flow))
    sent = time.perf_counter_ns()
    if flow.response is not None:
        raise RuntimeError(f"{shape}: the addon answered the request itself: {flow.response.status_code} {flow.response.content!r:.300}")
    events = _answer(shape, flow.request.content or b"")
    flow.response = http.Response.make(200, b"", {"content-type": "text/event-stream; charset=utf-8", "transfer-encoding": "chunked"})
    answered = time.perf_counter_ns()
    await addons.handle_lifecycle(http_layer.HttpResponseHeadersHook(flow))
    stream = flow.response.stream
    if not callable(stream):
        raise RuntimeError(f"{shape}: no stream hook was set for the answer")
    fed = 0
    while not any(b"response.output_text.delta" in piece for piece in stream(events[fed])):
        fed += 1
        if fed == len(events):
            raise RuntimeError(f"{shape}: no first delta came out of the stream hook")
    first = time.perf_counter_ns()
    for event in events[fed + 1 :]:
        stream(event)
    stream(b"")
    await addons.handle_lifecycle(http_layer.HttpResponseHook(flow))
    return (sent - start) / 1e3, (first - answered) / 1e3


def _answer(shape: str, sent: bytes) -> list[bytes]:
    """The fake's answer to what the addon `sent`, built once per case (in its first, uncounted
    turns): building it in each turn, after the caches were flushed, warmed them for the answer's leg."""
    key = (shape, sent if shape in RESPONSES_SHAPES else b"")  # only a Responses answer repeats what was sent
    if key not in _ANSWERS:
        _ANSWERS[key] = answer_events(shape, DELTAS, sent)
    return _ANSWERS[key]


_ANSWERS: dict[tuple[str, bytes], list[bytes]] = {}


def compare_hooks(ref: str, ours_name: str, rounds: int, turns: int) -> Comparison:
    """Both sides' hook costs, each round in two fresh processes started in alternating order."""
    with checked_out(ref) as (root, commit):
        ours_name = apart(ours_name, commit)
        samples = Samples(rounds)
        for round_ in range(rounds):
            samples.round = round_
            order = [(ours_name, ROOT), (commit, root)]
            for name, checkout in order if round_ % 2 == 0 else reversed(order):
                for case, legs in _measured(checkout, turns).items():
                    samples.add(f"hooks to the first delta, {case}", name, sum(legs.values()), "µs")
                    for leg, value in legs.items():
                        samples.add(f"  of which {leg}, {case}", name, value, "µs")
            print(f"round {round_ + 1}/{rounds} done", flush=True)
        result = Comparison(ours_name, commit)
        samples.report(result, ours_name, commit)
    return result


def _measured(checkout: Path, turns: int) -> dict[str, dict[str, float]]:
    run = subprocess.run([sys.executable, "-m", "scripts.benchmark.hook_costs", str(checkout), str(turns)],
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    if run.returncode:
        raise RuntimeError(f"hook costs of {checkout} failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    gc.collect()
    print(json.dumps(measure(Path(sys.argv[1]).resolve(), int(sys.argv[2]))))
