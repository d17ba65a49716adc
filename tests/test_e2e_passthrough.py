"""Models that are not routed pass through mitmdump byte for byte, and stream as they arrive."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.http_server import FakeServer, Reply
from tests.harness import Mitmdump

pytestmark = pytest.mark.e2e

NATIVE_STREAM = (
    b'event: response.created\ndata: {"type":"response.created","response":{"id":"resp_1"}}\n\n'
    b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"h\xc3\xa9llo"}\r\n\r\n'
    b": keep-alive comment\n\n"
    b'event: response.completed\ndata: {"type":"response.completed","response":{"id":"resp_1"}}\n\n'
)


def test_unrouted_model_passes_through_byte_identical_and_streamed(tmp_path: Path) -> None:
    first_seen = threading.Event()
    released_by_client: list[bool] = []

    def native(path: str, headers: dict[str, str], body: bytes) -> Reply:
        def pieces() -> Iterator[bytes]:
            head, rest = NATIVE_STREAM[:40], NATIVE_STREAM[40:]
            yield head
            # Only a streaming proxy lets the client see the head while we wait here.
            released_by_client.append(first_seen.wait(10))
            yield rest

        return Reply(200, pieces(), headers={"x-request-id": "native-1"})

    body = json.dumps({"model": "gpt-native", "stream": True, "input": "hi"}).encode()
    with FakeServer(native) as upstream:
        hosts = f"api.openai.com,chatgpt.com,127.0.0.1:{upstream.port}"
        with Mitmdump(tmp_path, [{"model": "byok", "provider": "ollama"}], ["--set", f"codex_shim_hosts={hosts}"]) as proxy:
            received = b""
            conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=20)
            conn.request("POST", f"{upstream.base_url}/v1/responses", body=body,
                         headers={"authorization": "Bearer sk-native", "content-type": "application/json"})
            resp = conn.getresponse()
            while piece := resp.read1(65536):
                received += piece
                if len(received) >= 40:
                    first_seen.set()
            conn.close()
    assert received == NATIVE_STREAM
    assert released_by_client == [True]
    sent = upstream.requests[0]
    assert sent["body"] == body
    assert sent["headers"]["authorization"] == "Bearer sk-native"
