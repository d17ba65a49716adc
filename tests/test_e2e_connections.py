"""Connections over many BYOK turns: one client connection kept, no upstream connection leaked.

A real mitmdump with the addon, an HTTP/1.1 client sending ten streamed turns on one connection,
and a provider that either ends each body by closing (`connection: close`, no length, no chunks)
or keeps its connection alive with chunks. mitmproxy allows five connections per upstream address:
a leaked one per turn made the sixth turn hang, so ten turns in bounded time prove none leak.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.counting_upstream import ANSWER_TEXT, CountingUpstream
from tests.harness import Mitmdump
from tests.responses_grammar import parse_checked

pytestmark = pytest.mark.e2e

TURNS = 10
TURN_TIMEOUT = 10.0  # seconds; a whole turn takes milliseconds
SETTLE = 5.0  # seconds mitmdump gets to close an upstream connection it is done with


@pytest.fixture(params=["close", "keep-alive"])
def proxied(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Mitmdump, CountingUpstream]]:
    with CountingUpstream(request.param) as upstream:
        models = [{"model": "byok-conn", "provider": "generic-chat-completion-api", "base_url": upstream.base_url, "api_key": "sk-conn-test"}]
        with Mitmdump(tmp_path, models) as mitm:
            yield mitm, upstream


def ask(conn: http.client.HTTPConnection) -> bytes:
    """One streamed Responses turn on `conn`, read whole."""
    body = json.dumps({"model": "byok-conn", "stream": True, "input": "hi", "instructions": "be brief"})
    conn.request("POST", "http://api.openai.com/v1/responses", body=body, headers={"content-type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    assert resp.status == 200, data
    return data


def answer_text(data: bytes) -> str:
    events = parse_checked(data)
    assert events[-1]["type"] == "response.completed"
    done = [e for e in events if e["type"] == "response.output_item.done"]
    return str(done[0]["item"]["content"][0]["text"])


def test_many_turns_on_one_client_connection_leak_no_upstream_connection(proxied: tuple[Mitmdump, CountingUpstream]) -> None:
    mitm, upstream = proxied
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", mitm.port, timeout=TURN_TIMEOUT)
    client_ports = set()
    try:
        for turn in range(TURNS):
            assert answer_text(ask(conn)) == ANSWER_TEXT, f"turn {turn}"
            assert conn.sock is not None
            client_ports.add(conn.sock.getsockname()[1])
            if upstream.body_end == "close":  # each body ended with its connection: mitmdump must close it
                assert upstream.wait_for_open(0, SETTLE) == 0, f"turn {turn}: upstream connections left open"
            else:  # reused or closed, never piling up
                assert upstream.counts()[1] <= 1, f"turn {turn}: {upstream.counts()}"
    finally:
        conn.close()
    assert len(client_ports) == 1  # the client's connection was kept for every turn
    opened, _ = upstream.counts()
    assert upstream.requests == TURNS
    assert opened == TURNS if upstream.body_end == "close" else 1 <= opened <= TURNS
    assert upstream.wait_for_open(0, SETTLE) == 0  # the client left: nothing of its turns stays open
    assert time.monotonic() - started < TURNS * 2
