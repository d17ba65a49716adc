"""A long-lived proxy's memory does not grow turn after turn.

A real mitmdump with the addon, the bench's fake provider in its own process, and short streamed
turns on each route shape, each on a connection of its own (the bench's raw-socket client) or all
on one kept-alive connection (as Codex sends them); then the resident set after many more. Found
this way: collecting the youngest generation between turns, always and only it, meant Python's
own collections of the older generations never came, and every dead turn stayed: ~11 KB a turn,
+33 MiB after 3,000 turns, against +2 MiB without (shim/addons/between_turns.py).
"""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from scripts.benchmark.answers import responses_problem
from scripts.benchmark.client import Client, responses_payload
from scripts.benchmark.measure import memory_kb
from scripts.benchmark.proxies import ROUTE, ShimMitmdump
from scripts.benchmark.upstream import FakeUpstream
from shim.addons.between_turns import ACTIVE

pytestmark = pytest.mark.e2e

PROBE = Path(__file__).parent / "fakes" / "between_turns_probe.py"

SHAPES = ("chat", "anthropic", "responses")
WARM_TURNS = 300  # imports, caches and pools settle first
TURNS = 1200
LIMIT_MIB = 5.0  # measured over these 1,200 turns: under 1 MiB now, ~13 MiB with the leak
TURN_TIMEOUT = 30.0  # seconds; a turn takes milliseconds


def each_on_its_own_connection(upstream: FakeUpstream, shim: ShimMitmdump) -> Callable[[int], str | None]:
    client = Client(upstream, shim)
    return lambda i: client.proxied(SHAPES[i % len(SHAPES)], 20, 0).problem(20)


def all_on_one_connection(upstream: FakeUpstream, shim: ShimMitmdump) -> Callable[[int], str | None]:
    conn = http.client.HTTPConnection("127.0.0.1", shim.port, timeout=TURN_TIMEOUT)

    def turn(i: int) -> str | None:
        if i % 10 == 0:
            time.sleep(0.005)  # a pause now and then, as between Codex's turns: BetweenTurns' moment
        conn.request("POST", f"http://{upstream.host}/v1/responses", body=responses_payload(ROUTE[SHAPES[i % len(SHAPES)]], 20, 0),
                     headers={"content-type": "application/json", "accept": "text/event-stream"})
        answer = conn.getresponse()
        return responses_problem(answer.status, answer.read(), 20)

    return turn


@pytest.mark.parametrize("connections", [each_on_its_own_connection, all_on_one_connection])
def test_the_resident_set_does_not_grow_with_the_number_of_turns(
    tmp_path: Path, connections: Callable[[FakeUpstream, ShimMitmdump], Callable[[int], str | None]]
) -> None:
    with FakeUpstream() as upstream, ShimMitmdump(tmp_path, upstream, [PROBE]) as shim:
        turn = connections(upstream, shim)

        def turns(count: int) -> None:
            for i in range(count):  # each bounded by its client's timeout
                problem = turn(i)
                assert problem is None, problem

        turns(WARM_TURNS)
        before = memory_kb(shim.pid, "VmRSS")
        turns(TURNS)
        grown = (memory_kb(shim.pid, "VmRSS") - before) / 1024
        collections, frozen = collector_counts(shim.port)
    if ACTIVE:
        assert collections > TURNS // 20, f"BetweenTurns collected {collections} times: this test did not exercise it"
        assert frozen > 10_000, f"BetweenTurns froze {frozen} start-up objects: this test did not exercise it"
    assert grown < LIMIT_MIB, f"the resident set grew {grown:.1f} MiB over {TURNS} turns"


def collector_counts(port: int) -> tuple[int, int]:
    """How many collections BetweenTurns made in the mitmdump on `port`, and how many start-up
    objects it froze there (tests/fakes/between_turns_probe.py)."""
    with socket.create_connection(("127.0.0.1", port), timeout=TURN_TIMEOUT) as sock:
        sock.sendall(b"GET http://between-turns.probe/ HTTP/1.1\r\nhost: between-turns.probe\r\nconnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    collections, frozen = answer.partition(b"\r\n\r\n")[2].split()
    return int(collections), int(frozen)
