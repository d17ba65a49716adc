"""The real Codex CLI against a provider that fails: it retries cut streams and shows real errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.chat_upstream import API_KEY, ScriptedChatModel, chat_upstream
from tests.fakes.http_server import Reply
from tests.harness import Mitmdump, run_codex

pytestmark = pytest.mark.e2e


class FlakyChatModel(ScriptedChatModel):
    """Fails the first `failures` requests in the given way, then behaves."""

    def __init__(self, fault: str, failures: int = 1) -> None:
        super().__init__()
        self.fault = fault
        self.failures = failures
        self.calls = 0

    def __call__(self, path: str, headers: dict[str, str], body: bytes) -> Reply:
        self.calls += 1
        if self.calls > self.failures:
            return super().__call__(path, headers, body)
        if self.fault == "cut":
            whole = super().__call__(path, headers, body)
            data = b"".join(whole.pieces)
            self.turn -= 1  # the retry is the same turn
            return Reply(200, [data[: len(data) // 2]], cut=True)
        if self.fault == "429":
            return Reply.json(429, {"error": {"message": "Rate limit reached for fake-model: slow down, friend",
                "code": "rate_limit_exceeded"}}, {"retry-after": "0.1"})
        raise AssertionError(self.fault)


def route(base_url: str) -> list[dict[str, object]]:
    return [{"model": "byok-chat", "provider": "generic-chat-completion-api", "base_url": f"{base_url}/v1", "api_key": API_KEY}]


def test_codex_retries_a_cut_stream_and_finishes_whole(tmp_path: Path) -> None:
    model = FlakyChatModel("cut")
    with chat_upstream(model) as upstream, Mitmdump(tmp_path, route(upstream.base_url)) as proxy:
        result = run_codex(proxy, tmp_path / "home", "byok-chat", "Run the marker command.")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Reconnecting" in result.stderr
    assert "marker-42" in result.stdout and "done ✓" in result.stdout
    assert model.calls == 3  # cut, retried, then the tool turn


def test_codex_shows_the_providers_rate_limit_message(tmp_path: Path) -> None:
    model = FlakyChatModel("429", failures=100)
    with chat_upstream(model) as upstream, Mitmdump(tmp_path, route(upstream.base_url)) as proxy:
        result = run_codex(proxy, tmp_path / "home", "byok-chat", "hi")
    assert result.returncode != 0
    assert "Rate limit reached for fake-model: slow down, friend" in result.stderr
    assert 2 <= model.calls <= 10  # retried with the provider's pace, then gave up
