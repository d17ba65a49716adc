"""`scripts/bench --soak`: many sequential BYOK turns, to show that connections and memory stay flat.

A leak per turn is invisible in a few turns and fatal in a day of use (one leaked upstream
connection per turn hung the sixth turn). So: N turns through `mitmdump -s addons/codex_shim.py`
against a chat-completions fake (tests/fakes/counting_upstream.py) that ends its bodies either by
closing or with chunks on a kept-alive connection, from a client that keeps one connection or opens
a fresh one each turn. A fresh mitmdump for each of the four, read after the first turn (one-time
costs done) and after the last: upstream connections opened and still open, mitmdump's sockets
(/proc/PID/fd) and resident memory (VmRSS). Figures from one run, every wait bounded.
"""

from __future__ import annotations

import http.client
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from tests.fakes.counting_upstream import ANSWER_TEXT, CountingUpstream
from tests.harness import Mitmdump

from .measure import memory_kb

ROUTE = "soak-chat"
TURN_TIMEOUT = 10.0  # seconds; a turn takes milliseconds
SETTLE = 5.0  # seconds mitmdump gets to close what a turn left before a reading
MAX_FAILURES = 5  # a run that keeps failing is stopped, not dragged through N timeouts
TIME_LIMIT = 1800.0  # seconds all four runs may take together
RSS_GROWTH_KB = 16 * 1024  # more than this from the first turn to the last is not flat
UPSTREAM_BODY_ENDS = ("close", "keep-alive")
CLIENT_CONNECTIONS = ("one", "per-turn")


@dataclass
class Reading:
    upstream_opened: int
    upstream_open: int
    sockets: int
    rss_kb: int


@dataclass
class SoakRun:
    body_end: str
    client: str
    turns: int = 0
    failures: int = 0
    start: Reading | None = None
    end: Reading | None = None
    seconds: float = 0.0

    def flat(self) -> bool:
        """No connection piling up and no memory growth worth the name between the two readings."""
        if self.start is None or self.end is None or self.failures:
            return False
        return (self.end.upstream_open <= max(self.start.upstream_open, 1)
                and self.end.sockets <= self.start.sockets + 1
                and self.end.rss_kb - self.start.rss_kb <= RSS_GROWTH_KB)


def socket_count(pid: int) -> int:
    """How many of `pid`'s file descriptors are sockets."""
    count = 0
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in os.listdir(fd_dir):
        try:
            if os.readlink(fd_dir / fd).startswith("socket:"):
                count += 1
        except OSError:
            pass  # closed while we looked
    return count


def take_turn(conn: http.client.HTTPConnection) -> bool:
    """One streamed Responses turn for the soak route; True when the answer came whole."""
    body = json.dumps({"model": ROUTE, "stream": True, "input": "hi", "instructions": "be brief"})
    conn.request("POST", "http://api.openai.com/v1/responses", body=body, headers={"content-type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    return resp.status == 200 and b'"type":"response.completed"' in data and ANSWER_TEXT.encode() in data


def reading(upstream: CountingUpstream, pid: int) -> Reading:
    # What a turn's end closes happens just after the client has its answer: give it a moment.
    upstream.wait_for_open(1 if upstream.body_end == "keep-alive" else 0, SETTLE)
    time.sleep(0.2)
    opened, still_open = upstream.counts()
    return Reading(opened, still_open, socket_count(pid), memory_kb(pid, "VmRSS"))


def soak_run(body_end: str, client: str, turns: int, workdir: Path, deadline: float) -> SoakRun:
    run = SoakRun(body_end, client)
    started = time.monotonic()
    with CountingUpstream(body_end) as upstream:
        models = [{"model": ROUTE, "provider": "generic-chat-completion-api", "base_url": upstream.base_url, "api_key": "sk-soak-not-a-key"}]
        with Mitmdump(workdir, models) as mitm:
            assert mitm.proc is not None
            pid = mitm.proc.pid
            conn = http.client.HTTPConnection("127.0.0.1", mitm.port, timeout=TURN_TIMEOUT)
            try:
                for turn in range(turns):
                    if client == "per-turn":
                        conn.close()
                        conn = http.client.HTTPConnection("127.0.0.1", mitm.port, timeout=TURN_TIMEOUT)
                    try:
                        whole = take_turn(conn)
                    except (OSError, http.client.HTTPException):
                        whole = False
                        conn.close()  # a timed-out connection is useless: the next turn reconnects
                    run.turns += 1
                    run.failures += not whole
                    if turn == 0:
                        if client == "per-turn":
                            conn.close()
                        run.start = reading(upstream, pid)
                    if run.failures >= MAX_FAILURES or time.monotonic() > deadline:
                        break
                if client == "per-turn":
                    conn.close()
                run.end = reading(upstream, pid)
            finally:
                conn.close()
    run.seconds = time.monotonic() - started
    return run


def soak(turns: int, workdir: Path) -> list[SoakRun]:
    """Every upstream body ending with every client connection pattern, each on a fresh mitmdump."""
    deadline = time.monotonic() + TIME_LIMIT
    runs = []
    for body_end in UPSTREAM_BODY_ENDS:
        for client in CLIENT_CONNECTIONS:
            run = soak_run(body_end, client, turns, workdir / f"{body_end}-{client}", deadline)
            print(f"upstream {body_end:<10} client connection {client:<8} {run.turns} turns, {run.failures} failed, {run.seconds:.1f} s",
                  flush=True)
            runs.append(run)
    return runs


def print_soak(runs: list[SoakRun]) -> None:
    def span(start: Reading | None, end: Reading | None, field: str, scale: float = 1) -> str:
        if start is None or end is None:
            return "-"
        digits = 0 if scale == 1 else 1
        return f"{getattr(start, field) / scale:.{digits}f} -> {getattr(end, field) / scale:.{digits}f}"

    print()
    print("first turn -> last turn")
    print(f"{'upstream':<10}  {'client conn':<11}  {'turns':>5}  {'failed':>6}  {'upstream opened':>15}  {'upstream open':>13}"
          f"  {'mitmdump sockets':>16}  {'mitmdump RSS MB':>15}  flat")
    for r in runs:
        print(f"{r.body_end:<10}  {r.client:<11}  {r.turns:>5}  {r.failures:>6}  {span(r.start, r.end, 'upstream_opened'):>15}"
              f"  {span(r.start, r.end, 'upstream_open'):>13}  {span(r.start, r.end, 'sockets'):>16}"
              f"  {span(r.start, r.end, 'rss_kb', 1024):>15}  {'yes' if r.flat() else 'NO'}")
