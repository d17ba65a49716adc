"""BYOK turns on a native socket, driven frame by frame: prewarm, streaming, and hanging up."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import wsproto
import wsproto.events as ws_events
from mitmproxy import io

from tests.fakes.chat_upstream import API_KEY, chunk, sse
from tests.fakes.http_server import FakeServer, Reply
from tests.fakes.native_openai import NATIVE_KEY, NativeOpenAI
from tests.harness import Mitmdump

pytestmark = pytest.mark.e2e


class Socket:
    """A WebSocket client through the proxy (CONNECT, then the upgrade Codex sends)."""

    def __init__(self, proxy: Mitmdump, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=20)
        self.sock.sendall(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        assert self.sock.recv(4096).startswith(b"HTTP/1.1 200")
        self.ws = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
        metadata = json.dumps({"model": "gpt-native", "request_kind": "turn"})
        self.sock.sendall(self.ws.send(ws_events.Request(
            host=f"127.0.0.1:{port}", target="/v1/responses",
            extra_headers=[(b"authorization", f"Bearer {NATIVE_KEY}".encode()), (b"x-codex-turn-metadata", metadata.encode())])))
        self.pending: list[ws_events.Event] = []
        assert isinstance(self._next(), ws_events.AcceptConnection)
        self.text = ""

    def _next(self) -> ws_events.Event:
        while not self.pending:
            data = self.sock.recv(65536)
            assert data, "the proxy closed the socket"
            self.ws.receive_data(data)
            self.pending.extend(self.ws.events())
        return self.pending.pop(0)

    def send(self, message: dict[str, Any]) -> None:
        self.sock.sendall(self.ws.send(ws_events.TextMessage(data=json.dumps(message))))

    def frames_until(self, done: Any) -> list[dict[str, Any]]:
        frames: list[dict[str, Any]] = []
        while not frames or not done(frames[-1]):
            event = self._next()
            if isinstance(event, ws_events.TextMessage):
                self.text += event.data
                if event.message_finished:
                    frames.append(json.loads(self.text))
                    self.text = ""
        return frames


def test_prewarm_streaming_and_hanging_up_on_a_native_socket(tmp_path: Path) -> None:
    abandoned = threading.Event()

    def slow_provider(path: str, headers: dict[str, str], body: bytes) -> Reply:
        def pieces() -> Iterator[bytes]:
            try:
                yield sse([chunk({"role": "assistant", "content": ""}), chunk({"content": "Hello"})], done=False)
                for _ in range(400):  # bounded: 20 s at most
                    time.sleep(0.05)
                    yield sse([chunk({"content": " more"})], done=False)
            finally:
                abandoned.set()
        return Reply(200, pieces(), delay=0)

    with NativeOpenAI() as native, FakeServer(slow_provider) as upstream:
        routes = [{"model": "byok-slow", "provider": "generic-chat-completion-api", "base_url": f"{upstream.base_url}/v1", "api_key": API_KEY}]
        saved = tmp_path / "flows.mitm"
        with Mitmdump(tmp_path, routes, ["--set", f"codex_shim_hosts=127.0.0.1:{native.port}", "-w", str(saved)]) as proxy:
            client = Socket(proxy, native.port)
            client.send({"type": "response.create", "model": "byok-slow", "generate": False, "input": []})
            prewarm = client.frames_until(lambda f: f["type"] == "response.completed")
            assert [f["type"] for f in prewarm] == ["response.created", "response.in_progress", "response.completed"]
            assert prewarm[-1]["response"]["id"] == ""  # so Codex sends full context next turn
            client.send({"type": "response.create", "model": "byok-slow", "stream": True,
                         "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}]})
            streamed = client.frames_until(lambda f: f.get("delta") == " more")
            assert [f["type"] for f in streamed[:2]] == ["response.created", "response.in_progress"]
            assert "Hello" in [f.get("delta") for f in streamed]
            assert not abandoned.is_set()
            client.sock.close()  # Codex goes away mid-turn
            assert abandoned.wait(10), "the provider kept streaming after the socket closed"
    assert native.ws_messages == []  # neither BYOK message reached OpenAI
    assert len(upstream.requests) == 1
    with saved.open("rb") as file:  # the socket turn's provider call is a BYOK flow like any other
        (call,) = [f for f in io.FlowReader(file).stream() if f.metadata.get("codex_shim", {}).get("route") == "byok-slow"]
    assert call.marked and call.metadata["codex_shim"]["output"] == "frames" and call.request.path == "/v1/chat/completions"


def test_an_incremental_byok_turn_is_refused_rather_than_answered_without_history(tmp_path: Path) -> None:
    with NativeOpenAI() as native:
        routes = [{"model": "byok-any", "provider": "ollama"}]
        with Mitmdump(tmp_path, routes, ["--set", f"codex_shim_hosts=127.0.0.1:{native.port}"]) as proxy:
            client = Socket(proxy, native.port)
            client.send({"type": "response.create", "model": "byok-any", "previous_response_id": "resp_native_1", "input": []})
            (frame,) = client.frames_until(lambda f: f["type"] == "error")
            client.sock.close()
    assert frame["status"] == 400 and frame["error"]["code"] == "previous_response_not_found"
    assert native.ws_messages == []
